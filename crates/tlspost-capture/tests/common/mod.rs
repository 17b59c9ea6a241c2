//! Helpers shared by the capture server's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tlspost_capture::{Capture, Config, Server};

pub struct Running {
    pub server: Server,
    pub dir: tempfile::TempDir,
}

impl Running {
    pub fn http(&self) -> SocketAddr {
        self.server.http_addr().unwrap()
    }
    pub fn https(&self) -> SocketAddr {
        self.server.https_addr().unwrap()
    }
    pub fn ca_path(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }
    pub fn capture(&self, id: i64) -> Capture {
        self.server
            .store()
            .get(id)
            .unwrap()
            .unwrap_or_else(|| panic!("capture {id} is not stored"))
    }
    /// Wait until a capture satisfying `pred` is stored (newest first).
    pub fn wait_for(&self, what: &str, pred: impl Fn(&Capture) -> bool) -> Capture {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let list = self.server.store().list(1000, None).unwrap();
            if let Some(c) = list.into_iter().find(|c| pred(c)) {
                return c;
            }
            assert!(Instant::now() < until, "no capture for {what} within 15 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn config(dir: &std::path::Path) -> Config {
    let mut c = Config::new(dir);
    c.http = Some("127.0.0.1:0".parse().unwrap());
    c.https = Some("127.0.0.1:0".parse().unwrap());
    c.names = vec!["api.example.test".into(), "other.example.test".into()];
    c.workers = 2;
    c
}

pub fn start_with(f: impl FnOnce(&mut Config)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    f(&mut c);
    let server = Server::start(c).unwrap();
    Running { server, dir }
}

pub fn start() -> Running {
    start_with(|_| {})
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
    pub fn capture_id(&self) -> i64 {
        self.header("x-tlspost-capture")
            .unwrap_or_else(|| panic!("no X-Tlspost-Capture in {}", self.head))
            .parse()
            .unwrap()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Read one response (Content-Length or close-delimited) from a stream.
pub fn read_response(s: &mut impl Read) -> std::io::Result<Resp> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut tmp)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before a response head",
            ));
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let mut r = Resp {
        status,
        head,
        body: buf[head_end..].to_vec(),
    };
    if let Some(len) = r.header("content-length") {
        let len: usize = len.parse().unwrap();
        while r.body.len() < len {
            let n = s.read(&mut tmp)?;
            if n == 0 {
                break;
            }
            r.body.extend_from_slice(&tmp[..n]);
        }
        r.body.truncate(len);
    } else {
        s.read_to_end(&mut r.body)?;
    }
    Ok(r)
}

/// Send `parts` (each its own write) over a fresh plain connection, read one response.
pub fn send_raw(addr: SocketAddr, parts: &[&[u8]]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_nodelay(true).unwrap();
    for p in parts {
        s.write_all(p).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    read_response(&mut s).unwrap()
}

/// Run a command, panicking with its output when it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (install the Debian package that provides it)"))
}

/// curl with the given arguments; returns (stdout, stderr, status).
pub fn curl(args: &[&str]) -> (String, String, i32) {
    let out = run(Command::new("curl").args(["-sS", "--max-time", "20"]).args(args));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

pub fn codes(c: &Capture) -> Vec<String> {
    c.findings.iter().map(|f| f.code.clone()).collect()
}

/// The Arduino-ESP32 HTTPClient request from REFERENCE.md: head and body in separate writes.
pub const ARDUINO_HEAD: &[u8] = b"POST /oauth/token HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: ESP32HTTPClient\r\nConnection: keep-alive\r\nAccept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\nContent-Length: 57\r\n\r\n";
pub const ARDUINO_BODY: &[u8] = b"{\"grant_type\":\"client_credentials\",\"client_id\":\"dev-42\"}\n";

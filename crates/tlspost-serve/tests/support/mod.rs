//! What the capture server's integration tests share, and only they: the in-process
//! [`tlspost_serve::Server`] (it binds port 0 itself, so its ports are its own), requests sent
//! the way devices send them, and the capture id a response names. Generic HTTP reading is
//! [`tlspost_testkit::http`]; server processes are [`tlspost_testkit::serve`].
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod tcp;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use tlspost_serve::{Capture, Config, Server};
pub use tlspost_testkit::http::{Resp, read_response};

/// The in-process capture server with its data directory.
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
    /// curl `scheme://host:PORT/path` of this server (`https` or `http`, `host` resolved to
    /// loopback), trusting its CA, with `args` before the URL: (stdout, stderr, status).
    pub fn curl(&self, scheme: &str, host: &str, path: &str, args: &[&str]) -> (String, String, i32) {
        let port = if scheme == "https" { self.https() } else { self.http() }.port();
        let (resolve, url) = (
            format!("{host}:{port}:127.0.0.1"),
            format!("{scheme}://{host}:{port}{path}"),
        );
        let ca = self.ca_path();
        let head = ["--cacert", ca.to_str().unwrap(), "--resolve", &resolve];
        curl(&[&head[..], args, &[url.as_str()]].concat())
    }
    /// The capture that curl's answer (the server's JSON echo) names; curl must have succeeded.
    pub fn echoed(&self, (out, err, code): (String, String, i32)) -> Capture {
        assert_eq!(code, 0, "curl: {err}");
        let echo: serde_json::Value = serde_json::from_str(&out).unwrap();
        self.capture(echo["id"].as_i64().unwrap())
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

/// The capture a response of the capture server names (`X-Tlspost-Capture`).
pub trait CaptureId {
    fn capture_id(&self) -> i64;
}

impl CaptureId for Resp {
    fn capture_id(&self) -> i64 {
        self.header("x-tlspost-capture")
            .unwrap_or_else(|| panic!("no X-Tlspost-Capture in {}", self.head))
            .parse()
            .unwrap()
    }
}

/// A fresh plain connection to `addr`; a read waits at most 20 s for the server.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Send `parts` over a fresh plain connection, read one response. Each part reaches the server
/// in a read of its own, as a device's separate writes do: the next part is written only once the
/// server has read everything before it ([`tcp::wait_read_by_peer`]).
pub fn send_raw(addr: SocketAddr, parts: &[&[u8]]) -> Resp {
    let mut s = connect(addr);
    s.set_nodelay(true).unwrap();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            tcp::wait_read_by_peer(&s);
        }
        s.write_all(p).unwrap();
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

/// A child process a test talks to over its stdin (which the kit's `Proc` cannot give): killed
/// and reaped when dropped, on every path, a failed assertion included.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn codes(c: &Capture) -> Vec<String> {
    c.findings.iter().map(|f| f.code.clone()).collect()
}

/// A request as arduino-esp32's HTTPClient sends it (its User-Agent, Connection and Accept-Encoding
/// defaults): head and body in separate writes.
pub const ARDUINO_HEAD: &[u8] = b"POST /oauth/token HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: ESP32HTTPClient\r\nConnection: keep-alive\r\nAccept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\nContent-Length: 57\r\n\r\n";
pub const ARDUINO_BODY: &[u8] = b"{\"grant_type\":\"client_credentials\",\"client_id\":\"dev-42\"}\n";

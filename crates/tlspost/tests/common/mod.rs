//! Test harness: a PKI generated at test time, an origin the test controls (it records exactly
//! what it received), and nginx (Debian's `nginx-light`) in front of it on ephemeral loopback ports.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The host name the test servers answer to.
pub const HOST: &str = "api.tlspost.test";

/// A certificate authority.
pub struct Ca {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub pem: String,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "tlspost client tests");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

impl Ca {
    pub fn root(cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(cn);
        let cert = params.self_signed(&key).expect("self-signed");
        Ca {
            pem: cert.pem(),
            params,
            key,
        }
    }

    pub fn intermediate(&self, cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(cn);
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("signed");
        Ca {
            pem: cert.pem(),
            params,
            key,
        }
    }

    /// A server leaf for `names`; `tweak` adjusts validity and the like.
    pub fn leaf(&self, names: &[&str], tweak: impl FnOnce(&mut CertificateParams)) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        tweak(&mut p);
        let cert = p
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("signed");
        (cert.pem(), key.serialize_pem())
    }
}

/// Everything the tests trust or serve.
pub struct Pki {
    pub root: Ca,
    pub inter: Ca,
    /// leaf + intermediate, and the key.
    pub good: (String, String),
    pub expired: (String, String),
    pub wrong_name: (String, String),
    /// The leaf alone, without its intermediate.
    pub leaf_only: (String, String),
    /// A leaf whose validity starts in 2099.
    pub future: (String, String),
    /// A root nothing here is signed by.
    pub other_root: Ca,
}

impl Pki {
    pub fn new() -> Pki {
        let root = Ca::root("tlspost Test Root");
        let inter = root.intermediate("tlspost Test Issuing CA");
        let (leaf, key) = inter.leaf(&[HOST], |_| {});
        let good = (format!("{leaf}{}", inter.pem), key.clone());
        let leaf_only = (leaf, key);
        let (el, ek) = inter.leaf(&[HOST], |p| {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        });
        let (fl, fk) = inter.leaf(&[HOST], |p| {
            p.not_before = rcgen::date_time_ymd(2099, 1, 1);
            p.not_after = rcgen::date_time_ymd(2100, 1, 1);
        });
        let (wl, wk) = inter.leaf(&["other.tlspost.test", "www.other.tlspost.test"], |_| {});
        Pki {
            future: (format!("{fl}{}", inter.pem), fk),
            expired: (format!("{el}{}", inter.pem), ek),
            wrong_name: (format!("{wl}{}", inter.pem), wk),
            good,
            leaf_only,
            other_root: Ca::root("Some Other Root"),
            root,
            inter,
        }
    }
}

/// One request as the origin received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub head: Vec<u8>,
    pub body: Vec<u8>,
    pub path: String,
}

impl Received {
    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.head);
        text.split("\r\n").skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// The origin: answers by path, records every request.
pub struct Origin {
    pub port: u16,
    pub log: Arc<Mutex<Vec<Received>>>,
}

pub const GZIPPED: &[u8] = &[
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 75, 206, 207, 45, 40, 74, 45, 46, 78, 77, 81, 72, 202, 79, 169, 4, 0, 183, 180,
    251, 56, 15, 0, 0, 0,
];

impl Origin {
    pub fn start() -> Origin {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind origin");
        let port = l.local_addr().expect("addr").port();
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { continue };
                let log = log2.clone();
                std::thread::spawn(move || serve(s, &log));
            }
        });
        Origin { port, log }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    pub fn count(&self, path_prefix: &str) -> usize {
        self.received()
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .count()
    }
}

fn read_request(s: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = buf[..head_end].to_vec();
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
    let len: usize = text
        .split("\r\n")
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Received { head, body, path })
}

fn serve(mut s: TcpStream, log: &Mutex<Vec<Received>>) {
    while let Some(r) = read_request(&mut s) {
        log.lock().expect("log").push(r.clone());
        let path = r.path.clone();
        let close = respond(&mut s, &r, &path);
        if close {
            return;
        }
    }
}

/// Writes the answer; returns whether to close the connection.
fn respond(s: &mut TcpStream, r: &Received, path: &str) -> bool {
    let p = path.split('?').next().unwrap_or(path);
    let ok = |s: &mut TcpStream, ctype: &str, body: &[u8]| {
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(body);
    };
    match p {
        "/echo" => ok(s, "application/octet-stream", &r.body),
        "/chunked" => {
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            );
        }
        "/close" => {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the connection closes");
            return true;
        }
        "/gzip" => {
            let wants = r.header("accept-encoding").unwrap_or_default();
            if wants.contains("gzip") || wants.contains('*') {
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                    GZIPPED.len()
                );
                let _ = s.write_all(GZIPPED);
            } else {
                ok(s, "text/plain", b"plain body");
            }
        }
        "/slow" => {
            let ms: u64 = path.split("ms=").nth(1).and_then(|v| v.parse().ok()).unwrap_or(1000);
            std::thread::sleep(Duration::from_millis(ms));
            ok(s, "text/plain", b"late");
        }
        "/midbody" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
            let _ = s.flush();
            return true;
        }
        "/r301" | "/r302" | "/r307" | "/r308" => {
            let code = &p[2..];
            let _ = write!(
                s,
                "HTTP/1.1 {code} Moved\r\nLocation: /echo\r\nContent-Length: 0\r\n\r\n"
            );
        }
        "/edge1010" => {
            let body = b"error code: 1010";
            let _ = write!(
                s,
                "HTTP/1.1 403 Forbidden\r\nCF-RAY: 8f1e2d3c4b5a6978-AMS\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(body);
        }
        _ => {
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    }
    false
}

/// The nginx ports: one per certificate setup.
pub struct Nginx {
    pub good: u16,
    pub expired: u16,
    pub wrong_name: u16,
    pub leaf_only: u16,
    pub future: u16,
    dir: tempfile::TempDir,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("ephemeral port")
        .port()
}

impl Nginx {
    pub fn start(pki: &Pki, origin_port: u16) -> Nginx {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            for (name, (chain, key)) in [
                ("good", &pki.good),
                ("expired", &pki.expired),
                ("wrong", &pki.wrong_name),
                ("leafonly", &pki.leaf_only),
                ("future", &pki.future),
            ] {
                std::fs::write(dir.path().join(format!("{name}.pem")), chain).expect("write chain");
                std::fs::write(dir.path().join(format!("{name}.key")), key).expect("write key");
            }
            let ports = [free_port(), free_port(), free_port(), free_port(), free_port()];
            let child = spawn(dir.path(), ports, origin_port);
            let mut n = Nginx {
                good: ports[0],
                expired: ports[1],
                wrong_name: ports[2],
                leaf_only: ports[3],
                future: ports[4],
                dir,
                child,
            };
            match n.wait_ready() {
                Ok(()) => return n,
                Err(e) => last = e,
            }
        }
        panic!("nginx did not start: {last}");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("nginx exited with {status}: {err} {}", self.log()));
            }
            let all = [self.good, self.expired, self.wrong_name, self.leaf_only, self.future]
                .iter()
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if all {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        Err(format!("nginx not listening after 20 s: {}", self.log()))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, ports: [u16; 5], origin: u16) -> Child {
    let d = dir.display();
    let mut servers = String::new();
    for (port, name) in ports.iter().zip(["good", "expired", "wrong", "leafonly", "future"]) {
        servers.push_str(&format!(
            "  server {{\n    listen 127.0.0.1:{port} ssl default_server;\n    server_name _;\n    ssl_reject_handshake on;\n  }}\n\
             server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name {HOST};\n\
             ssl_certificate {d}/{name}.pem;\n    ssl_certificate_key {d}/{name}.key;\n\
             add_header X-Conn $connection always;\n\
             add_header X-Conn-Requests $connection_requests always;\n\
             add_header X-Session-Reused $ssl_session_reused always;\n\
             location / {{\n      proxy_pass http://127.0.0.1:{origin};\n      proxy_buffering off;\n    }}\n  }}\n"
        ));
    }
    // master_process off: one process, no user switch, nothing left behind when killed.
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
           proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n\
           scgi_temp_path {d}/scgi;\n  ssl_protocols TLSv1.2 TLSv1.3;\n  ssl_session_cache shared:tls:1m;\n  keepalive_requests 1000;\n{servers}}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
    Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx must be installed (Debian package nginx-light)")
}

/// PKI + origin + nginx, ready.
pub struct Env {
    pub pki: Pki,
    pub origin: Origin,
    pub nginx: Nginx,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn start() -> Env {
        let pki = Pki::new();
        let origin = Origin::start();
        let nginx = Nginx::start(&pki, origin.port);
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("root.pem"), &pki.root.pem).expect("root");
        std::fs::write(dir.path().join("other-root.pem"), &pki.other_root.pem).expect("root");
        Env {
            pki,
            origin,
            nginx,
            dir,
        }
    }

    /// The pinned root's PEM file.
    pub fn root_file(&self) -> std::path::PathBuf {
        self.dir.path().join("root.pem")
    }

    pub fn url(&self, port: u16, path: &str) -> String {
        format!("https://{HOST}:{port}{path}")
    }

    pub fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

//! The recording origin the client tests talk to (through nginx or directly): it answers by path
//! and records exactly what it received. It binds port 0 and keeps its listener, so its port can
//! never be anyone else's.
//!
//! Paths: `/echo` (the body back), `/chunked`, `/close` (HTTP/1.0, close-delimited), `/gzip`,
//! `/slow?ms=N`, `/midbody` (closes after 10 of 100 bytes), `/r301` `/r302` `/r307` `/r308`
//! (to `/echo`), `/edge1010` (a CDN's block page); anything else is 404.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http::{Received, read_request};
use crate::nginx::{Nginx, Options, Site};
use crate::pki::{Ca, Leaf, Validity};

/// The host name the client test servers answer to.
pub const HOST: &str = "api.tlspost.test";

/// `compressed body` gzip-compressed.
pub const GZIPPED: &[u8] = &[
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 75, 206, 207, 45, 40, 74, 45, 46, 78, 77, 81, 72, 202, 79, 169, 4, 0, 183, 180,
    251, 56, 15, 0, 0, 0,
];

/// The origin: answers by path, records every request.
pub struct Origin {
    /// Its port on 127.0.0.1.
    pub port: u16,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Origin {
    /// Starts it on an ephemeral port of 127.0.0.1.
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

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// How many requests had a path starting with `path_prefix`.
    pub fn count(&self, path_prefix: &str) -> usize {
        self.received()
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .count()
    }
}

fn serve(mut s: TcpStream, log: &Mutex<Vec<Received>>) {
    while let Some(r) = read_request(&mut s) {
        log.lock().expect("log").push(r.clone());
        if respond(&mut s, &r) {
            return;
        }
    }
}

/// Writes the answer; returns whether to close the connection.
fn respond(s: &mut TcpStream, r: &Received) -> bool {
    let path = r.path.as_str();
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

/// The certificates the client tests trust or are served.
pub struct Pki {
    /// The root the client pins.
    pub root: Ca,
    /// The intermediate every leaf is issued by.
    pub inter: Ca,
    /// Leaf for [`HOST`], served with its intermediate.
    pub good: Leaf,
    /// Leaf for [`HOST`], expired in 2021.
    pub expired: Leaf,
    /// Leaf for other names only.
    pub wrong_name: Leaf,
    /// Leaf for [`HOST`] valid only from 2099.
    pub future: Leaf,
    /// A root nothing here is signed by.
    pub other_root: Ca,
}

impl Pki {
    /// Makes the lot.
    pub fn new() -> Pki {
        let root = Ca::builder("tlspost Test Root")
            .org("tlspost client tests")
            .self_signed();
        let inter = Ca::builder("tlspost Test Issuing CA")
            .org("tlspost client tests")
            .signed_by(&root);
        Pki {
            good: inter.leaf(&[HOST]),
            expired: inter.leaf_builder(&[HOST]).validity(Validity::expired()).issue(),
            wrong_name: inter.leaf(&["other.tlspost.test", "www.other.tlspost.test"]),
            future: inter.leaf_builder(&[HOST]).validity(Validity::not_yet_valid()).issue(),
            other_root: Ca::builder("Some Other Root").org("tlspost client tests").self_signed(),
            root,
            inter,
        }
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

/// The nginx sites of [`Env`], by name: each serves one certificate setup for [`HOST`] (other SNI
/// names are refused) and proxies to the origin, adding `X-Conn`, `X-Conn-Requests` and
/// `X-Session-Reused`.
pub const SITES: [&str; 5] = ["good", "expired", "wrong", "leafonly", "future"];

/// A PKI, the recording origin, and nginx in front of it with one port per certificate setup.
pub struct Env {
    /// The certificates.
    pub pki: Pki,
    /// The origin behind nginx.
    pub origin: Origin,
    /// nginx.
    pub nginx: Nginx,
    /// A directory with `root.pem` and `other-root.pem`.
    pub dir: tempfile::TempDir,
}

impl Env {
    /// Starts it all.
    pub fn start() -> Env {
        let pki = Pki::new();
        let origin = Origin::start();
        let with_inter = |l: &Leaf| l.chain(&[&pki.inter]);
        let proxy = format!(
            "add_header X-Conn $connection always;\n    add_header X-Conn-Requests $connection_requests always;\n    \
             add_header X-Session-Reused $ssl_session_reused always;\n    \
             location / {{ proxy_pass http://127.0.0.1:{}; proxy_buffering off; }}",
            origin.port
        );
        let site = |name: &str, chain: String, leaf: &Leaf| {
            Site::new(name, &chain, &leaf.key_pem)
                .server_name(HOST, true)
                .directives(&proxy)
        };
        let sites = [
            site("good", with_inter(&pki.good), &pki.good),
            site("expired", with_inter(&pki.expired), &pki.expired),
            site("wrong", with_inter(&pki.wrong_name), &pki.wrong_name),
            site("leafonly", pki.good.pem.clone(), &pki.good),
            site("future", with_inter(&pki.future), &pki.future),
        ];
        let opts = Options {
            reloadable: false,
            http: "ssl_session_cache shared:tls:1m;\n  keepalive_requests 1000;".into(),
        };
        let nginx = Nginx::start_with(&sites, &opts);
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

    /// The port of the site named `name` (one of [`SITES`]).
    pub fn port(&self, name: &str) -> u16 {
        self.nginx.port_of(name)
    }

    /// The pinned root's PEM file.
    pub fn root_file(&self) -> std::path::PathBuf {
        self.dir.path().join("root.pem")
    }

    /// `https://HOST:PORT/PATH`.
    pub fn url(&self, port: u16, path: &str) -> String {
        format!("https://{HOST}:{port}{path}")
    }

    /// 127.0.0.1:`port`.
    pub fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

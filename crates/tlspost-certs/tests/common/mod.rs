//! Test support: PKIs generated at test time with rcgen, and real nginx / caddy servers on
//! ephemeral loopback ports serving them.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use time::OffsetDateTime;

/// A CA: its parameters and key (to sign with) and its self-signed (or issued) certificate.
pub struct Ca {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
    pub pem: String,
}

/// A leaf certificate with its key.
pub struct Leaf {
    pub der: Vec<u8>,
    pub pem: String,
    pub key_pem: String,
}

fn days(n: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(n)
}

fn ca_params(cn: &str, from: i64, to: i64) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tlspost test PKI");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = days(from);
    p.not_after = days(to);
    p
}

/// A self-signed root valid from `from` to `to` days from now.
pub fn root(cn: &str, from: i64, to: i64) -> Ca {
    let params = ca_params(cn, from, to);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-sign");
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

/// A CA issued by `issuer`.
pub fn intermediate(cn: &str, issuer: &Ca, from: i64, to: i64) -> Ca {
    let params = ca_params(cn, from, to);
    let key = KeyPair::generate().expect("key");
    let cert = params
        .signed_by(&key, &Issuer::from_params(&issuer.params, &issuer.key))
        .expect("sign");
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

/// `ca`'s own name and key, signed by `by`: a cross-signed certificate.
pub fn cross_sign(ca: &Ca, by: &Ca) -> Ca {
    let cert = ca
        .params
        .signed_by(&ca.key, &Issuer::from_params(&by.params, &by.key))
        .expect("cross-sign");
    let key = KeyPair::from_pem(&ca.key.serialize_pem()).expect("key copy");
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params: ca.params.clone(),
        key,
    }
}

/// A server certificate for `names`, issued by `issuer`, valid for a year.
pub fn leaf(names: &[&str], issuer: &Ca) -> Leaf {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("names");
    p.distinguished_name.push(DnType::CommonName, names[0]);
    p.not_before = days(-1);
    p.not_after = days(365);
    let key = KeyPair::generate().expect("key");
    let cert = p
        .signed_by(&key, &Issuer::from_params(&issuer.params, &issuer.key))
        .expect("sign leaf");
    Leaf {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A chain file: the PEMs in the order given.
pub fn chain_pem(parts: &[&str]) -> String {
    parts.concat()
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("ephemeral port")
}

/// Which server software.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Caddy,
}

/// A running server; killed on drop.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Server {
    /// Starts `kind` on 127.0.0.1 serving `chain` (PEM, leaf first) with `key` for `name`.
    pub fn start(kind: Kind, name: &str, chain: &str, key: &str) -> Server {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            write(dir.path(), "chain.pem", chain);
            write(dir.path(), "key.pem", key);
            let port = free_port();
            let child = match kind {
                Kind::Nginx => start_nginx(dir.path(), port),
                Kind::Caddy => start_caddy(dir.path(), port, name),
            };
            let mut s = Server { kind, port, dir, child };
            match s.wait_ready() {
                Ok(()) => return s,
                Err(e) => last = e, // port race or slow start: try another port
            }
        }
        panic!("{kind:?} did not start: {last}");
    }

    fn log(&self) -> String {
        let name = match self.kind {
            Kind::Nginx => "error.log",
            Kind::Caddy => "caddy.log",
        };
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("exited with {status}: {err} {}", self.log()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("not listening after 20 s: {}", self.log()))
    }

    /// `HOST:PORT:127.0.0.1` for `--resolve`.
    pub fn resolve(&self, host: &str) -> String {
        format!("{host}:{}:127.0.0.1", self.port)
    }

    /// `HOST:PORT`.
    pub fn target(&self, host: &str) -> String {
        format!("{host}:{}", self.port)
    }

    /// nginx only: replace the served chain and key, reload, and wait until the new chain is served.
    pub fn switch_chain(&self, host: &str, chain: &str, key: &str, new_leaf_der: &[u8]) {
        assert_eq!(self.kind, Kind::Nginx, "reload is implemented for nginx");
        write(self.dir.path(), "chain.pem", chain);
        write(self.dir.path(), "key.pem", key);
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -HUP failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let served = fetch(self, host);
            if served.chain.first().map(Vec::as_slice) == Some(new_leaf_der) {
                return;
            }
            assert!(Instant::now() < deadline, "nginx did not reload: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // nginx runs with a master process (for reloads): SIGKILL would orphan its worker, still
        // listening. SIGTERM makes the master stop the worker first; SIGKILL only as a last resort.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nginx(dir: &Path, port: u16) -> Child {
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\n{user}\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
           server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name _;\n\
             ssl_certificate {d}/chain.pem;\n    ssl_certificate_key {d}/key.pem;\n\
             location / {{ return 200 \"ok\\n\"; }}\n  }}\n}}\n",
        user = if is_root() { "user root;\n" } else { "" },
    );
    write(dir, "nginx.conf", &conf);
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

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn start_caddy(dir: &Path, port: u16, name: &str) -> Child {
    let d = dir.display();
    let conf = format!(
        "{{\n\tadmin off\n\tauto_https off\n\tskip_install_trust\n\
         \tstorage file_system {d}/storage\n\tlog {{\n\t\toutput file {d}/caddy.log\n\t}}\n}}\n\n\
         https://{name}:{port} {{\n\tbind 127.0.0.1\n\ttls {d}/chain.pem {d}/key.pem\n\trespond \"ok\"\n}}\n"
    );
    write(dir, "Caddyfile", &conf);
    Command::new("caddy")
        .arg("run")
        .arg("--config")
        .arg(dir.join("Caddyfile"))
        .arg("--adapter")
        .arg("caddyfile")
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("caddy must be installed (Debian package caddy)")
}

/// Fetches the chain `server` serves for SNI `host`.
pub fn fetch(server: &Server, host: &str) -> tlspost_certs::Served {
    let mut t = tlspost_certs::Target::parse(&server.target(host)).expect("target");
    t.addr = Some("127.0.0.1".parse().expect("ip"));
    tlspost_certs::fetch_chain(&t).expect("fetch chain")
}

/// Parses a fetched chain.
pub fn parse(served: &tlspost_certs::Served) -> Vec<tlspost_certs::CertInfo> {
    served
        .chain
        .iter()
        .map(|d| tlspost_certs::CertInfo::parse(d, "served").expect("parse"))
        .collect()
}

/// Mozilla's store plus the given roots' PEM files.
pub fn store_with(files: &[&Path]) -> tlspost_certs::RootStore {
    let mut s = tlspost_certs::RootStore::mozilla();
    for f in files {
        s.add_file(f).expect("roots file");
    }
    s
}

/// Runs `tlspost certs` (the CLI's engine) and returns (exit code, stdout, stderr).
pub fn run_certs(opts: &tlspost_certs::app::Options) -> (u8, Vec<u8>, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = tlspost_certs::app::run(opts, &mut out, &mut err);
    (code, out, String::from_utf8_lossy(&err).into_owned())
}

/// Runs `tlspost certs check` and returns (exit code, stdout, stderr).
pub fn run_check(opts: &tlspost_certs::app::CheckOptions) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = tlspost_certs::app::run_check(opts, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

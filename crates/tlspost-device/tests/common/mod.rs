//! Test support: PKIs generated at test time with rcgen, nginx on an ephemeral loopback port, and
//! one HTTPS POST through embedded-tls + the pinned-root verifier + a tlspost-proto `Exchange`.
#![allow(dead_code)]

use std::cell::Cell;
use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use embedded_tls::{Aes128GcmSha256, blocking::TlsConnection};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SignatureAlgorithm,
};
use tlspost_device::{ConnectError, DeviceProvider, PinnedVerifier, config, open_blocking};
use tlspost_proto::{Body, Exchange, HeadStatus, Request};

#[allow(unused_imports)]
pub use rcgen::{PKCS_ECDSA_P256_SHA256 as P256, PKCS_ECDSA_P384_SHA384 as P384};

/// Seconds since 1970 now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A CA: its parameters (for issuing and cross-signing), key and DER certificate.
pub struct Ca {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
    pub pem: String,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "tlspost device tests");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

impl Ca {
    /// A self-signed root.
    pub fn root(cn: &str, alg: &'static SignatureAlgorithm) -> Ca {
        let key = KeyPair::generate_for(alg).expect("key");
        Self::root_with_key(cn, key)
    }

    /// A self-signed root with a given key (e.g. RSA from openssl).
    pub fn root_with_key(cn: &str, key: KeyPair) -> Ca {
        let params = ca_params(cn);
        let cert = params.self_signed(&key).expect("self-signed");
        Ca {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            params,
            key,
        }
    }

    /// An intermediate CA issued by `self`.
    pub fn intermediate(&self, cn: &str, alg: &'static SignatureAlgorithm) -> Ca {
        let key = KeyPair::generate_for(alg).expect("key");
        let params = ca_params(cn);
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("signed");
        Ca {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            params,
            key,
        }
    }

    /// `other`'s subject and key, signed by `self`: the cross-signed copy of `other`.
    pub fn cross_sign(&self, other: &Ca) -> (Vec<u8>, String) {
        let cert = other
            .params
            .signed_by(&other.key, &Issuer::from_params(&self.params, &self.key))
            .expect("cross-signed");
        (cert.der().to_vec(), cert.pem())
    }

    /// A server certificate for `names` (DNS names or IP addresses) issued by `self`.
    pub fn leaf(&self, names: &[&str], alg: &'static SignatureAlgorithm) -> Leaf {
        let key = KeyPair::generate_for(alg).expect("key");
        self.leaf_with(names, key, |_| {})
    }

    /// A server certificate with a given key, after `tweak` adjusts its parameters.
    pub fn leaf_with(&self, names: &[&str], key: KeyPair, tweak: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
        // The CN says something else on purpose: only the SANs may be used.
        params
            .distinguished_name
            .push(DnType::CommonName, "not-the-host.invalid");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        tweak(&mut params);
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("signed");
        Leaf {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A server certificate and its key.
pub struct Leaf {
    pub der: Vec<u8>,
    pub pem: String,
    pub key_pem: String,
}

/// An RSA-2048 key made by openssl (ring, used by rcgen here, cannot generate RSA keys).
pub fn rsa_key() -> KeyPair {
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .expect("openssl must be installed (Debian package openssl)");
    assert!(out.status.success(), "openssl genpkey failed");
    let pem = String::from_utf8(out.stdout).expect("PEM");
    KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).expect("RSA key")
}

/// nginx serving one chain with TLS 1.3 only on 127.0.0.1; killed on drop.
pub struct Nginx {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Nginx {
    /// Starts nginx serving `chain_pem` (leaf first, then as given) with `key_pem`.
    pub fn start(chain_pem: &str, key_pem: &str) -> Nginx {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(dir.path().join("chain.pem"), chain_pem).expect("write chain");
            std::fs::write(dir.path().join("key.pem"), key_pem).expect("write key");
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("ephemeral port")
                .port();
            let child = spawn_nginx(dir.path(), port);
            let mut n = Nginx { port, dir, child };
            match n.wait_ready() {
                Ok(()) => return n,
                Err(e) => last = e, // port taken in between: try another
            }
        }
        panic!("nginx did not start: {last}");
    }

    fn log(&self) -> String {
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
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
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

fn spawn_nginx(dir: &Path, port: u16) -> Child {
    let d = dir.display();
    // master_process off: one process, no user switch, nothing left behind when killed.
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 32; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
           proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
           server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name _;\n\
             ssl_protocols TLSv1.3;\n\
             ssl_certificate {d}/chain.pem;\n    ssl_certificate_key {d}/key.pem;\n\
             location = /api/v1/readings {{\n      default_type application/json;\n\
               return 200 '{{\"ok\":true}}';\n    }}\n  }}\n}}\n"
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

/// A std TCP stream as an embedded-io stream, counting bytes each way.
pub struct Io {
    pub stream: TcpStream,
    /// (read, written), shared so the test can look while embedded-tls owns the stream.
    pub counts: Rc<Cell<(usize, usize)>>,
}

impl embedded_io::ErrorType for Io {
    type Error = std::io::Error;
}

impl embedded_io::Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::Read::read(&mut self.stream, buf)?;
        let (r, w) = self.counts.get();
        self.counts.set((r + n, w));
        Ok(n)
    }
}

impl embedded_io::Write for Io {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = std::io::Write::write(&mut self.stream, buf)?;
        let (r, w) = self.counts.get();
        self.counts.set((r, w + n));
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut self.stream)
    }
}

/// The JSON POST every test sends.
pub fn request(host: &str) -> Request<'_> {
    Request::post(host, "/api/v1/readings", Body::Json(br#"{"t":21.5}"#))
}

/// The exact bytes of [`request`] on the wire.
pub fn request_bytes(host: &str) -> Vec<u8> {
    let req = request(host);
    let mut ex = Exchange::new(&req).expect("request encodes");
    let mut out = vec![0u8; 1024];
    let mut n = 0;
    while !ex.request_done() {
        n += ex.poll_output(&mut out[n..]).expect("poll_output");
    }
    out.truncate(n);
    out
}

/// What one POST returned.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Vec<u8>,
    pub body: Vec<u8>,
    /// Bytes on the wire for the handshake alone (read, written).
    pub handshake_bytes: (usize, usize),
    pub handshake_time: Duration,
}

/// Opens TLS to 127.0.0.1:`port` as `host`, pinning `roots`, and POSTs a JSON body with a
/// tlspost-proto `Exchange`. The handshake error, if any, is returned as is.
pub fn post(port: u16, host: &str, roots: &[&[u8]], now_unix: u64) -> Result<Answer, ConnectError> {
    post_with_write_buffer(port, host, roots, now_unix, 4096)
}

/// [`post`] with a TLS write buffer of `write_len` bytes (the firmware uses 512).
pub fn post_with_write_buffer(
    port: u16,
    host: &str,
    roots: &[&[u8]],
    now_unix: u64,
    write_len: usize,
) -> Result<Answer, ConnectError> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let counts = Rc::new(Cell::new((0, 0)));
    let io = Io {
        stream,
        counts: counts.clone(),
    };
    let mut read_buf = vec![0u8; 16_640];
    let mut write_buf = vec![0u8; write_len];
    let mut tls: TlsConnection<'_, Io, Aes128GcmSha256> = TlsConnection::new(io, &mut read_buf, &mut write_buf);
    let verifier = PinnedVerifier::new(roots, now_unix).expect("roots parse");
    let mut provider = DeviceProvider::new(rand_core::OsRng, verifier);
    let cfg = config(host);
    let started = Instant::now();
    open_blocking(&mut tls, &cfg, &mut provider)?;
    let handshake_time = started.elapsed();
    let handshake_bytes = counts.get();

    let req = request(host);
    let mut ex = Exchange::new(&req).expect("request encodes");
    let mut out = [0u8; 256];
    while !ex.request_done() {
        let n = ex.poll_output(&mut out).expect("poll_output");
        embedded_io::Write::write_all(&mut tls, &out[..n]).expect("TLS write");
    }
    embedded_io::Write::flush(&mut tls).expect("TLS flush");

    let mut inbuf = vec![0u8; 4096];
    let mut have = 0;
    let (status, content_type, head_len) = loop {
        let n = embedded_io::Read::read(&mut tls, &mut inbuf[have..]).expect("TLS read");
        assert!(n > 0, "server closed before the response head");
        have += n;
        let mut headers = [tlspost_proto::httparse::EMPTY_HEADER; 32];
        match ex.read_head(&inbuf[..have], &mut headers).expect("response head") {
            HeadStatus::Complete(head) => {
                let ct = head.header("content-type").unwrap_or_default().to_vec();
                break (head.status, ct, head.len);
            }
            HeadStatus::Partial => continue,
            _ => panic!("unexpected interim response"),
        }
    };
    let mut body = Vec::new();
    let mut pending = inbuf[head_len..have].to_vec();
    let mut chunk = [0u8; 512];
    loop {
        let (used, produced) = ex.read_body(&pending, &mut chunk).expect("body");
        body.extend_from_slice(&chunk[..produced]);
        pending.drain(..used);
        if ex.is_done() {
            break;
        }
        if used == 0 && produced == 0 {
            let n = embedded_io::Read::read(&mut tls, &mut inbuf).expect("TLS read");
            assert!(n > 0, "server closed mid-body");
            pending.extend_from_slice(&inbuf[..n]);
        }
    }
    let _ = tls.close();
    Ok(Answer {
        status,
        content_type,
        body,
        handshake_bytes,
        handshake_time,
    })
}

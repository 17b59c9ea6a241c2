//! What the device tests share that is about the device path itself: one HTTPS POST through
//! embedded-tls + the pinned-root verifier + a tlspost-proto `Exchange`, and how the kit's nginx
//! and leaves are set up for it. PKIs and servers are the kit's (`tlspost_testkit`).
#![allow(dead_code)]

pub mod rustls;

use std::cell::Cell;
use std::net::TcpStream;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use embedded_tls::{Aes128GcmSha256, blocking::TlsConnection};
use tlspost_device::{ConnectError, DeviceProvider, PinnedVerifier, VerifyError, config, open_blocking};
use tlspost_proto::{Body, Exchange, HeadStatus, Request};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::{Ca, Leaf, LeafBuilder};

/// The CN of every device test leaf: never the host, on purpose (only the SANs may be used).
pub const NOT_THE_HOST: &str = "not-the-host.invalid";

/// A server leaf for `names` issued by `ca`, its CN [`NOT_THE_HOST`]: set its algorithm, key or
/// validity, then `issue()`.
pub fn leaf<'a>(ca: &'a Ca, names: &[&str]) -> LeafBuilder<'a> {
    ca.leaf_builder(names).cn(NOT_THE_HOST)
}

/// What a public server holds (Let's Encrypt's shape): a P-256 leaf for a host (see [`leaf`])
/// issued by an intermediate of the pinned root.
pub struct Issued {
    pub inter: Ca,
    pub leaf: Leaf,
}

impl Issued {
    /// A new intermediate of `root` and a leaf for `host` issued by it.
    pub fn under(root: &Ca, host: &str) -> Issued {
        let inter = root.intermediate("Device Test Issuing CA");
        let leaf = leaf(&inter, &[host]).issue();
        Issued { inter, leaf }
    }

    /// The chain file the server sends: the leaf, then the intermediate (PEM).
    pub fn chain(&self) -> String {
        self.leaf.chain(&[&self.inter])
    }
}

/// nginx serving `chain` (PEM, leaf first) with `key`, TLS 1.3 only (all embedded-tls speaks),
/// answering the POST of [`request`] with `{"ok":true}`.
pub fn nginx(chain: &str, key: &str) -> Nginx {
    let readings = r#"location = /api/v1/readings { default_type application/json; return 200 '{"ok":true}'; }"#;
    Nginx::start(&[Site::new("device", chain, key)
        .protocols("TLSv1.3")
        .directives(readings)])
}

/// nginx serving a P-256 leaf for `host` issued by an intermediate of `root`, with that
/// intermediate in the chain: the common shape of a public server.
pub fn nginx_under(root: &Ca, host: &str) -> Nginx {
    let issued = Issued::under(root, host);
    nginx(&issued.chain(), &issued.leaf.key_pem)
}

/// Seconds since 1970 now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
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

/// The verifier's reason for refusing the server; panics on any other outcome.
pub fn refused<T>(r: Result<T, ConnectError>) -> VerifyError {
    match r {
        Err(ConnectError::Verify(e)) => e,
        Err(other) => panic!("expected a verification error, got {other}"),
        Ok(_) => panic!("expected refusal, but the handshake succeeded"),
    }
}

/// The error of a handshake that must fail, its message checked to name each of `says`; panics on
/// success or on a message that lacks one. The caller matches the error's type.
pub fn failed<T, E: std::fmt::Display>(r: Result<T, E>, says: &[&str]) -> E {
    let Err(e) = r else {
        panic!("expected the handshake to fail, but it succeeded");
    };
    let msg = e.to_string();
    for s in says {
        assert!(msg.contains(s), "{msg:?} does not say {s:?}");
    }
    e
}

/// [`post`] with a TLS write buffer of `write_len` bytes (the firmware uses 512).
pub fn post_with_write_buffer(
    port: u16,
    host: &str,
    roots: &[&[u8]],
    now_unix: u64,
    write_len: usize,
) -> Result<Answer, ConnectError> {
    post_with(
        port,
        host,
        roots,
        now_unix,
        (tlspost_device::FULL_READ_BUFFER, write_len),
        None,
    )
}

/// [`post`] offering max_fragment_length `fragment` with a read buffer of
/// `tlspost_device::read_buffer_for(fragment)` bytes; the error read against that buffer.
pub fn post_fragment(
    port: u16,
    host: &str,
    roots: &[&[u8]],
    now_unix: u64,
    fragment: embedded_tls::MaxFragmentLength,
) -> Result<Answer, ConnectError> {
    let read_len = tlspost_device::read_buffer_for(fragment);
    post_with(port, host, roots, now_unix, (read_len, 512), Some(fragment)).map_err(|e| e.with_read_buffer(read_len))
}

fn post_with(
    port: u16,
    host: &str,
    roots: &[&[u8]],
    now_unix: u64,
    (read_len, write_len): (usize, usize),
    fragment: Option<embedded_tls::MaxFragmentLength>,
) -> Result<Answer, ConnectError> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let counts = Rc::new(Cell::new((0, 0)));
    let io = Io {
        stream,
        counts: counts.clone(),
    };
    let mut read_buf = vec![0u8; read_len];
    let mut write_buf = vec![0u8; write_len];
    let mut tls: TlsConnection<'_, Io, Aes128GcmSha256> = TlsConnection::new(io, &mut read_buf, &mut write_buf);
    let verifier = PinnedVerifier::new(roots, now_unix).expect("roots parse");
    let mut provider = DeviceProvider::new(rand_core::OsRng, verifier);
    let cfg = match fragment {
        Some(f) => tlspost_device::config_fragment(host, f),
        None => config(host),
    };
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

//! The async path (`open_async` over `embedded_io_async`) against nginx, driven by a minimal
//! executor: the socket is blocking, so every future completes when first polled.

mod support;

use std::future::Future;
use std::net::TcpStream;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use embedded_tls::{Aes128GcmSha256, TlsConnection};
use support::{leaf, nginx, now, request_bytes};
use tlspost_device::{ConnectError, DeviceProvider, PinnedVerifier, VerifyError, config, open_async};
use tlspost_testkit::pki::Ca;

const HOST: &str = "device.tlspost.test";

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

struct AsyncIo(TcpStream);

impl embedded_io_async::ErrorType for AsyncIo {
    type Error = std::io::Error;
}

impl embedded_io_async::Read for AsyncIo {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::io::Read::read(&mut self.0, buf)
    }
}

impl embedded_io_async::Write for AsyncIo {
    async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::Write::write(&mut self.0, buf)
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut self.0)
    }
}

async fn post_async(port: u16, roots: &[&[u8]]) -> Result<Vec<u8>, ConnectError> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut rx = vec![0u8; 16_640];
    let mut tx = vec![0u8; 4096];
    let mut tls: TlsConnection<'_, AsyncIo, Aes128GcmSha256> = TlsConnection::new(AsyncIo(stream), &mut rx, &mut tx);
    let verifier = PinnedVerifier::new(roots, now()).expect("roots");
    let mut provider = DeviceProvider::new(rand_core::OsRng, verifier);
    let cfg = config(HOST);
    open_async(&mut tls, &cfg, &mut provider).await?;
    embedded_io_async::Write::write_all(&mut tls, &request_bytes(HOST))
        .await
        .expect("write");
    embedded_io_async::Write::flush(&mut tls).await.expect("flush");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(br#"{"ok":true}"#) {
        let n = embedded_io_async::Read::read(&mut tls, &mut buf).await.expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

#[test]
fn async_json_post_succeeds() {
    let root = Ca::root("Async Root");
    let leaf = leaf(&root, &[HOST]).issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    let got = block_on(post_async(nginx.port(0), &[&root.der])).expect("async handshake");
    assert!(
        got.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn async_untrusted_root_is_unknown_issuer() {
    let root = Ca::root("Async Root");
    let other = Ca::root("Other Root");
    let leaf = leaf(&root, &[HOST]).issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    let e = support::refused(block_on(post_async(nginx.port(0), &[&other.der])));
    assert_eq!(e, VerifyError::UnknownIssuer);
}

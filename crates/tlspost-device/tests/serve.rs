//! The device path against `tlspost serve` (the capture server, in process): the POST arrives
//! byte for byte with the SNI, and the server's own CA is the pinned root.

mod common;

use std::net::SocketAddr;

use common::{Ca, P256, now, post, request_bytes};
use tlspost_capture::{Config, Server};
use tlspost_device::{ConnectError, VerifyError};

const HOST: &str = "device.tlspost.test";

fn start() -> (Server, tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config::new(dir.path());
    cfg.http = None;
    cfg.https = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    cfg.names = vec![HOST.to_string()];
    cfg.workers = 1;
    let server = Server::start(cfg).expect("tlspost serve starts");
    let ca = pem::parse(server.ca_pem()).expect("CA PEM");
    (server, dir, ca.contents().to_vec())
}

fn port(server: &Server) -> u16 {
    server.https_addr().expect("HTTPS listener").port()
}

#[test]
fn post_is_captured_exactly_with_sni_and_json_content_type() {
    let (server, _dir, ca) = start();
    let a = post(port(&server), HOST, &[&ca], now()).expect("handshake and POST");
    assert_eq!(a.status, 200);
    let echo = String::from_utf8(a.body).expect("UTF-8 echo");
    assert!(echo.contains(HOST), "echo names the SNI: {echo}");

    // The store is written asynchronously: wait briefly for the capture.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let capture = loop {
        let list = server.store().list(10, None).expect("store list");
        if let Some(c) = list.into_iter().next() {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "no capture stored");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(capture.raw, request_bytes(HOST), "exact bytes as sent");
    assert!(capture.complete);
    let tls = capture.tls.as_ref().expect("TLS facts");
    assert_eq!(tls.sni.as_deref(), Some(HOST));
    assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
    assert!(
        capture
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/json"),
        "{:?}",
        capture.headers
    );
}

#[test]
fn serve_with_another_pinned_root_is_unknown_issuer() {
    let (server, _dir, _ca) = start();
    let other = Ca::root("Not the capture CA", &P256);
    match post(port(&server), HOST, &[&other.der], now()) {
        Err(ConnectError::Verify(e)) => assert_eq!(e, VerifyError::UnknownIssuer),
        Err(e) => panic!("expected UnknownIssuer, got {e}"),
        Ok(a) => panic!("expected refusal, got HTTP {}", a.status),
    }
}

#[test]
fn serve_for_a_name_it_does_not_hold_is_not_valid_for_name() {
    let (server, _dir, ca) = start();
    match post(port(&server), "api.example.com", &[&ca], now()) {
        Err(ConnectError::Verify(e)) => assert_eq!(e, VerifyError::NotValidForName),
        Err(e) => panic!("expected NotValidForName, got {e}"),
        Ok(a) => panic!("expected refusal, got HTTP {}", a.status),
    }
}

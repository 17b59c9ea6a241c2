//! The device path against `tlspost serve` (the capture server, in process): the POST arrives
//! byte for byte with the SNI, and the server's own CA is the pinned root.

mod support;

use std::net::SocketAddr;

use support::{failed, now, post, post_fragment, post_with_write_buffer, refused, request_bytes};
use tlspost_device::{ConnectError, VerifyError};
use tlspost_serve::{Config, Server};
use tlspost_testkit::pki::{Ca, with_extra_names};

const HOST: &str = "device.tlspost.test";

fn start() -> (Server, tempfile::TempDir, Vec<u8>) {
    start_with(vec![HOST.to_string()])
}

fn start_with(names: Vec<String>) -> (Server, tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config::new(dir.path());
    cfg.http = None;
    cfg.https = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    cfg.names = names;
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
    assert_eq!(tls.hello.sni.as_deref(), Some(HOST));
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
    let other = Ca::root("Not the capture CA");
    let e = refused(post(port(&server), HOST, &[&other.der], now()));
    assert_eq!(e, VerifyError::UnknownIssuer);
}

#[test]
fn serve_for_a_name_it_does_not_hold_is_not_valid_for_name() {
    let (server, _dir, ca) = start();
    let e = refused(post(port(&server), "api.example.com", &[&ca], now()));
    assert_eq!(e, VerifyError::NotValidForName);
}

/// firmware/rv32-qemu sends with a 512-byte TLS write buffer: every record it writes (the
/// ClientHello, the client Finished, the request) must fit.
#[test]
fn a_512_byte_write_buffer_carries_the_whole_post() {
    let (server, _dir, ca) = start();
    let a = post_with_write_buffer(port(&server), HOST, &[&ca], now(), 512).expect("handshake and POST");
    assert_eq!(a.status, 200);
    assert!(
        a.handshake_bytes.1 < 512,
        "handshake bytes sent: {:?}",
        a.handshake_bytes
    );
}

/// The longest legal host name (253 characters) still fits the ClientHello into 512 bytes: the
/// server answers (and the verifier then refuses its certificate for that name).
#[test]
fn a_512_byte_write_buffer_fits_the_client_hello_for_a_253_character_host() {
    let (server, _dir, ca) = start();
    let host = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61)
    );
    assert_eq!(host.len(), 253);
    // Refused for the name: the ClientHello went out.
    assert_eq!(
        refused(post_with_write_buffer(port(&server), &host, &[&ca], now(), 512)),
        VerifyError::NotValidForName
    );
}

#[test]
fn a_server_that_ignores_max_fragment_length_is_a_record_too_large_for_the_small_read_buffer() {
    // serve (rustls) ignores the extension; its leaf with 250 names makes a Certificate record
    // over 4,096 bytes, which a 4,352-byte read buffer cannot hold.
    let (server, _dir, ca) = start_with(with_extra_names(HOST, 250));
    let fragment = tlspost_device::embedded_tls::MaxFragmentLength::Bits12;
    let e = failed(
        post_fragment(port(&server), HOST, &[&ca], now(), fragment),
        &["4352-byte read buffer", "max_fragment_length"],
    );
    assert!(matches!(e, ConnectError::RecordTooLarge { read_buffer: 4352 }), "{e:?}");
    assert_eq!(
        post(port(&server), HOST, &[&ca], now())
            .expect("full read buffer")
            .status,
        200
    );
}

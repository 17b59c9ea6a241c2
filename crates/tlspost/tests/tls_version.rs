//! A server that speaks only TLS 1.1 (`openssl s_server -tls1_1`): the client, which speaks 1.2
//! and 1.3, must say that there is no version in common rather than fail vaguely.

use tlspost::probe::TlsFailure;
use tlspost::{Client, Error, Trust};
use tlspost_testkit::origin::{HOST, Pki};
use tlspost_testkit::s_server::SServer;

mod client_support;
use client_support::json;

#[test]
fn a_tls_1_1_server_is_refused_for_its_version() {
    let pki = Pki::new();
    // SECLEVEL=0: OpenSSL 3 refuses TLS 1.1 at its default security level.
    let server = SServer::start(
        &pki.good.chain(&[&pki.inter]),
        &pki.good.key_pem,
        &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
    );
    let port = server.port();

    let mut c = Client::builder()
        .trust(Trust::pinned_pem(pki.root.pem.as_bytes()).expect("root"))
        .resolve(HOST, port, ([127, 0, 0, 1], port).into())
        .build()
        .expect("client");
    let url = format!("https://{HOST}:{port}/");
    match c.send(&json(&url, b"{}".to_vec())) {
        Err(Error::Tls { error, .. }) => assert_eq!(error.failure, TlsFailure::ProtocolVersion, "{error:?}"),
        other => panic!("expected a TLS version error, got {other:?}\n{}", server.log()),
    }
    let e = c.send(&json(&url, b"{}".to_vec())).expect_err("refused");
    let text = e.to_string();
    assert!(text.contains("no TLS version in common"), "{text}");
    assert!(
        text.contains("TLS 1.2 and 1.3"),
        "the message says what this client speaks: {text}"
    );
    drop(server);
}

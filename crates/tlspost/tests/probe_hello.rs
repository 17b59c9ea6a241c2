//! Hand-built ClientHellos against real servers (openssl s_server, gnutls-serv), and answers
//! that are not a ServerHello from real sockets, met by the hello probe and by the device's own TLS
//! stack: what the plaintext says, parsed, and every refusal typed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use tlspost::probe::Alert;
use tlspost::probe::Version;
use tlspost::probe::hello::{
    AlertLevel, AlertMessage, Answer, ClientHello, Ext, MaxFragmentLength, ProbeError, Probed, ReadLimit, ext, group,
    probe, suite,
};
use tlspost_testkit::gnutls::GnutlsServ;
use tlspost_testkit::s_server::SServer;
use tlspost_testkit::{Ca, Leaf};

const HOST: &str = "probe.test";

fn leaf() -> (Ca, Leaf) {
    let root = Ca::root("Probe Root");
    let leaf = root.leaf(&[HOST]);
    (root, leaf)
}

fn send(port: u16, hello: &ClientHello) -> Result<Probed, ProbeError> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    probe(&mut stream, hello, ReadLimit::default())
}

fn server_hello(p: &Probed) -> &tlspost::probe::hello::ServerHello {
    match &p.answer {
        Answer::ServerHello(h) => h,
        other => panic!("expected a ServerHello, got {other:?}"),
    }
}

#[test]
fn a_tls12_only_server_answers_tls12_with_its_plaintext_flight_and_refuses_tls13() {
    let (_root, leaf) = leaf();
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &["-tls1_2"]);
    let got = send(server.port(), &ClientHello::tls12(Some(HOST))).unwrap();
    let hello = server_hello(&got);
    assert_eq!(hello.version, Version::Tls12);
    assert_eq!(hello.suite, suite::ECDHE_ECDSA_AES_128_GCM_SHA256);
    assert!(!hello.downgrade_sentinel);
    assert!(hello.renegotiation_info && hello.extended_master_secret);
    let flight = hello.flight.as_ref().unwrap();
    assert!(flight.server_hello_done, "{flight:?}");
    assert!(flight.server_key_exchange.is_some());
    let cert = flight.certificate.as_ref().unwrap();
    // s_server's -cert_chain file is the leaf again: sent as it is configured.
    assert_eq!(cert.certificates[0], leaf.der);
    assert!(cert.fits_one_record() && cert.records == 1);
    assert_eq!(got.records.first_version, Some(Version::Tls12));

    // A TLS 1.3-only hello: the server says protocol_version.
    let got = send(server.port(), &ClientHello::tls13(Some(HOST))).unwrap();
    assert_eq!(
        got.answer,
        Answer::Alert(AlertMessage {
            level: AlertLevel::Fatal,
            description: Alert::ProtocolVersion
        })
    );
}

#[test]
fn a_tls13_server_asks_for_the_key_share_it_wants() {
    let (_root, leaf) = leaf();
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &["-groups", "P-256"]);
    let mut hello = ClientHello::tls13(Some(HOST));
    hello.key_shares = vec![group::X25519];
    let got = send(server.port(), &hello).unwrap();
    let Answer::HelloRetry(retry) = &got.answer else {
        panic!("expected a HelloRetryRequest, got {got:?}")
    };
    assert_eq!(retry.group, Some(group::SECP256R1));
    assert_eq!(retry.version, Version::Tls13);

    // Offered the share it wants, it answers a ServerHello; the rest is encrypted.
    hello.key_shares = vec![group::SECP256R1];
    hello.max_fragment_length = Some(MaxFragmentLength::B2048);
    let got = send(server.port(), &hello).unwrap();
    let sh = server_hello(&got);
    assert_eq!((sh.version, sh.legacy_version), (Version::Tls13, Version::Tls12));
    assert_eq!(sh.key_share, Some(group::SECP256R1));
    assert_eq!(sh.suite, suite::TLS13_AES_128_GCM_SHA256);
    assert_eq!(sh.max_fragment_length, Ext::Encrypted);
    assert_eq!(sh.alpn, Ext::Encrypted);
    assert_eq!(sh.flight, None);
    assert!(sh.extensions.contains(&ext::SUPPORTED_VERSIONS));
}

#[test]
fn a_tls13_server_answers_a_tls12_hello_with_the_downgrade_sentinel() {
    let (_root, leaf) = leaf();
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &[]);
    let got = send(server.port(), &ClientHello::tls12(Some(HOST))).unwrap();
    let hello = server_hello(&got);
    assert_eq!(hello.version, Version::Tls12);
    assert!(hello.downgrade_sentinel);
}

#[test]
fn openssl_honours_max_fragment_length_in_every_record() {
    let (_root, leaf) = leaf();
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &["-tls1_2"]);
    let mut hello = ClientHello::tls12(Some(HOST));
    hello.max_fragment_length = Some(MaxFragmentLength::B512);
    let got = send(server.port(), &hello).unwrap();
    let sh = server_hello(&got);
    assert_eq!(sh.max_fragment_length, Ext::Echoed(MaxFragmentLength::B512));
    let cert = sh.flight.as_ref().unwrap().certificate.as_ref().unwrap();
    assert!(cert.records > 1, "{cert:?}");
    assert!(got.records.largest <= 512, "{:?}", got.records);

    // Without it, the same certificate travels in one record.
    let got = send(server.port(), &ClientHello::tls12(Some(HOST))).unwrap();
    let sh = server_hello(&got);
    assert_eq!(sh.max_fragment_length, Ext::NotEchoed);
    assert!(got.records.largest > 512, "{:?}", got.records);
}

#[test]
fn gnutls_answers_record_size_limit() {
    let (_root, leaf) = leaf();
    let server = GnutlsServ::start(&leaf.pem, &leaf.key_pem, &["--priority", "NORMAL:-VERS-TLS1.3"]);
    let mut hello = ClientHello::tls12(Some(HOST));
    hello.record_size_limit = Some(1024);
    let got = send(server.port(), &hello).unwrap();
    let sh = server_hello(&got);
    assert_eq!(sh.version, Version::Tls12);
    assert!(matches!(sh.record_size_limit, Ext::Echoed(n) if n >= 64), "{sh:?}");
    assert!(sh.flight.as_ref().unwrap().server_hello_done);

    // Not asked, not answered.
    let got = send(server.port(), &ClientHello::tls12(Some(HOST))).unwrap();
    assert_eq!(server_hello(&got).record_size_limit, Ext::NotEchoed);
}

#[test]
fn a_certificate_message_over_one_record_is_measured() {
    let root = Ca::root("Probe Root");
    // 800 host names of 22 bytes each make a leaf of about 18 KB.
    let big = root.leaf_builder(&[HOST]).extra_names(800).issue();
    assert!(big.der.len() > 16_384);
    let server = SServer::start(&big.pem, &big.key_pem, &["-tls1_2"]);
    let got = send(server.port(), &ClientHello::tls12(Some(HOST))).unwrap();
    let cert = server_hello(&got).flight.as_ref().unwrap().certificate.clone().unwrap();
    assert!(!cert.fits_one_record());
    let entries: usize = cert.certificates.iter().map(|c| 3 + c.len()).sum();
    assert_eq!(cert.length, 4 + 3 + entries);
    assert!(cert.records >= 2, "{cert:?}");
    assert_eq!(cert.certificates[0], big.der);
}

/// A real socket answering `reply` to anything, then closing.
fn answering(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(reply);
    });
    port
}

#[test]
fn answers_that_are_not_a_hello_are_typed_errors() {
    let hello = ClientHello::tls13(Some(HOST));
    assert_eq!(send(answering(b""), &hello), Err(ProbeError::Closed { received: 0 }));
    assert_eq!(
        send(answering(b"HTTP/1.1 400 Bad Request\r\n\r\n"), &hello),
        Err(ProbeError::NotTls {
            first: b"HTTP/".to_vec()
        })
    );
    // A ServerHello cut short.
    assert_eq!(
        send(answering(&[22, 3, 3, 0, 60, 2, 0, 0, 56, 3, 3]), &hello),
        Err(ProbeError::Closed { received: 11 })
    );
    // A handshake record that is not a ServerHello.
    assert_eq!(
        send(answering(&[22, 3, 3, 0, 4, 14, 0, 0, 0]), &hello),
        Err(ProbeError::Unexpected {
            content_type: 22,
            handshake: Some(14)
        })
    );
    // A ServerHello whose extensions overrun it.
    let mut bad = vec![22, 3, 3, 0, 44, 2, 0, 0, 40, 3, 3];
    bad.extend_from_slice(&[7; 32]);
    bad.extend_from_slice(&[0, 0x13, 0x01, 0, 0, 9]);
    let bad: &'static [u8] = bad.leak();
    assert!(matches!(send(answering(bad), &hello), Err(ProbeError::Malformed(_))));
}

#[cfg(feature = "device-probe")]
#[test]
fn the_device_stack_meets_the_same_answers_with_typed_failures() {
    use tlspost::probe::device::{DeviceFailure, DeviceProbe, DeviceSetup, run};

    let run_device = |port: u16, setup: &DeviceSetup<'_>| -> DeviceProbe {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        run(&mut stream, setup)
    };
    let root = Ca::root("Device Root");
    let roots: &[&[u8]] = &[&root.der];
    let now = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs();
    let setup = DeviceSetup::new(HOST, roots, now);
    let got = run_device(answering(b""), &setup);
    assert!(matches!(got.result, Err(DeviceFailure::Closed)), "{got:?}");
    assert_eq!(got.answer, None);

    let got = run_device(answering(b"HTTP/1.1 400 Bad Request\r\n\r\n"), &setup);
    assert!(
        matches!(&got.result, Err(DeviceFailure::NotTls { first }) if first == b"HTTP/"),
        "{got:?}"
    );
    assert_eq!(got.answer, None);

    // A ServerHello cut short, then the close.
    let got = run_device(answering(&[22, 3, 3, 0, 60, 2, 0, 0, 56, 3, 3]), &setup);
    assert!(matches!(got.result, Err(DeviceFailure::Closed)), "{got:?}");

    // An alert.
    let got = run_device(answering(&[21, 3, 3, 0, 2, 2, 40]), &setup);
    assert!(
        matches!(got.result, Err(DeviceFailure::Alert(a)) if a.description == Alert::HandshakeFailure),
        "{got:?}"
    );
}

#[test]
fn a_silent_server_times_out_as_the_caller_set() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let got = probe(&mut stream, &ClientHello::tls13(None), ReadLimit::default());
    assert!(
        matches!(
            got,
            Err(ProbeError::Read(
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ))
        ),
        "{got:?}"
    );
    drop(listener);
}

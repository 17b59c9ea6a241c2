//! The device's own TLS code (embedded-tls with tlspost-device's pinned-root verifier) run on the
//! host against real servers (nginx, openssl s_server): each way a device is refused comes back as
//! its typed cause, with what the plaintext showed.
#![cfg(feature = "device-probe")]

use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlspost::probe::device::{DeviceFailure, DeviceProbe, DeviceSetup, DeviceSuite, FULL_RECORD_BUFFER, run};
use tlspost::probe::hello::{Answer, MaxFragmentLength, group, suite};
use tlspost::probe::{Alert, Version};
use tlspost_device::{KeyKind, VerifyError};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::s_server::SServer;
use tlspost_testkit::{Alg, Ca, Leaf};

const HOST: &str = "device.test";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

fn device(port: u16, setup: &DeviceSetup<'_>) -> DeviceProbe {
    let got = run(&mut connect(port), setup);
    eprintln!("{got:?}");
    got
}

/// nginx with TLS 1.3 only, as the device's servers are set up.
fn nginx(chain: &str, key: &str) -> Nginx {
    Nginx::start(&[Site::new("device", chain, key).protocols("TLSv1.3")])
}

#[test]
fn a_p256_leaf_and_a_p384_chain_are_accepted() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf(&[HOST]);
    let server = nginx(&leaf.pem, &leaf.key_pem);
    let roots: &[&[u8]] = &[&root.der];
    let got = device(server.port(0), &DeviceSetup::new(HOST, roots, now()));
    let session = got.result.unwrap();
    assert_eq!(session.version, Version::Tls13);
    assert_eq!(session.suite, suite::TLS13_AES_128_GCM_SHA256);
    assert_eq!(session.group, Some(group::SECP256R1));
    assert!(matches!(got.answer, Some(Answer::ServerHello(_))));
    assert!(got.written > 0 && got.records.records >= 3, "{:?}", got.records);

    let root = Ca::builder("Device Root P-384").alg(Alg::P384).self_signed();
    let inter = Ca::builder("Device Issuing P-384").alg(Alg::P384).signed_by(&root);
    let leaf = inter.leaf_builder(&[HOST]).alg(Alg::P384).issue();
    let server = nginx(&leaf.chain(&[&inter]), &leaf.key_pem);
    let roots: &[&[u8]] = &[&root.der];
    let mut setup = DeviceSetup::new(HOST, roots, now());
    setup.suite = DeviceSuite::Aes256GcmSha384;
    let got = device(server.port(0), &setup);
    assert_eq!(got.result.unwrap().suite, suite::TLS13_AES_256_GCM_SHA384);
}

#[test]
fn a_tls12_only_server_is_refused_for_its_version() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf(&[HOST]);
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &["-tls1_2"]);
    let roots: &[&[u8]] = &[&root.der];
    let got = device(server.port(), &DeviceSetup::new(HOST, roots, now()));
    let failure = got.result.unwrap_err();
    assert!(
        matches!(failure, DeviceFailure::NoTls13 { server_version: None }),
        "{failure:?}"
    );
    assert!(failure.to_string().contains("TLS 1.3"), "{failure}");
}

#[test]
fn an_rsa_leaf_is_refused_for_its_key() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf_builder(&[HOST]).alg(Alg::Rsa2048).issue();
    let server = nginx(&leaf.pem, &leaf.key_pem);
    let roots: &[&[u8]] = &[&root.der];
    let got = device(server.port(0), &DeviceSetup::new(HOST, roots, now()));
    let failure = got.result.unwrap_err();
    assert!(
        matches!(
            failure,
            DeviceFailure::Verify(VerifyError::UnsupportedKey { kind: KeyKind::Rsa })
        ),
        "{failure:?}"
    );
}

#[test]
fn a_server_without_the_devices_group_refuses_it_with_an_alert() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf(&[HOST]);
    // The device offers secp256r1 alone (in supported_groups too): no HelloRetryRequest can
    // help, the server has no group in common.
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &["-groups", "X25519"]);
    let roots: &[&[u8]] = &[&root.der];
    let got = device(server.port(), &DeviceSetup::new(HOST, roots, now()));
    let failure = got.result.unwrap_err();
    assert!(
        matches!(failure, DeviceFailure::Alert(a) if a.description == Alert::HandshakeFailure),
        "{failure:?}"
    );
}

/// A leaf of about 18 KB: its Certificate message cannot travel in one record.
fn big_leaf(root: &Ca) -> Leaf {
    let big = root.leaf_builder(&[HOST]).extra_names(800).issue();
    assert!(big.der.len() > 16_384);
    big
}

#[test]
fn a_certificate_message_over_one_record_is_refused_for_spanning_records() {
    let root = Ca::root("Device Root");
    let big = big_leaf(&root);
    let server = nginx(&big.pem, &big.key_pem);
    let roots: &[&[u8]] = &[&root.der];
    let got = device(server.port(0), &DeviceSetup::new(HOST, roots, now()));
    let failure = got.result.unwrap_err();
    assert!(
        matches!(failure, DeviceFailure::MessageSpansRecords { largest_record } if largest_record > 16_384),
        "{failure:?}"
    );
}

#[test]
fn a_small_read_buffer_needs_max_fragment_length() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf(&[HOST]);
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &[]);
    let roots: &[&[u8]] = &[&root.der];
    let mut setup = DeviceSetup::new(HOST, roots, now());
    // Big enough for this server's handshake records, not for a full one.
    setup.read_buffer = 2048 + 256;
    setup.max_fragment_length = Some(MaxFragmentLength::B2048);
    let got = device(server.port(), &setup);
    assert!(got.result.is_ok(), "{:?}", got.result);
    assert!(got.records.largest <= 2048 + 256, "{:?}", got.records);

    // A record bigger than the buffer: the big leaf's, without max_fragment_length.
    let big = big_leaf(&root);
    let server = nginx(&big.pem, &big.key_pem);
    setup.max_fragment_length = None;
    let got = device(server.port(0), &setup);
    let failure = got.result.unwrap_err();
    assert!(
        matches!(failure, DeviceFailure::RecordTooBig { record, read_buffer: 2304 } if record > 2304),
        "{failure:?}"
    );
    assert_eq!(FULL_RECORD_BUFFER, 16_640);
}

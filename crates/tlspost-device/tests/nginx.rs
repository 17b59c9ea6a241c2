//! The device path against real nginx (TLS 1.3 only) with PKIs generated at test time: the same
//! embedded-tls connection, pinned-root verifier and tlspost-proto exchange a device runs.

mod common;

use common::{Ca, Nginx, P256, P384, now, post, rsa_key};
use tlspost_device::{ConnectError, KeyKind, VerifyError};

const HOST: &str = "device.tlspost.test";

fn refused(r: Result<common::Answer, ConnectError>) -> VerifyError {
    match r {
        Err(ConnectError::Verify(e)) => e,
        Err(other) => panic!("expected a verification error, got {other}"),
        Ok(a) => panic!("expected refusal, got HTTP {}", a.status),
    }
}

#[test]
fn json_post_succeeds_with_pinned_p256_root() {
    let root = Ca::root("Device Test Root P-256", &P256);
    let inter = root.intermediate("Device Test Issuing CA", &P256);
    let leaf = inter.leaf(&[HOST], &P256);
    let nginx = Nginx::start(&format!("{}{}", leaf.pem, inter.pem), &leaf.key_pem);

    let a = post(nginx.port, HOST, &[&root.der], now()).expect("handshake and POST");
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, b"application/json");
    assert_eq!(a.body, br#"{"ok":true}"#);
}

#[test]
fn p384_chain_and_p384_handshake_signature_verify() {
    let root = Ca::root("Device Test Root P-384", &P384);
    let inter = root.intermediate("Device Test Issuing CA P-384", &P384);
    let leaf = inter.leaf(&[HOST], &P384);
    let nginx = Nginx::start(&format!("{}{}", leaf.pem, inter.pem), &leaf.key_pem);

    let a = post(nginx.port, HOST, &[&root.der], now()).expect("P-384 handshake");
    assert_eq!((a.status, a.body.as_slice()), (200, &br#"{"ok":true}"#[..]));
}

#[test]
fn mixed_curves_p384_root_over_p256_leaf() {
    let root = Ca::root("Device Test Root P-384 mixed", &P384);
    let inter = root.intermediate("Device Test Issuing CA P-256", &P256);
    let leaf = inter.leaf(&[HOST], &P256);
    let nginx = Nginx::start(&format!("{}{}", leaf.pem, inter.pem), &leaf.key_pem);
    let a = post(nginx.port, HOST, &[&root.der], now()).expect("mixed-curve chain");
    assert_eq!(a.status, 200);
}

#[test]
fn wrong_host_name_is_refused_even_when_cn_matches() {
    let root = Ca::root("Device Test Root", &P256);
    let leaf = root.leaf_with(
        &["other.tlspost.test"],
        rcgen::KeyPair::generate_for(&P256).expect("key"),
        |p| {
            // A CN equal to the host name must not help.
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(rcgen::DnType::CommonName, HOST);
        },
    );
    let nginx = Nginx::start(&leaf.pem, &leaf.key_pem);
    let e = refused(post(nginx.port, HOST, &[&root.der], now()));
    assert_eq!(e, VerifyError::NotValidForName);
    assert!(e.to_string().contains("subjectAltName"), "{e}");
}

#[test]
fn expired_leaf_is_refused_with_its_dates() {
    let root = Ca::root("Device Test Root", &P256);
    let leaf = root.leaf_with(&[HOST], rcgen::KeyPair::generate_for(&P256).expect("key"), |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let nginx = Nginx::start(&leaf.pem, &leaf.key_pem);
    let t = now();
    match refused(post(nginx.port, HOST, &[&root.der], t)) {
        VerifyError::Expired { now, not_after } => {
            assert_eq!(now, t);
            assert_eq!(not_after, 1_609_459_200); // 2021-01-01T00:00:00Z
            let msg = VerifyError::Expired { now, not_after }.to_string();
            assert!(msg.contains("2021-01-01 00:00:00 UTC"), "{msg}");
        }
        other => panic!("expected Expired, got {other:?}"),
    }
}

#[test]
fn clock_before_not_before_is_refused_as_not_yet_valid() {
    // A device without a clock uses its build time as a floor; here that floor is 2019.
    let root = Ca::root("Device Test Root", &P256);
    let leaf = root.leaf_with(&[HOST], rcgen::KeyPair::generate_for(&P256).expect("key"), |p| {
        p.not_before = rcgen::date_time_ymd(2025, 1, 1)
    });
    let nginx = Nginx::start(&leaf.pem, &leaf.key_pem);
    let floor = 1_546_300_800; // 2019-01-01
    match refused(post(nginx.port, HOST, &[&root.der], floor)) {
        VerifyError::NotYetValid { now, .. } => assert_eq!(now, floor),
        other => panic!("expected NotYetValid, got {other:?}"),
    }
}

#[test]
fn untrusted_root_is_unknown_issuer() {
    let pinned = Ca::root("Pinned Root", &P256);
    let other = Ca::root("Some Other Root", &P256);
    let leaf = other.leaf(&[HOST], &P256);
    // The server even sends its root along: still not ours.
    let nginx = Nginx::start(&format!("{}{}", leaf.pem, other.pem), &leaf.key_pem);
    let e = refused(post(nginx.port, HOST, &[&pinned.der], now()));
    assert_eq!(e, VerifyError::UnknownIssuer);
    assert!(e.to_string().contains("tlspost certs"), "{e}");
}

#[test]
fn root_impostor_with_same_name_but_other_key_is_bad_signature() {
    let pinned = Ca::root("Device Test Root", &P256);
    let impostor = Ca::root("Device Test Root", &P256); // same subject, different key
    let leaf = impostor.leaf(&[HOST], &P256);
    let nginx = Nginx::start(&leaf.pem, &leaf.key_pem);
    // The issuer name matches the pinned root, its key does not: the signature check says so.
    let e = refused(post(nginx.port, HOST, &[&pinned.der], now()));
    assert_eq!(e, VerifyError::BadSignature);
    assert!(e.to_string().contains("pinned root's name"), "{e}");
}

/// The GTS Root R4 / GlobalSign case: the server sends leaf, intermediate (issued by the new
/// root) and the new root cross-signed by the old root.
struct CrossSigned {
    old_root: Ca,
    new_root: Ca,
    inter_pem: String,
    cross_pem: String,
    leaf: common::Leaf,
}

fn cross_signed() -> CrossSigned {
    let old_root = Ca::root("Old Root CA", &P256);
    let new_root = Ca::root("New Root CA R4", &P384);
    let (_, cross_pem) = old_root.cross_sign(&new_root);
    let inter = new_root.intermediate("Issuing CA 1P5", &P256);
    let leaf = inter.leaf(&[HOST], &P256);
    CrossSigned {
        old_root,
        new_root,
        inter_pem: inter.pem,
        cross_pem,
        leaf,
    }
}

#[test]
fn cross_signed_chain_accepted_with_only_new_root_pinned() {
    let c = cross_signed();
    let chain = format!("{}{}{}", c.leaf.pem, c.inter_pem, c.cross_pem);
    let nginx = Nginx::start(&chain, &c.leaf.key_pem);
    let a = post(nginx.port, HOST, &[&c.new_root.der], now()).expect("new root pinned");
    assert_eq!(a.status, 200);
}

#[test]
fn cross_signed_chain_accepted_with_only_old_root_pinned() {
    let c = cross_signed();
    let chain = format!("{}{}{}", c.leaf.pem, c.inter_pem, c.cross_pem);
    let nginx = Nginx::start(&chain, &c.leaf.key_pem);
    let a = post(nginx.port, HOST, &[&c.old_root.der], now()).expect("old root pinned");
    assert_eq!(a.status, 200);
}

#[test]
fn out_of_order_chain_with_an_extra_certificate_is_accepted() {
    let c = cross_signed();
    let stray = Ca::root("Unrelated CA", &P256);
    // Cross-cert before the intermediate, plus an unrelated certificate in the middle.
    let chain = format!("{}{}{}{}", c.leaf.pem, c.cross_pem, stray.pem, c.inter_pem);
    let nginx = Nginx::start(&chain, &c.leaf.key_pem);
    let a = post(nginx.port, HOST, &[&stray.der, &c.new_root.der], now()).expect("out-of-order chain");
    assert_eq!(a.status, 200);
}

#[test]
fn rsa_only_server_is_refused_with_a_precise_error() {
    let root = Ca::root_with_key("RSA Root", rsa_key());
    let leaf = root.leaf_with(&[HOST], rsa_key(), |_| {});
    let nginx = Nginx::start(&leaf.pem, &leaf.key_pem);
    let e = refused(post(nginx.port, HOST, &[&root.der], now()));
    assert_eq!(e, VerifyError::UnsupportedKey { kind: KeyKind::Rsa });
    let msg = e.to_string();
    assert!(msg.contains("RSA") && msg.contains("ECDSA"), "{msg}");
}

#[test]
fn ecdsa_leaf_under_an_rsa_root_is_unsupported_signature_algorithm() {
    let root = Ca::root_with_key("RSA Root", rsa_key());
    let leaf = root.leaf(&[HOST], &P256);
    let nginx = Nginx::start(&leaf.pem, &leaf.key_pem);
    let e = refused(post(nginx.port, HOST, &[&root.der], now()));
    assert_eq!(e, VerifyError::UnsupportedSignatureAlgorithm);
}

#[test]
fn reconnect_cost_full_handshake_each_time() {
    // embedded-tls cannot resume TLS 1.3 sessions (docs/device.md): every reconnect is a full
    // handshake. Record what that costs in bytes on the wire (and host time, for reference).
    let root = Ca::root("Device Test Root", &P256);
    let inter = root.intermediate("Device Test Issuing CA", &P256);
    let leaf = inter.leaf(&[HOST], &P256);
    let nginx = Nginx::start(&format!("{}{}", leaf.pem, inter.pem), &leaf.key_pem);
    let mut sizes = Vec::new();
    for _ in 0..3 {
        let a = post(nginx.port, HOST, &[&root.der], now()).expect("handshake");
        assert_eq!(a.status, 200);
        sizes.push(a.handshake_bytes);
        eprintln!(
            "full handshake: {} B read, {} B written, {:?} on this host",
            a.handshake_bytes.0, a.handshake_bytes.1, a.handshake_time
        );
    }
    // No resumption: each reconnect receives the whole certificate chain again.
    assert!(sizes.iter().all(|&(r, _)| r > leaf.der.len() + inter.der.len()));
}

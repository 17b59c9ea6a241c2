//! The device path against real nginx (TLS 1.3 only) with PKIs generated at test time: the same
//! embedded-tls connection, pinned-root verifier and tlspost-proto exchange a device runs.

mod support;

use support::{Issued, failed, leaf, nginx, nginx_under, now, post, post_fragment, refused};
use tlspost_device::embedded_tls::MaxFragmentLength;
use tlspost_device::{ConnectError, KeyKind, VerifyError};
use tlspost_testkit::pki::{Alg, Ca, Leaf, Validity};

const HOST: &str = "device.tlspost.test";

#[test]
fn json_post_succeeds_with_pinned_p256_root() {
    let root = Ca::root("Device Test Root P-256");
    let nginx = nginx_under(&root, HOST);

    let a = post(nginx.port(0), HOST, &[&root.der], now()).expect("handshake and POST");
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, b"application/json");
    assert_eq!(a.body, br#"{"ok":true}"#);
}

#[test]
fn p384_chain_and_p384_handshake_signature_verify() {
    let root = Ca::builder("Device Test Root P-384").alg(Alg::P384).self_signed();
    let inter = Ca::builder("Device Test Issuing CA P-384")
        .alg(Alg::P384)
        .signed_by(&root);
    let leaf = leaf(&inter, &[HOST]).alg(Alg::P384).issue();
    let nginx = nginx(&leaf.chain(&[&inter]), &leaf.key_pem);

    let a = post(nginx.port(0), HOST, &[&root.der], now()).expect("P-384 handshake");
    assert_eq!((a.status, a.body.as_slice()), (200, &br#"{"ok":true}"#[..]));
}

#[test]
fn mixed_curves_p384_root_over_p256_leaf() {
    let root = Ca::builder("Device Test Root P-384 mixed").alg(Alg::P384).self_signed();
    let inter = root.intermediate("Device Test Issuing CA P-256");
    let leaf = leaf(&inter, &[HOST]).issue();
    let nginx = nginx(&leaf.chain(&[&inter]), &leaf.key_pem);
    let a = post(nginx.port(0), HOST, &[&root.der], now()).expect("mixed-curve chain");
    assert_eq!(a.status, 200);
}

#[test]
fn wrong_host_name_is_refused_even_when_cn_matches() {
    let root = Ca::root("Device Test Root");
    // A CN equal to the host name must not help.
    let leaf = root.leaf_builder(&["other.tlspost.test"]).cn(HOST).issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    let e = refused(post(nginx.port(0), HOST, &[&root.der], now()));
    assert_eq!(e, VerifyError::NotValidForName);
    assert!(e.to_string().contains("subjectAltName"), "{e}");
}

#[test]
fn expired_leaf_is_refused_with_its_dates() {
    let root = Ca::root("Device Test Root");
    // 2020-01-01 to 2021-01-01.
    let leaf = leaf(&root, &[HOST]).validity(Validity::expired()).issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    let t = now();
    match refused(post(nginx.port(0), HOST, &[&root.der], t)) {
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
    let root = Ca::root("Device Test Root");
    let leaf = leaf(&root, &[HOST])
        .validity(Validity::dates((2025, 1, 1), (4096, 1, 1)))
        .issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    let floor = 1_546_300_800; // 2019-01-01
    match refused(post(nginx.port(0), HOST, &[&root.der], floor)) {
        VerifyError::NotYetValid { now, .. } => assert_eq!(now, floor),
        other => panic!("expected NotYetValid, got {other:?}"),
    }
}

#[test]
fn untrusted_root_is_unknown_issuer() {
    let pinned = Ca::root("Pinned Root");
    let other = Ca::root("Some Other Root");
    let leaf = leaf(&other, &[HOST]).issue();
    // The server even sends its root along: still not ours.
    let nginx = nginx(&leaf.chain(&[&other]), &leaf.key_pem);
    let e = refused(post(nginx.port(0), HOST, &[&pinned.der], now()));
    assert_eq!(e, VerifyError::UnknownIssuer);
    // The fix is the device's to make, said without naming a program.
    assert!(e.to_string().contains("pin the root"), "{e}");
    assert!(!e.to_string().contains("tlspost"), "{e}");
}

#[test]
fn root_impostor_with_same_name_but_other_key_is_bad_signature() {
    let pinned = Ca::root("Device Test Root");
    let impostor = Ca::root("Device Test Root"); // same subject, different key
    let leaf = leaf(&impostor, &[HOST]).issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    // The issuer name matches the pinned root, its key does not: the signature check says so.
    let e = refused(post(nginx.port(0), HOST, &[&pinned.der], now()));
    assert_eq!(e, VerifyError::BadSignature);
    assert!(e.to_string().contains("pinned root's name"), "{e}");
}

/// The GTS Root R4 / GlobalSign case: the server sends leaf, intermediate (issued by the new
/// root) and the new root cross-signed by the old root.
struct CrossSigned {
    old_root: Ca,
    new_root: Ca,
    inter: Ca,
    cross: Ca,
    leaf: Leaf,
}

fn cross_signed() -> CrossSigned {
    let old_root = Ca::root("Old Root CA");
    let new_root = Ca::builder("New Root CA R4").alg(Alg::P384).self_signed();
    let cross = new_root.cross_signed_by(&old_root);
    let inter = new_root.intermediate("Issuing CA 1P5");
    let leaf = leaf(&inter, &[HOST]).issue();
    CrossSigned {
        old_root,
        new_root,
        inter,
        cross,
        leaf,
    }
}

#[test]
fn cross_signed_chain_accepted_with_either_root_pinned_alone() {
    let c = cross_signed();
    let nginx = nginx(&c.leaf.chain(&[&c.inter, &c.cross]), &c.leaf.key_pem);
    for (root, which) in [(&c.new_root, "new"), (&c.old_root, "old")] {
        let a = post(nginx.port(0), HOST, &[&root.der], now()).unwrap_or_else(|e| panic!("{which} root pinned: {e}"));
        assert_eq!(a.status, 200, "{which} root pinned");
    }
}

#[test]
fn out_of_order_chain_with_an_extra_certificate_is_accepted() {
    let c = cross_signed();
    let stray = Ca::root("Unrelated CA");
    // Cross-cert before the intermediate, plus an unrelated certificate in the middle.
    let nginx = nginx(&c.leaf.chain(&[&c.cross, &stray, &c.inter]), &c.leaf.key_pem);
    let a = post(nginx.port(0), HOST, &[&stray.der, &c.new_root.der], now()).expect("out-of-order chain");
    assert_eq!(a.status, 200);
}

#[test]
fn rsa_only_server_is_refused_with_a_precise_error() {
    let root = Ca::builder("RSA Root").alg(Alg::Rsa2048).self_signed();
    let leaf = leaf(&root, &[HOST]).alg(Alg::Rsa2048).issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    let e = refused(post(nginx.port(0), HOST, &[&root.der], now()));
    assert_eq!(e, VerifyError::UnsupportedKey { kind: KeyKind::Rsa });
    let msg = e.to_string();
    assert!(msg.contains("RSA") && msg.contains("ECDSA"), "{msg}");
}

#[test]
fn ecdsa_leaf_under_an_rsa_root_is_unsupported_signature_algorithm() {
    let root = Ca::builder("RSA Root").alg(Alg::Rsa2048).self_signed();
    let leaf = leaf(&root, &[HOST]).issue();
    let nginx = nginx(&leaf.pem, &leaf.key_pem);
    let e = refused(post(nginx.port(0), HOST, &[&root.der], now()));
    assert_eq!(e, VerifyError::UnsupportedSignatureAlgorithm);
}

#[test]
fn reconnect_cost_full_handshake_each_time() {
    // embedded-tls cannot resume TLS 1.3 sessions (docs/device.md): every reconnect is a full
    // handshake. Record what that costs in bytes on the wire (and host time, for reference).
    let root = Ca::root("Device Test Root");
    let Issued { inter, leaf } = Issued::under(&root, HOST);
    let nginx = nginx(&leaf.chain(&[&inter]), &leaf.key_pem);
    let mut sizes = Vec::new();
    for _ in 0..3 {
        let a = post(nginx.port(0), HOST, &[&root.der], now()).expect("handshake");
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

#[test]
fn a_4096_byte_fragment_works_with_a_4352_byte_read_buffer_against_nginx() {
    // nginx (OpenSSL) honours max_fragment_length: a response body larger than the fragment comes
    // in several records, each fitting the small read buffer.
    let root = Ca::root("Device Test Root P-256");
    let issued = Issued::under(&root, HOST);
    // 10,000 bytes of body from a 2,000-byte variable (nginx's parameters stop at 4 KB).
    let x = "x".repeat(2_000);
    let readings =
        format!("location = /api/v1/readings {{ default_type application/json; set $x {x}; return 200 $x$x$x$x$x; }}");
    let nginx = tlspost_testkit::nginx::Nginx::start(&[tlspost_testkit::nginx::Site::new(
        "device",
        &issued.chain(),
        &issued.leaf.key_pem,
    )
    .protocols("TLSv1.3")
    .directives(&readings)]);
    assert_eq!(tlspost_device::read_buffer_for(MaxFragmentLength::Bits12), 4352);
    let a = post_fragment(nginx.port(0), HOST, &[&root.der], now(), MaxFragmentLength::Bits12)
        .expect("handshake and POST in 4,096-byte fragments");
    assert_eq!((a.status, a.body.len()), (200, 10_000));
}

#[test]
fn certificates_larger_than_the_fragment_are_told_apart_from_a_record_too_large() {
    // nginx honours the 4,096-byte fragment and splits a Certificate message of about 7 KB (a
    // leaf with 200 names and an intermediate) over two records; embedded-tls reads a handshake
    // message from one record only.
    let root = Ca::root("Device Test Root P-256");
    let inter = root.intermediate("Device Test Issuing CA");
    let leaf = leaf(&inter, &[HOST]).extra_names(200).issue();
    let chain = leaf.chain(&[&inter]);
    assert!((4_200..16_000).contains(&(leaf.der.len() + inter.der.len())));
    let nginx = nginx(&chain, &leaf.key_pem);
    let e = failed(
        post_fragment(nginx.port(0), HOST, &[&root.der], now(), MaxFragmentLength::Bits12),
        &["one fragment", "16640-byte read buffer"],
    );
    assert!(
        matches!(e, ConnectError::CertificateSpansRecords { read_buffer: 4352 }),
        "{e:?}"
    );
    // The full read buffer, no fragment: the same server and chain pass.
    assert_eq!(
        post(nginx.port(0), HOST, &[&root.der], now())
            .expect("full read buffer")
            .status,
        200
    );
}

//! The rustls backend against real nginx: a full handshake, then a resumed one from the caller's
//! session slot (nginx's `$ssl_session_reused` says so), TLS 1.2 only, a server handshake larger
//! than the limit, and the verifier's refusals with the same errors as the embedded-tls path.

mod support;

use std::sync::Arc;

use support::rustls::{LoggingNginx, client, limit, post, refused};
use support::{Issued, failed, leaf, now};
use tlspost_device::rustls_backend::{RustlsError, SessionSlot};
use tlspost_device::{KeyKind, VerifyError};
use tlspost_testkit::pki::{Ca, Validity};

const HOST: &str = "device.tlspost.test";

/// nginx serving a P-256 leaf under an intermediate of `root` (Let's Encrypt's shape).
fn nginx_under(root: &Ca, protocols: &str) -> LoggingNginx {
    let issued = Issued::under(root, HOST);
    LoggingNginx::start(&issued.chain(), &issued.leaf.key_pem, protocols)
}

fn full_then_resumed(protocols: &str, version: u16) {
    let root = Ca::root("Device Test Root P-256");
    let nginx = nginx_under(&root, protocols);
    let sessions = Arc::new(SessionSlot::new());
    let client = client(&[&root.der], &sessions);

    let full = post(&client, nginx.port(), HOST, now()).expect("full handshake and POST");
    assert_eq!((full.status, full.body.as_slice()), (200, &br#"{"ok":true}"#[..]));
    assert_eq!((full.version, full.resumed), (version, false));
    assert!(sessions.holds(HOST), "the server's session was kept");

    let resumed = post(&client, nginx.port(), HOST, now()).expect("resumed handshake and POST");
    assert_eq!((resumed.status, resumed.body.as_slice()), (200, &br#"{"ok":true}"#[..]));
    assert_eq!((resumed.version, resumed.resumed), (version, true));
    // No certificates the second time: the server's part of the handshake is much smaller.
    assert!(
        resumed.server_handshake_bytes * 2 < full.server_handshake_bytes,
        "{resumed:?} vs {full:?}"
    );
    eprintln!(
        "{protocols}: full {:?}, resumed {:?} (bytes read, written)",
        full.handshake_bytes, resumed.handshake_bytes
    );

    let name = if version == 0x0304 { "TLSv1.3" } else { "TLSv1.2" };
    let log = nginx.log_lines(2);
    assert_eq!(
        log,
        [format!("{name} ."), format!("{name} r")],
        "nginx's view of the two handshakes"
    );
}

#[test]
fn tls13_full_then_resumed_from_the_session_slot() {
    full_then_resumed("TLSv1.3", 0x0304);
}

#[test]
fn tls12_only_server_full_then_resumed() {
    full_then_resumed("TLSv1.2", 0x0303);
}

#[test]
fn an_empty_slot_means_a_full_handshake_each_time() {
    let root = Ca::root("Device Test Root P-256");
    let nginx = nginx_under(&root, "TLSv1.3");
    let sessions = Arc::new(SessionSlot::new());
    let client = client(&[&root.der], &sessions);
    post(&client, nginx.port(), HOST, now()).expect("first");
    sessions.clear();
    let again = post(&client, nginx.port(), HOST, now()).expect("second");
    assert!(!again.resumed);
    assert_eq!(nginx.log_lines(2), ["TLSv1.3 .", "TLSv1.3 ."]);
}

#[test]
fn a_server_handshake_over_the_limit_is_refused_before_rustls_holds_it() {
    let root = Ca::root("Device Test Root P-256");
    let nginx = nginx_under(&root, "TLSv1.3");
    let sessions = Arc::new(SessionSlot::new());
    // Leaf and intermediate take about 1,300 bytes of records here; allow 1,000.
    let small = client(&[&root.der], &sessions).with_limits(limit(1_000));
    let e = failed(
        post(&small, nginx.port(), HOST, now()),
        &["more than 1000 bytes", "shorter chain"],
    );
    assert!(matches!(e, RustlsError::HandshakeTooLarge { limit: 1_000 }), "{e:?}");

    // The default limit (8,192) against a server that sends twelve extra certificates.
    let Issued { inter, leaf } = Issued::under(&root, HOST);
    let padding: Vec<Ca> = (0..12)
        .map(|i| Ca::root(&format!("Padding CA {i} {}", "x".repeat(200))))
        .collect();
    let mut chain: Vec<&Ca> = vec![&inter];
    chain.extend(padding.iter());
    let big = LoggingNginx::start(&leaf.chain(&chain), &leaf.key_pem, "TLSv1.3");
    let default = client(&[&root.der], &sessions);
    match post(&default, big.port(), HOST, now()) {
        Err(RustlsError::HandshakeTooLarge { limit: 8_192 }) => {}
        other => panic!("expected HandshakeTooLarge, got {other:?}"),
    }
}

#[test]
fn refusals_are_the_verifiers_errors() {
    let root = Ca::root("Device Test Root");
    let sessions = Arc::new(SessionSlot::new());
    let client = client(&[&root.der], &sessions);

    let other = root.leaf_builder(&["other.tlspost.test"]).cn(HOST).issue();
    let nginx = LoggingNginx::start(&other.pem, &other.key_pem, "TLSv1.3");
    assert_eq!(
        refused(post(&client, nginx.port(), HOST, now())),
        VerifyError::NotValidForName
    );

    let expired = leaf(&root, &[HOST]).validity(Validity::expired()).issue();
    let nginx = LoggingNginx::start(&expired.pem, &expired.key_pem, "TLSv1.2");
    let t = now();
    assert_eq!(
        refused(post(&client, nginx.port(), HOST, t)),
        VerifyError::Expired {
            now: t,
            not_after: 1_609_459_200
        }
    );

    let foreign = Ca::root("Some Other Root");
    let stranger = leaf(&foreign, &[HOST]).issue();
    let nginx = LoggingNginx::start(&stranger.chain(&[&foreign]), &stranger.key_pem, "TLSv1.3");
    let e = refused(post(&client, nginx.port(), HOST, now()));
    assert_eq!(e, VerifyError::UnknownIssuer);
    assert!(
        RustlsError::<std::io::Error>::Verify(e)
            .to_string()
            .contains("pin the root")
    );

    let floor = 1_546_300_800; // 2019-01-01: a device clock behind the certificate
    let fresh = leaf(&root, &[HOST])
        .validity(Validity::dates((2025, 1, 1), (4096, 1, 1)))
        .issue();
    let nginx = LoggingNginx::start(&fresh.pem, &fresh.key_pem, "TLSv1.3");
    match refused(post(&client, nginx.port(), HOST, floor)) {
        VerifyError::NotYetValid { now, .. } => assert_eq!(now, floor),
        other => panic!("expected NotYetValid, got {other:?}"),
    }
    assert!(!sessions.holds(HOST), "no session from a refused server");
}

#[test]
fn several_roots_and_a_cross_signed_chain() {
    // The server's chain ends at the new root, cross-signed by the old one; only the old is pinned.
    let old_root = Ca::root("Device Test Old Root");
    let new_root = Ca::root("Device Test New Root");
    let cross = new_root.cross_signed_by(&old_root);
    let Issued { inter, leaf } = Issued::under(&new_root, HOST);
    let nginx = LoggingNginx::start(&leaf.chain(&[&inter, &cross]), &leaf.key_pem, "TLSv1.3");
    let unrelated = Ca::root("Unrelated Root");
    let sessions = Arc::new(SessionSlot::new());
    let client = client(&[&unrelated.der, &old_root.der], &sessions);
    let a = post(&client, nginx.port(), HOST, now()).expect("cross-signed path to the second root");
    assert_eq!(a.status, 200);
}

#[test]
fn an_rsa_only_server_is_refused_for_its_key() {
    let root = Ca::root("Device Test Root");
    let rsa = leaf(&root, &[HOST]).alg(tlspost_testkit::pki::Alg::Rsa2048).issue();
    let nginx = LoggingNginx::start(&rsa.pem, &rsa.key_pem, "TLSv1.2 TLSv1.3");
    let sessions = Arc::new(SessionSlot::new());
    let client = client(&[&root.der], &sessions);
    assert_eq!(
        refused(post(&client, nginx.port(), HOST, now())),
        VerifyError::UnsupportedKey { kind: KeyKind::Rsa }
    );
}

//! The probe layer against real servers: nginx and openssl s_server from the test kit, each
//! failure its own typed cause with its facts.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use tlspost::certinfo::CertInfo;
use tlspost::probe::{
    Alert, CertProblem, ConnectFailure, HandshakeError, HandshakeKind, Limits, Override, Session, Source, TlsFailure,
    TlsSetup, Trust, Version, connect, handshake, resolve,
};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::Validity;
use tlspost_testkit::proc::refused_addr;
use tlspost_testkit::s_server::SServer;
use tlspost_testkit::{Ca, Leaf};

const HOST: &str = "api.probe.test";

struct Pki {
    root: Ca,
    inter: Ca,
    good: Leaf,
}

impl Pki {
    fn new() -> Pki {
        let root = Ca::root("Probe Test Root");
        let inter = root.intermediate("Probe Test Issuing CA");
        let good = inter.leaf(&[HOST]);
        Pki { root, inter, good }
    }

    fn trust(&self) -> Trust {
        Trust::pinned_pem(self.root.pem.as_bytes()).expect("root")
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Resolves HOST to the port through an override, connects, handshakes.
fn probe(setup: &TlsSetup, port: u16, name: &str) -> Result<Session, HandshakeError> {
    let o = Override {
        host: name.to_string(),
        port,
        addr: addr(port),
    };
    let r = resolve(name, port, &[o]).expect("override");
    assert_eq!(r.source, Source::Override);
    let c = connect(&r.addrs, Some(Duration::from_secs(5))).expect("connect");
    assert_eq!(c.addr, addr(port));
    assert!(c.failed.is_empty());
    handshake(
        setup,
        c.stream,
        name,
        Limits::within(Duration::from_secs(10)),
        &mut |_, _| {},
    )
}

fn failure(r: Result<Session, HandshakeError>) -> HandshakeError {
    match r {
        Ok(s) => panic!("the handshake succeeded: {:?}", s.facts),
        Err(e) => e,
    }
}

#[test]
fn good_chain_records_the_facts_and_the_chain_as_served() {
    let pki = Pki::new();
    let nginx = Nginx::start(&[
        Site::new("good", &pki.good.chain(&[&pki.inter]), &pki.good.key_pem),
        Site::new("tls12", &pki.good.chain(&[&pki.inter]), &pki.good.key_pem).protocols("TLSv1.2"),
    ]);
    let setup = TlsSetup::verifying(&pki.trust(), &[b"http/1.1"]).expect("setup");
    let s = probe(&setup, nginx.port_of("good"), HOST).expect("handshake");
    let f = &s.facts;
    assert_eq!(f.version, Version::Tls13);
    assert!(f.suite_text().starts_with("TLS13_"), "{}", f.suite_text());
    assert!(f.group_text().is_some(), "a TLS 1.3 handshake has a key exchange group");
    assert_eq!(f.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(f.sni.as_deref(), Some(HOST));
    assert_eq!(
        f.chain,
        vec![pki.good.der.clone(), pki.inter.der.clone()],
        "leaf, then intermediate, as served"
    );
    assert_ne!(f.kind, HandshakeKind::Resumed);
    let leaf = CertInfo::from_der(&f.chain[0]).expect("leaf parses");
    assert_eq!(leaf.sans, vec![HOST]);
    assert!(leaf.issuer.contains("Probe Test Issuing CA"), "{}", leaf.issuer);
    s.close();

    // The same setup resumes the session it kept; nothing is served then.
    let again = probe(&setup, nginx.port_of("good"), HOST).expect("second handshake");
    assert_eq!(again.facts.kind, HandshakeKind::Resumed);
    assert!(again.facts.chain.is_empty());

    let s = probe(&setup, nginx.port_of("tls12"), HOST).expect("TLS 1.2");
    assert_eq!(s.facts.version, Version::Tls12);
    assert!(
        s.facts.suite_text().starts_with("TLS_ECDHE_"),
        "{}",
        s.facts.suite_text()
    );
}

#[test]
fn certificate_failures_are_typed_with_their_facts() {
    let pki = Pki::new();
    let expired = pki.inter.leaf_builder(&[HOST]).validity(Validity::expired()).issue();
    let future = pki
        .inter
        .leaf_builder(&[HOST])
        .validity(Validity::not_yet_valid())
        .issue();
    let other = pki.inter.leaf(&["other.probe.test", "www.other.probe.test"]);
    let nginx = Nginx::start(&[
        Site::new("expired", &expired.chain(&[&pki.inter]), &expired.key_pem),
        Site::new("future", &future.chain(&[&pki.inter]), &future.key_pem),
        Site::new("wrong", &other.chain(&[&pki.inter]), &other.key_pem),
        Site::new("leafonly", &pki.good.chain(&[]), &pki.good.key_pem),
        Site::new("good", &pki.good.chain(&[&pki.inter]), &pki.good.key_pem),
    ]);
    let setup = TlsSetup::verifying(&pki.trust(), &[]).expect("setup");

    let e = failure(probe(&setup, nginx.port_of("expired"), HOST));
    match &e.failure {
        TlsFailure::Certificate(CertProblem::Expired { not_after, now }) => {
            assert_eq!(*not_after, 1_609_459_200, "2021-01-01 00:00:00 UTC");
            assert!(now > not_after);
        }
        other => panic!("expired: {other:?}"),
    }
    assert_eq!(e.chain.len(), 2, "the chain is recorded even when refused");
    assert!(e.to_string().contains("expired at 2021-01-01 00:00:00 UTC"), "{e}");

    match failure(probe(&setup, nginx.port_of("future"), HOST)).failure {
        TlsFailure::Certificate(CertProblem::NotYetValid { not_before, .. }) => {
            assert_eq!(not_before, 4_070_908_800, "2099-01-01 00:00:00 UTC");
        }
        other => panic!("not yet valid: {other:?}"),
    }

    let e = failure(probe(&setup, nginx.port_of("wrong"), HOST));
    assert_eq!(
        e.failure,
        TlsFailure::Certificate(CertProblem::NameMismatch {
            expected: HOST.to_string(),
            names: vec!["other.probe.test".into(), "www.other.probe.test".into()],
        })
    );
    assert!(
        !e.to_string().contains("--"),
        "no command-line option in a library message: {e}"
    );

    let e = failure(probe(&setup, nginx.port_of("leafonly"), HOST));
    assert_eq!(e.failure, TlsFailure::Certificate(CertProblem::IncompleteChain));
    assert_eq!(e.chain, vec![pki.good.der.clone()]);

    // Another root pinned: the chain leads nowhere trusted.
    let elsewhere = Ca::root("Some Other Root");
    let other_trust = Trust::pinned_pem(elsewhere.pem.as_bytes()).expect("root");
    let setup = TlsSetup::verifying(&other_trust, &[]).expect("setup");
    let e = failure(probe(&setup, nginx.port_of("good"), HOST));
    assert_eq!(e.failure, TlsFailure::Certificate(CertProblem::UnknownIssuer));
    let certs = e.certs();
    assert_eq!(certs.len(), 2);
    assert!(certs[1].issuer.contains("Probe Test Root"), "{}", certs[1].issuer);

    // Recording only: every one of those chains is fetched without judgement.
    let recording = TlsSetup::recording(&[]).expect("setup");
    for site in ["expired", "future", "wrong", "leafonly", "good"] {
        let s = probe(&recording, nginx.port_of(site), HOST).unwrap_or_else(|e| panic!("{site}: {e}"));
        assert!(!s.facts.chain.is_empty(), "{site}");
        s.close();
    }
}

#[test]
fn alerts_are_typed_and_sni_is_reported() {
    let pki = Pki::new();
    let nginx =
        Nginx::start(&[Site::new("strict", &pki.good.chain(&[&pki.inter]), &pki.good.key_pem).server_name(HOST, true)]);
    let setup = TlsSetup::verifying(&pki.trust(), &[]).expect("setup");
    let port = nginx.port_of("strict");
    let c = connect(&[addr(port)], Some(Duration::from_secs(5))).expect("connect");
    // By IP address: no SNI is sent, and this server refuses to guess.
    let e = handshake(
        &setup,
        c.stream,
        "127.0.0.1",
        Limits::within(Duration::from_secs(10)),
        &mut |_, _| {},
    )
    .expect_err("refused");
    assert_eq!(e.failure, TlsFailure::Alert(Alert::UnrecognizedName));
    assert_eq!(e.sni, None);
    assert!(e.to_string().contains("unrecognized_name"), "{e}");
    assert!(e.to_string().contains("no SNI was sent"), "{e}");
    let e = failure(probe(&setup, port, "unknown.probe.test"));
    assert_eq!(e.failure, TlsFailure::Alert(Alert::UnrecognizedName));
    assert_eq!(e.sni.as_deref(), Some("unknown.probe.test"));
}

#[test]
fn a_tls_1_1_server_has_no_version_in_common() {
    let pki = Pki::new();
    let leaf = pki.inter.leaf(&[HOST]);
    let server = SServer::start(
        &leaf.chain(&[&pki.inter]),
        &leaf.key_pem,
        &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
    );
    let setup = TlsSetup::verifying(&pki.trust(), &[]).expect("setup");
    let e = failure(probe(&setup, server.port(), HOST));
    assert_eq!(e.failure, TlsFailure::ProtocolVersion, "{e}");
}

#[test]
fn refused_and_silent_servers_fail_with_their_cause() {
    let refused = refused_addr();
    let e = connect(&[refused.addr()], Some(Duration::from_secs(5))).expect_err("refused");
    let a = e.last().expect("one attempt");
    assert_eq!((a.addr, a.failure), (refused.addr(), ConnectFailure::Refused));
    assert_eq!(a.kind, std::io::ErrorKind::ConnectionRefused);

    // A refused address first, then one that accepts: the second is used, the first reported.
    let silent = TcpListener::bind("127.0.0.1:0").expect("listener");
    let silent_addr = silent.local_addr().expect("addr");
    let c = connect(&[refused.addr(), silent_addr], Some(Duration::from_secs(5))).expect("second address");
    assert_eq!(c.addr, silent_addr);
    assert_eq!(c.failed.len(), 1);
    assert_eq!(c.failed[0].failure, ConnectFailure::Refused);

    // The listener accepts (the kernel does) but never answers: the handshake times out.
    let setup = TlsSetup::recording(&[]).expect("setup");
    let start = Instant::now();
    let e = handshake(
        &setup,
        c.stream,
        HOST,
        Limits::within(Duration::from_millis(300)),
        &mut |_, _| {},
    )
    .expect_err("no answer");
    assert_eq!(e.failure, TlsFailure::TimedOut);
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(e.took >= Duration::from_millis(250), "{:?}", e.took);
}

#[test]
fn a_plain_http_port_is_not_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let setup = TlsSetup::recording(&[]).expect("setup");
    let e = failure(probe(&setup, port, HOST));
    assert_eq!(e.failure, TlsFailure::NotTls, "{e}");
    server.join().expect("server");
}

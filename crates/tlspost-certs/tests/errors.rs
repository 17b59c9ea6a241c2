//! Errors that help: no SNI, wrong name, unreachable host, bad input files.

mod support;

use support::*;
use tlspost_certs::app::Options;
use tlspost_certs::{Analysis, Problem, Target};
use tlspost_testkit::caddy::Caddy;
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::{Ca, Validity};
use tlspost_testkit::write;

const HOST: &str = "sni-only.test";

#[test]
fn no_sni_is_explained() {
    let r = Ca::builder("SNI Root")
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let int = Ca::builder("SNI Issuing")
        .validity(Validity::days(-5, 900))
        .signed_by(&r);
    let l = leaf(&int, &[HOST]);
    // caddy serves the certificate only for its site name: without SNI it refuses.
    let server = Caddy::start(HOST, &l.chain(&[&int]), &l.key_pem);
    let t = Target::parse(&format!("127.0.0.1:{}", server.port())).expect("target");
    let err = tlspost_certs::fetch_chain(&t).expect_err("no SNI, no certificate");
    let msg = err.to_string();
    assert!(msg.contains("no SNI was sent"), "{msg}");
    assert!(msg.contains("--servername"), "{msg}");

    // With --servername the same address works.
    let (code, out, err) = run_certs(&Options {
        targets: vec![format!("127.0.0.1:{}", server.port())],
        servername: Some(HOST.into()),
        roots: vec![write(server.dir(), "roots.pem", &r.pem)],
        ..Options::default()
    });
    assert_eq!(code, 0, "{err}");
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains(&format!("SNI {HOST}")), "{out}");
}

#[test]
fn a_leaf_for_another_name_is_reported() {
    let r = Ca::builder("Name Root")
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let int = Ca::builder("Name Issuing")
        .validity(Validity::days(-5, 900))
        .signed_by(&r);
    let l = leaf(&int, &["other.test"]);
    let server = Nginx::start(&[Site::new("main", &l.chain(&[&int]), &l.key_pem)]);
    let roots = write(server.dir(), "roots.pem", &r.pem);
    let a = Analysis::new(
        parse(&fetch(server.port(0), "wanted.test")),
        Some("wanted.test"),
        &store_with(&[&roots]),
        tlspost_certs::analyze::now_unix(),
    );
    assert!(
        a.problems
            .iter()
            .any(|p| matches!(p, Problem::NameMismatch { name, .. } if name == "wanted.test")),
        "{:?}",
        a.problems
    );
    let text = a.problems.iter().map(|p| p.describe(&a.chain)).collect::<String>();
    assert!(text.contains("other.test") && text.contains("--servername"), "{text}");
}

#[test]
fn unreachable_host_is_explained() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let (code, out, _) = run_certs(&Options {
        targets: vec![format!("gone.test:{port}")],
        resolve: vec![format!("gone.test:{port}:127.0.0.1")],
        ..Options::default()
    });
    assert_eq!(code, 1);
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains(&format!("cannot connect to gone.test:{port}")), "{out}");
}

#[test]
fn saved_chain_file_works_offline_and_bad_files_are_usage_errors() {
    let r = Ca::builder("File Root")
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let int = Ca::builder("File Issuing")
        .validity(Validity::days(-5, 900))
        .signed_by(&r);
    let l = leaf(&int, &["file.test"]);
    let dir = tempfile::tempdir().expect("dir");
    let chain = write(dir.path(), "chain.pem", l.chain(&[&int]));
    let roots = write(dir.path(), "roots.pem", &r.pem);
    let (code, out, err) = run_certs(&Options {
        targets: vec!["file.test".into()],
        file: Some(chain),
        roots: vec![roots],
        format: Some(tlspost_certs::Format::Pem),
        ..Options::default()
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&out), r.pem);
    assert!(err.contains("Chain read from"), "{err}");

    let junk = write(dir.path(), "junk.pem", "not a certificate\n");
    let (code, _, err) = run_certs(&Options {
        file: Some(junk),
        ..Options::default()
    });
    assert_eq!(code, 2);
    assert!(err.contains("no certificate found"), "{err}");
}

//! Errors that help: no SNI, wrong name, unreachable host, bad input files; and a file of roots.

mod support;

use support::*;
use tlspost_certs::{Analysis, BundleFormat, CertsError, Format, Input, Problem, Report, Role, Target, Warning};
use tlspost_testkit::write;

const HOST: &str = "sni-only.test";

#[test]
fn no_sni_is_explained() {
    let p = Pki::new("SNI Root", "SNI Issuing", &[HOST]);
    // caddy serves the certificate only for its site name: without SNI it refuses.
    let server = p.caddy(HOST);
    let t = Target::parse(&format!("127.0.0.1:{}", server.port())).expect("target");
    let err = tlspost_certs::fetch_chain(&t).expect_err("no SNI, no certificate");
    assert!(matches!(&err, CertsError::Handshake { sni: None, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("no SNI was sent"), "{msg}");
    assert!(!msg.contains("--"), "a library message names no flag: {msg}");

    // With the name as SNI the same address works.
    let mut req = request(&[], &[&write(server.dir(), "roots.pem", &p.root.pem)]);
    req.input = Input::Hosts(vec![Target {
        servername: Some(HOST.into()),
        ..t
    }]);
    let r = report(&req);
    assert!(r.ok());
    let served = r.chains[0].served.as_ref().expect("served");
    assert_eq!(served.tls.sni.as_deref(), Some(HOST));
}

#[test]
fn a_leaf_for_another_name_is_reported() {
    let p = Pki::new("Name Root", "Name Issuing", &["other.test"]);
    let server = p.nginx();
    let roots = write(server.dir(), "roots.pem", &p.root.pem);
    let a = Analysis::new(
        parse(&fetch(server.port(0), "wanted.test")),
        Some("wanted.test"),
        &store_with(&[&roots]),
        now(),
    );
    assert!(
        a.problems
            .iter()
            .any(|p| matches!(p, Problem::NameMismatch { name, .. } if name == "wanted.test")),
        "{:?}",
        a.problems
    );
    let text = a.problems.iter().map(|p| p.describe(&a.chain)).collect::<String>();
    assert!(text.contains("other.test") && text.contains("SNI"), "{text}");
    let rec = a.recommend(730).expect("the root still verifies the chain");
    assert!(rec.warnings.contains(&Warning::NameMismatch {
        name: "wanted.test".into()
    }));
}

#[test]
fn unreachable_host_is_explained() {
    let (target, _refusing) = refused("gone.test");
    let label = target.display();
    let mut req = request(&[], &[]);
    req.input = Input::Hosts(vec![target]);
    let r = report(&req);
    assert!(!r.ok());
    let err = r.chains[0].found.as_ref().expect_err("not reached");
    assert!(matches!(err, CertsError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("cannot connect to {label}")), "{err}");
}

/// `Input::File` of `contents` (written to a file), checked for `name`.
fn from_file(
    dir: &std::path::Path,
    contents: &str,
    roots: &[&std::path::Path],
    name: Option<&str>,
) -> Result<Report, CertsError> {
    let mut req = request(&[], roots);
    req.input = Input::File {
        path: write(dir, "chain.pem", contents),
        name: name.map(str::to_string),
    };
    Report::build(&req)
}

#[test]
fn saved_chain_file_works_offline_and_bad_files_are_input_errors() {
    let p = Pki::new("File Root", "File Issuing", &["file.test"]);
    let dir = tempfile::tempdir().expect("dir");
    let roots = write(dir.path(), "roots.pem", &p.root.pem);
    let r = from_file(dir.path(), &p.chain(), &[&roots], Some("file.test")).expect("report");
    assert!(r.ok());
    assert!(r.chains[0].served.is_none(), "read, not served");
    assert_eq!(
        String::from_utf8_lossy(&emit_chosen(&r, Format::Pem, BundleFormat::Current)),
        p.root.pem
    );

    let err = from_file(dir.path(), "not a certificate\n", &[], None).expect_err("no certificate");
    assert!(err.is_input(), "{err:?}");
    assert!(err.to_string().contains("no certificate found"), "{err}");
}

/// A file holding only a CA's self-signed certificate (a private CA's `ca.pem`) is that root to pin.
#[test]
fn a_file_of_one_root_is_the_root_to_pin() {
    let p = Pki::new("Lone Root", "Lone Issuing", &["lone.test"]);
    let dir = tempfile::tempdir().expect("dir");
    let r = from_file(dir.path(), &p.root.pem, &[], None).expect("report");
    assert!(r.ok(), "{r:?}");
    let f = found(&r);
    assert!(f.analysis.is_roots());
    assert_eq!(f.analysis.roles, vec![Role::Root]);
    assert_eq!(r.chosen.len(), 1);
    assert_eq!(r.chosen[0].cert.der, p.root.der);
    let rec = f.recommendation.as_ref().expect("the root");
    assert!(
        !rec.warnings.iter().any(|w| matches!(w, Warning::Leaf { .. })),
        "no leaf to warn about: {:?}",
        rec.warnings
    );
    assert_eq!(emit_chosen(&r, Format::Der, BundleFormat::Current), p.root.der);
}

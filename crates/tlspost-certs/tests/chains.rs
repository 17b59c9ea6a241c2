//! The chain cases of issue 4 against real nginx and caddy serving PKIs generated at test time.

mod support;

use std::path::Path;

use support::*;
use tlspost_certs::verify::VerifyFailure;
use tlspost_certs::{Analysis, BundleFormat, Format, Problem, Role, Warning};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::write;

const HOST: &str = "device-api.test";

fn pki(prefix: &str) -> Pki {
    Pki::new(&format!("{prefix} Root CA"), &format!("{prefix} Issuing CA 1"), &[HOST])
}

/// The analysis of the chain served on `port` for HOST, against Mozilla's roots and `roots`.
fn analyse(port: u16, roots: &Path) -> Analysis {
    Analysis::new(parse(&fetch(port, HOST)), Some(HOST), &store_with(&[roots]), now())
}

/// `p`'s leaf and intermediate are served on `port`; `dir` takes the roots file.
fn recommends_root_not_intermediate(p: &Pki, port: u16, dir: &Path) {
    let roots = write(dir, "roots.pem", &p.root.pem);
    let served = fetch(port, HOST);
    assert_eq!(served.tls.chain, vec![p.leaf.der.clone(), p.int.der.clone()]);
    assert_eq!(served.tls.sni.as_deref(), Some(HOST));

    let a = analyse(port, &roots);
    assert_eq!(a.roles, vec![Role::Leaf, Role::Intermediate]);
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    assert!(!a.verifies_mozilla());
    assert_eq!(a.paths.len(), 1);
    assert_eq!(a.paths[0].served, vec![0, 1]);
    let rec = a.recommend(730).expect("a root to pin");
    assert_eq!(rec.roots.len(), 1);
    assert_eq!(rec.roots[0].cert.der, p.root.der, "recommends the root");
    assert!(
        rec.warnings
            .iter()
            .any(|w| matches!(w, Warning::Intermediate { index: 1, name } if name.ends_with("Issuing CA 1"))),
        "{:?}",
        rec.warnings
    );

    // The report: PEM output is byte-identical to the root's PEM, DER output is its DER.
    let r = report(&request(&[(HOST, port)], &[&roots]));
    assert!(r.ok());
    assert_eq!(found(&r).analysis.roles[1], Role::Intermediate);
    assert_eq!(
        String::from_utf8_lossy(&emit_chosen(&r, Format::Pem, BundleFormat::Current)),
        p.root.pem
    );
    assert_eq!(emit_chosen(&r, Format::Der, BundleFormat::Current), p.root.der);
}

#[test]
fn nginx_leaf_and_intermediate_recommends_the_root() {
    let p = pki("Nginx");
    let server = p.nginx();
    recommends_root_not_intermediate(&p, server.port(0), server.dir());
}

#[test]
fn caddy_leaf_and_intermediate_recommends_the_root() {
    let p = pki("Caddy");
    let server = p.caddy(HOST);
    recommends_root_not_intermediate(&p, server.port(), server.dir());
}

#[test]
fn leaf_only_is_reported_incomplete() {
    let p = pki("LeafOnly");
    let server = Nginx::start(&[Site::new("main", &p.leaf.pem, &p.leaf.key_pem)]);
    let port = server.port(0);
    let roots = write(server.dir(), "roots.pem", &p.root.pem);
    let a = analyse(port, &roots);
    assert!(
        a.problems.iter().any(
            |pr| matches!(pr, Problem::MissingIssuer { index: 0, issuer } if issuer.contains("LeafOnly Issuing CA 1"))
        ),
        "{:?}",
        a.problems
    );
    assert!(a.paths.is_empty());
    let err = a.recommend(730).expect_err("nothing verifies").to_string();
    assert!(err.contains("sends \"device-api.test\""), "{err}");
    assert!(
        err.contains("but not \"CN=LeafOnly Issuing CA 1")
            || err.contains("but not \"O=tlspost test PKI, CN=LeafOnly Issuing CA 1"),
        "{err}"
    );
    assert!(err.contains("Add the root to the candidate roots"), "{err}");

    let r = report(&request(&[(HOST, port)], &[&roots]));
    assert!(!r.ok());
    assert!(r.chosen.is_empty());
    assert_eq!(r.unpinnable().len(), 1);
}

#[test]
fn out_of_order_chain_is_reported_and_still_pins_the_root() {
    let root = root("Order Root", -10, 3650);
    let int1 = ca("Order Policy CA", &root, -5, 2000);
    let int2 = ca("Order Issuing CA", &int1, -5, 1000);
    let leaf = leaf(&int2, &[HOST]);
    // Sent as leaf, int1, int2: int2 (the leaf's issuer) comes last.
    let server = Nginx::start(&[Site::new("main", &leaf.chain(&[&int1, &int2]), &leaf.key_pem)]);
    let roots = write(server.dir(), "roots.pem", &root.pem);
    let a = analyse(server.port(0), &roots);
    assert!(
        a.problems.contains(&Problem::OutOfOrder {
            index: 0,
            issuer_index: 2
        }),
        "{:?}",
        a.problems
    );
    let rec = a.recommend(730).expect("verifies despite the order");
    assert_eq!(rec.roots[0].cert.der, root.der);
    assert_eq!(a.paths[0].served, vec![0, 2, 1]);
}

#[test]
fn expired_intermediate_is_reported() {
    let root = root("Expiry Root", -1000, 3650);
    let int = ca("Expired Issuing CA", &root, -900, -3);
    let leaf = leaf(&int, &[HOST]);
    let server = Nginx::start(&[Site::new("main", &leaf.chain(&[&int]), &leaf.key_pem)]);
    let roots = write(server.dir(), "roots.pem", &root.pem);
    let a = analyse(server.port(0), &roots);
    assert!(a.problems.contains(&Problem::Expired { index: 1 }), "{:?}", a.problems);
    assert!(a.paths.is_empty());
    assert_eq!(a.failures.len(), 1);
    assert_eq!(a.failures[0].why, VerifyFailure::Expired);
    let why = a.why_not(&a.failures[0]);
    assert!(why.contains("expired"), "{why}");
    assert!(why.contains("Expired Issuing CA"), "{why}");
    let err = a.recommend(730).expect_err("no valid path").to_string();
    assert!(err.contains("expired"), "{err}");
}

#[test]
fn root_expiring_within_the_window_is_warned() {
    let p = Pki::with(("Short-lived Root", -10, 100), ("Short Issuing CA", -5, 90), &[HOST]);
    let server = p.caddy(HOST);
    let roots = write(server.dir(), "roots.pem", &p.root.pem);
    let a = analyse(server.port(), &roots);
    let soon =
        |w: &Warning| matches!(w, Warning::RootExpiresSoon { root, warn_days: 730, .. } if root == "Short-lived Root");
    let rec = a.recommend(730).expect("root");
    assert!(rec.warnings.iter().any(soon), "{:?}", rec.warnings);
    assert!(
        rec.warnings[0].to_string().contains("730-day warning window"),
        "{}",
        rec.warnings[0]
    );
    let rec = a.recommend(30).expect("root");
    assert!(
        !rec.warnings
            .iter()
            .any(|w| matches!(w, Warning::RootExpiresSoon { .. }))
    );
}

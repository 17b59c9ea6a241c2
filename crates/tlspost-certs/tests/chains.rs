//! The chain cases of issue 4 against real nginx and caddy serving PKIs generated at test time.

mod support;

use std::path::Path;

use support::*;
use tlspost_certs::app::Options;
use tlspost_certs::{Analysis, Format, Problem, Role};
use tlspost_testkit::caddy::Caddy;
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::{Ca, Leaf, Validity};
use tlspost_testkit::write;

const HOST: &str = "device-api.test";

struct Pki {
    root: Ca,
    int: Ca,
    leaf: Leaf,
}

fn pki(prefix: &str) -> Pki {
    let root = Ca::builder(&format!("{prefix} Root CA"))
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let int = Ca::builder(&format!("{prefix} Issuing CA 1"))
        .validity(Validity::days(-5, 1000))
        .signed_by(&root);
    let leaf = leaf(&int, &[HOST]);
    Pki { root, int, leaf }
}

/// `p`'s leaf and intermediate are served on `port`; `dir` takes the roots file.
fn recommends_root_not_intermediate(p: &Pki, port: u16, dir: &Path) {
    let roots = write(dir, "roots.pem", &p.root.pem);
    let served = fetch(port, HOST);
    assert_eq!(served.chain, vec![p.leaf.der.clone(), p.int.der.clone()]);
    assert_eq!(served.sni.as_deref(), Some(HOST));

    let a = Analysis::new(parse(&served), Some(HOST), &store_with(&[&roots]), now());
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
            .any(|w| w.contains("do not pin the intermediate") && w.contains("Issuing CA 1")),
        "{:?}",
        rec.warnings
    );

    // Through the CLI's engine: PEM output is byte-identical to the root's PEM.
    let opts = Options {
        targets: vec![target(HOST, port)],
        resolve: vec![resolve(HOST, port)],
        roots: vec![roots.clone()],
        format: Some(Format::Pem),
        ..Options::default()
    };
    let (code, out, err) = run_certs(&opts);
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&out), p.root.pem);
    assert!(err.contains("Pin this root"), "{err}");
    assert!(err.contains("#2 intermediate"), "{err}");

    // DER output is the root's DER.
    let (code, out, _) = run_certs(&Options {
        format: Some(Format::Der),
        ..opts.clone()
    });
    assert_eq!(code, 0);
    assert_eq!(out, p.root.der);
}

#[test]
fn nginx_leaf_and_intermediate_recommends_the_root() {
    let p = pki("Nginx");
    let server = Nginx::start(&[Site::new("main", &p.leaf.chain(&[&p.int]), &p.leaf.key_pem)]);
    recommends_root_not_intermediate(&p, server.port(0), server.dir());
}

#[test]
fn caddy_leaf_and_intermediate_recommends_the_root() {
    let p = pki("Caddy");
    let server = Caddy::start(HOST, &p.leaf.chain(&[&p.int]), &p.leaf.key_pem);
    recommends_root_not_intermediate(&p, server.port(), server.dir());
}

fn now() -> i64 {
    tlspost_certs::analyze::now_unix()
}

#[test]
fn leaf_only_is_reported_incomplete() {
    let p = pki("LeafOnly");
    let server = Nginx::start(&[Site::new("main", &p.leaf.pem, &p.leaf.key_pem)]);
    let port = server.port(0);
    let roots = write(server.dir(), "roots.pem", &p.root.pem);
    let a = Analysis::new(parse(&fetch(port, HOST)), Some(HOST), &store_with(&[&roots]), now());
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
    assert!(err.contains("--roots"), "{err}");

    let (code, _, err) = run_certs(&Options {
        targets: vec![target(HOST, port)],
        resolve: vec![resolve(HOST, port)],
        roots: vec![roots],
        format: Some(Format::Pem),
        ..Options::default()
    });
    assert_eq!(code, 1);
    assert!(err.contains("missing intermediate"), "{err}");
}

#[test]
fn out_of_order_chain_is_reported_and_still_pins_the_root() {
    let root = Ca::builder("Order Root")
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let int1 = Ca::builder("Order Policy CA")
        .validity(Validity::days(-5, 2000))
        .signed_by(&root);
    let int2 = Ca::builder("Order Issuing CA")
        .validity(Validity::days(-5, 1000))
        .signed_by(&int1);
    let leaf = leaf(&int2, &[HOST]);
    // Sent as leaf, int1, int2: int2 (the leaf's issuer) comes last.
    let server = Nginx::start(&[Site::new("main", &leaf.chain(&[&int1, &int2]), &leaf.key_pem)]);
    let roots = write(server.dir(), "roots.pem", &root.pem);
    let a = Analysis::new(
        parse(&fetch(server.port(0), HOST)),
        Some(HOST),
        &store_with(&[&roots]),
        now(),
    );
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
    let root = Ca::builder("Expiry Root")
        .validity(Validity::days(-1000, 3650))
        .self_signed();
    let int = Ca::builder("Expired Issuing CA")
        .validity(Validity::days(-900, -3))
        .signed_by(&root);
    let leaf = leaf(&int, &[HOST]);
    let server = Nginx::start(&[Site::new("main", &leaf.chain(&[&int]), &leaf.key_pem)]);
    let roots = write(server.dir(), "roots.pem", &root.pem);
    let a = Analysis::new(
        parse(&fetch(server.port(0), HOST)),
        Some(HOST),
        &store_with(&[&roots]),
        now(),
    );
    assert!(a.problems.contains(&Problem::Expired { index: 1 }), "{:?}", a.problems);
    assert!(a.paths.is_empty());
    assert_eq!(a.failures.len(), 1);
    assert!(a.failures[0].why.contains("expired"), "{}", a.failures[0].why);
    assert!(
        a.failures[0].why.contains("Expired Issuing CA"),
        "{}",
        a.failures[0].why
    );
    let err = a.recommend(730).expect_err("no valid path").to_string();
    assert!(err.contains("expired"), "{err}");
}

#[test]
fn root_expiring_within_the_window_is_warned() {
    let root = Ca::builder("Short-lived Root")
        .validity(Validity::days(-10, 100))
        .self_signed();
    let int = Ca::builder("Short Issuing CA")
        .validity(Validity::days(-5, 90))
        .signed_by(&root);
    let leaf = leaf(&int, &[HOST]);
    let server = Caddy::start(HOST, &leaf.chain(&[&int]), &leaf.key_pem);
    let roots = write(server.dir(), "roots.pem", &root.pem);
    let a = Analysis::new(
        parse(&fetch(server.port(), HOST)),
        Some(HOST),
        &store_with(&[&roots]),
        now(),
    );
    let rec = a.recommend(730).expect("root");
    assert!(
        rec.warnings
            .iter()
            .any(|w| w.contains("Short-lived Root") && w.contains("730-day warning window")),
        "{:?}",
        rec.warnings
    );
    let rec = a.recommend(30).expect("root");
    assert!(!rec.warnings.iter().any(|w| w.contains("warning window")));
}

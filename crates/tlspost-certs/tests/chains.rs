//! The chain cases of issue 4 against real nginx and caddy serving PKIs generated at test time.

mod common;

use common::*;
use tlspost_certs::app::Options;
use tlspost_certs::{Analysis, Format, Problem, Role};

const HOST: &str = "device-api.test";

struct Pki {
    root: Ca,
    int: Ca,
    leaf: Leaf,
}

fn pki(prefix: &str) -> Pki {
    let root = root(&format!("{prefix} Root CA"), -10, 3650);
    let int = intermediate(&format!("{prefix} Issuing CA 1"), &root, -5, 1000);
    let leaf = leaf(&[HOST], &int);
    Pki { root, int, leaf }
}

fn recommends_root_not_intermediate(kind: Kind) {
    let p = pki(&format!("{kind:?}"));
    let server = Server::start(kind, HOST, &chain_pem(&[&p.leaf.pem, &p.int.pem]), &p.leaf.key_pem);
    let roots = write(server.dir.path(), "roots.pem", &p.root.pem);
    let served = fetch(&server, HOST);
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
        targets: vec![server.target(HOST)],
        resolve: vec![server.resolve(HOST)],
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
    recommends_root_not_intermediate(Kind::Nginx);
}

#[test]
fn caddy_leaf_and_intermediate_recommends_the_root() {
    recommends_root_not_intermediate(Kind::Caddy);
}

fn now() -> i64 {
    tlspost_certs::analyze::now_unix()
}

#[test]
fn leaf_only_is_reported_incomplete() {
    let p = pki("LeafOnly");
    let server = Server::start(Kind::Nginx, HOST, &p.leaf.pem, &p.leaf.key_pem);
    let roots = write(server.dir.path(), "roots.pem", &p.root.pem);
    let a = Analysis::new(parse(&fetch(&server, HOST)), Some(HOST), &store_with(&[&roots]), now());
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
        targets: vec![server.target(HOST)],
        resolve: vec![server.resolve(HOST)],
        roots: vec![roots],
        format: Some(Format::Pem),
        ..Options::default()
    });
    assert_eq!(code, 1);
    assert!(err.contains("missing intermediate"), "{err}");
}

#[test]
fn out_of_order_chain_is_reported_and_still_pins_the_root() {
    let root = root("Order Root", -10, 3650);
    let int1 = intermediate("Order Policy CA", &root, -5, 2000);
    let int2 = intermediate("Order Issuing CA", &int1, -5, 1000);
    let leaf = leaf(&[HOST], &int2);
    // Sent as leaf, int1, int2: int2 (the leaf's issuer) comes last.
    let server = Server::start(
        Kind::Nginx,
        HOST,
        &chain_pem(&[&leaf.pem, &int1.pem, &int2.pem]),
        &leaf.key_pem,
    );
    let roots = write(server.dir.path(), "roots.pem", &root.pem);
    let a = Analysis::new(parse(&fetch(&server, HOST)), Some(HOST), &store_with(&[&roots]), now());
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
    let int = intermediate("Expired Issuing CA", &root, -900, -3);
    let leaf = leaf(&[HOST], &int);
    let server = Server::start(Kind::Nginx, HOST, &chain_pem(&[&leaf.pem, &int.pem]), &leaf.key_pem);
    let roots = write(server.dir.path(), "roots.pem", &root.pem);
    let a = Analysis::new(parse(&fetch(&server, HOST)), Some(HOST), &store_with(&[&roots]), now());
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
    let root = root("Short-lived Root", -10, 100);
    let int = intermediate("Short Issuing CA", &root, -5, 90);
    let leaf = leaf(&[HOST], &int);
    let server = Server::start(Kind::Caddy, HOST, &chain_pem(&[&leaf.pem, &int.pem]), &leaf.key_pem);
    let roots = write(server.dir.path(), "roots.pem", &root.pem);
    let a = Analysis::new(parse(&fetch(&server, HOST)), Some(HOST), &store_with(&[&roots]), now());
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

//! A cross-signed chain (a new root also cross-signed by an old root): both paths, both roots, and
//! `--cover` choosing the smallest set.

mod support;

use support::*;
use tlspost_certs::app::Options;
use tlspost_certs::cover::{HostRoots, cover};
use tlspost_certs::{Analysis, Format, Role};
use tlspost_testkit::caddy::Caddy;
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::{Ca, Validity};
use tlspost_testkit::write;

fn now() -> i64 {
    tlspost_certs::analyze::now_unix()
}

#[test]
fn cross_signed_chain_has_two_paths_and_cover_picks_correctly() {
    let old = Ca::builder("Old Root X1")
        .validity(Validity::days(-3000, 1500))
        .self_signed();
    let new = Ca::builder("New Root X2")
        .validity(Validity::days(-100, 7000))
        .self_signed();
    let new_by_old = new.cross_signed_by(&old);
    let int_new = Ca::builder("Issuing CA R11")
        .validity(Validity::days(-50, 1000))
        .signed_by(&new);
    let int_old = Ca::builder("Legacy Issuing CA")
        .validity(Validity::days(-50, 1000))
        .signed_by(&old);

    // a.test: leaf ← R11 ← (X2 cross-signed by X1) — verifies to X2 and to X1.
    let leaf_a = leaf(&int_new, &["a.test"]);
    let a_srv = Caddy::start("a.test", &leaf_a.chain(&[&int_new, &new_by_old]), &leaf_a.key_pem);
    let a_port = a_srv.port();
    // b.test: only under the old root.
    let leaf_b = leaf(&int_old, &["b.test"]);
    let b_srv = Nginx::start(&[Site::new("b", &leaf_b.chain(&[&int_old]), &leaf_b.key_pem)]);
    let b_port = b_srv.port(0);
    // c.test: only under the new root, no cross-sign.
    let leaf_c = leaf(&int_new, &["c.test"]);
    let c_srv = Nginx::start(&[Site::new("c", &leaf_c.chain(&[&int_new]), &leaf_c.key_pem)]);
    let roots = write(a_srv.dir(), "roots.pem", format!("{}{}", old.pem, new.pem));
    let store = store_with(&[&roots]);

    let a = Analysis::new(parse(&fetch(a_port, "a.test")), Some("a.test"), &store, now());
    assert_eq!(a.roles, vec![Role::Leaf, Role::Intermediate, Role::CrossSigned]);
    let mut paths: Vec<(String, Vec<usize>)> = a
        .paths
        .iter()
        .map(|p| (p.root.cert.short_name(), p.served.clone()))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("New Root X2".to_string(), vec![0, 1]),
            ("Old Root X1".to_string(), vec![0, 1, 2]),
        ],
        "both paths found"
    );
    let rec = a.recommend(730).expect("roots");
    let names: Vec<String> = rec.roots.iter().map(|r| r.cert.short_name()).collect();
    assert_eq!(
        names,
        vec!["New Root X2", "Old Root X1"],
        "both offered, longest-lived first"
    );
    assert!(
        rec.warnings.iter().any(|w| w.contains("the chain is cross-signed")),
        "{:?}",
        rec.warnings
    );
    assert!(
        rec.warnings
            .iter()
            .any(|w| w.contains("cross-signed form of the root \"New Root X2\"")),
        "{:?}",
        rec.warnings
    );
    assert!(
        !rec.warnings
            .iter()
            .any(|w| w.contains("do not pin the intermediate \"New Root X2\"")),
        "{:?}",
        rec.warnings
    );
    assert!(
        rec.warnings
            .iter()
            .any(|w| w.contains("do not pin the intermediate \"Issuing CA R11\"")),
        "{:?}",
        rec.warnings
    );

    let b = Analysis::new(parse(&fetch(b_port, "b.test")), Some("b.test"), &store, now());
    let c = Analysis::new(parse(&fetch(c_srv.port(0), "c.test")), Some("c.test"), &store, now());
    let host = |h: &str, an: &Analysis| HostRoots {
        host: h.into(),
        roots: an.anchors(),
    };
    // a + b: the old root alone covers both.
    let ab = cover(&[host("a", &a), host("b", &b)]);
    assert!(ab.exact && ab.uncovered.is_empty());
    let names: Vec<String> = ab.roots.iter().map(|r| r.cert.short_name()).collect();
    assert_eq!(names, vec!["Old Root X1"]);
    // a + c: the new root alone.
    let ac = cover(&[host("a", &a), host("c", &c)]);
    let names: Vec<String> = ac.roots.iter().map(|r| r.cert.short_name()).collect();
    assert_eq!(names, vec!["New Root X2"]);
    // b + c: both are needed.
    let bc = cover(&[host("b", &b), host("c", &c)]);
    assert_eq!(bc.roots.len(), 2);

    // Through the CLI's engine: --cover over a, b emits the old root only.
    let (code, out, err) = run_certs(&Options {
        targets: vec![target("a.test", a_port), target("b.test", b_port)],
        resolve: vec![resolve("a.test", a_port), resolve("b.test", b_port)],
        roots: vec![roots.clone()],
        cover: true,
        format: Some(Format::Pem),
        ..Options::default()
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&out), old.pem);
    assert!(err.contains("Smallest root set covering 2 host(s): 1 root(s)"), "{err}");

    // JSON report lists both paths for a.test.
    let (code, out, err) = run_certs(&Options {
        targets: vec![target("a.test", a_port)],
        resolve: vec![resolve("a.test", a_port)],
        roots: vec![roots],
        json: true,
        ..Options::default()
    });
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["hosts"][0]["paths"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["hosts"][0]["chain"][2]["role"], "cross-signed root");
}

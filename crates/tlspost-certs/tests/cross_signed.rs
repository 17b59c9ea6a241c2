//! A cross-signed chain (a new root also cross-signed by an old root): both paths, both roots, and
//! `--cover` choosing the smallest set.

mod support;

use support::*;
use tlspost_certs::cover::{HostRoots, cover};
use tlspost_certs::{Analysis, BundleFormat, Format, Role, Warning};
use tlspost_testkit::caddy::Caddy;
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::write;

#[test]
fn cross_signed_chain_has_two_paths_and_cover_picks_correctly() {
    let old = root("Old Root X1", -3000, 1500);
    let new = root("New Root X2", -100, 7000);
    let new_by_old = new.cross_signed_by(&old);
    let int_new = ca("Issuing CA R11", &new, -50, 1000);
    let int_old = ca("Legacy Issuing CA", &old, -50, 1000);

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
    let expected = [
        Warning::CrossSigned { roots: 2 },
        Warning::Intermediate {
            index: 1,
            name: "Issuing CA R11".into(),
        },
        Warning::CrossSignedForm {
            index: 2,
            root: "New Root X2".into(),
        },
    ];
    for w in &expected {
        assert!(rec.warnings.contains(w), "{w:?} in {:?}", rec.warnings);
    }
    assert!(
        !rec.warnings
            .iter()
            .any(|w| matches!(w, Warning::Intermediate { name, .. } if name == "New Root X2")),
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

    // The report: a cover over a and b chooses the old root only.
    let mut req = request(&[("a.test", a_port), ("b.test", b_port)], &[&roots]);
    req.cover = true;
    let r = report(&req);
    assert!(r.ok());
    let c = r.cover.as_ref().expect("a cover");
    assert_eq!((c.per_host.len(), c.roots.len()), (2, 1));
    assert_eq!(
        String::from_utf8_lossy(&emit_chosen(&r, Format::Pem, BundleFormat::Current)),
        old.pem
    );

    // a.test alone: both paths.
    let r = report(&request(&[("a.test", a_port)], &[&roots]));
    assert!(r.ok());
    assert_eq!(found(&r).analysis.paths.len(), 2);
    assert_eq!(found(&r).analysis.roles[2], Role::CrossSigned);
}

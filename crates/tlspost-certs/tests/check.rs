//! `tlspost certs check`: exit 0 on a good pin; non-zero with a reason after the server switches to
//! a chain from another root; anchors expiring within --warn-days fail; unreachable hosts fail.

mod support;

use support::*;
use tlspost_certs::app::CheckOptions;
use tlspost_testkit::caddy::Caddy;
use tlspost_testkit::nginx::{Nginx, Options, Site};
use tlspost_testkit::pki::{Ca, Validity};
use tlspost_testkit::write;

const HOST: &str = "pinned.test";

#[test]
fn check_passes_then_fails_after_the_server_switches_root() {
    let old_root = Ca::builder("Check Root A")
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let old_int = Ca::builder("Check Issuing A1")
        .validity(Validity::days(-5, 900))
        .signed_by(&old_root);
    let old_leaf = leaf(&old_int, &[HOST]);
    // A master process, so that the certificate can be switched with a reload.
    let server = Nginx::start_with(
        &[Site::new("main", &old_leaf.chain(&[&old_int]), &old_leaf.key_pem)],
        &Options {
            reloadable: true,
            ..Options::default()
        },
    );
    let port = server.port(0);
    let pinned = write(server.dir(), "pinned.pem", &old_root.pem);
    let opts = CheckOptions {
        targets: vec![target(HOST, port)],
        resolve: vec![resolve(HOST, port)],
        cacert: vec![pinned.clone()],
        ..CheckOptions::default()
    };
    let (code, out, err) = run_check(&opts);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verified by pinned"), "{out}");
    assert!(out.contains("all pins hold"), "{out}");

    // The server moves to another CA.
    let new_root = Ca::builder("Check Root B")
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let new_int = Ca::builder("Check Issuing B1")
        .validity(Validity::days(-5, 900))
        .signed_by(&new_root);
    let new_leaf = leaf(&new_int, &[HOST]);
    server.replace_certificate("main", &new_leaf.chain(&[&new_int]), &new_leaf.key_pem);
    server.reload_and_wait();
    wait_until_served(port, HOST, &new_leaf.der);
    let known = write(server.dir(), "known.pem", &new_root.pem);
    let (code, out, err) = run_check(&CheckOptions {
        roots: vec![known],
        ..opts.clone()
    });
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL"), "{out}");
    assert!(out.contains("none of the pinned roots verifies"), "{out}");
    assert!(out.contains("Check Root B"), "names the root that would work: {out}");

    // JSON form.
    let (code, out, _) = run_check(&CheckOptions {
        json: true,
        ..opts.clone()
    });
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["hosts"][0]["ok"], false);
    assert!(
        v["hosts"][0]["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("Check Issuing B1"))
    );
    assert_eq!(v["anchors"][0]["ok"], true);

    // Pinning both roots holds again.
    let both = write(server.dir(), "both.pem", format!("{}{}", old_root.pem, new_root.pem));
    let (code, out, _) = run_check(&CheckOptions {
        cacert: vec![both],
        ..opts
    });
    assert_eq!(code, 0, "{out}");
}

#[test]
fn check_fails_when_a_pinned_root_expires_within_warn_days() {
    let r = Ca::builder("Check Short Root")
        .validity(Validity::days(-10, 200))
        .self_signed();
    let int = Ca::builder("Check Short Issuing")
        .validity(Validity::days(-5, 150))
        .signed_by(&r);
    let l = leaf(&int, &[HOST]);
    let server = Caddy::start(HOST, &l.chain(&[&int]), &l.key_pem);
    let pinned = write(server.dir(), "pinned.pem", &r.pem);
    let opts = CheckOptions {
        targets: vec![target(HOST, server.port())],
        resolve: vec![resolve(HOST, server.port())],
        cacert: vec![pinned],
        ..CheckOptions::default()
    };
    let (code, out, _) = run_check(&opts);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL pinned \"Check Short Root\""), "{out}");
    assert!(out.contains("less than --warn-days 730"), "{out}");
    let (code, out, _) = run_check(&CheckOptions { warn_days: 100, ..opts });
    assert_eq!(code, 0, "{out}");
}

#[test]
fn check_reports_an_unreachable_host() {
    let r = Ca::builder("Check Lonely Root")
        .validity(Validity::days(-10, 3650))
        .self_signed();
    let dir = tempfile::tempdir().expect("dir");
    let pinned = write(dir.path(), "pinned.pem", &r.pem);
    // A port nothing listens on: bind, note, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let (code, out, _) = run_check(&CheckOptions {
        targets: vec![format!("{HOST}:{port}")],
        resolve: vec![format!("{HOST}:{port}:127.0.0.1")],
        cacert: vec![pinned],
        ..CheckOptions::default()
    });
    assert_eq!(code, 1);
    assert!(out.contains("cannot connect to"), "{out}");
}

//! `tlspost certs check`: exit 0 on a good pin; non-zero with a reason after the server switches to
//! a chain from another root; anchors expiring within --warn-days fail; unreachable hosts fail.

mod common;

use common::*;
use tlspost_certs::app::CheckOptions;

const HOST: &str = "pinned.test";

#[test]
fn check_passes_then_fails_after_the_server_switches_root() {
    let old_root = root("Check Root A", -10, 3650);
    let old_int = intermediate("Check Issuing A1", &old_root, -5, 900);
    let old_leaf = leaf(&[HOST], &old_int);
    let server = Server::start(
        Kind::Nginx,
        HOST,
        &chain_pem(&[&old_leaf.pem, &old_int.pem]),
        &old_leaf.key_pem,
    );
    let pinned = write(server.dir.path(), "pinned.pem", &old_root.pem);
    let opts = CheckOptions {
        targets: vec![server.target(HOST)],
        resolve: vec![server.resolve(HOST)],
        cacert: vec![pinned.clone()],
        ..CheckOptions::default()
    };
    let (code, out, err) = run_check(&opts);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verified by pinned"), "{out}");
    assert!(out.contains("all pins hold"), "{out}");

    // The server moves to another CA.
    let new_root = root("Check Root B", -10, 3650);
    let new_int = intermediate("Check Issuing B1", &new_root, -5, 900);
    let new_leaf = leaf(&[HOST], &new_int);
    server.switch_chain(
        HOST,
        &chain_pem(&[&new_leaf.pem, &new_int.pem]),
        &new_leaf.key_pem,
        &new_leaf.der,
    );
    let known = write(server.dir.path(), "known.pem", &new_root.pem);
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
    let both = write(
        server.dir.path(),
        "both.pem",
        &chain_pem(&[&old_root.pem, &new_root.pem]),
    );
    let (code, out, _) = run_check(&CheckOptions {
        cacert: vec![both],
        ..opts
    });
    assert_eq!(code, 0, "{out}");
}

#[test]
fn check_fails_when_a_pinned_root_expires_within_warn_days() {
    let r = root("Check Short Root", -10, 200);
    let int = intermediate("Check Short Issuing", &r, -5, 150);
    let l = leaf(&[HOST], &int);
    let server = Server::start(Kind::Caddy, HOST, &chain_pem(&[&l.pem, &int.pem]), &l.key_pem);
    let pinned = write(server.dir.path(), "pinned.pem", &r.pem);
    let opts = CheckOptions {
        targets: vec![server.target(HOST)],
        resolve: vec![server.resolve(HOST)],
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
    let r = root("Check Lonely Root", -10, 3650);
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

//! `tlspost certs check`: a good pin holds; after the server switches to a chain from another root
//! it does not, with a reason naming the root that would work; anchors expiring within the warning
//! window fail; unreachable hosts fail.

mod support;

use std::path::{Path, PathBuf};

use support::*;
use tlspost_certs::CertsError;
use tlspost_certs::check::{CheckReport, HostProblem, check};
use tlspost_testkit::nginx::{Nginx, Options, Site};
use tlspost_testkit::write;

const HOST: &str = "pinned.test";

/// The verdicts on the `pinned` file for HOST served on `port`, with `known` roots.
fn check_pins(port: u16, pinned: &Path, known: &[PathBuf], warn_days: i64) -> CheckReport {
    check(&[local(HOST, port)], &[pinned.to_path_buf()], known, warn_days, now()).expect("check")
}

#[test]
fn check_passes_then_fails_after_the_server_switches_root() {
    let old = Pki::new("Check Root A", "Check Issuing A1", &[HOST]);
    // A master process, so that the certificate can be switched with a reload.
    let server = Nginx::start_with(
        &[Site::new("main", &old.chain(), &old.leaf.key_pem)],
        &Options {
            reloadable: true,
            ..Options::default()
        },
    );
    let port = server.port(0);
    let pinned = write(server.dir(), "pinned.pem", &old.root.pem);
    let r = check_pins(port, &pinned, &[], 730);
    assert!(r.ok(), "{r:?}");
    assert_eq!(
        r.hosts[0].verified_by.as_deref(),
        Some("O=tlspost test PKI, CN=Check Root A")
    );

    // The server moves to another CA.
    let new = Pki::new("Check Root B", "Check Issuing B1", &[HOST]);
    server.replace_certificate("main", &new.chain(), &new.leaf.key_pem);
    server.reload_and_wait();
    wait_until_served(port, HOST, &new.leaf.der);
    let known = write(server.dir(), "known.pem", &new.root.pem);
    let r = check_pins(port, &pinned, &[known], 730);
    assert!(!r.ok());
    let h = &r.hosts[0];
    assert!(!h.ok && h.verified_by.is_none(), "{h:?}");
    let reason = h.why();
    assert!(reason.contains("none of the pinned roots verifies"), "{reason}");
    assert!(reason.contains("Check Issuing B1"), "names what is served: {reason}");
    assert!(
        reason.contains("Check Root B"),
        "names the root that would work: {reason}"
    );
    assert!(r.anchors[0].ok, "the pinned root itself is fine");

    // Pinning both roots holds again.
    let both = write(server.dir(), "both.pem", format!("{}{}", old.root.pem, new.root.pem));
    assert!(check_pins(port, &both, &[], 730).ok());
}

#[test]
fn check_fails_when_a_pinned_root_expires_within_warn_days() {
    let p = Pki::with(
        ("Check Short Root", -10, 200),
        ("Check Short Issuing", -5, 150),
        &[HOST],
    );
    let server = p.caddy(HOST);
    let pinned = write(server.dir(), "pinned.pem", &p.root.pem);
    let report = check_pins(server.port(), &pinned, &[], 730);
    assert!(!report.ok());
    assert!(!report.anchors[0].ok, "{} days left", report.anchors[0].days_left);
    assert!(report.hosts[0].ok, "the chain itself verifies: {:?}", report.hosts[0]);
    assert!(check_pins(server.port(), &pinned, &[], 100).ok());
}

#[test]
fn check_reports_an_unreachable_host() {
    let dir = tempfile::tempdir().expect("dir");
    let pinned = write(dir.path(), "pinned.pem", &root("Check Lonely Root", -10, 3650).pem);
    let (target, _refusing) = refused(HOST);
    let r = check(&[target], &[pinned], &[], 730, now()).expect("check");
    assert!(!r.ok());
    assert!(
        matches!(
            r.hosts[0].reasons[0],
            HostProblem::NotReached(CertsError::Unreachable { .. })
        ),
        "{r:?}"
    );
    assert!(r.hosts[0].why().contains("cannot connect to"), "{r:?}");
}

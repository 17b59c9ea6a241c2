//! What the tlspost-certs tests share that is about tlspost-certs itself: fetching and parsing a
//! served chain, root stores, and running the CLI's engine. PKIs and servers are the kit's
//! (`tlspost_testkit`).
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use tlspost_testkit::pki::{Ca, Leaf, Validity};

/// A server leaf for `names` issued by `ca`, valid from yesterday for a year.
pub fn leaf(ca: &Ca, names: &[&str]) -> Leaf {
    ca.leaf_builder(names).validity(Validity::days(-1, 365)).issue()
}

/// `HOST:PORT`.
pub fn target(host: &str, port: u16) -> String {
    format!("{host}:{port}")
}

/// `HOST:PORT:127.0.0.1` for `--resolve`.
pub fn resolve(host: &str, port: u16) -> String {
    format!("{host}:{port}:127.0.0.1")
}

/// Fetches the chain served on 127.0.0.1:`port` for SNI `host`.
pub fn fetch(port: u16, host: &str) -> tlspost_certs::Served {
    let mut t = tlspost_certs::Target::parse(&target(host, port)).expect("target");
    t.addr = Some("127.0.0.1".parse().expect("ip"));
    tlspost_certs::fetch_chain(&t).expect("fetch chain")
}

/// Waits until the chain served on 127.0.0.1:`port` for `host` starts with `leaf_der` (after an
/// nginx reload).
pub fn wait_until_served(port: u16, host: &str, leaf_der: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let served = fetch(port, host);
        if served.chain.first().map(Vec::as_slice) == Some(leaf_der) {
            return;
        }
        assert!(Instant::now() < deadline, "the new chain is not served");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Parses a fetched chain.
pub fn parse(served: &tlspost_certs::Served) -> Vec<tlspost_certs::CertInfo> {
    served
        .chain
        .iter()
        .map(|d| tlspost_certs::CertInfo::parse(d, "served").expect("parse"))
        .collect()
}

/// Mozilla's store plus the given roots' PEM files.
pub fn store_with(files: &[&Path]) -> tlspost_certs::RootStore {
    let mut s = tlspost_certs::RootStore::mozilla();
    for f in files {
        s.add_file(f).expect("roots file");
    }
    s
}

/// Runs `tlspost certs` (the CLI's engine) and returns (exit code, stdout, stderr).
pub fn run_certs(opts: &tlspost_certs::app::Options) -> (u8, Vec<u8>, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = tlspost_certs::app::run(opts, &mut out, &mut err);
    (code, out, String::from_utf8_lossy(&err).into_owned())
}

/// Runs `tlspost certs check` and returns (exit code, stdout, stderr).
pub fn run_check(opts: &tlspost_certs::app::CheckOptions) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = tlspost_certs::app::run_check(opts, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

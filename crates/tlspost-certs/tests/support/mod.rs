//! What the tlspost-certs tests share that is about tlspost-certs itself: fetching and parsing a
//! served chain, root stores, requests and reports, and the PKIs the tests serve (made with the
//! kit's `pki`).
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use tlspost_certs::{BundleFormat, EmitOptions, Format, Found, Input, Report, Request, Target};
use tlspost_testkit::caddy::Caddy;
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::{Ca, Leaf, Validity};
use tlspost_testkit::proc::{RefusedAddr, refused_addr};

/// A server leaf for `names` issued by `ca`, valid from yesterday for a year.
pub fn leaf(ca: &Ca, names: &[&str]) -> Leaf {
    ca.leaf_builder(names).validity(Validity::days(-1, 365)).issue()
}

/// `HOST:PORT`.
pub fn target(host: &str, port: u16) -> String {
    format!("{host}:{port}")
}

/// Fetches the chain served on 127.0.0.1:`port` for SNI `host`.
pub fn fetch(port: u16, host: &str) -> tlspost_certs::Served {
    tlspost_certs::fetch_chain(&local(host, port)).expect("fetch chain")
}

/// Waits until the chain served on 127.0.0.1:`port` for `host` starts with `leaf_der` (after an
/// nginx reload).
pub fn wait_until_served(port: u16, host: &str, leaf_der: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let served = fetch(port, host);
        if served.tls.chain.first().map(Vec::as_slice) == Some(leaf_der) {
            return;
        }
        assert!(Instant::now() < deadline, "the new chain is not served");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Parses a fetched chain.
pub fn parse(served: &tlspost_certs::Served) -> Vec<tlspost_certs::CertInfo> {
    served
        .tls
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

/// A target for `host` whose address refuses connections for as long as the returned guard lives.
pub fn refused(host: &str) -> (Target, RefusedAddr) {
    let guard = refused_addr();
    let mut t = Target::parse(&target(host, guard.port())).expect("target");
    t.addr = Some(guard.ip().into());
    (t, guard)
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    tlspost::certinfo::now_unix()
}

/// `host:port`, connecting to 127.0.0.1.
pub fn local(host: &str, port: u16) -> Target {
    let mut t = Target::parse(&target(host, port)).expect("target");
    t.addr = Some("127.0.0.1".parse().expect("ip"));
    t
}

/// What `tlspost certs` asks for the chains served on 127.0.0.1 for each `(host, port)`, with
/// `roots` as extra candidates, warning 730 days ahead.
pub fn request(hosts: &[(&str, u16)], roots: &[&Path]) -> Request {
    Request {
        input: Input::Hosts(hosts.iter().map(|(h, p)| local(h, *p)).collect()),
        extra_roots: roots.iter().map(|r| r.to_path_buf()).collect(),
        pinned: Vec::new(),
        cover: false,
        warn_days: 730,
        now: now(),
    }
}

/// The report for `req`.
pub fn report(req: &Request) -> Report {
    Report::build(req).expect("report")
}

/// The chosen roots of `r` in `format`.
pub fn emit_chosen(r: &Report, format: Format, bundle: BundleFormat) -> Vec<u8> {
    let certs: Vec<&tlspost_certs::CertInfo> = r.chosen.iter().map(|c| &c.cert).collect();
    let opts = EmitOptions {
        format,
        bundle,
        ..EmitOptions::default()
    };
    tlspost_certs::emit(&certs, &opts).expect("emit")
}

/// The first chain's analysis.
pub fn found(r: &Report) -> &Found {
    r.chains[0].found.as_ref().expect("a chain")
}

/// A self-signed root named `cn`, valid from `from` to `to` days from now.
pub fn root(cn: &str, from: i64, to: i64) -> Ca {
    Ca::builder(cn).validity(Validity::days(from, to)).self_signed()
}

/// A CA named `cn` issued by `by`, valid from `from` to `to` days from now.
pub fn ca(cn: &str, by: &Ca, from: i64, to: i64) -> Ca {
    Ca::builder(cn).validity(Validity::days(from, to)).signed_by(by)
}

/// A root, the intermediate it issued, and a leaf the intermediate issued.
pub struct Pki {
    /// The root.
    pub root: Ca,
    /// The intermediate.
    pub int: Ca,
    /// The leaf.
    pub leaf: Leaf,
}

impl Pki {
    /// `root` (10 years) → `int` (900 days) → a leaf for `names`, each valid since a few days.
    pub fn new(root_cn: &str, int_cn: &str, names: &[&str]) -> Pki {
        Pki::with((root_cn, -10, 3650), (int_cn, -5, 900), names)
    }

    /// A root and an intermediate each `(CN, from, to)` (days from now), and a leaf for `names`.
    pub fn with(root_ca: (&str, i64, i64), int_ca: (&str, i64, i64), names: &[&str]) -> Pki {
        let root = root(root_ca.0, root_ca.1, root_ca.2);
        let int = ca(int_ca.0, &root, int_ca.1, int_ca.2);
        Pki {
            leaf: leaf(&int, names),
            root,
            int,
        }
    }

    /// The leaf, then the intermediate, as PEM: what a server sends.
    pub fn chain(&self) -> String {
        self.leaf.chain(&[&self.int])
    }

    /// caddy serving the chain for `host`.
    pub fn caddy(&self, host: &str) -> Caddy {
        Caddy::start(host, &self.chain(), &self.leaf.key_pem)
    }

    /// nginx serving the chain.
    pub fn nginx(&self) -> Nginx {
        Nginx::start(&[Site::new("main", &self.chain(), &self.leaf.key_pem)])
    }
}

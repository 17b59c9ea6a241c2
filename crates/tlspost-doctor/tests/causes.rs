//! One root cause, one FAIL: the doctor against real nginx (Debian's `nginx-light`, one site per
//! certificate setup), a refused port and a listener that never speaks, each
//! on ephemeral loopback ports with a PKI made at test time. The verdicts are checked as types.

use std::net::TcpListener;
use std::time::Duration;

use tlspost_certs::CertInfo;
use tlspost_doctor::{Cause, DeviceTrust, Override, Party, Pinned, Report, Request, Severity, Step, Verdict};
use tlspost_proto::Phase;
use tlspost_testkit::origin::{Env, HOST};
use tlspost_testkit::proc::refused_addr;

fn pin(der: &[u8], source: &str) -> Pinned {
    Pinned {
        cert: CertInfo::parse(der, source).expect("a certificate"),
        source: source.into(),
    }
}

/// A request for `url` at 127.0.0.1:`port`, the device pinning `pins` (none: a public bundle).
fn request(url: &str, port: u16, pins: Vec<Pinned>) -> Request {
    let host = tlspost::url::HttpUrl::parse(url).expect("url").host().to_string();
    let mut r = Request::new(url);
    r.overrides = vec![Override::parse(&format!("{host}:{port}:127.0.0.1")).expect("override")];
    r.connect_timeout = Duration::from_secs(3);
    r.trust = DeviceTrust {
        pinned: pins,
        candidates: Vec::new(),
    };
    r
}

fn run(r: &Request) -> Report {
    tlspost_doctor::run(r).expect("a usable request")
}

fn fails(r: &Report) -> Vec<&Verdict> {
    r.verdicts.iter().filter(|v| v.severity == Severity::Fail).collect()
}

/// The one FAIL of the report.
fn one_fail(r: &Report) -> &Verdict {
    let f = fails(r);
    assert_eq!(f.len(), 1, "one FAIL: {:#?}", r.verdicts);
    f[0]
}

fn parties(v: &Verdict) -> Vec<Party> {
    v.consequences.iter().map(|c| c.party.clone()).collect()
}

#[test]
fn each_broken_chain_gives_one_fail_naming_its_cause_with_the_consequences_under_it() {
    let env = Env::start();
    let root = || vec![pin(&env.pki.root.der, "root.pem")];
    let url = |site: &str| env.url(env.port(site), "/echo");

    // The good chain with its root pinned: no FAIL; the device accepts; nginx wants SNI.
    let r = run(&request(&url("good"), env.port("good"), root()));
    assert!(fails(&r).is_empty(), "{:#?}", r.verdicts);
    let causes: Vec<&Cause> = r.verdicts.iter().map(|v| &v.cause).collect();
    assert!(causes.contains(&&Cause::DeviceAccepts), "{causes:?}");
    assert!(causes.contains(&&Cause::NoSniRefused), "{causes:?}");
    assert!(
        causes.contains(&&Cause::RootsToPin {
            roots: vec!["tlspost Test Root".into()]
        }),
        "{causes:?}"
    );
    // The root is pinned already: no advice says to pin it again.
    let pin_lines = r.verdicts.iter().filter_map(|v| v.fix.as_deref());
    assert!(
        pin_lines.clone().all(|f| !f.contains("pin \"tlspost Test Root\"")),
        "{:#?}",
        r.verdicts
    );

    // The same chain for a device with a public bundle: the private root is the one cause.
    let r = run(&request(&url("good"), env.port("good"), Vec::new()));
    let f = one_fail(&r);
    assert!(matches!(f.cause, Cause::UntrustedRoot { .. }), "{f:#?}");

    // The leaf alone: the missing intermediate, with the nginx fix; the device and Mozilla fail with it.
    let r = run(&request(&url("leafonly"), env.port("leafonly"), root()));
    let f = one_fail(&r);
    let Cause::MissingIntermediate { issuer, .. } = &f.cause else {
        panic!("{f:#?}")
    };
    assert!(issuer.contains("tlspost Test Issuing CA"), "{issuer}");
    assert!(
        f.fix.as_deref().is_some_and(|x| x.contains("nginx: ssl_certificate")),
        "{f:#?}"
    );
    assert_eq!(parties(f), [Party::Device, Party::Mozilla], "{f:#?}");

    // Expired, not yet valid: dates, never a negative day count.
    let r = run(&request(&url("expired"), env.port("expired"), root()));
    let f = one_fail(&r);
    assert!(matches!(f.cause, Cause::Expired { index: 0, .. }), "{f:#?}");
    let why = f.why.as_deref().unwrap_or_default();
    assert!(why.contains("expired on 20") && why.contains("days ago"), "{why}");
    assert!(
        !r.verdicts.iter().flat_map(|v| &v.details).any(|d| d.contains("(-")),
        "{:#?}",
        r.verdicts
    );
    assert!(parties(f).contains(&Party::Device), "{f:#?}");
    let r = run(&request(&url("future"), env.port("future"), root()));
    assert!(
        matches!(one_fail(&r).cause, Cause::NotYetValid { .. }),
        "{:#?}",
        r.verdicts
    );

    // The wrong host: the names the certificate holds.
    let r = run(&request(&url("wrong"), env.port("wrong"), root()));
    let f = one_fail(&r);
    let Cause::NameMismatch { host, names } = &f.cause else {
        panic!("{f:#?}")
    };
    assert_eq!(host, HOST);
    assert_eq!(names, &["other.tlspost.test", "www.other.tlspost.test"]);

    // A device pinning a root the server does not chain to.
    let r = run(&request(
        &url("good"),
        env.port("good"),
        vec![pin(&env.pki.other_root.der, "other.pem")],
    ));
    let f = one_fail(&r);
    assert!(
        matches!(f.cause, Cause::UntrustedRoot { .. } | Cause::PinMismatch),
        "{f:#?}"
    );
    assert!(f.title.contains("the device would refuse the server"), "{f:#?}");

    // The URL an IP address: no SNI, and nginx refuses a handshake without it.
    let port = env.port("good");
    let r = run(&request(&format!("https://127.0.0.1:{port}/echo"), port, root()));
    let f = fails(&r)[0];
    assert_eq!((f.step, &f.cause), (Step::Tls, &Cause::SniRequired), "{f:#?}");
    // The linter's TLS-without-SNI finding is the same cause, under it; an IP as Host is its own.
    assert_eq!(parties(f), [Party::Device], "{f:#?}");
    let lint: Vec<&Cause> = fails(&r)[1..].iter().map(|v| &v.cause).collect();
    assert_eq!(lint, [&Cause::Lint { code: "TP306" }], "{:#?}", r.verdicts);

    // http:// to nginx's TLS port: plain HTTP to an HTTPS port.
    let port = env.port("good");
    let r = run(&request(&format!("http://{HOST}:{port}/echo"), port, Vec::new()));
    assert_eq!(one_fail(&r).cause, Cause::HttpToTlsPort { port }, "{:#?}", r.verdicts);
}

#[test]
fn network_causes_name_the_phase() {
    // Nothing listens: refused, at TCP.
    let refused = refused_addr();
    let r = run(&request(
        &format!("https://{HOST}:{}/", refused.port()),
        refused.port(),
        Vec::new(),
    ));
    let f = one_fail(&r);
    assert_eq!(
        (f.step, &f.cause),
        (Step::Tcp, &Cause::Refused { port: refused.port() })
    );

    // A listener that accepts and never speaks: a handshake timeout, not "closed".
    let quiet = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = quiet.local_addr().expect("addr").port();
    let mut req = request(&format!("https://{HOST}:{port}/"), port, Vec::new());
    req.connect_timeout = Duration::from_millis(700);
    let r = run(&req);
    let f = one_fail(&r);
    assert_eq!(
        f.cause,
        Cause::Timeout {
            phase: Phase::Handshake,
            after: Duration::from_millis(700)
        },
        "{f:#?}"
    );
    drop(quiet);
}

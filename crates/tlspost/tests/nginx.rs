//! The host client against real nginx (PKI generated at test time) in front of an origin that
//! records exactly what it received.

use tlspost::certinfo::utc;
use tlspost::client::ClientBuilder;
use tlspost::probe::{Alert, CertProblem, HandshakeError, TlsFailure};
use tlspost::proto::date::Style;
use tlspost::proto::redirect::RedirectPolicy;
use tlspost::proto::retry::RetryPolicy;
use tlspost::trace::render;
use tlspost::{Client, ConnectFailure, Error, ErrorClass, RedirectRefusal, RequestSpec, Trust};
use tlspost_testkit::origin::{Env, HOST, SITES};
use tlspost_testkit::proc::refused_addr;

mod client_support;
use client_support::json;

fn builder(env: &Env) -> ClientBuilder {
    let mut b = Client::builder().trust(Trust::pinned_files(&[env.root_file()]).expect("root"));
    for site in SITES {
        let p = env.port(site);
        b = b.resolve(HOST, p, Env::addr(p));
        b = b.resolve("unknown.tlspost.test", p, Env::addr(p));
    }
    b
}

fn tls_error(r: Result<tlspost::Response, Error>) -> HandshakeError {
    match r {
        Err(Error::Tls { error, .. }) => *error,
        Err(e) => panic!("expected a TLS error, got {e:?}"),
        Ok(r) => panic!("expected a TLS error, got HTTP {}", r.status),
    }
}

const JSON: &[u8] = br#"{"client_id":"dev-42","client_secret":"s3cr3t-value","scope":"read"}"#;

#[test]
fn json_post_reaches_origin_byte_exact_with_content_type() {
    let env = Env::start();
    let mut c = builder(&env).trace(true).build().expect("client");
    let r = c
        .send(&json(&env.url(env.port("good"), "/echo"), JSON.to_vec()))
        .expect("POST");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, JSON, "the origin echoes the body it received");
    let got = env.origin.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, JSON);
    assert_eq!(got[0].header("content-type").as_deref(), Some("application/json"));
    assert_eq!(
        got[0].header("content-length").as_deref(),
        Some(JSON.len().to_string().as_str())
    );
    assert_eq!(got[0].header("accept-encoding").as_deref(), Some("identity"));
    assert!(got[0].header("user-agent").is_some_and(|u| u.starts_with("tlspost/")));
    assert!(got[0].head.starts_with(b"POST /echo HTTP/1."));
    assert!(!r.answered_by.made_by_edge && r.answered_by.edge.is_none());

    let tls = r.tls.as_ref().expect("tls facts");
    assert_eq!(tls.version.to_string(), "TLSv1.3");
    assert_eq!(tls.alpn_text().as_deref(), Some("http/1.1"));
    assert_eq!(tls.sni.as_deref(), Some(HOST));
    assert!(!tls.resumed());
    let certs = tls.certs();
    assert_eq!(certs.len(), 2);
    assert!(certs[1].subject.contains("tlspost Test Issuing CA"));

    // The trace shows the exact bytes, with secrets masked unless asked.
    let masked = render(c.trace(), false);
    assert!(masked.contains("=> Send data"), "{masked}");
    // Masked byte for byte, so offsets in the trace stay right.
    assert!(masked.contains(r#""client_secret":"************""#), "{masked}");
    assert!(!masked.contains("s3cr3t-value"), "{masked}");
    assert!(masked.contains("TLS TLSv1.3"), "{masked}");
    assert!(masked.contains("timings: dns"), "{masked}");
    let shown = render(c.trace(), true);
    assert!(shown.contains("s3cr3t-value"));
    assert!(r.timings.total >= r.timings.first_byte && r.timings.first_byte >= r.timings.sent);
    assert!(r.timings.sent >= r.timings.tls && r.timings.tls >= r.timings.connect);
}

#[test]
fn no_sni_and_unknown_name_get_unrecognized_name_alert() {
    let env = Env::start();
    let mut c = builder(&env).build().expect("client");
    // An IP address in the URL: rustls sends no SNI, nginx's default server rejects the handshake.
    let url = format!("https://127.0.0.1:{}/echo", env.port("good"));
    let e = c.send(&json(&url, b"{}".to_vec())).expect_err("refused");
    assert!(
        e.to_string().contains("needs SNI"),
        "the client's message says what the alert means: {e}"
    );
    let e = tls_error(Err(e));
    assert_eq!(e.failure, TlsFailure::Alert(Alert::UnrecognizedName), "{e:?}");
    assert_eq!(e.sni, None);
    assert!(e.to_string().contains("no SNI was sent"), "{e}");
    let url = format!("https://unknown.tlspost.test:{}/echo", env.port("good"));
    let e = c.send(&json(&url, b"{}".to_vec())).expect_err("refused");
    assert_eq!(e.class(), ErrorClass::TlsHandshake);
    assert!(e.to_string().contains("unrecognized_name"), "{e}");
    assert_eq!(env.origin.received().len(), 0);
}

#[test]
fn certificate_failures_each_have_their_own_error() {
    let env = Env::start();
    let mut c = builder(&env).build().expect("client");
    let post = |c: &mut Client, port: u16| c.send(&json(&env.url(port, "/echo"), b"{}".to_vec()));

    let e = tls_error(post(&mut c, env.port("expired")));
    match &e.failure {
        TlsFailure::Certificate(CertProblem::Expired { not_after, .. }) => {
            assert_eq!(utc(*not_after, Style::Spaced), "2021-01-01 00:00:00");
        }
        other => panic!("expired: {other:?}"),
    }
    assert!(e.certs()[0].subject.contains(HOST), "{e:?}");
    assert!(e.to_string().contains(HOST), "the message names the leaf: {e}");
    match tls_error(post(&mut c, env.port("future"))).failure {
        TlsFailure::Certificate(CertProblem::NotYetValid { not_before, .. }) => {
            assert_eq!(utc(not_before, Style::Spaced), "2099-01-01 00:00:00");
        }
        other => panic!("not yet valid: {other:?}"),
    }
    let e = post(&mut c, env.port("future")).expect_err("refused");
    assert!(e.to_string().contains("not valid before 2099-01-01"), "{e}");
    assert!(e.to_string().contains("clock"), "the fix names the clock: {e}");
    match tls_error(post(&mut c, env.port("wrong"))).failure {
        TlsFailure::Certificate(CertProblem::NameMismatch { expected, names }) => {
            assert_eq!(expected, HOST);
            assert_eq!(names, vec!["other.tlspost.test", "www.other.tlspost.test"]);
        }
        other => panic!("wrong name: {other:?}"),
    }
    let e = tls_error(post(&mut c, env.port("leafonly")));
    assert_eq!(e.failure, TlsFailure::Certificate(CertProblem::IncompleteChain));
    assert!(e.certs()[0].issuer.contains("tlspost Test Issuing CA"), "{e:?}");
    let e = post(&mut c, env.port("leafonly")).expect_err("refused");
    assert!(e.to_string().contains("intermediate"), "{e}");

    // A client that pins another root.
    let mut other = builder(&env)
        .trust(Trust::pinned_pem(env.pki.other_root.pem.as_bytes()).expect("pem"))
        .build()
        .expect("client");
    let e = tls_error(post(&mut other, env.port("good")));
    assert_eq!(e.failure, TlsFailure::Certificate(CertProblem::UnknownIssuer));
    let chain = e.certs();
    assert_eq!(chain.len(), 2);
    assert!(chain[0].subject.contains(HOST));
    assert!(chain[1].subject.contains("tlspost Test Issuing CA"));
    assert!(chain[1].issuer.contains("tlspost Test Root"));
    let e = post(&mut other, env.port("good")).expect_err("refused");
    assert!(e.to_string().contains("tlspost Test Root"), "{e}");
    assert_eq!(e.class(), ErrorClass::TlsCertificate);
    assert_eq!(env.origin.received().len(), 0, "nothing reached the origin");
}

#[test]
fn chunked_close_delimited_and_identity_encoding() {
    let env = Env::start();
    let mut c = builder(&env).build().expect("client");
    let get = |c: &mut Client, url: String| c.send(&RequestSpec::new("GET", url.parse().expect("a valid URL")));
    let r = get(&mut c, env.url(env.port("good"), "/chunked")).expect("chunked");
    assert_eq!(r.header_str("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(r.body, b"hello world");

    // HTTP/1.0 close-delimited, straight from the origin over plain HTTP.
    let r = get(&mut c, format!("http://127.0.0.1:{}/close", env.origin.port)).expect("close-delimited");
    assert_eq!((r.version, r.status), (0, 200));
    assert_eq!(r.body, b"body until the connection closes");
    // And through nginx to a client speaking HTTP/1.0: no length, the body ends at close.
    let mut c10 = builder(&env).http10(true).build().expect("client");
    let r = get(&mut c10, env.url(env.port("good"), "/close")).expect("http/1.0 via nginx");
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.body, b"body until the connection closes");
    assert!(
        env.origin
            .received()
            .iter()
            .any(|q| q.head.starts_with(b"GET /close HTTP/1.0"))
    );

    // A gzip-capable origin receives Accept-Encoding: identity and answers plainly.
    let r = get(&mut c, env.url(env.port("good"), "/gzip")).expect("gzip");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, b"plain body");
    let q = env
        .origin
        .received()
        .into_iter()
        .find(|q| q.path == "/gzip")
        .expect("seen");
    assert_eq!(q.header("accept-encoding").as_deref(), Some("identity"));
}

#[test]
fn ten_posts_reuse_one_connection_and_a_reconnect_resumes() {
    let env = Env::start();
    let mut c = builder(&env).build().expect("client");
    let url = env.url(env.port("good"), "/echo");
    let mut conns = Vec::new();
    for i in 1..=10u32 {
        let r = c
            .send(&json(&url, format!("{{\"n\":{i}}}").into_bytes()))
            .expect("POST");
        assert_eq!(r.status, 200);
        assert_eq!(r.header_str("x-conn-requests"), Some(i.to_string()), "request {i}");
        assert_eq!(r.reused_connection, i > 1);
        conns.push(r.header_str("x-conn").expect("x-conn"));
    }
    assert!(conns.iter().all(|x| *x == conns[0]), "one nginx connection: {conns:?}");
    assert_eq!(env.origin.count("/echo"), 10);

    // Without keep-alive every request reconnects; the second handshake resumes the session.
    let mut fresh = builder(&env).keep_alive(false).build().expect("client");
    let a = fresh.send(&json(&url, b"{}".to_vec())).expect("first");
    let b = fresh.send(&json(&url, b"{}".to_vec())).expect("second");
    assert_eq!(a.header_str("x-session-reused").as_deref(), Some("."));
    assert!(!a.tls.as_ref().expect("tls").resumed());
    assert_eq!(b.header_str("x-session-reused").as_deref(), Some("r"));
    assert!(b.tls.as_ref().expect("tls").resumed());
    assert_ne!(a.header_str("x-conn"), b.header_str("x-conn"));
}

#[test]
fn redirects_301_refused_307_308_resend_the_body() {
    let env = Env::start();
    let follow = RedirectPolicy {
        follow: true,
        ..RedirectPolicy::default()
    };
    let mut c = builder(&env).redirect(follow).build().expect("client");
    let e = c
        .send(&json(&env.url(env.port("good"), "/r301"), JSON.to_vec()))
        .expect_err("301 on POST");
    match &e {
        Error::Redirect { status, reason } => {
            assert_eq!(*status, 301);
            assert_eq!(*reason, RedirectRefusal::MethodWouldChange { from: "POST".into() });
            assert!(e.to_string().contains("POST to GET"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.origin.count("/echo"), 0, "the body was not sent anywhere as a GET");
    for code in ["307", "308"] {
        let r = c
            .send(&json(&env.url(env.port("good"), &format!("/r{code}")), JSON.to_vec()))
            .expect("followed");
        assert_eq!(r.status, 200);
        assert_eq!(r.redirects, vec![env.url(env.port("good"), "/echo").parse().unwrap()]);
        assert_eq!(r.body, JSON);
    }
    let got = env.origin.received();
    let echoes: Vec<_> = got.iter().filter(|q| q.path == "/echo").collect();
    assert_eq!(echoes.len(), 2);
    for q in echoes {
        assert!(q.head.starts_with(b"POST /echo"));
        assert_eq!(q.body, JSON);
        assert_eq!(q.header("content-type").as_deref(), Some("application/json"));
    }
    // Not following: the 3xx is handed back.
    let mut plain = builder(&env).build().expect("client");
    let r = plain
        .send(&json(&env.url(env.port("good"), "/r308"), JSON.to_vec()))
        .expect("3xx");
    assert_eq!(r.status, 308);
}

#[test]
fn connection_refused_retries_with_backoff_then_says_so() {
    // Held for the test: nothing listens there, and nothing can start to.
    let refused = refused_addr();
    let port = refused.port();
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay_ms: 100,
        max_delay_ms: 1000,
        honor_retry_after: true,
    };
    let mut c = Client::builder()
        .resolve(HOST, port, refused.addr())
        .retry(retry)
        .trace(true)
        .build()
        .expect("client");
    let e = c
        .send(&json(&format!("https://{HOST}:{port}/"), b"{}".to_vec()))
        .expect_err("refused");
    match &e {
        Error::Connect { failure, addr, .. } => {
            assert_eq!(*failure, ConnectFailure::Refused);
            assert_eq!(addr.port(), port);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("refused"), "{e}");
    assert_eq!(c.last_attempts(), 3);
    let trace = render(c.trace(), false);
    assert_eq!(trace.matches("retrying in").count(), 2, "{trace}");
    assert!(trace.contains("gave up after 3 attempt(s)"), "{trace}");
}

#[test]
fn mid_body_close_is_truncated_and_a_post_is_not_resent() {
    let env = Env::start();
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay_ms: 10,
        max_delay_ms: 100,
        honor_retry_after: true,
    };
    let mut c = builder(&env).retry(retry).trace(true).build().expect("client");
    let e = c
        .send(&json(&env.url(env.port("good"), "/midbody"), JSON.to_vec()))
        .expect_err("truncated");
    match &e {
        Error::Http {
            error: tlspost::proto::Error::Body(tlspost::proto::error::BodyError::Truncated { received, expected }),
            request_written,
        } => {
            assert_eq!((*received, *expected), (10, Some(100)));
            assert!(*request_written > 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.last_attempts(), 1);
    assert_eq!(env.origin.count("/midbody"), 1, "the POST reached the origin once");
    assert!(render(c.trace(), false).contains("a POST is never sent twice"));

    // The same failure for an idempotent request is retried.
    let e = c
        .send(&RequestSpec {
            method: "PUT".into(),
            ..json(&env.url(env.port("good"), "/midbody"), b"{}".to_vec())
        })
        .expect_err("truncated again");
    assert!(matches!(e, Error::Http { .. }));
    assert_eq!(c.last_attempts(), 3);
    assert_eq!(env.origin.count("/midbody"), 4);
}

#[test]
fn edge_made_response_is_reported_in_plain_words() {
    let env = Env::start();
    let mut c = builder(&env).build().expect("client");
    let r = c
        .send(&json(&env.url(env.port("good"), "/edge1010"), b"{}".to_vec()))
        .expect("403");
    assert_eq!(r.status, 403);
    assert!(r.answered_by.made_by_edge, "{:?}", r.answered_by);
    assert_eq!(r.answered_by.code, Some(1010));
    assert_eq!(r.answered_by.ray.as_deref(), Some("8f1e2d3c4b5a6978-AMS"));
    let s = r.answered_by.sentence(r.status);
    assert!(s.contains("origin never saw the request"), "{s}");
    assert!(s.to_ascii_lowercase().contains("user-agent"), "{s}");
}

//! Forward mode against real servers: the test kit's recording origin, and nginx (TLS, the kit's
//! PKI pinned) in front of it. The device's request reaches the origin as sent, the device gets the
//! origin's answer, and the capture holds both; an edge's own answer is told from the origin's; a
//! request with ambiguous framing never leaves; an upstream that cannot be reached is a 502 naming
//! why; a record committed before forwarding says when its response never ended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::time::Duration;

use support::{Running, connect, read_response, send_raw, start_with};
use tlspost::probe::{Override, Trust};
use tlspost::url::HttpUrl;
use tlspost_serve::{Capture, Forward};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::origin::{HOST, Origin, Pki};

fn forward_to(url: &str, f: impl FnOnce(&mut Forward)) -> Running {
    let mut fwd = Forward::new(HttpUrl::parse(url).unwrap());
    fwd.connect_timeout = Duration::from_secs(3);
    fwd.timeout = Duration::from_secs(5);
    f(&mut fwd);
    start_with(|c| c.forward = Some(fwd))
}

/// The capture of the newest request to `path`, once its response has been recorded.
fn settled(s: &Running, path: &str) -> Capture {
    s.wait_for(path, |c| {
        c.target.as_deref() == Some(path)
            && c.upstream
                .as_ref()
                .is_some_and(|u| u.error.as_ref().is_none_or(|e| e.cause != "unfinished"))
    })
}

#[test]
fn the_request_reaches_the_origin_as_sent_and_its_answer_comes_back() {
    let origin = Origin::start();
    let s = forward_to(&format!("http://127.0.0.1:{}", origin.port), |_| {});
    let head = "POST /echo HTTP/1.1\r\nHost: api.example.test\r\nX-Z: last-first\r\nuser-agent: dev/1.2\r\n\
                Connection: keep-alive\r\nContent-Length: 11\r\nX-A:  spaced \r\n\r\n";
    let mut c = connect(s.http());
    c.write_all(format!("{head}hello world").as_bytes()).unwrap();
    let r = read_response(&mut c).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "hello world"), "{}", r.head);
    assert!(
        r.header("x-tlspost-capture").is_none(),
        "the answer comes back as the origin sent it"
    );
    // Kept alive: a second request on the same device connection, over the kept upstream one.
    c.write_all(b"GET /chunked HTTP/1.1\r\nHost: api.example.test\r\n\r\n")
        .unwrap();
    let mut rest = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.ends_with(b"0\r\n\r\n") {
        let n = std::io::Read::read(&mut c, &mut rest).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&rest[..n]);
    }
    assert!(
        got.ends_with(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        "chunked stays chunked"
    );

    let received = origin.received();
    assert_eq!(received.len(), 2);
    let want = head
        .replace("Host: api.example.test", &format!("Host: 127.0.0.1:{}", origin.port))
        .replace("Connection: keep-alive\r\n", "");
    assert_eq!(
        String::from_utf8_lossy(&received[0].head),
        want,
        "order, case and spacing kept"
    );
    assert_eq!(received[0].body, b"hello world");

    let cap = settled(&s, "/echo");
    let up = cap.upstream.as_ref().unwrap();
    assert_eq!((cap.status, up.status, up.complete), (200, 200, true));
    assert_eq!(up.body, b"hello world");
    assert_eq!(up.body_len, 11);
    assert!(String::from_utf8_lossy(&up.head).starts_with("HTTP/1.1 200 OK\r\n"));
    let changed: Vec<&str> = up.rewritten.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(changed, ["Host", "Connection"], "{:?}", up.rewritten);
    assert_eq!(up.answered_by.as_ref().unwrap().who, "origin");
    assert!(up.timing.first_byte_us.is_some() && up.timing.total_us.is_some());
    let second = settled(&s, "/chunked");
    let up2 = second.upstream.as_ref().unwrap();
    assert!(
        up2.reused,
        "the second request went over the kept-alive upstream connection"
    );
    assert_eq!(
        up2.body, b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "as received, framing and all"
    );
}

/// nginx with the kit's PKI in front of the origin: it proxies, except `/blocked`, which it
/// answers itself with a Cloudflare-style block page.
fn edge_in_front(origin: &Origin, pki: &Pki) -> Nginx {
    let directives = format!(
        "location /blocked {{ add_header CF-RAY 8f1e2d3c4b5a6978-AMS always; return 403 \"error code: 1010\"; }}\n    \
         location / {{ proxy_pass http://127.0.0.1:{}; proxy_http_version 1.1; proxy_set_header Connection \"\"; }}",
        origin.port
    );
    let site = Site::new("edge", &pki.good.chain(&[&pki.inter]), &pki.good.key_pem)
        .server_name(HOST, true)
        .directives(&directives);
    Nginx::start(&[site])
}

#[test]
fn in_front_of_nginx_and_an_origin_the_capture_holds_both_sides_and_who_answered() {
    let (origin, pki) = (Origin::start(), Pki::new());
    let nginx = edge_in_front(&origin, &pki);
    let port = nginx.port(0);
    let s = forward_to(&format!("https://{HOST}:{port}"), |f| {
        f.trust = Trust::pinned_pem(pki.root.pem.as_bytes()).unwrap();
        f.resolve = vec![Override::parse(&format!("{HOST}:{port}:127.0.0.1")).unwrap()];
    });
    let body = br#"{"temp":21.5}"#;
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: sensor/2\r\nX-Device: 42\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let r = send_raw(s.http(), &[head.as_bytes(), body]);
    assert_eq!((r.status, r.body.as_slice()), (200, &body[..]), "{}", r.head);
    let got = &origin.received()[0];
    assert_eq!(got.body, body, "the body reached the origin unchanged");
    assert_eq!(got.header("x-device").as_deref(), Some("42"));
    assert_eq!(got.header("user-agent").as_deref(), Some("sensor/2"));

    let cap = settled(&s, "/echo");
    assert_eq!(cap.raw, [head.as_bytes(), body].concat(), "the device's bytes");
    let up = cap.upstream.as_ref().unwrap();
    assert_eq!((up.status, up.body.as_slice()), (200, &body[..]));
    let tls = up.tls.as_ref().expect("the upstream's TLS facts");
    assert!(tls.version.starts_with("TLSv1."), "{tls:?}");
    assert_eq!(tls.sni.as_deref(), Some(HOST));
    assert!(
        tls.chain.first().is_some_and(|s| s.contains(HOST) || !s.is_empty()),
        "{tls:?}"
    );
    assert!(up.timing.tls_us.is_some() && up.timing.connect_us.is_some());
    let changed: Vec<(&str, &str)> = up
        .rewritten
        .iter()
        .map(|r| (r.toward.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(
        changed,
        [("device", "Connection")],
        "nothing else had to change: {:?}",
        up.rewritten
    );

    // nginx answers /blocked itself: the capture says so, and the origin never saw it.
    let r = send_raw(
        s.http(),
        &[format!("POST /blocked HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n\r\n").as_bytes()],
    );
    assert_eq!((r.status, r.text().as_str()), (403, "error code: 1010"));
    let cap = settled(&s, "/blocked");
    let who = cap.upstream.as_ref().unwrap().answered_by.clone().unwrap();
    assert_eq!((who.who.as_str(), who.code), ("edge", Some(1010)));
    assert!(who.text.contains("edge answered 403, error 1010"), "{}", who.text);
    assert!(who.text.contains("the origin never saw the request"), "{}", who.text);
    assert_eq!(origin.count("/blocked"), 0);
}

#[test]
fn ambiguous_framing_is_recorded_answered_400_and_never_forwarded() {
    let origin = Origin::start();
    let s = forward_to(&format!("http://127.0.0.1:{}", origin.port), |_| {});
    let req = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let r = send_raw(s.http(), &[req]);
    assert_eq!(r.status, 400, "{}", r.head);
    assert!(
        r.text().contains("both Transfer-Encoding and Content-Length"),
        "{}",
        r.text()
    );
    let cap = s.wait_for("the ambiguous request", |c| c.status == 400);
    assert!(
        cap.error.as_deref().unwrap().contains("not forwarded"),
        "{:?}",
        cap.error
    );
    assert!(cap.upstream.is_none());
    assert!(cap.raw.starts_with(b"POST /echo HTTP/1.1\r\n"));
    let r = send_raw(
        s.http(),
        &[b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
    );
    assert_eq!(r.status, 400);
    std::thread::sleep(Duration::from_millis(200));
    assert!(origin.received().is_empty(), "nothing reached the origin");
}

#[test]
fn an_upstream_that_cannot_be_reached_is_a_502_naming_why() {
    // A port nothing listens on: refused.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (url, cause) in [
        (format!("http://127.0.0.1:{free}"), "refused"),
        ("https://name.invalid".to_string(), "dns"),
    ] {
        let s = forward_to(&url, |_| {});
        let r = send_raw(s.http(), &[b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"]);
        assert_eq!(r.status, 502, "{url}: {}", r.head);
        assert!(r.text().contains(&format!("({cause})")), "{url}: {}", r.text());
        let cap = settled(&s, "/x");
        let e = cap.upstream.as_ref().unwrap().error.clone().unwrap();
        assert_eq!(e.cause, cause, "{url}: {e:?}");
        assert_eq!(cap.status, 502);
    }
    // TLS: the kit's nginx, whose root is not trusted (Mozilla's roots).
    let (origin, pki) = (Origin::start(), Pki::new());
    let nginx = edge_in_front(&origin, &pki);
    let port = nginx.port(0);
    let s = forward_to(&format!("https://{HOST}:{port}"), |f| {
        f.resolve = vec![Override::parse(&format!("{HOST}:{port}:127.0.0.1")).unwrap()];
    });
    let r = send_raw(s.http(), &[b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert_eq!(r.status, 502);
    let cap = settled(&s, "/x");
    let e = cap.upstream.as_ref().unwrap().error.clone().unwrap();
    assert_eq!(e.cause, "tls", "{e:?}");
    assert!(e.message.contains("TLS handshake"), "{e:?}");
}

#[test]
fn a_response_cut_short_and_a_slow_one_say_so() {
    let origin = Origin::start();
    let s = forward_to(&format!("http://127.0.0.1:{}", origin.port), |f| {
        f.timeout = Duration::from_millis(500);
    });
    // /midbody: 10 of 100 bytes, then the origin closes.
    let mut c = connect(s.http());
    c.write_all(b"GET /midbody HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let _ = std::io::Read::read_to_end(&mut c, &mut got);
    assert!(
        String::from_utf8_lossy(&got).ends_with("\r\n\r\n0123456789"),
        "the device got what came"
    );
    let cap = settled(&s, "/midbody");
    let up = cap.upstream.as_ref().unwrap();
    assert_eq!((up.status, up.complete, up.body_len), (200, false, 10));
    assert_eq!(up.error.as_ref().unwrap().cause, "closed");
    // /slow beyond the upstream timeout: a 502 naming the timeout.
    let r = send_raw(s.http(), &[b"GET /slow?ms=2000 HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert_eq!(r.status, 502);
    let cap = settled(&s, "/slow?ms=2000");
    assert_eq!(cap.upstream.as_ref().unwrap().error.as_ref().unwrap().cause, "timeout");
}

#[test]
fn the_request_is_committed_before_it_goes_on_and_a_crash_leaves_it_saying_so() {
    let origin = Origin::start();
    let bin = env!("CARGO_BIN_EXE_tlspost-serve");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args(["--upstream", &format!("http://127.0.0.1:{}", origin.port)]);
    let mut serve = match tlspost_testkit::serve::Serve::spawn(cmd, dir.path()) {
        Ok(s) => s,
        Err(e) => panic!("tlspost-serve did not start: {e}"),
    };
    let mut c = connect(serve.http());
    c.write_all(b"POST /slow?ms=3000 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
        .unwrap();
    // The origin has it: so the record was committed before.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while origin.count("/slow") == 0 {
        assert!(
            std::time::Instant::now() < until,
            "the request never reached the origin"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    serve.kill();
    drop(c);
    let store = tlspost_serve::store::Store::open(dir.path(), None).unwrap();
    let list = store.list(10, None).unwrap();
    assert_eq!(list.len(), 1);
    let up = list[0].upstream.as_ref().unwrap();
    assert!(!up.complete);
    let e = up.error.as_ref().unwrap();
    assert_eq!(e.cause, "unfinished");
    assert!(e.message.contains("the server stopped"), "{e:?}");
    assert_eq!(
        list[0].raw,
        b"POST /slow?ms=3000 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
    );
}

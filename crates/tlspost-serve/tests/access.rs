//! Who may use the UI and API, over the real server: a foreign `Host` is misdirected (DNS
//! rebinding) while device traffic keeps any `Host`; a listener beyond loopback asks for its
//! token; every UI answer carries the security headers; `reveal` shows secrets only for `1` or
//! `true`, in the API, the capture page and the event stream alike; an event-stream client that
//! falls behind is told to reload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::*;
use tlspost_serve::SyncMode;

/// `GET path` with `Host: host` and `extra` header lines, on a fresh connection.
fn get_as(addr: SocketAddr, host: &str, path: &str, extra: &[&str]) -> Resp {
    request(addr, "GET", host, path, extra)
}

fn request(addr: SocketAddr, method: &str, host: &str, path: &str, extra: &[&str]) -> Resp {
    let line = format!("{method} {path} HTTP/1.1");
    let mut s = send_head(addr, &line, host, &[&["Connection: close"], extra].concat());
    read_response(&mut s).unwrap()
}

/// A fresh connection on which the head `line`, `Host: host`, the `extra` lines and the empty
/// line have been sent.
fn send_head(addr: SocketAddr, line: &str, host: &str, extra: &[&str]) -> TcpStream {
    let mut s = connect(addr);
    let mut req = format!("{line}\r\nHost: {host}\r\n");
    for h in extra {
        req += &format!("{h}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).unwrap();
    s
}

/// `GET path` as a browser at the listener's own address sends it.
fn get(addr: SocketAddr, path: &str, extra: &[&str]) -> Resp {
    get_as(addr, &addr.to_string(), path, extra)
}

/// The event stream's response head, then its events as they come (HTTP/1.0: no chunk framing).
struct Events {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Events {
    fn open(r: &Running, host: &str, query: &str, extra: &[&str]) -> (Events, Resp) {
        let before = r.server.live_subscribers();
        let mut s = send_head(r.http(), &format!("GET /_tlspost/events{query} HTTP/1.0"), host, extra);
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        let at = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = s.read(&mut tmp).unwrap();
            assert!(n > 0, "the event stream closed before its head");
            buf.extend_from_slice(&tmp[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..at]).into_owned();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let rest = buf[at..].to_vec();
        if status == 200 {
            // Subscribed once the server counts one more subscriber.
            let until = Instant::now() + Duration::from_secs(15);
            while r.server.live_subscribers() <= before {
                assert!(Instant::now() < until, "the event stream never subscribed");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let resp = Resp {
            status,
            head,
            body: Vec::new(),
        };
        (Events { s, buf: rest }, resp)
    }

    /// The next event as (name, data), within the read timeout; keep-alive comments skipped.
    fn next(&mut self) -> (String, String) {
        let mut tmp = [0u8; 65536];
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8_lossy(&self.buf[..p]).into_owned();
                self.buf.drain(..p + 2);
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data += v.strip_prefix(' ').unwrap_or(v);
                    }
                }
                if block.lines().all(|l| l.starts_with(':')) {
                    continue;
                }
                return (name, data);
            }
            let n = self.s.read(&mut tmp).expect("an event within the read timeout");
            assert!(n > 0, "the event stream ended");
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }
}

const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-resource-policy", "same-origin"),
    ("content-security-policy", "default-src 'self'; script-src 'self'"),
];

fn assert_security_headers(what: &str, r: &Resp) {
    for (name, value) in SECURITY_HEADERS {
        let got = r
            .header(name)
            .unwrap_or_else(|| panic!("{what}: no {name} in\n{}", r.head));
        assert!(got.starts_with(value), "{what}: {name}: {got}");
    }
    let csp = r.header("content-security-policy").unwrap();
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

const SECRET_TARGET: &str = "/cb?code=7&access_token=abc123def&client_secret=s3cr3tvalue";

#[test]
fn a_foreign_host_is_misdirected_while_devices_keep_any_host() {
    let r = start();
    let addr = r.http();
    let port = addr.port();
    for path in [
        "/_tlspost/",
        "/_tlspost",
        "/_tlspost/api/captures",
        "/_tlspost/api/captures/1?reveal=1",
        "/_tlspost/ca.pem",
        "/_tlspost/nothing-here",
    ] {
        for host in [
            format!("rebind.example:{port}"),
            format!("127.0.0.1:{}", port + 1),
            "localhost".to_string(),
        ] {
            let resp = get_as(addr, &host, path, &[]);
            assert_eq!(resp.status, 421, "{host} {path}: {}", resp.head);
            assert!(resp.text().contains("DNS rebinding"), "{}", resp.text());
            assert_security_headers(&format!("421 for {path}"), &resp);
        }
        for host in [
            addr.to_string(),
            format!("localhost:{port}"),
            format!("LOCALHOST:{port}"),
            format!("[::1]:{port}"),
            format!("api.example.test:{port}"),
        ] {
            let resp = get_as(addr, &host, path, &[]);
            assert_ne!(resp.status, 421, "{host} {path}: {}", resp.text());
        }
    }
    // The event stream too, before it subscribes anyone.
    let (_, resp) = Events::open(&r, &format!("rebind.example:{port}"), "", &[]);
    assert_eq!(resp.status, 421);
    assert_eq!(r.server.live_subscribers(), 0);
    // No Host at all (HTTP/1.0) is not this listener's either.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /_tlspost/api/captures HTTP/1.0\r\n\r\n").unwrap();
    let resp = read_response(&mut s).unwrap();
    assert_eq!(resp.status, 421);
    assert!(resp.text().contains("no Host header"), "{}", resp.text());

    // A device's request names whatever host it wants: recorded and answered as always.
    let resp = send_raw(
        addr,
        &[b"POST /telemetry HTTP/1.1\r\nHost: rebind.example\r\nUser-Agent: dev/1\r\nContent-Length: 2\r\n\r\n{}"],
    );
    assert_eq!(resp.status, 200, "{}", resp.head);
    let c = r.capture(resp.capture_id());
    assert!(
        c.headers.iter().any(|(n, v)| n == "Host" && v == "rebind.example"),
        "{:?}",
        c.headers
    );
}

#[test]
fn a_listener_beyond_loopback_asks_for_its_token() {
    let r = start_with(|c| c.http = Some("0.0.0.0:0".parse().unwrap()));
    let addr = SocketAddr::from(([127, 0, 0, 1], r.http().port()));
    let token = r.server.ui_token().expect("a token beyond loopback").to_string();
    assert!(token.len() >= 22, "128 bits or more: {token}");
    let banner = r.server.banner();
    assert!(
        banner.contains(&format!(
            "UI: http://api.example.test:{}/_tlspost/?token={token}",
            addr.port()
        )),
        "{banner}"
    );
    assert!(banner.contains("not loopback-only"), "{banner}");
    assert!(start().server.ui_token().is_none(), "loopback: no token");

    for path in ["/_tlspost/", "/_tlspost/api/captures", "/_tlspost/ca.pem"] {
        let resp = get(addr, path, &[]);
        assert_eq!(resp.status, 401, "{path}: {}", resp.head);
        assert!(resp.header("www-authenticate").unwrap().starts_with("Bearer"));
        assert!(resp.text().contains("?token="), "how to get in: {}", resp.text());
        assert_security_headers("401", &resp);
    }
    let (_, resp) = Events::open(&r, &addr.to_string(), "", &[]);
    assert_eq!(resp.status, 401);
    for wrong in ["Authorization: Bearer nope", "Cookie: tlspost_token_1=x"] {
        assert_eq!(get(addr, "/_tlspost/api/captures", &[wrong]).status, 401, "{wrong}");
    }
    assert_eq!(get(addr, "/_tlspost/?token=nope", &[]).status, 401);
    // The Host check comes first: the right token from a foreign name is still misdirected.
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(get_as(addr, "rebind.example", "/_tlspost/", &[&bearer]).status, 421);

    // API clients: the Bearer token.
    let resp = get(addr, "/_tlspost/api/captures", &[&bearer]);
    assert_eq!(resp.status, 200, "{}", resp.text());
    // Browsers: ?token= once, then the cookie; the token leaves the address.
    let resp = get(addr, &format!("/_tlspost/captures/1?reveal=1&token={token}"), &[]);
    assert_eq!(resp.status, 303, "{}", resp.head);
    assert_eq!(resp.header("location").unwrap(), "/_tlspost/captures/1?reveal=1");
    let set = resp.header("set-cookie").unwrap();
    let name = format!("tlspost_token_{}", addr.port());
    assert!(set.starts_with(&format!("{name}={token};")), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/_tlspost"] {
        assert!(set.contains(attr), "{set}");
    }
    assert_security_headers("303", &resp);
    let cookie = format!("Cookie: other=1; {name}={token}");
    for path in ["/_tlspost/", "/_tlspost/api/captures", "/_tlspost/ca.h"] {
        let resp = get(addr, path, &[&cookie]);
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    }
    let (_, resp) = Events::open(&r, &addr.to_string(), "", &[&cookie]);
    assert_eq!(resp.status, 200);

    // Devices need no token: captured traffic is not the UI.
    let resp = send_raw(addr, &[ARDUINO_HEAD, ARDUINO_BODY]);
    assert_eq!(resp.status, 200);
    assert_eq!(
        r.capture(resp.capture_id()).raw.len(),
        ARDUINO_HEAD.len() + ARDUINO_BODY.len()
    );
}

#[test]
fn every_ui_answer_carries_the_security_headers_and_get_changes_nothing() {
    let r = start();
    let addr = r.http();
    let id = send_raw(addr, &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();
    let other = send_raw(addr, &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();
    for (path, status) in [
        ("/_tlspost", 200),
        ("/_tlspost/", 200),
        (&format!("/_tlspost/captures/{id}") as &str, 200),
        ("/_tlspost/captures/999999", 404),
        (&format!("/_tlspost/diff?a={id}&b={other}"), 200),
        ("/_tlspost/diff", 400),
        ("/_tlspost/api/captures", 200),
        (&format!("/_tlspost/api/captures/{id}"), 200),
        ("/_tlspost/api/captures/x", 404),
        ("/_tlspost/ca.pem", 200),
        ("/_tlspost/ca.h", 200),
        ("/_tlspost/no-such-page", 404),
        ("/_tlspost/api/captures/1?show_secrets=1", 400),
    ] {
        let resp = get(addr, path, &[]);
        assert_eq!(resp.status, status, "{path}: {}", resp.text());
        assert_security_headers(path, &resp);
    }
    let (_, resp) = Events::open(&r, &addr.to_string(), "", &[]);
    assert_eq!(resp.status, 200);
    assert!(resp.header("content-type").unwrap().starts_with("text/event-stream"));
    assert_security_headers("/_tlspost/events", &resp);

    // Nothing under /_tlspost/ takes another method, and none changes what is stored.
    let before = r.server.store().list(1000, None).unwrap().len();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for path in [
            "/_tlspost/",
            "/_tlspost/api/captures",
            &format!("/_tlspost/api/captures/{id}"),
        ] {
            let resp = request(addr, method, &addr.to_string(), path, &["Content-Length: 0"]);
            assert_eq!(resp.status, 405, "{method} {path}");
            assert_security_headers(&format!("{method} {path}"), &resp);
        }
    }
    assert_eq!(r.server.store().list(1000, None).unwrap().len(), before);
    assert_eq!(r.capture(id).raw.len(), ARDUINO_HEAD.len() + ARDUINO_BODY.len());
}

#[test]
fn reveal_shows_secrets_only_for_1_or_true_everywhere() {
    let r = start();
    let addr = r.http();
    let req = format!(
        "GET {SECRET_TARGET} HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nAuthorization: Bearer b3arer-value\r\n\r\n"
    );
    let id = send_raw(addr, &[req.as_bytes()]).capture_id();
    let secrets = ["abc123def", "s3cr3tvalue", "b3arer-value"];
    let check = |path: String, shown: bool| {
        let resp = get(addr, &path, &[]);
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        let text = resp.text();
        for s in secrets {
            assert_eq!(text.contains(s), shown, "{path}: `{s}` shown: {shown}\n{text}");
        }
        if !shown {
            // The parsed request line and the target are masked too, not only the raw bytes.
            assert!(
                text.contains("/cb?code=7&amp;access_token=*********&amp;client_secret=***********")
                    || text.contains("/cb?code=7&access_token=*********&client_secret=***********"),
                "{path}: {text}"
            );
        }
    };
    for (q, shown) in [
        ("", false),
        ("?reveal=0", false),
        ("?reveal=yes", false),
        ("?reveal=", false),
        ("?reveal", false),
        ("?reveal=1&reveal=0", false),
        ("?reveal=1", true),
        ("?reveal=true", true),
    ] {
        check(format!("/_tlspost/api/captures/{id}{q}"), shown);
        check(format!("/_tlspost/captures/{id}{q}"), shown);
        let list_q = if q.is_empty() {
            "?limit=1".to_string()
        } else {
            format!("{q}&limit=1")
        };
        check(format!("/_tlspost/api/captures{list_q}"), shown);
    }
    let resp = get(addr, &format!("/_tlspost/api/captures/{id}?show_secrets=1"), &[]);
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("reveal=1"), "{}", resp.text());
}

#[test]
fn the_event_stream_masks_secrets_as_the_api_does() {
    let r = start();
    let host = r.http().to_string();
    let (mut masked, _) = Events::open(&r, &host, "", &[]);
    let (mut zero, _) = Events::open(&r, &host, "?reveal=0", &[]);
    let (mut shown, _) = Events::open(&r, &host, "?reveal=1", &[]);
    let req = format!("GET {SECRET_TARGET} HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\n\r\n");
    let id = send_raw(r.http(), &[req.as_bytes()]).capture_id();
    for ev in [&mut masked, &mut zero] {
        let (name, data) = ev.next();
        assert_eq!(name, "capture");
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(v["id"], id);
        assert_eq!(
            v["target"],
            "/cb?code=7&access_token=*********&client_secret=***********"
        );
        assert!(!data.contains("abc123def") && !data.contains("s3cr3tvalue"), "{data}");
    }
    let (_, data) = shown.next();
    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v["target"], SECRET_TARGET);
}

#[test]
fn a_lagging_event_stream_client_is_told_to_reload() {
    let r = start_with(|c| c.sync = SyncMode::Normal);
    let host = r.http().to_string();
    // A client that subscribes and then reads nothing while captures arrive. Large targets fill
    // the sockets' and the server's buffers quickly; the store's channel holds 1024 captures, so
    // this many are sure to overflow it.
    let (mut slow, resp) = Events::open(&r, &host, "", &[]);
    assert_eq!(resp.status, 200);
    const SENT: usize = 3000;
    let pad = "p".repeat(16 * 1024);
    let started = Instant::now();
    let mut s = connect(r.http());
    let mut last = 0;
    for i in 0..SENT {
        let req = format!("GET /lag/{i}?pad={pad} HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let resp = read_response(&mut s).unwrap();
        assert_eq!(resp.status, 200);
        last = resp.capture_id();
    }
    assert!(started.elapsed() < Duration::from_secs(120), "sending took too long");

    // Now it reads: what fitted in the buffers, a reload event wherever the stream fell behind,
    // and on from what the channel still holds, through the last capture.
    let until = Instant::now() + Duration::from_secs(60);
    let (mut before, mut reloads, mut after) = (0usize, Vec::new(), 0usize);
    loop {
        assert!(
            Instant::now() < until,
            "the stream did not reach capture {last} within 60 s"
        );
        let (name, data) = slow.next();
        match name.as_str() {
            "reload" => reloads.push(data.parse::<u64>().expect("how many were missed")),
            "capture" => {
                if reloads.is_empty() {
                    before += 1;
                } else {
                    after += 1;
                }
                let v: serde_json::Value = serde_json::from_str(&data).unwrap();
                if v["id"] == last {
                    break;
                }
            }
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    // Each time the stream found it had fallen behind it said so (how often depends on when the
    // sockets had room), and every capture either arrived or was counted as missed.
    assert!(!reloads.is_empty(), "a reload ({before} captures arrived)");
    assert!(reloads.iter().all(|&n| n > 0), "{reloads:?}");
    assert!(after > 0, "the stream goes on after a reload");
    assert_eq!(
        before as u64 + reloads.iter().sum::<u64>() + after as u64,
        SENT as u64,
        "every capture either arrived or was counted as missed"
    );
}

//! Issue 13's attacks, replayed briefly against the real `tlspost serve` (and `tlspost lint`) as
//! processes on loopback: DNS rebinding, secrets in every place a request carries them, HTML and
//! terminal injection, ambiguous framing and TLS on the plain port, a memory flood, and a listener
//! beyond loopback. Each attack checks that the defence holds and that the server still answers an
//! ordinary request afterwards; each server's resident memory is read from `/proc` at the end and
//! held against the bound docs/serve.md gives (Memory).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tlspost_proto::escape::is_safe;
use tlspost_testkit::http::{Resp, read_response, roundtrip};
use tlspost_testkit::proc::status_kb;
use tlspost_testkit::serve::Serve;

const BIN: &str = env!("CARGO_BIN_EXE_tlspost");

const MIB: u64 = 1024 * 1024;

/// `GET path` with `Host: host` and `extra` header lines, on a fresh connection.
fn get_as(addr: SocketAddr, host: &str, path: &str, extra: &[&str]) -> Resp {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for h in extra {
        req += &format!("{h}\r\n");
    }
    req += "\r\n";
    roundtrip(addr, req.as_bytes()).unwrap_or_else(|e| panic!("GET {path} as {host}: {e}"))
}

/// `GET path` as a browser at the listener's own address sends it.
fn ui(addr: SocketAddr, path: &str) -> Resp {
    get_as(addr, &addr.to_string(), path, &[])
}

fn capture_id(r: &Resp) -> u64 {
    r.header("x-tlspost-capture")
        .unwrap_or_else(|| panic!("no X-Tlspost-Capture in {}", r.head))
        .parse()
        .expect("a capture id")
}

/// An ordinary device request is answered, promptly, and recorded.
fn still_answers(serve: &Serve, after: &str) {
    let t = Instant::now();
    let r = roundtrip(
        serve.http(),
        b"POST /telemetry HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    )
    .unwrap_or_else(|e| panic!("after {after}: no answer to an ordinary request: {e}\n{}", serve.stderr()));
    assert_eq!(r.status, 200, "after {after}: {}", r.head);
    capture_id(&r);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "after {after}: answered in {:?}",
        t.elapsed()
    );
}

/// docs/serve.md (Memory): resident memory at worst is base + budget + connections × per
/// connection + transients, i.e. 30 MiB + `--memory-budget` + `--max-connections` × 130 KiB +
/// (workers, one per core, + 3) × `--max-body`.
fn documented_bound_kb(budget: u64, max_connections: u64, max_body: u64) -> u64 {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get() as u64);
    (30 * MIB + budget + max_connections * 130 * 1024 + (workers + 3) * max_body) / 1024
}

/// The server's peak resident memory (`VmHWM`) within the documented bound; returns it in kB.
fn assert_rss_bounded(serve: &Serve, what: &str, bound_kb: u64) -> u64 {
    let hwm = status_kb(serve.pid(), "VmHWM").expect("the server is running");
    let rss = status_kb(serve.pid(), "VmRSS").unwrap_or(0);
    eprintln!(
        "{what}: peak RSS {:.1} MiB, now {:.1} MiB (documented bound {:.0} MiB)",
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0,
        bound_kb as f64 / 1024.0
    );
    assert!(
        hwm <= bound_kb,
        "{what}: peak RSS {hwm} kB over the documented {bound_kb} kB"
    );
    hwm
}

/// With the defaults: 256 MiB budget, 2048 connections, 8 MiB bodies.
fn default_bound_kb() -> u64 {
    documented_bound_kb(256 * MIB, 2048, 8 * 1024 * 1024)
}

/// After an attack: an ordinary request is still answered, and the peak memory stayed within the
/// bound of the defaults.
fn survived(serve: &Serve, after: &str) {
    still_answers(serve, after);
    assert_rss_bounded(serve, after, default_bound_kb());
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tlspost")
}

/// Every line of `out` is printable text: no ESC, CR, NUL or other control byte.
fn assert_terminal_safe(what: &str, out: &[u8]) {
    assert!(!out.contains(&0x1b), "{what}: a raw ESC");
    for line in out.split(|&b| b == b'\n') {
        assert!(
            is_safe(line),
            "{what}: a raw byte reaches the terminal in {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// The UI's security headers on a UI or API answer.
fn assert_security_headers(what: &str, r: &Resp) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy in\n{}", r.head));
    for part in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(part), "{what}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(r.header(name).as_deref(), Some(value), "{what}: {name} in\n{}", r.head);
    }
}

/// The live event stream, read as it comes (HTTP/1.0: no chunk framing).
struct Events {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Events {
    /// Opens `/_tlspost/events{query}` as `host`; the status, and the stream when it is 200.
    fn open(addr: SocketAddr, host: &str, query: &str) -> (u16, Option<Events>) {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        write!(s, "GET /_tlspost/events{query} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("ask");
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        let at = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = s.read(&mut tmp).expect("the event stream's head");
            assert!(n > 0, "the event stream closed before its head");
            buf.extend_from_slice(&tmp[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..at]).into_owned();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let rest = buf[at..].to_vec();
        (status, (status == 200).then_some(Events { s, buf: rest }))
    }

    /// The data of the next `capture` event within `wait`; `None` when none came.
    fn next_capture(&mut self, wait: Duration) -> Option<String> {
        let until = Instant::now() + wait;
        let mut tmp = [0u8; 16384];
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8_lossy(&self.buf[..p]).into_owned();
                self.buf.drain(..p + 2);
                if block.lines().any(|l| l.trim() == "event: capture") {
                    let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).collect();
                    return Some(data);
                }
                continue;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.s.set_read_timeout(Some(left)).expect("timeout");
            match self.s.read(&mut tmp) {
                Ok(0) => panic!("the event stream ended"),
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
                Err(e) => panic!("the event stream: {e}"),
            }
        }
    }
}

#[test]
fn dns_rebinding_is_misdirected_and_the_own_host_served() {
    let serve = Serve::tlspost(BIN, &[]);
    let addr = serve.http();
    let foreign = format!("rebind.example:{}", addr.port());
    for path in ["/_tlspost/", "/_tlspost/api/captures?reveal=1", "/_tlspost/captures/1"] {
        let r = get_as(addr, &foreign, path, &[]);
        assert_eq!(r.status, 421, "{path} as {foreign}: {}", r.head);
        assert_security_headers(&format!("421 {path}"), &r);
    }
    let (status, _) = Events::open(addr, &foreign, "?reveal=1");
    assert_eq!(status, 421, "the event stream as {foreign}");
    still_answers(&serve, "DNS rebinding");

    for path in ["/_tlspost/", "/_tlspost/api/captures"] {
        let r = ui(addr, path);
        assert_eq!(r.status, 200, "{path}: {}", r.head);
        assert_security_headers(path, &r);
    }
    let (status, events) = Events::open(addr, &addr.to_string(), "");
    assert_eq!(status, 200, "the event stream at the listener's own address");
    drop(events);
    survived(&serve, "the event stream");
}

/// Six secrets, each in a place a request carries one.
const SECRETS: [&str; 6] = [
    "AT5ecret1", // ?access_token=
    "CS5ecret2", // &client_secret=
    "HP5ecret3", // user:pass@ in Host
    "BR5ecret4", // Authorization: Bearer
    "XT5ecret5", // X-Auth-Token
    "PW5ecret6", // a JSON "password" field
];

fn secret_request() -> Vec<u8> {
    let body = r#"{"user":"me","password":"PW5ecret6"}"#;
    format!(
        "POST /cb?code=7&access_token=AT5ecret1&client_secret=CS5ecret2 HTTP/1.1\r\n\
         Host: dev:HP5ecret3@api.example.test\r\nUser-Agent: dev/1\r\n\
         Authorization: Bearer BR5ecret4\r\nX-Auth-Token: XT5ecret5\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn assert_masked(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{what}: `{s}` shown:\n{text}");
    }
}

fn assert_shown(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(text.contains(s), "{what}: `{s}` not shown:\n{text}");
    }
}

#[test]
fn secrets_are_masked_everywhere_unless_revealed_with_1_or_true() {
    let serve = Serve::tlspost(BIN, &[]);
    let addr = serve.http();
    let host = addr.to_string();

    // Event streams, masked and revealed, proven subscribed by an ordinary capture first.
    let mut streams: Vec<(&str, Events)> = ["", "?reveal=0", "?reveal=yes", "?reveal=1", "?reveal=true"]
        .into_iter()
        .map(|q| {
            let (status, ev) = Events::open(addr, &host, q);
            assert_eq!(status, 200, "events{q}");
            (q, ev.expect("a stream"))
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(15);
    let mut subscribed = vec![false; streams.len()];
    while !subscribed.iter().all(|&s| s) {
        assert!(Instant::now() < until, "the event streams never subscribed");
        still_answers(&serve, "subscribing");
        for (i, (_, ev)) in streams.iter_mut().enumerate() {
            while ev.next_capture(Duration::from_millis(300)).is_some() {
                subscribed[i] = true;
            }
        }
    }

    let resp = roundtrip(addr, &secret_request()).expect("the secret request");
    assert_eq!(resp.status, 200, "{}", resp.head);
    let id = capture_id(&resp);
    let in_target = &SECRETS[..2];
    for (q, ev) in &mut streams {
        let data = loop {
            let data = ev
                .next_capture(Duration::from_secs(5))
                .unwrap_or_else(|| panic!("events{q}: no event for capture {id}"));
            let v: serde_json::Value = serde_json::from_str(&data).expect("an event's JSON");
            if v["id"] == id {
                break data;
            }
        };
        if matches!(*q, "?reveal=1" | "?reveal=true") {
            assert_shown(&format!("events{q}"), &data, in_target);
        } else {
            assert_masked(&format!("events{q}"), &data, &SECRETS);
            assert!(data.contains("access_token=*********"), "events{q}: {data}");
        }
    }
    drop(streams);

    let api_secrets = &SECRETS[..5]; // the body is base64 in the API's `raw`
    for (q, shown) in [
        ("", false),
        ("?reveal=0", false),
        ("?reveal=yes", false),
        ("?reveal=1", true),
        ("?reveal=true", true),
    ] {
        let check = |path: String, secrets: &[&str]| {
            let r = ui(addr, &path);
            assert_eq!(r.status, 200, "{path}: {}", r.head);
            let text = r.text();
            if shown {
                assert_shown(&path, &text, secrets);
            } else {
                assert_masked(&path, &text, &SECRETS);
            }
        };
        check(format!("/_tlspost/api/captures/{id}{q}"), api_secrets);
        check(format!("/_tlspost/captures/{id}{q}"), &SECRETS);
        check(format!("/_tlspost/captures/{id}/raw{q}"), &SECRETS);
    }
    let raw = ui(addr, &format!("/_tlspost/captures/{id}/raw"));
    assert_eq!(raw.body.len(), secret_request().len(), "masked byte for byte");
    survived(&serve, "secrets");
}

/// What a hostile request carries; none of it may appear in a page as written.
const MARKUP: [&str; 3] = ["<script>alert", "</script><img", "<img src=x"];

/// An edge page runs nothing, is not sniffed and is not framed.
fn assert_edge_headers(what: &str, r: &Resp) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy in\n{}", r.head));
    assert!(
        csp.starts_with("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{what}: {csp}"
    );
    assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"), "{what}");
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"), "{what}");
}

fn assert_inert(what: &str, html: &str) {
    for m in MARKUP {
        assert!(!html.contains(m), "{what}: `{m}` written as markup:\n{html}");
    }
}

#[test]
fn html_injection_is_shown_as_text_on_edge_pages_and_ui_pages() {
    const HOST: &str = "api.example.test";
    let serve = Serve::tlspost(BIN, &["--profile", "edge", "--name", HOST]);
    let addr = serve.http();

    // A library's default User-Agent with markup, and markup in the target: the 1010 page.
    let req = format!(
        "GET /p?q=<script>alert('t')</script> HTTP/1.1\r\nHost: {HOST}\r\n\
         User-Agent: ESP32 HTTP Client/1.0 <script>alert('ua')</script><img src=x onerror=alert(1)>\r\n\r\n"
    );
    let r = roundtrip(addr, req.as_bytes()).expect("the 1010 page");
    assert_eq!(r.status, 403, "{}", r.head);
    let html = r.text();
    assert!(html.contains("Error 1010"), "{html}");
    assert_inert("the 1010 page", &html);
    assert!(html.contains("&lt;script&gt;alert('ua')"), "{html}");
    assert_edge_headers("the 1010 page", &r);
    let ua_capture = capture_id(&r);
    still_answers(&serve, "the 1010 page");

    // SNI ≠ a hostile Host over TLS: the 421 page (1013), quoting the Host.
    let port = serve.https_port();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-i", "--cacert"])
        .arg(serve.ca())
        .args(["--resolve", &format!("{HOST}:{port}:127.0.0.1"), "-A", "dev/1", "-H"])
        .arg("Host: h<script>alert(\"host\")</script>.example")
        .arg(format!("https://{HOST}:{port}/x?<script>alert(2)</script>"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 421"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (head, html) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let r421 = Resp {
        status: 421,
        head: format!("{head}\r\n\r\n"),
        body: html.as_bytes().to_vec(),
    };
    assert_edge_headers("the 421 page", &r421);
    assert!(html.contains("error code: 1013"), "{html}");
    assert_inert("the 421 page", html);
    assert!(
        html.contains("h&lt;script&gt;alert(&quot;host&quot;)&lt;/script&gt;.example"),
        "{html}"
    );
    still_answers(&serve, "the 421 page");

    // The UI's pages for the hostile capture.
    let ordinary = capture_id(
        &roundtrip(
            addr,
            b"GET / HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\n\r\n",
        )
        .expect("ordinary"),
    );
    for path in [
        format!("/_tlspost/captures/{ua_capture}"),
        format!("/_tlspost/captures/{ua_capture}?reveal=1"),
        format!("/_tlspost/diff?a={ua_capture}&b={ordinary}"),
        "/_tlspost/".to_string(),
    ] {
        let r = ui(addr, &path);
        assert_eq!(r.status, 200, "{path}: {}", r.head);
        assert!(
            r.header("content-type").is_some_and(|t| t.starts_with("text/html")),
            "{path}"
        );
        assert_security_headers(&path, &r);
        let html = r.text();
        assert_inert(&path, &html);
        assert!(!html.contains("<script>"), "{path}: an inline script");
        if path.contains("captures/") {
            assert!(
                html.contains("&lt;script&gt;alert('ua')&lt;/script&gt;"),
                "{path}: {html}"
            );
        }
    }
    survived(&serve, "the UI pages");
}

#[test]
fn terminal_injection_in_a_capture_is_escaped_by_lint() {
    let serve = Serve::tlspost(BIN, &[]);
    let addr = serve.http();
    let hostile: &[u8] = b"POST /t HTTP/1.1\r\nHost: a.example\r\nUser-Agent: d/1\r\n\
        X-Evil\x1b[31m : red\r\nX-Val: a\rb\x00c\x1b]0;pwned\x07\x1b[2J\r\nContent-Length: 2\r\n\r\n{}";
    let r = roundtrip(addr, hostile).expect("the hostile request");
    let id = capture_id(&r).to_string();
    let out = run(&["lint", "--capture", &id, "--server", &addr.to_string()]);
    assert_terminal_safe("lint --capture stdout", &out.stdout);
    assert_terminal_safe("lint --capture stderr", &out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("X-Evil\\x1b[31m"), "{text}");
    assert!(text.contains("a\\rb\\x00c\\x1b]0;pwned\\x07\\x1b[2J"), "{text}");
    let out = run(&["lint", "--json", "--capture", &id, "--server", &addr.to_string()]);
    assert_terminal_safe("lint --json --capture", &out.stdout);
    survived(&serve, "terminal injection");
}

#[test]
fn ambiguous_framing_closes_and_tls_on_the_plain_port_is_told() {
    let serve = Serve::tlspost(BIN, &[]);
    let addr = serve.http();

    // Content-Length and Transfer-Encoding: answered by the chunked framing, then closed.
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(
        b"POST /both HTTP/1.1\r\nHost: h\r\nUser-Agent: dev/1\r\nContent-Length: 5\r\n\
          Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
    )
    .expect("send");
    let r = read_response(&mut s).expect("an answer");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("connection").as_deref(), Some("close"), "{}", r.head);
    let t = Instant::now();
    let mut rest = Vec::new();
    let end = s.read_to_end(&mut rest);
    assert!(
        end.is_ok() && rest.is_empty(),
        "closed, nothing answered to what followed: {end:?} {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(t.elapsed() < Duration::from_secs(3), "closed in {:?}", t.elapsed());
    still_answers(&serve, "CL + TE");

    // A ClientHello on the plain HTTP port, from tlspost's own client: refused at once, recorded
    // with the port to use.
    let t = Instant::now();
    let out = run(&[
        "post",
        &format!("https://127.0.0.1:{}/x", addr.port()),
        "--json",
        "{}",
        "-m",
        "10",
    ]);
    assert_ne!(out.status.code(), Some(0), "TLS to the plain port cannot succeed");
    assert!(t.elapsed() < Duration::from_secs(5), "refused in {:?}", t.elapsed());
    let hint = format!(
        "TLS sent to the plain HTTP port: use https:// and the HTTPS port {}",
        serve.https_port()
    );
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let list = ui(addr, "/_tlspost/api/captures?limit=5");
        let list: serde_json::Value = serde_json::from_slice(&list.body).expect("the capture list");
        if list
            .as_array()
            .expect("a list")
            .iter()
            .any(|c| c["error"] == hint.as_str())
        {
            break;
        }
        assert!(Instant::now() < until, "no capture with {hint:?}: {list}");
        std::thread::sleep(Duration::from_millis(50));
    }
    survived(&serve, "TLS on the plain port");
}

#[test]
fn a_listener_beyond_loopback_wants_the_token() {
    let serve = Serve::tlspost_beyond_loopback(BIN);
    // Reached over loopback only.
    let addr = SocketAddr::from(([127, 0, 0, 1], serve.http().port()));
    let token = serve
        .ui_token()
        .unwrap_or_else(|| panic!("no token in the banner:\n{}", serve.stdout()));
    assert!(token.len() >= 22, "{token}");
    for path in ["/_tlspost/", "/_tlspost/api/captures?reveal=1"] {
        for extra in [&[][..], &["Authorization: Bearer not-the-token"]] {
            let r = get_as(addr, &addr.to_string(), path, extra);
            assert_eq!(r.status, 401, "{path} {extra:?}: {}", r.head);
            assert_security_headers("401", &r);
        }
    }
    let (status, _) = Events::open(addr, &addr.to_string(), "");
    assert_eq!(status, 401, "the event stream without the token");
    let bearer = format!("Authorization: Bearer {token}");
    let r = get_as(addr, &addr.to_string(), "/_tlspost/api/captures", &[&bearer]);
    assert_eq!(r.status, 200, "{}", r.head);
    // Devices need none.
    survived(&serve, "the token check");
}

/// How one flood connection ended on the client's side.
enum Outcome {
    Held(TcpStream),
    Answered(u16, Option<String>),
    CutOff,
}

const FLOOD_CONNS: usize = 60;
const FLOOD_BODY: usize = 8_000_000;
const FLOOD_BUDGET: u64 = 64 * MIB;
const FLOOD_MAX_CONNECTIONS: u64 = 256;

#[test]
fn a_flood_of_unfinished_8_mb_bodies_stays_within_the_memory_bound() {
    let budget = FLOOD_BUDGET.to_string();
    let max_conns = FLOOD_MAX_CONNECTIONS.to_string();
    let serve = Serve::tlspost(
        BIN,
        &[
            "--memory-budget",
            &budget,
            "--max-connections",
            &max_conns,
            "--sync",
            "normal",
        ],
    );
    let addr = serve.http();
    let head = format!("POST /upload HTTP/1.1\r\nHost: h\r\nUser-Agent: dev/1\r\nContent-Length: {FLOOD_BODY}\r\n\r\n");
    let fill: Arc<[u8]> = vec![b'b'; 64 * 1024].into();
    let started = Instant::now();
    let senders: Vec<_> = (0..6)
        .map(|_| {
            let (fill, head) = (fill.clone(), head.clone());
            std::thread::spawn(move || {
                (0..FLOOD_CONNS / 6)
                    .map(|_| {
                        let mut s = TcpStream::connect(addr).expect("connect");
                        s.set_write_timeout(Some(Duration::from_secs(20))).expect("timeout");
                        let mut left = FLOOD_BODY - 16; // all but the last bytes: held
                        let mut sent = s.write_all(head.as_bytes());
                        while sent.is_ok() && left > 0 {
                            let k = left.min(fill.len());
                            sent = s.write_all(&fill[..k]);
                            left -= k;
                        }
                        match sent {
                            Ok(()) => Outcome::Held(s),
                            Err(_) => Outcome::CutOff,
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut outcomes: Vec<Outcome> = senders.into_iter().flat_map(|t| t.join().expect("sender")).collect();
    let sent_in = started.elapsed();

    // While they are held, an ordinary request is answered.
    still_answers(&serve, "the flood (while held)");
    // A refused body's 503 was written before the client finished sending: it is waiting.
    std::thread::sleep(Duration::from_millis(300));
    for o in &mut outcomes {
        if let Outcome::Held(s) = o {
            s.set_nonblocking(true).expect("nonblocking");
            let mut b = [0u8; 1];
            let waiting = !matches!(s.peek(&mut b), Err(ref e) if e.kind() == ErrorKind::WouldBlock);
            s.set_nonblocking(false).expect("blocking");
            if waiting {
                s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
                *o = match read_response(s) {
                    Ok(r) => Outcome::Answered(r.status, r.header("retry-after")),
                    Err(_) => Outcome::CutOff,
                };
            }
        }
    }
    let held = outcomes.iter().filter(|o| matches!(o, Outcome::Held(_))).count();
    let busy = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Answered(503, Some(_))))
        .count();
    let cut = outcomes.iter().filter(|o| matches!(o, Outcome::CutOff)).count();
    let other: Vec<u16> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Answered(503, Some(_)) => None,
            Outcome::Answered(s, _) => Some(*s),
            _ => None,
        })
        .collect();
    eprintln!(
        "{FLOOD_CONNS} x {FLOOD_BODY} bytes sent in {sent_in:?} with --memory-budget {FLOOD_BUDGET}: \
         {held} held, {busy} refused with 503 + Retry-After, {cut} cut off while sending"
    );
    let bound = documented_bound_kb(FLOOD_BUDGET, FLOOD_MAX_CONNECTIONS, 8 * 1024 * 1024);
    assert_rss_bounded(&serve, "the flood (held)", bound);
    assert!(other.is_empty(), "answered otherwise: {other:?}");
    assert!(held >= 1, "bodies within the budget are held");
    assert!(
        busy >= 1,
        "bodies beyond the budget are refused with 503 and Retry-After"
    );
    assert!(
        (held as u64) * FLOOD_BODY as u64 <= FLOOD_BUDGET + FLOOD_CONNS as u64 * 32 * 1024,
        "{held} held bodies are more than the budget covers"
    );

    drop(outcomes);
    still_answers(&serve, "the flood (released)");
    // (VmHWM is read from the kernel's lazily synced counters: it may read a little lower now.)
    assert_rss_bounded(&serve, "the flood (released)", bound);
    assert!(started.elapsed() < Duration::from_secs(45), "{:?}", started.elapsed());
}

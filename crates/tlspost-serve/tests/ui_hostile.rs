//! Hostile requests in the UI and the edge profile's pages: markup, quotes, ampersands and
//! control bytes in the User-Agent, Host, header names, target and body are shown as text, never
//! as markup; a 10 MB capture's page stays small and offers the exact bytes as a download.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use support::*;

/// What a hostile request carries; none of it may appear in a page as written.
const MARKUP: &[&str] = &[
    "<script>alert",
    ")</script>",
    "<img src=x onerror=",
    "\"><xb>",
    "'><xi>",
];

/// A GET to the UI, as a browser on this machine sends it.
fn get(addr: SocketAddr, path: &str) -> Resp {
    let mut s = connect(addr);
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    read_response(&mut s).unwrap()
}

/// The page at `path` carries no markup of a request's, and shows each of `texts` (the request's
/// bytes as escaped text).
fn inert_page_shows(addr: SocketAddr, path: &str, texts: &[&str]) {
    let html = page(addr, path);
    assert_inert(path, &html);
    for t in texts {
        assert!(html.contains(t), "{path} does not show `{t}`:\n{html}");
    }
}

fn page(addr: SocketAddr, path: &str) -> String {
    let r = get(addr, path);
    assert_eq!(r.status, 200, "{path}: {}", r.head);
    assert!(
        r.header("content-type").is_some_and(|t| t.starts_with("text/html")),
        "{path}: {}",
        r.head
    );
    r.text()
}

/// No hostile markup as written, and none of the page's own tags but those the templates write.
fn assert_inert(what: &str, html: &str) {
    for m in MARKUP {
        assert!(!html.contains(m), "{what}: `{m}` written as markup:\n{html}");
    }
    assert!(!html.contains("<script>"), "{what}: an inline script");
    assert!(!html.contains("<style"), "{what}: an inline style");
    assert!(!html.contains(" style="), "{what}: an inline style attribute");
    for c in html.chars() {
        assert!(
            !c.is_control() || matches!(c, '\n' | '\r' | '\t'),
            "{what}: control character {c:?} written raw"
        );
    }
}

// Printable hostile text: it parses as a request, so it reaches the parsed view, the commands,
// the findings and the edge pages.
const UA: &str = "arduino <script>alert('ua')</script> \"><xb> '><xi> & <img src=x onerror=alert(1)>";
const HOST: &str = "h<script>alert(\"host\")</script>&amp;'><xi>.example";
const TARGET: &str = "/p?q=<script>alert('t')</script>&x=\"><xb>";

fn parsed_request() -> Vec<u8> {
    let body = b"{\"a\":\"<script>alert('b')</script>\",\"n\":\"\"><xb> & '><xi>\"}\x01\x02\x1b[31m";
    let mut r = format!(
        "POST {TARGET} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: {UA}\r\nX-Note: \tv\u{85} <img src=x onerror=alert(2)>\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

// Control bytes and markup where a head cannot carry them: it does not parse, and its raw bytes
// are what the page shows.
const UNPARSED: &[u8] =
    b"GET /<script>alert('raw')</script>\x01 HTTP/1.1\r\nHost: a\x00b\r\nX-<script>\"'&: \x07\x1b]0;t\x07\r\n\r\n";

#[test]
fn hostile_request_renders_as_text_on_every_page() {
    let r = start();
    let a = send_raw(r.http(), &[&parsed_request()]).capture_id();
    let stored = r.capture(a);
    assert_eq!(stored.target.as_deref(), Some(TARGET), "the hostile head parsed");
    assert!(
        stored.findings.iter().any(|f| f.code == "TP304"),
        "{:?}",
        codes(&stored)
    );
    send_raw(r.http(), &[UNPARSED]);
    let b = r.wait_for("the unparsed request", |c| c.raw == UNPARSED).id;

    // The capture pages, masked and revealed.
    for path in [
        format!("/_tlspost/captures/{a}"),
        format!("/_tlspost/captures/{a}?reveal=1"),
    ] {
        inert_page_shows(
            r.http(),
            &path,
            &[
                "&lt;script&gt;alert('ua')&lt;/script&gt;",
                "h&lt;script&gt;alert(&quot;host&quot;)&lt;/script&gt;&amp;amp;'&gt;&lt;xi&gt;.example",
                "/p?q=&lt;script&gt;alert('t')&lt;/script&gt;&amp;x=&quot;&gt;&lt;xb&gt;",
                "\\tv\\xc2\\x85 &lt;img src=x onerror=alert(2)&gt;",
                "\\x01\\x02\\x1b[31m",
                "<pre id=\"hex\">00000000  50 4f 53 54 20 2f 70 3f",
            ],
        );
    }
    let path = format!("/_tlspost/captures/{b}");
    inert_page_shows(
        r.http(),
        &path,
        &[
            "GET /&lt;script&gt;alert('raw')&lt;/script&gt;\\x01 HTTP/1.1\\r\\n",
            "Host: a\\x00b\\r\\n",
            "X-&lt;script&gt;&quot;'&amp;: \\x07\\x1b]0;t\\x07\\r\\n",
        ],
    );

    // The diff page.
    let path = format!("/_tlspost/diff?a={a}&b={b}");
    inert_page_shows(
        r.http(),
        &path,
        &[
            "User-Agent: arduino &lt;script&gt;alert('ua')&lt;/script&gt;",
            "X-&lt;script&gt;&quot;'&amp;: \\x07",
        ],
    );

    // The list page carries no capture data: its script (a file of its own, no inline script)
    // fills it from the JSON API as text.
    let html = page(r.http(), "/_tlspost/");
    assert_inert("the list page", &html);
    assert!(html.contains("<script src=\"/_tlspost/app.js\"></script>"), "{html}");
    assert!(
        html.contains("<link rel=\"stylesheet\" href=\"/_tlspost/app.css\">"),
        "{html}"
    );
    let js = get(r.http(), "/_tlspost/app.js");
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type").unwrap().starts_with("text/javascript"),
        "{}",
        js.head
    );
    let js = js.text();
    assert!(js.contains("textContent") && !js.contains("innerHTML") && !js.contains("insertAdjacentHTML"));
    let css = get(r.http(), "/_tlspost/app.css");
    assert!(
        css.header("content-type").unwrap().starts_with("text/css"),
        "{}",
        css.head
    );
    let list: serde_json::Value = serde_json::from_slice(&get(r.http(), "/_tlspost/api/captures").body).unwrap();
    assert!(list.as_array().unwrap().iter().any(|c| c["target"] == TARGET), "{list}");
}

#[test]
fn hostile_user_agent_and_host_render_as_text_on_the_edge_pages() {
    let r = start_with(|c| c.profile = tlspost_serve::Profile::Edge);

    // A library's default User-Agent: 1010, quoting it.
    let resp = send_raw(r.http(), &[&parsed_request()]);
    assert_eq!(resp.status, 403);
    let html = resp.text();
    assert!(html.contains("Error 1010"), "{html}");
    assert_inert("the 1010 page", &html);
    assert!(
        html.contains("User-Agent `arduino &lt;script&gt;alert('ua')&lt;/script&gt;"),
        "{html}"
    );

    // SNI differs from a hostile Host: 421 (1013), quoting the Host. curl sends the bytes as given.
    let port = r.https().port();
    let resolve = format!("api.example.test:{port}:127.0.0.1");
    let mut host = b"Host: ".to_vec();
    host.extend_from_slice(HOST.as_bytes());
    host.extend_from_slice(b"\t\xc2\x85x");
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "20", "-i", "--cacert"])
        .arg(r.ca_path())
        .args(["--resolve", &resolve, "-A", "dev/1", "-H"])
        .arg(std::ffi::OsStr::from_bytes(&host))
        .arg(format!("https://api.example.test:{port}/")));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 421"), "{text}");
    let html = text.split_once("\r\n\r\n").unwrap().1;
    assert!(html.contains("error code: 1013"), "{html}");
    assert_inert("the 421 page", html);
    assert!(
        html.contains("Host header `h&lt;script&gt;alert(&quot;host&quot;)&lt;/script&gt;&amp;amp;'&gt;&lt;xi&gt;.example\\t\\xc2\\x85x`"),
        "{html}"
    );
}

/// 10 MiB of body: text with markup and quotes, and binary bytes.
fn big_body() -> Vec<u8> {
    let unit: &[u8] = b"{\"k\":\"<v> & 'w' \\\"x\\\"\"}\n\x00\x01\xfe\xff";
    unit.iter().copied().cycle().take(10 * 1024 * 1024).collect()
}

#[test]
fn a_10_mb_capture_page_is_small_and_offers_the_exact_bytes() {
    let r = start_with(|c| c.limits.max_body = 32 * 1024 * 1024);
    let body = big_body();
    let mut req = format!(
        "POST /upload HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nAuthorization: Bearer s3cr3t-value\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    let head_len = req.len();
    req.extend_from_slice(&body);
    let id = send_raw(r.http(), &[&req]).capture_id();
    assert_eq!(r.capture(id).raw, req, "stored whole");
    let small = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();

    for path in [
        format!("/_tlspost/captures/{id}"),
        format!("/_tlspost/captures/{id}?reveal=1"),
        format!("/_tlspost/diff?a={id}&b={small}"),
        format!("/_tlspost/diff?a={small}&b={id}"),
    ] {
        let html = page(r.http(), &path);
        eprintln!("{path}: {} bytes of HTML for a {} byte capture", html.len(), req.len());
        assert!(html.len() < 1024 * 1024, "{path}: {} bytes", html.len());
        assert!(
            html.contains(&format!("of {} bytes", thousands(req.len()))),
            "{path}: how much is shown"
        );
        assert!(
            html.contains(&format!("/_tlspost/captures/{id}/raw")),
            "{path}: the download"
        );
        assert_inert(&path, &html);
    }
    let html = page(r.http(), &format!("/_tlspost/captures/{id}"));
    assert!(
        html.contains(&format!("Body: {} bytes", thousands(body.len()))),
        "the whole size is named"
    );
    assert!(html.contains(&format!(
        "Showing the first 65,536 bytes of {} bytes.",
        thousands(body.len())
    )));
    assert!(
        html.contains(&format!("--data-binary @capture-{id}-body.bin")),
        "the command sends the downloaded body"
    );
    assert!(!html.contains("s3cr3t-value"));

    // The downloads: the exact bytes when revealed, the same length masked otherwise.
    let exact = get(r.http(), &format!("/_tlspost/captures/{id}/raw?reveal=1"));
    assert_eq!(exact.status, 200);
    assert_eq!(
        exact.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        exact.header("content-disposition").as_deref(),
        Some(format!("attachment; filename=\"capture-{id}.bin\"").as_str())
    );
    assert!(
        exact.body == req,
        "the exact bytes ({} of {})",
        exact.body.len(),
        req.len()
    );
    let masked = get(r.http(), &format!("/_tlspost/captures/{id}/raw"));
    assert_eq!(masked.body.len(), req.len());
    assert!(!String::from_utf8_lossy(&masked.body[..head_len]).contains("s3cr3t-value"));
    assert!(masked.body[head_len..] == body[..], "the body has no secret to mask");
    let body_part = get(r.http(), &format!("/_tlspost/captures/{id}/raw?part=body&reveal=1"));
    assert_eq!(
        body_part.header("content-disposition").as_deref(),
        Some(format!("attachment; filename=\"capture-{id}-body.bin\"").as_str())
    );
    assert!(body_part.body == body, "the body's bytes");
    assert_eq!(
        get(r.http(), &format!("/_tlspost/captures/{id}/raw?part=x")).status,
        400
    );
    assert_eq!(get(r.http(), "/_tlspost/captures/999999/raw").status, 404);
}

#[test]
fn a_chunked_body_downloads_as_its_payload() {
    let r = start();
    let req: &[u8] = b"POST /c HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=1\r\n<&\">\r\n0\r\n\r\n";
    let id = send_raw(r.http(), &[req]).capture_id();
    assert_eq!(
        get(r.http(), &format!("/_tlspost/captures/{id}/raw?reveal=1")).body,
        req
    );
    assert_eq!(
        get(r.http(), &format!("/_tlspost/captures/{id}/raw?part=body")).body,
        b"abc<&\">"
    );
    let html = page(r.http(), &format!("/_tlspost/captures/{id}"));
    assert!(html.contains("Body: 7 bytes"), "{html}");
    assert!(html.contains("<pre id=\"body\">abc&lt;&amp;&quot;&gt;</pre>"), "{html}");
    assert!(html.contains("--data-binary 'abc&lt;&amp;&quot;&gt;'"), "{html}");
}

#[test]
fn the_capture_page_masks_the_target_headers_and_commands() {
    let r = start();
    let req: &[u8] = b"POST /cb?access_token=q5ecret&x=1 HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nAuthorization: Bearer s3cr3t-value\r\nCookie: sid=c00kie-value\r\n\r\n";
    let id = send_raw(r.http(), &[req]).capture_id();
    let html = page(r.http(), &format!("/_tlspost/captures/{id}"));
    for s in ["q5ecret", "s3cr3t-value", "c00kie-value"] {
        assert!(!html.contains(s), "`{s}` masked:\n{html}");
    }
    assert!(
        html.contains("/cb?access_token=*******&amp;x=1"),
        "the parsed target, masked: {html}"
    );
    let html = page(r.http(), &format!("/_tlspost/captures/{id}?reveal=1"));
    for s in ["q5ecret", "s3cr3t-value", "c00kie-value"] {
        assert!(html.contains(s), "`{s}` shown when revealed");
    }
}

fn thousands(n: usize) -> String {
    let d = n.to_string();
    let mut s = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i) % 3 == 0 {
            s.push(',');
        }
        s.push(c);
    }
    s
}

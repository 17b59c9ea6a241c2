//! The web UI in headless Chromium (Debian package `chromium`), driven over the DevTools protocol:
//! a new capture appears live in the list, and its page shows the lint finding; filter, paging,
//! delete and clear (with CSRF), the response view, no horizontal overflow at 375 and 1280 px; in
//! forward mode (the kit's origin, nginx in front of it) replay from the capture page, and the live
//! list updating a capture's row when its response ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use tlspost::probe::{Override, Trust};
use tlspost::url::HttpUrl;
use tlspost_serve::{Capture, Forward};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::origin::{HOST, Origin, Pki};
use tlspost_testkit::proc::{Proc, START_TIMEOUT};

struct Browser {
    ws: tungstenite::WebSocket<TcpStream>,
    next: u64,
    /// Stopped by pid when the test ends, also on a panic during launch (SIGTERM, which takes its
    /// helper processes down with it; SIGKILL after 5 s), and reaped.
    proc: Proc,
    /// Removed only once the browser is gone.
    _profile: tempfile::TempDir,
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    // DevTools keeps the connection open: read up to Content-Length.
    let resp = read_response(&mut s).ok()?;
    Some(resp.text())
}

/// The DevTools port from the `DevToolsActivePort` file Chromium writes into its profile once it
/// listens (the port, then the browser target's path); `None` until both lines are there.
fn devtools_port(profile: &std::path::Path) -> Option<u16> {
    let text = std::fs::read_to_string(profile.join("DevToolsActivePort")).ok()?;
    let mut lines = text.lines();
    let port = lines.next()?.trim().parse().ok()?;
    lines.next()?.starts_with("/devtools/browser/").then_some(port)
}

impl Browser {
    fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-breakpad",
            "--disable-crash-reporter",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdout(Stdio::null());
        let mut proc = Proc::spawn("chromium", cmd, None);
        // Chromium picks its DevTools port itself (port 0) and names it in the profile; the port is
        // ready only when /proc shows the listener there is the browser's own.
        let until = Instant::now() + START_TIMEOUT;
        let port = loop {
            if let Some(port) = devtools_port(profile.path()) {
                break port;
            }
            if let Some(status) = proc.exited() {
                panic!(
                    "chromium exited with {status} before naming its DevTools port: {}",
                    proc.output()
                );
            }
            assert!(
                Instant::now() < until,
                "chromium named no DevTools port within {START_TIMEOUT:?}: {}",
                proc.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        proc.wait_listening(&[port])
            .unwrap_or_else(|e| panic!("chromium's DevTools port {port}: {e}"));
        let authority = format!("127.0.0.1:{port}");
        // The page target of about:blank.
        let until = Instant::now() + Duration::from_secs(10);
        let page_ws = loop {
            let list: Value = http_get(&authority, "/json/list")
                .and_then(|b| serde_json::from_str(&b).ok())
                .unwrap_or(Value::Null);
            if let Some(u) = list
                .as_array()
                .and_then(|a| a.iter().find(|t| t["type"] == "page"))
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            {
                break u.to_string();
            }
            assert!(Instant::now() < until, "chromium shows no page target: {list}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let stream = TcpStream::connect(&authority).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let (ws, _) = tungstenite::client(page_ws.as_str(), stream).unwrap();
        Browser {
            ws,
            next: 0,
            proc,
            _profile: profile,
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        if let Err(e) = self.ws.send(tungstenite::Message::text(msg)) {
            panic!("{method}: {e}: {}", self.proc.output());
        }
        loop {
            let m = match self.ws.read() {
                Ok(m) => m,
                Err(e) => panic!("{method}: {e}: {}", self.proc.output()),
            };
            if let tungstenite::Message::Text(t) = m {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    fn eval(&mut self, expr: &str) -> Value {
        self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true}))["result"]["value"].clone()
    }

    fn wait_until(&mut self, what: &str, expr: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.eval(expr);
            if pred(&v) {
                return v;
            }
            assert!(Instant::now() < until, "{what}: last value {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn new_capture_appears_live_and_its_page_shows_the_finding() {
    let r = start();
    let mut b = Browser::launch();
    let base = format!("http://{}/_tlspost/", r.http());
    b.call("Page.navigate", json!({"url": base}));
    b.wait_until(
        "the live list connects",
        "document.getElementById('status') && document.getElementById('status').textContent",
        |v| v == "live",
    );
    assert!(r.server.live_subscribers() >= 1);

    // A device request arrives after the page loaded: it must appear without a reload.
    let id = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();
    let row = b.wait_until(
        "the new capture appears in the list",
        &format!("(document.getElementById('c{id}') || {{}}).innerText || ''"),
        |v| v.as_str().is_some_and(|s| s.contains("TP301")),
    );
    assert!(row.as_str().unwrap().contains("/oauth/token"), "{row}");

    b.call("Page.navigate", json!({"url": format!("{base}captures/{id}")}));
    let text = b.wait_until(
        "the capture page",
        // The capture page, wholly loaded (not the list page still showing, nor a half-parsed one).
        "location.pathname.includes('/captures/') && document.readyState === 'complete' \
         && document.getElementById('findings') ? document.body.innerText : ''",
        |v| v.as_str().is_some_and(|s| !s.is_empty()),
    );
    let text = text.as_str().unwrap();
    assert!(text.contains("TP301"), "{text}");
    assert!(text.contains("JSON body without Content-Type"), "{text}");
    assert!(text.contains("addHeader"), "the fix is shown: {text}");
    assert!(text.contains("ESP32HTTPClient"));
    assert!(
        text.contains("curl -i --http1.1"),
        "the equivalent curl command is shown"
    );
}

#[test]
fn hostile_captures_show_as_text_in_the_live_list() {
    let r = start();
    let hostile = |path: &str| {
        format!(
            "GET {path}?q=<script>alert('t')</script>&x=\"><xb> HTTP/1.1\r\nHost: h<img src=x onerror=alert(1)>\r\nUser-Agent: dev/1\r\n\r\n"
        )
    };
    // One in the list as it loads, one arriving live.
    let first = send_raw(r.http(), &[hostile("/loaded").as_bytes()]).capture_id();
    let mut b = Browser::launch();
    b.call(
        "Page.navigate",
        json!({"url": format!("http://{}/_tlspost/", r.http())}),
    );
    b.wait_until(
        "the live list connects",
        "document.getElementById('status') && document.getElementById('status').textContent",
        |v| v == "live",
    );
    let live = send_raw(r.http(), &[hostile("/live").as_bytes()]).capture_id();
    for (id, path) in [(first, "/loaded"), (live, "/live")] {
        let row = b.wait_until(
            "the hostile capture's row",
            &format!("(document.getElementById('c{id}') || {{}}).innerText || ''"),
            |v| v.as_str().is_some_and(|s| !s.is_empty()),
        );
        let row = row.as_str().unwrap();
        assert!(
            row.contains(&format!("GET {path}?q=<script>alert('t')</script>&x=\"><xb>")),
            "the target as text: {row}"
        );
    }
    // Nothing from the captures became markup: the page's own script is the only one.
    let elements = b.eval("[document.scripts.length, document.querySelectorAll('xb, img').length]");
    assert_eq!(elements, json!([1, 0]), "elements made from capture text");
}

impl Browser {
    /// Load `url` and wait until it is wholly loaded and `ready` (a script expression) holds.
    fn open(&mut self, url: &str, ready: &str) {
        self.call("Page.navigate", json!({"url": url}));
        let expr = format!(
            "location.href === {} && document.readyState === 'complete' && !!({ready})",
            json!(url)
        );
        self.wait_until(&format!("{url} loads"), &expr, |v| v == true);
    }

    /// The value a promise-returning expression resolves to.
    fn eval_async(&mut self, expr: &str) -> Value {
        self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true}),
        )["result"]["value"]
            .clone()
    }

    /// Rows in the list.
    fn rows(&mut self) -> usize {
        self.eval("document.querySelectorAll('#list tr').length")
            .as_u64()
            .unwrap() as usize
    }

    /// Lay the page out `width` CSS pixels wide.
    fn width(&mut self, width: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
    }
}

fn device_request(path: &str, ua: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: {ua}\r\nContent-Length: 2\r\n\r\n{{}}")
}

#[test]
fn the_list_filters_by_path_user_agent_and_status_and_pages_past_200() {
    let r = start();
    for i in 0..203 {
        send_raw(r.http(), &[device_request(&format!("/page/{i}"), "pager/1").as_bytes()]);
    }
    for _ in 0..2 {
        send_raw(r.http(), &[device_request("/other", "ESP32HTTPClient").as_bytes()]);
    }
    let base = format!("http://{}/_tlspost/", r.http());
    let mut b = Browser::launch();
    b.open(
        &format!("{base}?path=/other"),
        "document.getElementById('status').textContent.startsWith('live')",
    );
    b.wait_until("two rows", "document.querySelectorAll('#list tr').length", |v| v == 2);
    assert_eq!(
        b.eval("document.querySelector('#filter [name=path]').value"),
        "/other",
        "the form shows the filter"
    );
    // The form submits the filter as the page's address.
    b.eval(
        "document.querySelector('#filter [name=path]').value = ''; \
         document.querySelector('#filter [name=ua]').value = 'pager'; \
         document.getElementById('filter').requestSubmit(); true",
    );
    b.wait_until("200 pager rows", "document.querySelectorAll('#list tr').length", |v| {
        v == 200
    });
    assert!(b.eval("location.search").as_str().unwrap().contains("ua=pager"));
    assert_eq!(b.eval("document.getElementById('more').hidden"), false, "more to load");
    b.eval("document.getElementById('more').click(); true");
    b.wait_until("the rest", "document.querySelectorAll('#list tr').length", |v| v == 203);
    let rows = b.eval("[...document.querySelectorAll('#list tr')].map(r => r.id)");
    let ids: Vec<&str> = rows.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 203, "no row twice");
    assert_eq!(ids.first(), Some(&"c203"), "newest first");
    assert_eq!(b.eval("document.getElementById('more').hidden"), true, "nothing older");
    // A status that no capture has; then the live list keeps only what the filter keeps.
    b.open(
        &format!("{base}?status=4xx"),
        "document.getElementById('status').textContent.startsWith('live')",
    );
    assert_eq!(b.rows(), 0);
    b.open(
        &format!("{base}?ua=esp32"),
        "document.getElementById('status').textContent.startsWith('live')",
    );
    b.wait_until("two rows", "document.querySelectorAll('#list tr').length", |v| v == 2);
    let kept = send_raw(r.http(), &[device_request("/new", "ESP32HTTPClient/2").as_bytes()]).capture_id();
    send_raw(r.http(), &[device_request("/new", "pager/1").as_bytes()]);
    b.wait_until(
        "the live one the filter keeps",
        &format!("!!document.getElementById('c{kept}')"),
        |v| v == true,
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(b.rows(), 3, "the live one the filter drops stays out");
}

#[test]
fn delete_and_clear_post_with_the_csrf_token() {
    let r = start();
    let a = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();
    let keep = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();
    let base = format!("http://{}/_tlspost/", r.http());
    let mut b = Browser::launch();
    b.open(&format!("{base}captures/{a}"), "document.getElementById('delete')");
    // Without the token the server refuses, whatever the page's script could try.
    let refused = b.eval_async(&format!(
        "fetch('/_tlspost/api/captures/{a}/delete', {{method: 'POST'}}).then(r => r.status)"
    ));
    assert_eq!(refused, 403, "no CSRF token, no delete");
    assert!(r.server.store().get(a).unwrap().is_some());
    // The button asks twice, then deletes and goes back to the list.
    b.eval("document.getElementById('delete').click(); true");
    assert!(
        b.eval("document.getElementById('delete').textContent")
            .as_str()
            .unwrap()
            .contains("again")
    );
    b.eval("document.getElementById('delete').click(); true");
    b.wait_until("back to the list", "location.pathname", |v| v == "/_tlspost/");
    assert!(r.server.store().get(a).unwrap().is_none(), "deleted");
    assert!(r.server.store().get(keep).unwrap().is_some(), "only that one");
    // Clear: everything the list showed.
    b.open(
        &base,
        "document.getElementById('status').textContent.startsWith('live')",
    );
    b.wait_until("one row", "document.querySelectorAll('#list tr').length", |v| v == 1);
    b.eval("document.getElementById('clear').click(); document.getElementById('clear').click(); true");
    b.wait_until(
        "the list is empty",
        "document.getElementById('status').textContent",
        |v| v.as_str().is_some_and(|s| s.starts_with("Deleted 1")),
    );
    assert_eq!(r.server.store().count().unwrap(), 0);
    assert_eq!(b.rows(), 0);
}

#[test]
fn the_capture_page_shows_the_response_names_and_no_page_overflows() {
    let r = start();
    let long = "x".repeat(3000);
    let req = format!(
        "POST /{long}?q={long} HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: {long}\r\nX-Long: {long}\r\nContent-Length: 3000\r\n\r\n{long}"
    );
    let id = send_raw(r.http(), &[req.as_bytes()]).capture_id();
    let other = send_raw(r.http(), &[req.as_bytes()]).capture_id();
    // Over TLS, for the ClientHello's lists.
    let tls = r.echoed(r.curl("https", "api.example.test", "/tls", &["--tlsv1.3", "-d", "{}"]));
    let base = format!("http://{}/_tlspost/", r.http());
    let mut b = Browser::launch();
    b.open(
        &format!("{base}captures/{}", tls.id),
        "document.getElementById('response-status')",
    );
    assert_eq!(
        b.eval("document.getElementById('response-status').textContent"),
        "200 OK"
    );
    assert!(
        b.eval("document.getElementById('response-head').textContent")
            .as_str()
            .unwrap()
            .starts_with("HTTP/1.1 200 OK\n"),
        "this server's own answer"
    );
    let suite = b.eval("[...document.querySelectorAll('#cipher-suites abbr')].map(a => [a.textContent, a.title])");
    assert!(
        suite
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == &json!(["TLS13_AES_128_GCM_SHA256", "0x1301"])),
        "names with the hex on hover: {suite}"
    );
    assert!(
        b.eval("document.getElementById('groups').textContent")
            .as_str()
            .unwrap()
            .contains("X25519"),
        "groups by name"
    );
    for width in [375, 1280] {
        b.width(width);
        for (page, ready) in [
            (base.clone(), "document.querySelectorAll('#list tr').length === 3"),
            (format!("{base}captures/{id}"), "document.getElementById('hex')"),
            (
                format!("{base}captures/{}", tls.id),
                "document.getElementById('groups')",
            ),
            (
                format!("{base}diff?a={id}&b={other}"),
                "document.querySelector('.cols')",
            ),
        ] {
            b.open(&page, ready);
            let (doc, view) = (
                b.eval("document.documentElement.scrollWidth").as_u64().unwrap(),
                b.eval("window.innerWidth").as_u64().unwrap(),
            );
            assert!(doc <= view, "{page} at {width} px: {doc} px wide in a {view} px window");
        }
    }
}

/// nginx with the kit's PKI in front of the origin, adding to each answer a session cookie and the
/// time it answered (so two answers to the same request differ).
fn nginx_in_front(origin: &Origin, pki: &Pki) -> Nginx {
    let directives = format!(
        "location / {{ add_header Set-Cookie \"sid=$request_id; Path=/; HttpOnly\" always; \
         add_header X-Served $msec always; proxy_pass http://127.0.0.1:{}; proxy_http_version 1.1; \
         proxy_set_header Connection \"\"; }}",
        origin.port
    );
    let site = Site::new("edge", &pki.good.chain(&[&pki.inter]), &pki.good.key_pem)
        .server_name(HOST, true)
        .directives(&directives);
    Nginx::start(&[site])
}

/// The session cookie's value in a capture's upstream response head.
fn sid(c: &Capture) -> String {
    let head = String::from_utf8_lossy(&c.upstream.as_ref().unwrap().head).into_owned();
    let value = head
        .split("Set-Cookie: sid=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    assert_eq!(value.len(), 32, "nginx's $request_id: {head}");
    value.to_string()
}

#[test]
fn replay_from_the_capture_page_sends_the_same_bytes_and_shows_how_the_responses_differ() {
    let (origin, pki) = (Origin::start(), Pki::new());
    let nginx = nginx_in_front(&origin, &pki);
    let port = nginx.port(0);
    let mut fwd = Forward::new(HttpUrl::parse(&format!("https://{HOST}:{port}")).unwrap());
    fwd.trust = Trust::pinned_pem(pki.root.pem.as_bytes()).unwrap();
    fwd.resolve = vec![Override::parse(&format!("{HOST}:{port}:127.0.0.1")).unwrap()];
    let r = start_with(|c| c.forward = Some(fwd));
    let body = br#"{"temp":21.5}"#;
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: sensor/2\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    assert_eq!(send_raw(r.http(), &[head.as_bytes(), body]).status, 200);
    let first = r.wait_for("the original's response", |c| {
        c.upstream.as_ref().is_some_and(|u| u.complete)
    });
    let base = format!("http://{}/_tlspost/", r.http());
    let mut b = Browser::launch();
    b.open(
        &format!("{base}captures/{}", first.id),
        "document.getElementById('replay')",
    );
    let refused = b.eval_async(&format!(
        "fetch('/_tlspost/api/captures/{}/replay', {{method: 'POST'}}).then(r => r.status)",
        first.id
    ));
    assert_eq!(refused, 403, "no CSRF token, no replay");
    assert_eq!(origin.received().len(), 1);

    b.eval("document.getElementById('replay').click(); true");
    let href = b.wait_until(
        "the replay's link",
        "(document.getElementById('replayed') || {}).href || document.getElementById('action-status').textContent",
        |v| v.as_str().is_some_and(|s| s.contains("/captures/")),
    );
    let new_id: i64 = href.as_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
    let again = r.capture(new_id);
    assert_eq!(
        (again.replay_of, &again.raw),
        (Some(first.id), &first.raw),
        "a new capture of the same bytes, linked to the original"
    );
    let got = origin.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (&got[1].head, &got[1].body),
        (&got[0].head, &got[0].body),
        "the origin received the same bytes again"
    );
    let (sid_a, sid_b) = (sid(&first), sid(&again));
    assert_ne!(sid_a, sid_b);

    // How the two responses differ, on the page; nginx's cookies masked.
    let shown = b.eval("document.getElementById('replay-difference').innerText");
    let shown = shown.as_str().unwrap();
    assert!(shown.contains("Status: 200, the same."), "{shown}");
    assert!(shown.contains("Body: the same bytes (13)."), "{shown}");
    assert!(shown.contains("X-Served") && shown.contains("Set-Cookie"), "{shown}");
    assert!(shown.contains(&format!("sid={}", "*".repeat(32))), "{shown}");
    assert!(!shown.contains(&sid_a) && !shown.contains(&sid_b), "{shown}");
    assert_eq!(
        b.eval("document.getElementById('replay-diff').getAttribute('href')"),
        format!("/_tlspost/diff?a={}&b={new_id}", first.id)
    );

    // The new capture's page names the original and links the diff of the responses.
    b.open(
        &format!("{base}captures/{new_id}"),
        "document.getElementById('replay-of')",
    );
    assert_eq!(
        b.eval("[...document.querySelectorAll('#replay-of a')].map(a => a.getAttribute('href'))"),
        json!([
            format!("/_tlspost/captures/{}", first.id),
            format!("/_tlspost/diff?a={}&b={new_id}#response", first.id)
        ])
    );
    let response = b.eval("document.getElementById('response-head').textContent");
    let response = response.as_str().unwrap();
    assert!(
        response.contains(&format!("Set-Cookie: sid={}; Path=/", "*".repeat(32))),
        "{response}"
    );
    assert!(!response.contains(&sid_b));
    // The diff page: the responses side by side, what differs marked, nothing unmasked.
    b.open(
        &format!("{base}diff?a={}&b={new_id}", first.id),
        "document.getElementById('responses')",
    );
    let added = b.eval("[...document.querySelectorAll('#responses .add')].map(d => d.textContent).join('\\n')");
    assert!(added.as_str().unwrap().contains("X-Served: "), "{added}");
    let page = b.eval("document.body.innerText");
    let page = page.as_str().unwrap();
    assert!(page.contains("{\"temp\":21.5}"), "the bodies: {page}");
    assert!(!page.contains(&sid_a) && !page.contains(&sid_b), "{page}");

    // Neither the responses' diff nor a replay's difference overflows the page.
    for width in [375, 1280] {
        b.width(width);
        b.open(
            &format!("{base}diff?a={}&b={new_id}", first.id),
            "document.getElementById('responses')",
        );
        b.assert_fits(width);
        b.open(
            &format!("{base}captures/{}", first.id),
            "document.getElementById('replay')",
        );
        b.eval("document.getElementById('replay').click(); true");
        b.wait_until(
            "the difference",
            "!!document.getElementById('replay-difference')",
            |v| v == true,
        );
        b.assert_fits(width);
    }
}

impl Browser {
    /// The page is no wider than the window.
    fn assert_fits(&mut self, width: u32) {
        let (doc, view) = (
            self.eval("document.documentElement.scrollWidth").as_u64().unwrap(),
            self.eval("window.innerWidth").as_u64().unwrap(),
        );
        let url = self.eval("location.href");
        assert!(doc <= view, "{url} at {width} px: {doc} px wide in a {view} px window");
    }
}

#[test]
fn in_forward_mode_the_live_list_updates_a_captures_row_when_its_response_ends() {
    let origin = Origin::start();
    let fwd = Forward::new(HttpUrl::parse(&format!("http://127.0.0.1:{}", origin.port)).unwrap());
    let r = start_with(|c| c.forward = Some(fwd));
    let base = format!("http://{}/_tlspost/", r.http());
    let mut b = Browser::launch();
    // The whole list, then one filtered by path (each live capture checked against the filter).
    for (view, path) in [("", "/slow?ms=1500"), ("?path=/slow", "/slow?ms=1501")] {
        b.open(
            &format!("{base}{view}"),
            "document.getElementById('status').textContent.startsWith('live')",
        );
        let before = b.rows();
        let http = r.http();
        let device =
            std::thread::spawn(move || send_raw(http, &[format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes()]));
        // Recorded before it goes on: its row appears without a status, then gets the one the
        // upstream answered when the response has ended.
        let id = r.wait_for(path, |c| c.target.as_deref() == Some(path)).id;
        let status = format!("(document.querySelector('#c{id} [data-label=status]') || {{}}).textContent");
        b.wait_until("the row while the upstream answers", &status, |v| v == "");
        b.wait_until("the row once the response ended", &status, |v| v == "200");
        assert_eq!(device.join().unwrap().status, 200);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            b.eval(&format!("document.querySelectorAll('#c{id}').length")),
            1,
            "{view}: one row"
        );
        assert_eq!(b.rows(), before + 1, "{view}: no second row");
    }
}

//! The web UI in headless Chromium (Debian package `chromium`), driven over the DevTools protocol:
//! a new capture appears live in the list, and its page shows the lint finding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
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

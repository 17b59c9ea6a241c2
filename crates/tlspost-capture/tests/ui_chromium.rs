//! The web UI in headless Chromium (Debian package `chromium`), driven over the DevTools protocol:
//! a new capture appears live in the list, and its page shows the lint finding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

struct Browser {
    _child: Guard,
    _profile: tempfile::TempDir,
    ws: tungstenite::WebSocket<TcpStream>,
    next: u64,
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

/// Kills the browser when the test ends, also on a panic during launch.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Browser {
    fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("chromium")
            .args([
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
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium (Debian package chromium) runs");
        let stderr = child.stderr.take().unwrap();
        let child = Guard(child);
        let mut lines = BufReader::new(stderr).lines();
        let ws_url = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("chromium exited before printing its DevTools address"))
                .unwrap();
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let authority = ws_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
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
            assert!(Instant::now() < until, "chromium shows no page target");
            std::thread::sleep(Duration::from_millis(100));
        };
        let stream = TcpStream::connect(&authority).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let (ws, _) = tungstenite::client(page_ws.as_str(), stream).unwrap();
        Browser {
            _child: child,
            _profile: profile,
            ws,
            next: 0,
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(tungstenite::Message::text(msg)).unwrap();
        loop {
            let m = self.ws.read().unwrap();
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
    assert!(text.contains("curl -v"), "the equivalent curl command is shown");
}

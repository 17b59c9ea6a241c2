//! Requests from a real client: curl (Debian package `curl`) sends to a loopback listener that keeps
//! the exact bytes; the linter must find exactly the expected codes. These are the traps people hit
//! with curl itself (`-d` with JSON sends a form Content-Type).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use tlspost_lint::{Context, lint};

/// `true` once `buf` holds a whole request (head, and the body its framing announces).
fn complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let body = &buf[end + 4..];
    if head.contains("\r\ntransfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    match head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        Some(n) => body.len() >= n,
        None => true,
    }
}

/// Run curl with `args` against a one-shot loopback server; return the exact bytes it sent.
fn capture_curl(args: &[&str]) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !complete(&buf) && Instant::now() < deadline {
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        buf
    });
    let url = format!("http://127.0.0.1:{port}/oauth/token");
    let status = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--max-time", "10"])
        .args(args)
        .arg(&url)
        .status()
        .expect("curl must be installed (Debian package `curl`)");
    assert!(status.success(), "curl {args:?} failed: {status}");
    server.join().unwrap()
}

/// Run curl with `args`, lint what it sent, and check the codes are exactly `want`; the bytes sent.
fn curl_finds(args: &[&str], want: &[&str]) -> Vec<u8> {
    let raw = capture_curl(args);
    let codes: BTreeSet<&str> = lint(&raw, &Context::default()).iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        want.iter().copied().collect::<BTreeSet<_>>(),
        "curl {args:?} sent:\n{}",
        String::from_utf8_lossy(&raw)
    );
    raw
}

const HOST: &str = "Host: api.example.com";
const JSON: &str = "Content-Type: application/json";

#[test]
fn curl_d_with_json_sends_a_form_content_type() {
    let raw = curl_finds(
        &["-H", HOST, "-d", r#"{"grant_type":"client_credentials"}"#],
        &["TP301"],
    );
    assert!(raw.windows(33).any(|w| w == b"application/x-www-form-urlencoded"));
}

#[test]
fn curl_json_is_clean() {
    curl_finds(&["-H", HOST, "--json", r#"{"grant_type":"client_credentials"}"#], &[]);
}

#[test]
fn curl_compressed_invites_gzip() {
    curl_finds(&["-H", HOST, "--compressed"], &["TP305"]);
}

#[test]
fn curl_chunked_upload() {
    let chunked = "Transfer-Encoding: chunked";
    curl_finds(&["-H", HOST, "-H", chunked, "-H", JSON, "-d", r#"{"a":1}"#], &["TP125"]);
}

#[test]
fn curl_with_device_user_agent_and_broken_json() {
    let args = ["-H", HOST, "-A", "ESP32HTTPClient", "-H", JSON, "-d", r#"{"a":1"#];
    curl_finds(&args, &["TP302", "TP304"]);
}

#[test]
fn curl_to_an_ip_address_sends_it_as_host() {
    let raw = curl_finds(&[], &["TP306"]);
    assert!(raw.windows(15).any(|w| w == b"Host: 127.0.0.1"));
}

#[test]
fn curl_http10_and_expect() {
    let raw = curl_finds(&["-0", "-H", HOST], &[]);
    assert!(raw.starts_with(b"GET /oauth/token HTTP/1.0\r\n"));

    let expect = ["-H", "Expect: 100-continue", "--expect100-timeout", "0.2"];
    let body = ["-H", JSON, "-d", r#"{"a":1}"#];
    curl_finds(&[&["-H", HOST][..], &expect, &body].concat(), &["TP205"]);
}

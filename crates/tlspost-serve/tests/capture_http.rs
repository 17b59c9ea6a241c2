//! Plain HTTP captures: exact bytes from a raw socket and from curl, framing, pipelining, the API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use support::*;

#[test]
fn arduino_request_stored_byte_exact_with_findings() {
    let r = start();
    let resp = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]);
    assert_eq!(resp.status, 200, "{}", resp.head);
    let c = r.capture(resp.capture_id());
    let sent = [ARDUINO_HEAD, ARDUINO_BODY].concat();
    assert_eq!(c.raw, sent, "stored bytes equal sent bytes");
    assert!(c.complete);
    assert_eq!(c.method.as_deref(), Some("POST"));
    assert_eq!(c.body_len, 57);
    assert!(c.reads >= 2, "head and body came in separate writes: {} reads", c.reads);
    let codes = codes(&c);
    for want in ["TP301", "TP304"] {
        assert!(codes.iter().any(|x| x == want), "{want} in {codes:?}");
    }
    assert!(c.timing.body_us.unwrap() >= c.timing.head_us.unwrap());
    assert!(c.peer.starts_with("127.0.0.1:"));
    // The echo carries what arrived.
    let echo: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["headers"][1][1], "ESP32HTTPClient");
    assert!(
        echo["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "TP301")
    );
}

#[test]
fn bare_lf_and_cl_te_requests_stored_exactly() {
    let r = start();
    let bare = b"POST /api HTTP/1.1\nHost: api.example.test\nUser-Agent: dev/1\nContent-Type: application/json\nContent-Length: 2\n\n{}";
    let resp = send_raw(r.http(), &[bare]);
    let c = r.capture(resp.capture_id());
    assert_eq!(c.raw, bare);
    assert!(codes(&c).contains(&"TP102".to_string()), "{:?}", codes(&c));

    let clte = b"POST /api HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nContent-Type: application/json\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    let resp = send_raw(r.http(), &[clte]);
    let c = r.capture(resp.capture_id());
    assert_eq!(
        c.raw, clte,
        "Transfer-Encoding wins: the whole chunked body is the request"
    );
    assert_eq!(c.body_len, 2);
    assert!(codes(&c).contains(&"TP113".to_string()), "{:?}", codes(&c));
}

#[test]
fn pipelined_requests_are_split_exactly() {
    let r = start();
    let a = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    let b = b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    let mut s = connect(r.http());
    s.write_all(&[&a[..], &b[..]].concat()).unwrap();
    let r1 = read_response(&mut s).unwrap();
    let r2 = read_response(&mut s).unwrap();
    let (c1, c2) = (r.capture(r1.capture_id()), r.capture(r2.capture_id()));
    assert_eq!(c1.raw, a);
    assert_eq!(c2.raw, b);
    assert_eq!((c1.conn, c1.seq, c2.seq), (c2.conn, 0, 1));
}

#[test]
fn unparseable_and_truncated_requests_are_recorded() {
    let r = start();
    let junk = b"\x00\x01 not http at all\r\n\r\n";
    let resp = send_raw(r.http(), &[junk]);
    assert_eq!(resp.status, 400);
    let c = r.capture(resp.capture_id());
    assert_eq!(c.raw, junk);
    assert!(!c.complete && c.error.is_some());

    // A head, then the client goes away mid-body.
    let partial = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nonly-this";
    {
        let mut s = TcpStream::connect(r.http()).unwrap();
        s.write_all(partial).unwrap();
    }
    let c = r.wait_for("the truncated request", |c| c.target.as_deref() == Some("/p"));
    assert_eq!(c.raw, partial);
    assert!(c.error.as_deref().unwrap().contains("closed"), "{:?}", c.error);
    assert!(codes(&c).contains(&"TP118".to_string()), "{:?}", codes(&c));
}

#[test]
fn curl_http11_http10_and_chunked_upload() {
    let r = start();
    let items = |args: &[&str]| r.echoed(r.curl("http", "api.example.test", "/v1/items", args));
    let json = "Content-Type: application/json";
    let c = items(&["-H", json, "-d", r#"{"x":1}"#]);
    assert_eq!(c.version.as_deref(), Some("HTTP/1.1"));
    assert!(c.raw.starts_with(b"POST /v1/items HTTP/1.1\r\nHost: api.example.test:"));
    assert!(c.raw.ends_with(b"\r\n\r\n{\"x\":1}"));
    assert!(codes(&c).is_empty(), "{:?}", codes(&c));

    let c = items(&["--http1.0", "-A", "dev/1"]);
    assert!(c.raw.starts_with(b"GET /v1/items HTTP/1.0\r\n"));
    assert_eq!(c.version.as_deref(), Some("HTTP/1.0"));

    let file = r.dir.path().join("upload.json");
    std::fs::write(&file, "{\"big\":\"".to_string() + &"y".repeat(5000) + "\"}").unwrap();
    let data = format!("@{}", file.display());
    let c = items(&["-H", "Transfer-Encoding: chunked", "-H", json, "--data-binary", &data]);
    assert_eq!(c.body_len, 5010);
    assert!(c.raw.ends_with(b"0\r\n\r\n"));
    assert!(codes(&c).contains(&"TP125".to_string()), "{:?}", codes(&c));
}

#[test]
fn api_lists_newest_first_and_serves_lint_compatible_records() {
    let r = start();
    let first = send_raw(r.http(), &[b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n"]).capture_id();
    let second = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();
    let (out, _, code) = curl(&[&format!("http://{}/_tlspost/api/captures", r.http())]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![second, first]);
    let top = &list[0];
    for field in ["id", "time", "peer", "raw", "tls", "findings"] {
        assert!(top.get(field).is_some(), "field {field} in {top}");
    }
    assert!(top["findings"].as_array().unwrap().iter().any(|f| f["code"] == "TP304"));

    let (one, _, _) = curl(&[&format!("http://{}/_tlspost/api/captures/{second}", r.http())]);
    let rec = tlspost_lint::CapturedRequest::from_json(one.as_bytes()).unwrap();
    assert_eq!(rec.raw, [ARDUINO_HEAD, ARDUINO_BODY].concat());
    assert!(!rec.tls);
    let (_, _, code) = curl(&["-f", &format!("http://{}/_tlspost/api/captures/99999", r.http())]);
    assert_eq!(code, 22, "a missing capture is a 404");
    // The UI and API requests are not captured themselves.
    assert_eq!(r.server.store().count().unwrap(), 2);
}

#[test]
fn captures_survive_a_restart_and_keep_bounds_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.keep = Some(3);
    let server = tlspost_serve::Server::start(cfg.clone()).unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let req = format!("GET /n{i} HTTP/1.1\r\nHost: h\r\n\r\n");
        ids.push(send_raw(server.http_addr().unwrap(), &[req.as_bytes()]).capture_id());
    }
    drop(server);
    let server = tlspost_serve::Server::start(cfg).unwrap();
    let list = server.store().list(100, None).unwrap();
    let kept: Vec<i64> = list.iter().map(|c| c.id).collect();
    assert_eq!(
        kept,
        vec![ids[4], ids[3], ids[2]],
        "--keep 3 keeps the newest three across a restart"
    );
    assert_eq!(list[0].raw, b"GET /n4 HTTP/1.1\r\nHost: h\r\n\r\n");
    let next = send_raw(
        server.http_addr().unwrap(),
        &[b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n"],
    )
    .capture_id();
    assert!(next > ids[4], "ids keep increasing after a restart");
}

#[test]
fn respond_rules_script_the_answer() {
    let r = start_with(|c| {
        c.rules = vec![
            tlspost_serve::RespondRule::parse(
                r#"POST /oauth/token=201;content-type:application/json;x-test:1;body={"access_token":"t"}"#,
            )
            .unwrap(),
            tlspost_serve::RespondRule::parse("GET /slow*=503;delay=300;chunked;body=busy").unwrap(),
        ];
    });
    let resp = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]);
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("x-test").as_deref(), Some("1"));
    assert_eq!(resp.text(), r#"{"access_token":"t"}"#);
    let c = r.capture(resp.capture_id());
    assert_eq!(c.status, 201);

    let t = std::time::Instant::now();
    let (out, err, code) = curl(&["-i", &format!("http://{}/slow/x", r.http())]);
    assert_eq!(code, 0, "{err}");
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
    assert!(out.to_ascii_lowercase().contains("transfer-encoding: chunked"));
    assert!(out.ends_with("busy"));
}

//! Replay through the API against the kit's recording origin: the stored bytes go out again
//! exactly (or as edited), the result is a new capture linked to the original, the answer names
//! how the responses differ; the CSRF check and the rule "only to the configured upstream" hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use support::{Running, send_raw, start_with};
use tlspost::url::HttpUrl;
use tlspost_serve::Forward;
use tlspost_testkit::origin::Origin;

/// One request to the UI/API: (status, body).
fn call(addr: SocketAddr, method: &str, path: &str, extra: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), body.to_string())
}

fn csrf(s: &Running, id: i64) -> String {
    let (status, page) = call(s.http(), "GET", &format!("/_tlspost/captures/{id}"), "", b"");
    assert_eq!(status, 200, "{page}");
    page.split("data-csrf=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

fn replay(s: &Running, id: i64, token: &str, body: &str) -> (u16, String) {
    let extra = format!("X-Tlspost-Csrf: {token}\r\nContent-Type: application/json\r\n");
    call(
        s.http(),
        "POST",
        &format!("/_tlspost/api/captures/{id}/replay"),
        &extra,
        body.as_bytes(),
    )
}

#[test]
fn a_replay_sends_the_exact_bytes_again_and_links_the_new_capture() {
    let origin = Origin::start();
    let fwd = Forward::new(HttpUrl::parse(&format!("http://127.0.0.1:{}", origin.port)).unwrap());
    let s = start_with(|c| c.forward = Some(fwd));
    let sent = b"POST /echo HTTP/1.1\r\nHost: dev\r\nX-Order: 1\r\nContent-Length: 8\r\n\r\n{\"t\":21}";
    let r = send_raw(s.http(), &[sent]);
    assert_eq!(r.status, 200);
    let first = s.wait_for("the original", |c| c.upstream.as_ref().is_some_and(|u| u.complete));
    let token = csrf(&s, first.id);

    let (status, text) = replay(&s, first.id, &token, "");
    assert_eq!(status, 200, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["replay_of"], first.id);
    assert_eq!(answer["upstream"]["status"], 200);
    assert_eq!(answer["difference"]["body_same"], true, "{text}");
    assert_eq!(answer["difference"]["status"], serde_json::json!([200, 200]));
    let got = origin.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].head, got[0].head, "the same bytes went out again");
    assert_eq!(got[1].body, got[0].body);
    let again = s.capture(answer["id"].as_i64().unwrap());
    assert_eq!((again.replay_of, &again.raw), (Some(first.id), &first.raw));

    // Edited: a header set in place, a new body with its length.
    let body = format!(
        r#"{{"edits":{{"headers":[["x-order","2"]],"body":"{}"}}}}"#,
        tlspost_serve::replay::base64(b"{\"t\":99.5}")
    );
    let (status, text) = replay(&s, first.id, &token, &body);
    assert_eq!(status, 200, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["difference"]["body_same"], false);
    assert_eq!(answer["difference"]["body_len"], serde_json::json!([8, 10]));
    let last = origin.received().pop().unwrap();
    assert_eq!(last.body, b"{\"t\":99.5}");
    assert!(
        String::from_utf8_lossy(&last.head).contains("\r\nX-Order: 2\r\nContent-Length: 10\r\n"),
        "{}",
        String::from_utf8_lossy(&last.head)
    );

    // No CSRF token: refused, nothing sent.
    let (status, _) = call(
        s.http(),
        "POST",
        &format!("/_tlspost/api/captures/{}/replay", first.id),
        "",
        b"",
    );
    assert_eq!(status, 403);
    let (status, text) = replay(&s, 999, &token, "");
    assert_eq!(status, 404, "{text}");
    assert_eq!(origin.received().len(), 3);
}

#[test]
fn without_an_upstream_the_api_replays_nowhere() {
    let s = start_with(|_| {});
    let r = send_raw(s.http(), &[b"POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"]);
    assert_eq!(r.status, 200);
    let first = s.wait_for("the original", |c| c.complete);
    let token = csrf(&s, first.id);
    let (status, text) = replay(&s, first.id, &token, "");
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("runs without an upstream"), "{text}");
}

//! `tlspost replay`, run as the real binary against a real `tlspost serve --upstream` in front of
//! the test kit's recording origin: a device request is captured and forwarded, then sent again
//! by the command. The origin receives the same bytes again, the new capture links to the old
//! one, and the command shows how the two responses differ; header and body edits arrive as
//! asked; `--to` sends to a second server (the kit's nginx over HTTPS, trusted with `--cacert`)
//! and the server records the result; a replay that cannot be made says why, with exit code 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use tlspost_testkit::http::roundtrip;
use tlspost_testkit::origin::{Env, HOST, Origin};
use tlspost_testkit::serve::Serve;

const BIN: &str = env!("CARGO_BIN_EXE_tlspost");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What the device sends: a JSON POST as an ESP32 sketch writes it.
const DEVICE: &[u8] = b"POST /echo HTTP/1.1\r\nHost: api.device.test\r\nUser-Agent: ESP32HTTPClient\r\nX-Order: 1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"t\":21.5}";

fn api(addr: SocketAddr, path: &str) -> Vec<u8> {
    let r = roundtrip(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.body
}

fn capture(addr: SocketAddr, id: i64) -> Value {
    serde_json::from_slice(&api(addr, &format!("/_tlspost/api/captures/{id}?reveal=1"))).unwrap()
}

fn raw(addr: SocketAddr, id: i64) -> Vec<u8> {
    api(addr, &format!("/_tlspost/api/captures/{id}/raw?reveal=1"))
}

/// The device's request through the server; the id of its capture once its response is recorded
/// (the record is committed again when the response has ended, just after the device has it).
fn device_request(serve: &Serve) -> i64 {
    let r = roundtrip(serve.http(), DEVICE).unwrap();
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"{\"t\":21.5}"[..]),
        "{}",
        r.text()
    );
    let list: Value = serde_json::from_slice(&api(serve.http(), "/_tlspost/api/captures?limit=1")).unwrap();
    let id = list[0]["id"].as_i64().unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while capture(serve.http(), id)["upstream"]["complete"] != true {
        assert!(Instant::now() < until, "capture {id}'s response was never recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    id
}

fn replay(serve: &Serve, args: &[&str]) -> Output {
    let server = format!("http://{}", serve.http());
    Command::new(BIN)
        .arg("replay")
        .args(args)
        .args(["--server", &server])
        .output()
        .unwrap()
}

/// The new capture's id from the command's first line, `capture N replayed as capture M to …`.
fn new_id(out: &Output, original: i64) -> i64 {
    let stdout = text(&out.stdout);
    let rest = stdout
        .strip_prefix(&format!("capture {original} replayed as capture "))
        .unwrap_or_else(|| panic!("{stdout}{}", text(&out.stderr)));
    rest.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn replay_sends_the_stored_bytes_again_and_shows_how_the_answers_differ() {
    let origin = Origin::start();
    let upstream = format!("http://127.0.0.1:{}", origin.port);
    let serve = Serve::tlspost(BIN, &["--upstream", &upstream]);
    let id = device_request(&serve);
    assert_eq!(
        raw(serve.http(), id),
        DEVICE,
        "the capture holds the device's exact bytes"
    );

    // As stored: the origin gets what it got the first time, byte for byte.
    let out = replay(&serve, &[&id.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = new_id(&out, id);
    let got = origin.received();
    assert_eq!(got.len(), 2);
    assert_eq!(text(&got[1].head), text(&got[0].head), "the same head went out again");
    assert_eq!(got[1].body, got[0].body);
    assert_eq!(got[1].body, b"{\"t\":21.5}");
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        format!(
            "capture {id} replayed as capture {again} to {upstream}\n  status: 200 (the original's: 200)\n  \
             who answered: the upstream answered 200; no known edge (CDN) is on the path\n  \
             header fields: the same\n  body: the same 10 bytes\n"
        )
    );
    let new = capture(serve.http(), again);
    assert_eq!(new["replay_of"], id, "{new}");
    assert_eq!(new["upstream"]["status"], 200);
    assert_eq!(
        raw(serve.http(), again),
        DEVICE,
        "the new capture holds the bytes sent again"
    );

    // Edited: X-Order set in place, a new JSON body with its length; the answer's length and
    // body differ, and the command says so.
    let out = replay(
        &serve,
        &[&id.to_string(), "-H", "x-order: 2", "--json", "{\"t\":99.25}"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let edited = new_id(&out, id);
    let sent = origin.received().pop().unwrap();
    assert_eq!(sent.body, b"{\"t\":99.25}");
    let head = text(&sent.head);
    assert!(
        head.contains(
            "\r\nUser-Agent: ESP32HTTPClient\r\nX-Order: 2\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        ),
        "the fields stay in order, edited in place: {head}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "  header fields that differ (- original, + replay):\n    - Content-Length: 10\n    + Content-Length: 11\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("  body: differs (10 bytes, now 11)\n"), "{stdout}");
    let stored = raw(serve.http(), edited);
    assert!(
        stored.ends_with(b"X-Order: 2\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"t\":99.25}")
    );
    assert_eq!(capture(serve.http(), edited)["replay_of"], id);

    // --json-output: the server's answer, for scripts.
    let out = replay(&serve, &[&id.to_string(), "--data", "abc", "--json-output"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["replay_of"], id);
    assert_eq!(answer["difference"]["status"], serde_json::json!([200, 200]));
    assert_eq!(answer["difference"]["body_same"], false);
    assert_eq!(answer["difference"]["body_len"], serde_json::json!([10, 3]));
    assert_eq!(origin.received().pop().unwrap().body, b"abc");
    assert_eq!(origin.received().len(), 4);
}

#[test]
fn replay_to_another_server_sends_the_bytes_there_and_the_server_records_it() {
    let origin = Origin::start();
    let serve = Serve::tlspost(BIN, &["--upstream", &format!("http://127.0.0.1:{}", origin.port)]);
    let id = device_request(&serve);
    let env = Env::start();
    let port = env.port("good");
    let to = format!("https://{HOST}:{port}");
    let resolve = format!("{HOST}:{port}:127.0.0.1");
    let root = env.root_file();
    let out = replay(
        &serve,
        &[
            &id.to_string(),
            "--to",
            &to,
            "--cacert",
            root.to_str().unwrap(),
            "--resolve",
            &resolve,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = new_id(&out, id);

    // The second server's origin got the device's bytes (through nginx, which sets its own Host);
    // the first origin nothing more.
    assert_eq!(origin.received().len(), 1);
    let got = env.origin.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, b"{\"t\":21.5}");
    assert_eq!(got[0].header("x-order").as_deref(), Some("1"));
    assert_eq!(got[0].header("user-agent").as_deref(), Some("ESP32HTTPClient"));

    // The difference: nginx in front adds its own fields.
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "capture {id} replayed as capture {again} to https://{HOST}:{port}\n"
        )),
        "{stdout}"
    );
    for line in [
        "  status: 200 (the original's: 200)\n",
        "  header fields that differ (- original, + replay):\n",
        "\n    + Server: nginx",
        "  body: the same 10 bytes\n",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }

    let new = capture(serve.http(), again);
    assert_eq!(new["replay_of"], id, "{new}");
    assert_eq!(new["upstream"]["url"], format!("https://{HOST}:{port}"));
    assert_eq!(new["upstream"]["tls"]["sni"], HOST, "{new}");
    let host = new["upstream"]["rewritten"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Host")
        .unwrap_or_else(|| panic!("{new}"));
    assert_eq!(
        (&host["from"], &host["to"]),
        (&Value::from("api.device.test"), &Value::from(format!("{HOST}:{port}")))
    );
    assert_eq!(raw(serve.http(), again), DEVICE);
}

#[test]
fn a_replay_that_cannot_be_made_says_why() {
    let origin = Origin::start();
    let serve = Serve::tlspost(BIN, &["--upstream", &format!("http://127.0.0.1:{}", origin.port)]);
    let id = device_request(&serve);

    // No such capture.
    let out = replay(&serve, &["999999"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("tlspost replay: "), "{stderr}");
    assert!(
        stderr.contains("there is no capture 999999 on the capture server at http://"),
        "{stderr}"
    );
    assert!(!stderr.contains('<'), "words, not the page's markup: {stderr}");
    assert!(out.stdout.is_empty());

    // An edit that is no header line: a usage error, nothing sent.
    let out = replay(&serve, &[&id.to_string(), "-H", "no colon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("-H \"no colon\": write \"Name: value\""),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(origin.received().len(), 1, "nothing was sent again");

    // No server at --server.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = gone.local_addr().unwrap();
    drop(gone);
    let out = Command::new(BIN)
        .args(["replay", &id.to_string(), "--server", &format!("http://{addr}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("the capture server at http://{addr}")) && stderr.contains("did not answer"),
        "{stderr}"
    );

    // A server without an upstream replays nowhere, and says what would.
    let sink = Serve::tlspost(BIN, &[]);
    let r = roundtrip(sink.http(), DEVICE).unwrap();
    assert_eq!(r.status, 200);
    let list: Value = serde_json::from_slice(&api(sink.http(), "/_tlspost/api/captures?limit=1")).unwrap();
    let id = list[0]["id"].as_i64().unwrap();
    let out = replay(&sink, &[&id.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("runs without an upstream"), "{stderr}");
    assert!(
        stderr.contains("(start it with --upstream URL, or give --to URL)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

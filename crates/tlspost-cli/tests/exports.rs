//! `tlspost serve`'s "send the same request" commands, run: each device request is captured,
//! each generated command (curl and `tlspost post`, secrets shown and masked) runs against the
//! same server with the files it names downloaded and the variables it names set, and the new
//! capture's bytes equal the original's, or differ where, and only where, the page says the
//! client cannot do otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;
use tlspost_testkit::http::{Resp, roundtrip};
use tlspost_testkit::serve::Serve;

const BIN: &str = env!("CARGO_BIN_EXE_tlspost");

fn get(addr: SocketAddr, path: &str) -> Resp {
    let r = roundtrip(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r
}

fn json(addr: SocketAddr, path: &str) -> Value {
    serde_json::from_slice(&get(addr, path).body).unwrap()
}

/// The newest capture: its id and exact bytes (the raw download, secrets shown).
fn newest(addr: SocketAddr) -> (i64, Vec<u8>) {
    let list = json(addr, "/_tlspost/api/captures?limit=1");
    let id = list[0]["id"].as_i64().unwrap();
    (id, get(addr, &format!("/_tlspost/api/captures/{id}/raw?reveal=1")).body)
}

/// The secrets the device requests below carry, by the variable a masked command names.
const SECRETS: [(&str, &str); 3] = [
    ("AUTHORIZATION", "s3cr3t-value"),
    ("QUERY", "q5ecret"),
    ("COOKIE", "c00kie"),
];

struct Case {
    name: &'static str,
    raw: &'static [u8],
    /// Whether curl and tlspost can send exactly these bytes.
    curl_exact: bool,
    tlspost_exact: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "an Arduino JSON POST",
        raw: b"POST /oauth/token HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: ESP32HTTPClient\r\nConnection: keep-alive\r\nAccept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\nContent-Length: 57\r\n\r\n{\"grant_type\":\"client_credentials\",\"client_id\":\"dev-42\"}\n",
        curl_exact: true,
        tlspost_exact: false,
    },
    Case {
        name: "Content-Length first, as tlspost writes it",
        raw: b"POST /t HTTP/1.1\r\nContent-Length: 2\r\nHost: api.example.test\r\nContent-Type: application/json\r\n\r\n{}",
        curl_exact: false,
        tlspost_exact: true,
    },
    Case {
        name: "a binary body",
        raw: b"PUT /blob HTTP/1.1\r\nHost: api.example.test\r\nContent-Type: application/octet-stream\r\nContent-Length: 6\r\n\r\n\x00\xff\x10\x80'\n",
        curl_exact: true,
        tlspost_exact: false,
    },
    Case {
        name: "a chunked body in one chunk",
        raw: b"POST /c HTTP/1.1\r\nHost: api.example.test\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        curl_exact: true,
        tlspost_exact: false,
    },
    Case {
        name: "secrets in the target and the headers",
        raw: b"GET /cb?access_token=q5ecret&x=1 HTTP/1.1\r\nHost: api.example.test\r\nAuthorization: Bearer s3cr3t-value\r\nCookie: sid=c00kie\r\nx-odd:1\r\n\r\n",
        curl_exact: true,
        tlspost_exact: false,
    },
];

/// Run `cmd` (its files downloaded into a fresh directory, its variables set) and return the
/// capture it made.
fn run(addr: SocketAddr, cmd: &Value, before: i64) -> (i64, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    for f in cmd["files"].as_array().unwrap() {
        let body = get(addr, f["href"].as_str().unwrap()).body;
        std::fs::write(dir.path().join(f["name"].as_str().unwrap()), body).unwrap();
    }
    let bin_dir = std::path::Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(cmd["line"].as_str().unwrap())
        .current_dir(dir.path())
        .env("PATH", path);
    for s in cmd["secrets"].as_array().unwrap() {
        let var = s["var"].as_str().unwrap();
        let value = SECRETS
            .iter()
            .find(|(v, _)| *v == var)
            .unwrap_or_else(|| panic!("a variable the test does not know: {var}"))
            .1;
        sh.env(var, value);
    }
    let out = sh.output().unwrap();
    let (id, raw) = newest(addr);
    assert!(
        id > before,
        "{} made no capture: {}\n{}",
        cmd["line"],
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (id, raw)
}

#[test]
fn every_generated_command_sends_the_captured_bytes_or_names_the_difference() {
    let serve = Serve::tlspost(BIN, &[]);
    let addr = serve.http();
    for case in CASES {
        let original = roundtrip(addr, case.raw).unwrap();
        assert_eq!(original.status, 200, "{}: {}", case.name, original.text());
        let (id, raw) = newest(addr);
        assert_eq!(raw, case.raw, "{}: stored as sent", case.name);
        for reveal in [true, false] {
            let q = if reveal { "?reveal=1" } else { "" };
            let cmds = json(addr, &format!("/_tlspost/api/captures/{id}/commands{q}"));
            for (client, exact) in [("curl", case.curl_exact), ("tlspost", case.tlspost_exact)] {
                let cmd = &cmds[client];
                let line = cmd["line"].as_str().unwrap();
                let what = format!("{} / {client} / reveal {reveal}:\n{line}", case.name);
                if !reveal {
                    for (_, secret) in SECRETS {
                        assert!(!line.contains(secret), "{what}: a secret pasted");
                    }
                    assert!(!line.contains("***"), "{what}: a masked secret pasted");
                }
                let differences = cmd["differences"].as_array().unwrap();
                assert_eq!(differences.is_empty(), exact, "{what}: differences {differences:?}");
                let (_, sent) = run(addr, cmd, newest(addr).0);
                if exact {
                    assert!(
                        sent == case.raw,
                        "{what}: sent\n{}\ninstead of\n{}",
                        String::from_utf8_lossy(&sent),
                        String::from_utf8_lossy(case.raw)
                    );
                } else {
                    assert!(sent != case.raw, "{what}: the same bytes, yet differences are named");
                }
            }
        }
    }
}

//! Nothing a server (or a device) sends reaches the terminal raw, and secrets are masked the same way
//! everywhere: `post -v` and `--trace` heads both ways, `--fail`'s reason phrase, the note for a
//! redirect not followed, `lint FILE` findings, `lint --capture` replaying a capture from a real
//! `tlspost serve`, and the capture API's error answer. The response body on stdout stays exactly
//! as received (curl's convention).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread::JoinHandle;

use tlspost_proto::escape::is_safe;
use tlspost_testkit::http::{read_request, read_response};
use tlspost_testkit::serve::Serve;

const BIN: &str = env!("CARGO_BIN_EXE_tlspost");

fn tlspost(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run tlspost")
}

/// Every line of `out` is printable text: no ESC, CR, NUL or other control byte, no invalid UTF-8.
fn assert_terminal_safe(what: &str, out: &[u8]) {
    for line in out.split(|&b| b == b'\n') {
        assert!(
            is_safe(line),
            "{what}: a raw byte reaches the terminal in {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// A raw HTTP responder on loopback: answers the connections it gets, in turn, with `answers`, each
/// once the whole request (head and Content-Length body) has arrived.
fn responder(answers: Vec<Vec<u8>>) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = std::thread::spawn(move || {
        for answer in answers {
            let (mut s, _) = l.accept().expect("accept");
            let _ = read_request(&mut s);
            let _ = s.write_all(&answer);
        }
    });
    (addr, t)
}

const HOSTILE_HEAD: &[u8] = b"HTTP/1.1 200 O\x1b[31mK\r\nX-Evil\x1b[31m: a\rb\x00c\xff\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn post_verbose_and_trace_escape_a_hostile_head_and_mask_secrets() {
    let (addr, server) = responder(vec![HOSTILE_HEAD.to_vec(), HOSTILE_HEAD.to_vec()]);
    let url = format!("http://{addr}/cb?code=1&access_token=q5ecret");
    let common = [
        "--json",
        r#"{"client_secret":"hunter2","user":"me"}"#,
        "-H",
        "X-Auth-Token: s3cr3t-tok",
        "-H",
        "Cookie: sid=c00kie; theme=dark",
    ];
    let mut args = vec!["post", &url, "-v"];
    args.extend_from_slice(&common);
    let out = tlspost(&args);
    assert_terminal_safe("post -v stderr", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    // The response's escapes, and the request's secrets masked byte for byte as the capture server
    // masks them.
    assert_contains_all(
        "post -v stderr",
        &err,
        &[
            "< HTTP/1.1 200 O\\x1b[31mK\n",
            "< X-Evil\\x1b[31m: a\\rb\\x00c\\xff\n",
            "> POST /cb?code=1&access_token=******* HTTP/1.1\n",
            "> X-Auth-Token: **********\n",
            "> Cookie: sid=******; theme=****\n",
        ],
    );
    for secret in ["q5ecret", "s3cr3t-tok", "c00kie"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }
    // The malformed head is an error, told escaped too.
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("tlspost: error: "), "{err}");

    let mut args = vec!["post", &url, "--trace"];
    args.extend_from_slice(&common);
    let out = tlspost(&args);
    server.join().expect("responder");
    assert_terminal_safe("post --trace stderr", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(": X-Evil\\x1b[31m: a\\rb\\x00c\\xff\n"), "{err}");
    assert!(err.contains(r#"{"client_secret":"*******","user":"me"}"#), "{err}");
    for secret in ["q5ecret", "s3cr3t-tok", "c00kie", "hunter2"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }
}

#[test]
fn fail_reason_and_redirect_location_show_escaped_and_the_body_stays_exact() {
    // httparse accepts obs-text in a reason phrase and a header value: a C1 CSI (U+009B) gets through.
    let body = b"\x1b[0mraw body\xff";
    let mut ok = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n".to_vec();
    ok.extend_from_slice(body);
    let (addr, server) = responder(vec![
        b"HTTP/1.1 500 Oops \xc2\x9b2J\r\nContent-Length: 0\r\n\r\n".to_vec(),
        b"HTTP/1.1 302 Found\r\nLocation: /next\xc2\x9b31m\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ok,
    ]);
    let url = format!("http://{addr}/x");

    // (httparse gives an empty reason phrase for one with obs-text; escaped either way.)
    let out = tlspost(&["post", &url, "--json", "{}", "-f"]);
    assert_eq!(out.status.code(), Some(22), "{}", String::from_utf8_lossy(&out.stderr));
    assert_terminal_safe("--fail stderr", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the server answered 500 "), "{err}");

    let out = tlspost(&["post", &url, "--json", "{}"]);
    assert_terminal_safe("redirect note stderr", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("302 redirect to /next\\xc2\\x9b31m not followed"), "{err}");

    // The body written to stdout is the server's bytes, unchanged.
    let out = tlspost(&["post", &url, "--json", "{}"]);
    server.join().expect("responder");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, body);
}

#[test]
fn a_url_with_user_information_is_refused_without_showing_the_password() {
    let out = tlspost(&[
        "post",
        "https://dev:pa55w0rd@api.example.test/t?api_key=k3y",
        "--json",
        "{}",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("https://***:********@api.example.test/t?api_key=***"),
        "{err}"
    );
    assert!(!err.contains("pa55w0rd") && !err.contains("k3y"), "{err}");
}

/// Each of `needles` is in `text` (`what` is said first when one is missing).
fn assert_contains_all(what: &str, text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{what}: {needle:?} missing from {text}");
    }
}

/// A request whose header name, value and method carry escape sequences, CR, NUL and invalid UTF-8.
const HOSTILE_REQUEST: &[u8] = b"POST /t HTTP/1.1\r\nHost: a.example\r\nX-Evil\x1b[31m : v\r\n\
    X-Val: a\rb\x00c\xff\x1b]0;pwned\x07\r\nUser-Agent: d/1\r\nContent-Length: 2\r\n\r\n{}";

fn assert_findings_escaped(what: &str, stdout: &[u8]) {
    assert_terminal_safe(what, stdout);
    let out = String::from_utf8_lossy(stdout);
    assert_contains_all(
        what,
        &out,
        &[
            "error[TP104]",
            "header `X-Evil\\x1b[31m` has whitespace before its colon",
            "error[TP105]",
            "`a\\rb\\x00c\\xff\\x1b]0;pwned\\x07`",
        ],
    );
}

#[test]
fn lint_findings_quote_hostile_request_bytes_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = tlspost_testkit::write(dir.path(), "hostile.http", HOSTILE_REQUEST);
    let out = tlspost(&["lint", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert_findings_escaped("lint FILE", &out.stdout);
    let out = tlspost(&["lint", "--json", &file.display().to_string()]);
    assert_terminal_safe("lint --json", &out.stdout);
}

#[test]
fn lint_capture_replays_a_hostile_capture_escaped() {
    let serve = Serve::tlspost(BIN, &[]);
    let http = serve.http();
    // The device's bytes, exactly: the capture server records them whatever they hold.
    let mut s = TcpStream::connect(http).expect("connect");
    s.write_all(HOSTILE_REQUEST).expect("send");
    let _ = read_response(&mut s);
    drop(s);
    let mut s = TcpStream::connect(http).expect("connect");
    s.write_all(format!("GET /_tlspost/api/captures?limit=1 HTTP/1.0\r\nHost: {http}\r\n\r\n").as_bytes())
        .expect("ask");
    let list = read_response(&mut s).expect("the capture list");
    let list: serde_json::Value =
        serde_json::from_slice(&list.body).unwrap_or_else(|e| panic!("{e}: {}\n{}", list.head, list.text()));
    let id = list[0]["id"].as_u64().expect("a capture id").to_string();

    let out = tlspost(&["lint", "--capture", &id, "--server", &http.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_findings_escaped("lint --capture", &out.stdout);
    assert_terminal_safe("lint --capture stderr", &out.stderr);
}

#[test]
fn a_capture_servers_error_answer_shows_escaped() {
    let (addr, server) = responder(vec![
        b"HTTP/1.0 500 x\r\n\r\nbroken \x1b[2J\x1b]0;pwned\x07\xff".to_vec(),
    ]);
    let out = tlspost(&["lint", "--capture", "7", "--server", &addr.to_string()]);
    server.join().expect("responder");
    assert_eq!(out.status.code(), Some(2));
    assert_terminal_safe("lint --capture error", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("answered 500: broken \\x1b[2J\\x1b]0;pwned\\x07\\xff"),
        "{err}"
    );
}

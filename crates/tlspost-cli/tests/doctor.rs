//! `tlspost doctor` run as the real binary against `tlspost serve` started by each test (default
//! and `--profile edge`), and against real nginx (Debian's `nginx-light`) in front of a recording
//! origin, on ephemeral loopback ports, with PKIs made at test time.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tlspost_testkit::http::Received;
use tlspost_testkit::origin::{Env, HOST, Origin};
use tlspost_testkit::pki::{Ca, Validity};
use tlspost_testkit::proc::refused_addr;
use tlspost_testkit::serve::Serve;

const TLSPOST: &str = env!("CARGO_BIN_EXE_tlspost");

/// `tlspost serve --profile PROFILE` on ephemeral ports with a fresh data directory.
fn serve(profile: &str) -> Serve {
    Serve::tlspost(TLSPOST, &["--profile", profile])
}

/// The CA file the server made, as a `--cacert` argument.
fn ca_file(s: &Serve) -> String {
    s.ca().display().to_string()
}

/// `--resolve` for `localhost` at the server's HTTPS port.
fn resolve_localhost(s: &Serve) -> String {
    format!("localhost:{}:127.0.0.1", s.https_port())
}

fn https_url(s: &Serve, path: &str) -> String {
    format!("https://localhost:{}{path}", s.https_port())
}

fn doctor(args: &[&str]) -> (i32, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_tlspost"))
        .arg("doctor")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tlspost doctor");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The body of the story's token request.
const GRANT: &str = r#"{"grant_type":"client_credentials"}"#;

/// `tlspost doctor` for a device that pins `s`'s CA and reaches it through `--resolve`: `args`
/// describe the device's request, then the URL of `path`.
fn doctor_serve(s: &Serve, args: &[&str], path: &str) -> (i32, String) {
    let (ca, resolve, url) = (ca_file(s), resolve_localhost(s), https_url(s, path));
    let mut all = vec!["--cacert", ca.as_str(), "--resolve", resolve.as_str()];
    all.extend_from_slice(args);
    all.push(&url);
    doctor(&all)
}

/// The report's check lines (`[mark] step name title`) with the given mark.
fn lines<'a>(text: &'a str, mark: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(&format!("[{mark}]"))).collect()
}

/// The `why:` and `fix:` lines right after the first check line containing `needle`.
fn why_fix(text: &str, needle: &str) -> (String, String) {
    let mut it = text.lines().skip_while(|l| !(l.starts_with('[') && l.contains(needle)));
    it.next()
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"));
    let mut why = String::new();
    let mut fix = String::new();
    for l in it.take_while(|l| !l.starts_with('[')) {
        let l = l.trim();
        if let Some(w) = l.strip_prefix("why: ") {
            why = w.to_string();
        } else if let Some(f) = l.strip_prefix("fix: ") {
            fix = f.to_string();
        }
    }
    (why, fix)
}

#[test]
fn a_good_setup_is_ok_at_every_step_and_send_reads_the_whole_answer() {
    let s = serve("default");
    let base = ["--json", GRANT, "-A", "acme-sensor/1.2"];
    let (code, out) = doctor_serve(&s, &base, "/oauth/token");
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out, "FAIL").is_empty() && lines(&out, "warn").is_empty(),
        "{out}"
    );
    assert!(lines(&out, "skip").is_empty(), "{out}");
    for step in ["1 dns", "2 tcp", "3 tls", "4 request", "5 edge"] {
        assert!(
            lines(&out, "ok").iter().any(|l| l.contains(step)),
            "no ok line for step {step}:\n{out}"
        );
    }
    assert!(out.contains("the device would accept the server"), "{out}");
    assert!(out.contains("roots to pin: \"tlspost capture local CA\""), "{out}");
    assert!(
        out.contains("without SNI the server answers with the same certificate"),
        "{out}"
    );
    assert!(out.contains("> Content-Type: application/json"), "{out}");
    assert!(out.contains("the real POST was not sent"), "{out}");
    assert!(out.trim_end().ends_with("all ok"), "{out}");

    // --send: the device's request once, and the answer read to its end; as JSON.
    let mut args = base.to_vec();
    args.extend(["--send", "--json-output"]);
    let (code, out) = doctor_serve(&s, &args, "/oauth/token");
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["fail"], 0, "{doc}");
    let steps = doc["steps"].as_array().expect("steps");
    assert!(steps.iter().all(|s| s["mark"] == "ok"), "{doc}");
    for n in 1..=5 {
        assert!(steps.iter().any(|s| s["step"] == n), "step {n} missing: {doc}");
    }
    let sent = steps
        .iter()
        .find(|s| s["title"].as_str().is_some_and(|t| t.starts_with("--send:")))
        .expect("a --send step");
    let title = sent["title"].as_str().unwrap_or_default();
    assert!(title.contains("POST /oauth/token sent once"), "{title}");
    assert!(title.contains("200 OK, made by the origin"), "{title}");
    assert!(title.contains("body read completely (Content-Length"), "{title}");
    // Exactly the bytes step 4 showed: same length on the wire.
    let built = steps
        .iter()
        .find_map(|s| {
            s["title"]
                .as_str()
                .and_then(|t| t.strip_prefix("the device's request: "))
                .and_then(|t| t.split(' ').next())
        })
        .expect("the request line");
    assert!(
        title.contains(&format!("sent once ({built} bytes)")),
        "{title} vs {built}"
    );
}

#[test]
fn b_the_edge_blocking_a_library_user_agent_is_a_fail_with_the_user_agent_fix() {
    let s = serve("edge");
    let (code, out) = doctor_serve(&s, &["--json", GRANT, "-A", "ESP32HTTPClient"], "/oauth/token");
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    let edge = fails
        .iter()
        .find(|l| l.contains("5 edge"))
        .unwrap_or_else(|| panic!("no FAIL at the edge:\n{out}"));
    assert!(
        edge.contains("blocks the device's User-Agent \"ESP32HTTPClient\""),
        "{edge}"
    );
    assert!(edge.contains("403 (error 1010)"), "{edge}");
    let (why, fix) = why_fix(&out, "blocks the device's User-Agent");
    assert!(why.contains("the origin never saw the request"), "{why}");
    assert!(fix.contains("User-Agent naming your product"), "{fix}");
    assert!(out.contains("HEAD /oauth/token with tlspost/"), "{out}");
    // The lint names the same cause before the network does.
    assert!(fails.iter().any(|l| l.contains("lint TP304")), "{out}");
    // The edge refuses a ClientHello without SNI: a warning for devices that connect by IP.
    assert!(
        lines(&out, "warn")
            .iter()
            .any(|l| l.contains("refuses a handshake without SNI")),
        "{out}"
    );

    // With a real User-Agent the edge lets the device through: no FAIL, exit 0.
    let (code, out) = doctor_serve(&s, &["--json", GRANT, "-A", "acme-sensor/1.2"], "/oauth/token");
    assert_eq!(code, 0, "{out}");
    assert!(lines(&out, "FAIL").is_empty(), "{out}");
    assert!(
        lines(&out, "ok")
            .iter()
            .any(|l| l.contains("5 edge") && l.contains("200 OK")),
        "{out}"
    );
    // A device that sends no User-Agent at all: TP303, and the probe says it used tlspost's.
    let file = s.data().join("no-ua.http");
    std::fs::write(
        &file,
        format!(
            "POST /oauth/token HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\n\r\n{{}}",
            s.https_port()
        ),
    )
    .expect("write");
    let file = file.display().to_string();
    let (code, out) = doctor_serve(&s, &["--raw", &file], "/oauth/token");
    assert_eq!(code, 1, "{out}");
    assert!(lines(&out, "FAIL").iter().any(|l| l.contains("lint TP303")), "{out}");
    assert!(
        out.contains("with the device's User-Agent (none: probed with tlspost's)"),
        "{out}"
    );
}

#[test]
fn c_json_sent_with_data_binary_and_no_content_type_is_tp301_with_its_fix() {
    let s = serve("default");
    let args = ["--data-binary", GRANT, "-A", "acme-sensor/1.2"];
    let (code, out) = doctor_serve(&s, &args, "/oauth/token");
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert_eq!(fails.len(), 1, "only the request fails:\n{out}");
    assert!(
        fails[0].contains("4 request") && fails[0].contains("lint TP301"),
        "{out}"
    );
    let (why, fix) = why_fix(&out, "lint TP301");
    assert!(why.contains("body is JSON"), "{why}");
    assert!(fix.contains("Content-Type: application/json"), "{fix}");

    // The same, machine-readable.
    let mut a = args.to_vec();
    a.push("--json-output");
    let (code, out) = doctor_serve(&s, &a, "/oauth/token");
    assert_eq!(code, 1, "{out}");
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["ok"], false);
    let step = doc["steps"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|s| s["title"].as_str().is_some_and(|t| t.contains("TP301")))
        })
        .expect("a TP301 step");
    assert_eq!(step["step"], 4);
    assert_eq!(step["mark"], "fail");
    assert_eq!(
        step["cause"],
        serde_json::json!({"kind": "lint", "code": "TP301"}),
        "{step}"
    );
    assert!(
        step["fix"].as_str().is_some_and(|f| f.contains("application/json")),
        "{step}"
    );

    // The bytes a device really sends, from a file: Arduino HTTPClient's POST without addHeader.
    let file = s.data().join("device.http");
    let body = GRANT;
    let raw = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: localhost:{}\r\nUser-Agent: ESP32HTTPClient\r\nConnection: keep-alive\r\n\
         Accept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\nContent-Length: {}\r\n\r\n{body}",
        s.https_port(),
        body.len()
    );
    std::fs::write(&file, raw).expect("write the request file");
    let file = file.display().to_string();
    let (code, out) = doctor_serve(&s, &["--raw", &file, "--send"], "/oauth/token");
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert!(fails.iter().any(|l| l.contains("lint TP301")), "{out}");
    assert!(fails.iter().any(|l| l.contains("lint TP304")), "{out}");
    assert!(out.contains(&format!("read from {file}")), "{out}");
    // tlspost's client cannot send a body without a Content-Type, so it does not pretend to.
    let (why, _) = why_fix(&out, "--send: the request file cannot be re-sent");
    assert!(why.contains("no Content-Type"), "{why}");
}

/// Valid from 2020 until the end of `until_year`.
fn until(until_year: i32) -> Validity {
    Validity::dates((2020, 1, 1), (until_year, 12, 31))
}

fn this_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    1970 + (secs / 31_556_952) as i32
}

#[test]
fn d_a_foreign_pinned_root_fails_and_the_servers_root_is_recommended() {
    let s = serve("default");
    let foreign = Ca::builder("Foreign Test Root")
        .validity(until(this_year() + 20))
        .self_signed();
    let foreign: PathBuf = tlspost_testkit::write(s.data(), "foreign.pem", &foreign.pem);
    let foreign = foreign.display().to_string();
    let (resolve, url) = (resolve_localhost(&s), https_url(&s, "/oauth/token"));
    let (code, out) = doctor(&["--cacert", &foreign, "--resolve", &resolve, "-A", "acme/1", &url]);
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert!(
        fails
            .iter()
            .any(|l| l.contains("3 tls") && l.contains("the server does not send \"CN=tlspost capture local CA")),
        "{out}"
    );
    // The leaf's issuer is neither sent nor known: the one FAIL says so, and what the device's pins
    // do follows from it.
    assert_eq!(fails.len(), 1, "{out}");
    assert!(out.contains("→ the device would refuse the server"), "{out}");
    assert!(out.contains("\"Foreign Test Root\": no path to this root"), "{out}");
    let (_, fix) = why_fix(&out, "the chain does not verify");
    assert!(
        fix.contains("If it is a private root: pin the self-signed root certificate of \"CN=tlspost capture local CA"),
        "{fix}"
    );
    // Given the server's CA as a candidate, the recommendation names it and the file it is in.
    let ca = ca_file(&s);
    let (_, out) = doctor(&[
        "--cacert",
        &foreign,
        "--roots",
        &ca,
        "--resolve",
        &resolve,
        "-A",
        "acme/1",
        &url,
    ]);
    let (_, fix) = why_fix(&out, "the device would refuse the server");
    assert!(
        fix.contains(&format!("pin \"tlspost capture local CA\" ({ca}")),
        "{fix}"
    );

    // Pinning the server's own certificate (the leaf) is called out.
    pin_the_leaf(&s, &resolve, &url);

    // A server that sends its private root along: the fix names it, with the fingerprint to confirm.
    // Stopped, the first server keeps the data directory; the second one starts on it.
    let mut first = s;
    first.stop();
    let dir = first.data();
    let mut chain = std::fs::read_to_string(dir.join("server.pem")).expect("server.pem");
    chain.push_str(&std::fs::read_to_string(dir.join("ca.pem")).expect("ca.pem"));
    std::fs::write(dir.join("server.pem"), chain).expect("write server.pem");
    let s = Serve::tlspost_in(TLSPOST, dir, &["--profile", "default"]);
    let (resolve, url) = (resolve_localhost(&s), https_url(&s, "/oauth/token"));
    let (code, out) = doctor(&["--cacert", &foreign, "--resolve", &resolve, "-A", "acme/1", &url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("2 certificate(s) sent"), "{out}");
    let (_, fix) = why_fix(&out, "the device would refuse the server");
    assert!(
        fix.contains("pin \"tlspost capture local CA\", the root the server sends as certificate #2 (SHA-256 "),
        "{fix}"
    );
    assert!(fix.contains("only after confirming that fingerprint"), "{fix}");
}

fn pin_the_leaf(s: &Serve, resolve: &str, url: &str) {
    let leaf = s.data().join("server.pem").display().to_string();
    let (_, out) = doctor(&["--cacert", &leaf, "--resolve", resolve, "-A", "acme/1", url]);
    assert!(
        lines(&out, "warn")
            .iter()
            .any(|l| l.contains("which is a leaf") && l.contains("not a root")),
        "{out}"
    );
}

#[test]
fn d_a_pinned_root_expiring_within_730_days_is_a_warning() {
    // The server's CA, made here to expire within two years (same name as serve's own CA).
    // Its name is encoded as serve's is (CN, then O): serve names its CA as issuer of the leaf.
    let own = Ca::builder("tlspost capture local CA")
        .org("tlspost")
        .cn_first(true)
        .validity(until(this_year() + 1))
        .self_signed();
    let data = tempfile::tempdir().expect("temp dir");
    tlspost_testkit::write(data.path(), "ca.pem", &own.pem);
    tlspost_testkit::write(data.path(), "ca.key", own.key.serialize_pem());
    let s = Serve::tlspost_in(TLSPOST, data.path(), &["--profile", "default"]);
    let (ca, resolve, url) = (ca_file(&s), resolve_localhost(&s), https_url(&s, "/t"));
    let (code, out) = doctor(&[
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "--json",
        "{}",
        "-A",
        "acme/1",
        &url,
    ]);
    assert_eq!(code, 0, "a warning is no failure:\n{out}");
    assert!(out.contains("the device would accept the server"), "{out}");
    let warn = lines(&out, "warn");
    assert!(
        warn.iter().any(
            |l| l.contains("the pinned root \"tlspost capture local CA\" expires on") && l.contains("within 730 days")
        ),
        "{out}"
    );
    let (_, fix) = why_fix(&out, "the pinned root \"tlspost capture local CA\" expires on");
    assert!(fix.contains("ship a second, longer-lived root"), "{fix}");
}

#[test]
fn e_a_closed_port_fails_at_tcp_connect_with_the_cause() {
    // Held for the test: nothing listens there, and nothing can start to.
    let refused = refused_addr();
    let port = refused.port();
    let resolve = format!("localhost:{port}:{}", refused.ip());
    let url = format!("https://localhost:{port}/oauth/token");
    let (code, out) = doctor(&[
        "--resolve",
        &resolve,
        "--connect-timeout",
        "3",
        "-A",
        "acme/1",
        "--json",
        "{}",
        &url,
    ]);
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert_eq!(fails.len(), 1, "{out}");
    assert!(
        fails[0].contains("2 tcp") && fails[0].contains("cannot connect: refused"),
        "{out}"
    );
    let (why, fix) = why_fix(&out, "cannot connect: refused");
    assert!(
        why.contains(&format!("{}: nothing listens on that port", refused.addr())),
        "{why}"
    );
    assert!(fix.contains(&format!("check the port ({port})")), "{fix}");
    assert!(
        lines(&out, "ok")
            .iter()
            .any(|l| l.contains("1 dns") && l.contains("from --resolve")),
        "{out}"
    );
    assert!(lines(&out, "skip").iter().any(|l| l.contains("3 tls")), "{out}");
    assert!(lines(&out, "skip").iter().any(|l| l.contains("5 edge")), "{out}");
}

#[test]
fn f_https_to_the_http_port_and_http_to_the_https_port_are_each_one_fail() {
    let s = serve("default");
    let run = |scheme: &str, port: u16| {
        let resolve = format!("localhost:{port}:127.0.0.1");
        let url = format!("{scheme}://localhost:{port}/t");
        let (code, out) = doctor(&["--resolve", &resolve, "--json", "{}", "-A", "acme/1", &url]);
        assert_eq!(code, 1, "{out}");
        assert_eq!(lines(&out, "FAIL").len(), 1, "{out}");
        out
    };
    let http = s.http().port();
    let out = run("https", http);
    assert!(
        lines(&out, "FAIL")[0].contains(&format!("port {http} answers TLS with plain HTTP")),
        "{out}"
    );
    let (_, fix) = why_fix(&out, "answers TLS with plain HTTP");
    assert!(fix.contains(&format!("use http:// for port {http}")), "{fix}");

    let https = s.https_port();
    let out = run("http", https);
    assert!(
        lines(&out, "FAIL")[0].contains(&format!("port {https} speaks TLS, but the URL is http://")),
        "{out}"
    );
    let (_, fix) = why_fix(&out, "speaks TLS, but the URL is http://");
    assert!(fix.contains(&format!("use https://localhost:{https}/t")), "{fix}");
}

#[test]
fn usage_errors_exit_2_with_a_message_that_says_what_to_give() {
    let (code, out) = doctor(&["--resolve", "nonsense", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("expected HOST:PORT:ADDR"), "{out}");
    let (code, out) = doctor(&["--resolve", "other:1:127.0.0.1", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("--resolve \"other:1:127.0.0.1\": no address given is for the URL's host and port localhost:1"),
        "{out}"
    );
    let (code, out) = doctor(&["ftp://example.com/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot use URL"), "{out}");
    let (code, out) = doctor(&["--cacert", "/nonexistent/roots.pem", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--cacert /nonexistent/roots.pem"), "{out}");
    let (code, out) = doctor(&["--raw", "x.http", "--json", "{}", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot be used with"), "{out}");
    let (code, out) = doctor(&["--json", "{}", "-d", "a=1", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("use only one of"), "{out}");
    // The exact bytes are --raw FILE; --request is not doctor's (a method in `tlspost request`).
    let (code, out) = doctor(&["--request", "x.http", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unexpected argument '--request'"), "{out}");
}

/// The recording origin over plain HTTP: `/midbody` announces 100 body bytes, sends 10 and closes,
/// the truncated answer a device that stops reading early cannot tell from a whole one; `/close`
/// has no framing at all. It records each request before it answers, so when doctor has exited,
/// every request it sent is in the record.
#[test]
fn send_reports_a_truncated_answer_and_sends_the_post_only_once() {
    let origin = Origin::start();
    let port = origin.port;
    let posts = |path: &str| -> Vec<Received> {
        origin
            .received()
            .into_iter()
            .filter(|r| r.path == path && r.head.starts_with(b"POST "))
            .collect()
    };
    let url = format!("http://localhost:{port}/midbody");
    let resolve = format!("localhost:{port}:127.0.0.1");
    // Without --send nothing but HEAD probes reach the server.
    let (code, out) = doctor(&["--resolve", &resolve, "-A", "acme/1", "--json", "{\"t\":1}", &url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("plain HTTP: nothing is encrypted"), "{out}");
    assert!(posts("/midbody").is_empty(), "a POST was sent without --send");

    let (code, out) = doctor(&[
        "--resolve",
        &resolve,
        "-A",
        "acme/1",
        "--json",
        "{\"t\":1}",
        "--send",
        &url,
    ]);
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert_eq!(fails.len(), 1, "{out}");
    assert!(
        fails[0].contains("5 edge") && fails[0].contains("--send: POST /midbody failed"),
        "{out}"
    );
    assert!(fails[0].contains("not retried"), "{out}");
    let (why, fix) = why_fix(&out, "--send: POST");
    assert!(why.contains("after 10 of 100 bytes"), "the byte counts: {why}");
    assert!(fix.contains("never stop at a read that returns no data yet"), "{fix}");
    let posts = posts("/midbody");
    assert_eq!(posts.len(), 1, "the POST was sent once: {posts:?}");
    assert!(
        posts[0].head.starts_with(b"POST /midbody HTTP/1.1\r\n"),
        "{}",
        String::from_utf8_lossy(&posts[0].head)
    );
    assert_eq!(posts[0].body, b"{\"t\":1}");

    // A whole answer without framing: it works, with a warning about devices that stop reading early.
    let url = format!("http://localhost:{port}/close");
    let (code, out) = doctor(&["--resolve", &resolve, "-A", "acme/1", "--json", "{}", "--send", &url]);
    assert_eq!(code, 0, "{out}");
    let warn = lines(&out, "warn");
    assert!(
        warn.iter()
            .any(|l| l.contains("--send: POST /close sent once") && l.contains("ended when the server closed")),
        "{out}"
    );
    let (why, fix) = why_fix(&out, "--send: POST /close");
    assert!(why.contains("-1 on Arduino's WiFiClient"), "{why}");
    assert!(fix.contains("read until the connection closes"), "{fix}");
}

/// Real nginx serving root → intermediate → leaf (and broken variants) in front of an origin.
#[test]
fn nginx_chains_pins_truncation_and_an_edge_page_through_a_real_tls_server() {
    let env = Env::start();
    let root = env.root_file().display().to_string();
    let inter = env.dir.path().join("inter.pem");
    std::fs::write(&inter, &env.pki.inter.pem).expect("write the intermediate");
    let inter = inter.display().to_string();
    let run = |port: u16, pin: &str, path: &str, extra: &[&str]| {
        let resolve = format!("{HOST}:{port}:127.0.0.1");
        let url = env.url(port, path);
        let mut args = vec![
            "--cacert",
            pin,
            "--resolve",
            &resolve,
            "-A",
            "acme-sensor/1.2",
            "--json",
            "{\"a\":1}",
        ];
        args.extend_from_slice(extra);
        args.push(&url);
        doctor(&args)
    };

    // The good chain, the root pinned: no FAIL; nginx refuses a ClientHello without SNI.
    let (code, out) = run(env.port("good"), &root, "/echo", &["--send"]);
    assert_eq!(code, 0, "{out}");
    assert!(lines(&out, "FAIL").is_empty(), "{out}");
    assert!(out.contains("2 certificate(s) sent"), "{out}");
    assert!(out.contains("the device would accept the server"), "{out}");
    assert!(out.contains("roots to pin: \"tlspost Test Root\""), "{out}");
    assert!(
        out.contains("do not pin the intermediate \"tlspost Test Issuing CA\""),
        "{out}"
    );
    assert!(
        lines(&out, "warn")
            .iter()
            .any(|l| l.contains("refuses a handshake without SNI")),
        "{out}"
    );
    assert!(out.contains("--send: POST /echo sent once"), "{out}");
    assert!(
        out.contains("200 OK, made by the origin; body read completely (Content-Length 7"),
        "{out}"
    );
    let posted: Vec<_> = env
        .origin
        .received()
        .into_iter()
        .filter(|r| r.head.starts_with(b"POST"))
        .collect();
    assert_eq!(posted.len(), 1, "one POST reached the origin");
    assert_eq!(posted[0].body, b"{\"a\":1}");

    // Pinning the intermediate works today, and is a warning.
    let (code, out) = run(env.port("good"), &inter, "/echo", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out, "warn")
            .iter()
            .any(|l| l.contains("\"tlspost Test Issuing CA\"") && l.contains("which is an intermediate")),
        "{out}"
    );
    let (_, fix) = why_fix(&out, "which is an intermediate");
    // The whole subject of the kit's root (O, then CN).
    assert!(
        fix.contains("root certificate of \"O=tlspost client tests, CN=tlspost Test Root\""),
        "{fix}"
    );
    assert!(out.contains("the device's pinned certificates verify it"), "{out}");

    // The leaf alone: the intermediate is missing, and the fix says to send it.
    let (code, out) = run(env.port("leafonly"), &root, "/echo", &[]);
    assert_eq!(code, 1, "{out}");
    let (_, fix) = why_fix(&out, "the chain does not verify");
    assert!(
        fix.contains("\"CN=tlspost Test Issuing CA") || fix.contains("tlspost Test Issuing CA"),
        "{fix}"
    );
    assert!(fix.contains("configure the server to send it after the leaf"), "{fix}");
    assert!(out.contains("the device would refuse the server"), "{out}");

    // Expired and wrong-name leaves.
    let (code, out) = run(env.port("expired"), &root, "/echo", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        lines(&out, "FAIL")
            .iter()
            .any(|l| l.contains("a served certificate has expired")),
        "{out}"
    );
    let (code, out) = run(env.port("wrong"), &root, "/echo", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        lines(&out, "FAIL")
            .iter()
            .any(|l| l.contains(&format!("the certificate is not valid for {HOST}"))),
        "{out}"
    );

    // An edge-made 403 (error 1010) for every User-Agent: the edge refuses the request itself.
    let (code, out) = run(env.port("good"), &root, "/edge1010", &[]);
    assert_eq!(code, 1, "{out}");
    let edge = lines(&out, "FAIL");
    assert!(
        edge.iter().any(|l| l.contains("5 edge")
            && l.contains("the Cloudflare edge refuses the device's request: 403 (error 1010), and tlspost's")),
        "{out}"
    );

    // A redirect: works for some devices, not for others: a warning naming the target.
    let (code, out) = run(env.port("good"), &root, "/r301", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out, "warn")
            .iter()
            .any(|l| l.contains("5 edge") && l.contains("301") && l.contains("the URL redirects")),
        "{out}"
    );
    let (why, _) = why_fix(&out, "the URL redirects");
    assert!(why.starts_with("to /echo;"), "{why}");

    // A body cut short behind TLS: FAIL, sent once.
    let before = env.origin.count("/midbody");
    let (code, out) = run(env.port("good"), &root, "/midbody", &["--send"]);
    assert_eq!(code, 1, "{out}");
    let (why, fix) = why_fix(&out, "--send: POST /midbody failed");
    assert!(why.contains("100"), "{why}");
    assert!(fix.contains("read until Content-Length bytes"), "{fix}");
    let posts = env
        .origin
        .received()
        .iter()
        .filter(|r| r.path.starts_with("/midbody") && r.head.starts_with(b"POST"))
        .count();
    assert_eq!(
        posts, 1,
        "the POST went out once ({} requests to /midbody before)",
        before
    );
}

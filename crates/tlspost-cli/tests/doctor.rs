//! `tlspost doctor` run as the real binary against `tlspost serve` started by each test (default
//! and `--profile edge`), and against real nginx (Debian's `nginx-light`) in front of a recording
//! origin, on ephemeral loopback ports, with PKIs made at test time.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tlspost_testkit::http::Received;
use tlspost_testkit::nginx::{Nginx, Site};
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
/// Whether a line that starts with `mark` holds every one of `parts`.
fn has_line(text: &str, mark: &str, parts: &[&str]) -> bool {
    lines(text, mark).iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// Asserts that doctor exited 1 with exactly one FAIL line, at `step`, naming `needle`; returns it.
fn the_one_fail<'a>(code: i32, out: &'a str, step: &str, needle: &str) -> &'a str {
    assert_eq!(code, 1, "{out}");
    let fails = lines(out, "FAIL");
    assert_eq!(fails.len(), 1, "only one step fails:\n{out}");
    assert!(fails[0].contains(step) && fails[0].contains(needle), "{out}");
    fails[0]
}

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
        assert!(has_line(&out, "ok", &[step]), "no ok line for step {step}:\n{out}");
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
    assert!(has_line(&out, "warn", &["refuses a handshake without SNI"]), "{out}");

    // With a real User-Agent the edge lets the device through: no FAIL, exit 0.
    let (code, out) = doctor_serve(&s, &["--json", GRANT, "-A", "acme-sensor/1.2"], "/oauth/token");
    assert_eq!(code, 0, "{out}");
    assert!(lines(&out, "FAIL").is_empty(), "{out}");
    assert!(has_line(&out, "ok", &["5 edge", "200 OK"]), "{out}");
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
    assert!(has_line(&out, "FAIL", &["lint TP303"]), "{out}");
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
    the_one_fail(code, &out, "4 request", "lint TP301");
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
    assert!(has_line(&out, "warn", &["which is a leaf", "not a root"]), "{out}");
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
    the_one_fail(code, &out, "2 tcp", "cannot connect: refused");
    let (why, fix) = why_fix(&out, "cannot connect: refused");
    assert!(
        why.contains(&format!("{}: nothing listens on that port", refused.addr())),
        "{why}"
    );
    assert!(fix.contains(&format!("check the port ({port})")), "{fix}");
    assert!(has_line(&out, "ok", &["1 dns", "from --resolve"]), "{out}");
    assert!(has_line(&out, "skip", &["3 tls"]), "{out}");
    assert!(has_line(&out, "skip", &["5 edge"]), "{out}");
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
    let (http, https) = (s.http().port(), s.https_port());
    let cases = [
        (
            run("https", http),
            format!("port {http} answers TLS with plain HTTP"),
            "answers TLS with plain HTTP",
            format!("use http:// for port {http}"),
        ),
        (
            run("http", https),
            format!("port {https} speaks TLS, but the URL is http://"),
            "speaks TLS, but the URL is http://",
            format!("use https://localhost:{https}/t"),
        ),
    ];
    for (out, fail, cause, fix_says) in cases {
        assert!(lines(&out, "FAIL")[0].contains(&fail), "{out}");
        let (_, fix) = why_fix(&out, cause);
        assert!(fix.contains(&fix_says), "{fix}");
    }
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
    let fail = the_one_fail(code, &out, "5 edge", "--send: POST /midbody failed");
    assert!(fail.contains("not retried"), "{out}");
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
    assert!(has_line(&out, "warn", &["refuses a handshake without SNI"]), "{out}");
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
        has_line(
            &out,
            "warn",
            &["\"tlspost Test Issuing CA\"", "which is an intermediate"]
        ),
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
    assert!(has_line(&out, "FAIL", &["a served certificate has expired"]), "{out}");
    let (code, out) = run(env.port("wrong"), &root, "/echo", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        has_line(&out, "FAIL", &[&format!("the certificate is not valid for {HOST}")]),
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
    assert!(has_line(&out, "warn", &["5 edge", "301", "the URL redirects"]), "{out}");
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

// Step 6: the device's TLS stacks, against real nginx, openssl s_server and caddy.

/// The name the device stacks' servers are for.
const DEVICE_HOST: &str = "device.test";

/// `tlspost doctor` for a device that pins `root`, posting to `DEVICE_HOST` at `port` on
/// loopback, with `extra` flags (e.g. `--device NAME`).
fn doctor_device(root: &Ca, port: u16, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = tlspost_testkit::write(dir.path(), "root.pem", &root.pem);
    let ca = ca.display().to_string();
    let resolve = format!("{DEVICE_HOST}:{port}:127.0.0.1");
    let url = format!("https://{DEVICE_HOST}:{port}/");
    let mut args = vec![
        "--cacert",
        ca.as_str(),
        "--resolve",
        resolve.as_str(),
        "-A",
        "acme-sensor/1.2",
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    doctor(&args)
}

/// The lines under the first check line containing `needle`, trimmed, up to the next check line.
fn under<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    let mut it = text.lines().skip_while(|l| !(l.starts_with('[') && l.contains(needle)));
    it.next()
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"));
    it.take_while(|l| !l.starts_with('[') && !l.is_empty())
        .map(str::trim)
        .collect()
}

/// The value after `label` among `lines`.
fn labelled<'a>(lines: &[&'a str], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in {lines:#?}"))
}

/// The report's last lines before the closing one: step 6's, one per stack.
fn stack_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    let at = lines
        .iter()
        .position(|l| l.contains(" 6 device "))
        .unwrap_or_else(|| panic!("no step 6 in:\n{text}"));
    lines[at..].to_vec()
}

fn nginx_for(leaf: &tlspost_testkit::Leaf, protocols: Option<&str>) -> Nginx {
    let mut site = Site::new("device", &leaf.pem, &leaf.key_pem);
    if let Some(p) = protocols {
        site = site.protocols(p);
    }
    Nginx::start(&[site])
}

#[test]
fn device_tlspost_fails_a_tls12_only_server_and_the_summary_names_each_stack() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf(&[DEVICE_HOST]);
    let server = nginx_for(&leaf, Some("TLSv1.2"));
    let port = server.port(0);

    // Without --device: every step ok (rustls speaks TLS 1.2), and the last lines say which
    // stacks can talk; one that cannot is no FAIL (no stack was named).
    let (code, out) = doctor_device(&root, port, &[]);
    assert_eq!(code, 0, "{out}");
    let stacks = stack_lines(&out);
    assert_eq!(stacks.len(), tlspost_doctor::profile::PROFILES.len(), "{out}");
    assert!(
        stacks[0].starts_with("[no]   6 device   tlspost cannot talk: ") && stacks[0].contains("TLS 1.3"),
        "{out}"
    );
    for (line, name) in stacks[1..].iter().zip(["esp-idf", "arduino-esp32", "esp8266"]) {
        assert!(
            line.starts_with(&format!("[ok]   6 device   {name} can talk to this server")),
            "{out}"
        );
    }
    assert!(lines(&out, "FAIL").is_empty(), "{out}");
    assert!(
        !out.trim_end().lines().last().unwrap_or_default().contains("FAIL"),
        "{out}"
    );

    // --device tlspost: the cause first, with why and a fix on each side; exit 1.
    let (code, out) = doctor_device(&root, port, &["--device", "tlspost"]);
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert_eq!(fails, ["[FAIL] 6 device   tlspost cannot talk to this server"], "{out}");
    let u = under(&out, "tlspost cannot talk");
    assert!(labelled(&u, "why: ").contains("the server refused TLS 1.3"), "{out}");
    assert!(
        u.iter()
            .any(|l| l.starts_with("→ also seen by the probes: the server accepts none")),
        "{out}"
    );
    assert!(
        labelled(&u, "fix on the server: ").contains("ssl_protocols TLSv1.2 TLSv1.3;"),
        "{out}"
    );
    assert!(labelled(&u, "fix on the device: ").contains("TLS 1.2"), "{out}");
    let last = out.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("1 FAIL, 0 warn: fix the first FAIL first")
            && last.contains("6 device: tlspost cannot talk to this server: "),
        "{last}"
    );

    // As JSON: the named stack's verdict with its typed cause.
    let (code, out) = doctor_device(&root, port, &["--device", "tlspost", "--json-output"]);
    assert_eq!(code, 1, "{out}");
    let doc: Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(
        (doc["ok"].clone(), doc["device"].clone()),
        (Value::Bool(false), "tlspost".into())
    );
    assert_eq!(doc["anchors"], "pinned");
    let p = &doc["profiles"][0];
    assert_eq!(
        (p["name"].as_str(), p["can_talk"].as_bool()),
        (Some("tlspost"), Some(false)),
        "{doc}"
    );
    assert_eq!(p["first"]["mark"], "fail");
    assert_eq!(p["first"]["cause"]["kind"], "device");
    assert!(
        p["first"]["fix"]["server"]
            .as_str()
            .unwrap_or_default()
            .contains("ssl_protocols"),
        "{doc}"
    );
    assert!(
        p["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["cause"]["kind"] == "no_common_version")),
        "{doc}"
    );
}

#[test]
fn device_tlspost_fails_an_rsa_leaf_with_the_ecdsa_fix_and_esp_idf_talks() {
    let root = Ca::root("Device Root");
    let leaf = root
        .leaf_builder(&[DEVICE_HOST])
        .alg(tlspost_testkit::Alg::Rsa2048)
        .issue();
    let server = nginx_for(&leaf, None);
    let port = server.port(0);
    let (code, out) = doctor_device(&root, port, &["--device", "tlspost"]);
    assert_eq!(code, 1, "{out}");
    let u = under(&out, "tlspost cannot talk to this server");
    assert!(labelled(&u, "why: ").contains("RSA"), "{out}");
    assert!(
        labelled(&u, "fix on the server: ").contains("ECDSA P-256 certificate"),
        "{out}"
    );
    assert!(labelled(&u, "fix on the device: ").contains("RSA"), "{out}");
    // The chain probe sees the same cause: folded under it, not a second FAIL.
    assert_eq!(lines(&out, "FAIL").len(), 1, "{out}");
    assert!(
        u.iter()
            .any(|l| l.contains("also seen by the probes: certificate #1's key is RSA")),
        "{out}"
    );

    let (code, out) = doctor_device(&root, port, &["--device", "esp-idf"]);
    assert_eq!(code, 0, "{out}");
    assert!(has_line(&out, "ok", &["esp-idf can talk to this server"]), "{out}");
}

#[test]
fn device_esp_idf_fails_a_chain_over_its_buffer() {
    let root = Ca::root("Device Root");
    let big = root.leaf_builder(&[DEVICE_HOST]).extra_names(800).issue();
    let server = nginx_for(&big, None);
    let (code, out) = doctor_device(&root, server.port(0), &["--device", "esp-idf"]);
    assert_eq!(code, 1, "{out}");
    let u = under(&out, "esp-idf cannot talk to this server");
    let why = labelled(&u, "why: ");
    assert!(why.contains("over the device's 16384-byte input buffer"), "{why}");
    assert!(labelled(&u, "fix on the server: ").contains("smaller chain"), "{out}");
    assert!(
        labelled(&u, "fix on the device: ").contains("CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN"),
        "{out}"
    );
}

#[test]
fn device_esp8266_says_whether_the_server_honours_max_fragment_length() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf(&[DEVICE_HOST]);
    // OpenSSL honours it.
    let server = tlspost_testkit::s_server::SServer::start(&leaf.pem, &leaf.key_pem, &["-tls1_2"]);
    let (code, out) = doctor_device(&root, server.port(), &["--device", "esp8266"]);
    assert!(
        has_line(&out, "ok", &["max_fragment_length 512 bytes: honoured"]),
        "{out}"
    );
    assert!(has_line(&out, "ok", &["esp8266 can talk"]), "{out}");
    // s_server answers no HEAD, so step 5 may warn or fail; step 6 is what is judged here.
    assert!(code == 0 || code == 1, "{out}");

    // Go's crypto/tls (caddy) does not: a warning with a fix on each side.
    let server = tlspost_testkit::caddy::Caddy::start(DEVICE_HOST, &leaf.pem, &leaf.key_pem);
    let (_, out) = doctor_device(&root, server.port(), &["--device", "esp8266"]);
    let warn = lines(&out, "warn");
    assert!(
        warn.iter()
            .any(|l| l.contains("max_fragment_length 512 bytes: not honoured")),
        "{out}"
    );
    let u = under(&out, "max_fragment_length 512 bytes: not honoured");
    assert!(
        labelled(&u, "fix on the server: ").contains("max_fragment_length"),
        "{out}"
    );
    assert!(labelled(&u, "fix on the device: ").contains("16 KB"), "{out}");
}

/// `tlspost doctor ARGS` on a pseudo-terminal (script(1)) with `env` set.
fn doctor_in_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let cmd = format!("{TLSPOST} doctor {args}");
    let mut c = Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script(1) from util-linux/bsdutils");
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[test]
fn a_terminal_gets_wrapped_coloured_lines_no_color_and_a_pipe_plain_ones_and_steps_show_as_they_complete() {
    let s = serve("default");
    let (ca, resolve, url) = (ca_file(&s), resolve_localhost(&s), https_url(&s, "/oauth/token"));
    let args = format!("--cacert {ca} --resolve {resolve} -A ESP32HTTPClient {url}");

    let shown = doctor_in_terminal(&args, &[("COLUMNS", "60")]);
    assert!(
        shown.contains("\u{1b}[1;31m[FAIL]\u{1b}[0m 4 request  lint TP304"),
        "{shown:?}"
    );
    assert!(shown.contains("\u{1b}[32m[ok]\u{1b}[0m   1 dns"), "{shown:?}");
    let plain: Vec<String> = shown
        .lines()
        .map(|l| {
            l.replace("\u{1b}[1;31m", "")
                .replace("\u{1b}[32m", "")
                .replace("\u{1b}[33m", "")
                .replace("\u{1b}[0m", "")
                .replace("\u{1b}[1m", "")
                .replace("\u{1b}[2m", "")
        })
        .collect();
    // Wrapped at 60, a word longer than a line aside; continuation lines under the text.
    for l in &plain {
        assert!(
            l.chars().count() <= 60 || !l.trim().contains(' '),
            "{l:?} is over 60 columns:\n{}",
            plain.join("\n")
        );
    }
    let why = plain
        .iter()
        .position(|l| l.trim_start().starts_with("why: User-Agent `ESP32HTTPClient`"))
        .unwrap_or_else(|| panic!("{}", plain.join("\n")));
    assert!(plain[why + 1].starts_with(&" ".repeat(18 + 5)), "{:?}", plain[why + 1]);
    // The closing line names the first FAIL.
    let last = plain
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .cloned()
        .unwrap_or_default();
    let closing: String = plain
        .iter()
        .skip_while(|l| !l.contains(" FAIL, "))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        closing.contains("the first FAIL first") && closing.contains("4 request: lint TP304"),
        "{closing} / {last}"
    );

    // NO_COLOR: wrapped, no colour.
    let shown = doctor_in_terminal(&args, &[("COLUMNS", "60"), ("NO_COLOR", "1")]);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(
        shown
            .lines()
            .all(|l| l.chars().count() <= 60 || !l.trim().contains(' ')),
        "{shown}"
    );

    // A pipe: neither colour nor wrapping, whatever COLUMNS says.
    let out = Command::new(TLSPOST)
        .args([
            "doctor",
            "--cacert",
            &ca,
            "--resolve",
            &resolve,
            "-A",
            "ESP32HTTPClient",
            &url,
        ])
        .env("COLUMNS", "60")
        .env_remove("NO_COLOR")
        .output()
        .expect("run tlspost doctor");
    let piped = String::from_utf8_lossy(&out.stdout);
    assert!(!piped.contains('\u{1b}'), "{piped}");
    assert!(piped.lines().any(|l| l.chars().count() > 60), "{piped}");

    // Steps print as they complete: against a listener that never answers the ClientHello, step 2's
    // line arrives while step 3 still waits for its (long) timeout, i.e. while doctor still runs.
    let quiet = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = quiet.local_addr().expect("addr").port();
    let mut child = Command::new(TLSPOST)
        .args([
            "doctor",
            "--connect-timeout",
            "60",
            &format!("https://127.0.0.1:{port}/"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tlspost doctor");
    let stdout = child.stdout.take().expect("stdout");
    let mut still_running_at_tcp = None;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.expect("a line");
        if line.contains(" 2 tcp ") {
            still_running_at_tcp = Some(child.try_wait().expect("try_wait").is_none());
            break;
        }
    }
    let _ = child.kill();
    child.wait().expect("wait");
    assert_eq!(
        still_running_at_tcp,
        Some(true),
        "step 2's line came only when doctor had ended"
    );
    drop(quiet);
}

#[test]
fn an_unknown_device_is_a_usage_error_listing_the_stacks() {
    let (code, out) = doctor(&["--device", "esp32-wroom", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("'esp32-wroom'") && out.contains("--device"), "{out}");
    for p in tlspost_doctor::profile::PROFILES {
        assert!(out.contains(p.name), "{} is not listed:\n{out}", p.name);
    }
    // Nothing was probed: the usage error comes before step 1.
    assert!(lines(&out, "ok").is_empty() && lines(&out, "FAIL").is_empty(), "{out}");
}

#[test]
fn device_refusing_for_step_3s_cause_is_a_skip_not_a_second_fail() {
    let root = Ca::root("Device Root");
    let leaf = root.leaf_builder(&[DEVICE_HOST]).validity(Validity::expired()).issue();
    let server = nginx_for(&leaf, None);
    let (code, out) = doctor_device(&root, server.port(0), &["--device", "tlspost"]);
    assert_eq!(code, 1, "{out}");
    // One cause, one FAIL: step 3's, naming the expiry.
    let fails = lines(&out, "FAIL");
    assert_eq!(fails.len(), 1, "{out}");
    assert!(
        fails[0].contains(" 3 tls ") && fails[0].contains("a served certificate has expired"),
        "{out}"
    );
    // The device's own verifier refuses for the same cause: its line is a skip that says so.
    let skip = lines(&out, "skip");
    assert!(
        skip.iter()
            .any(|l| l.contains(" 6 device ") && l.contains("tlspost cannot talk to this server, for step 3's FAIL")),
        "{out}"
    );
    let u = under(&out, "tlspost cannot talk to this server, for step 3's FAIL");
    assert!(labelled(&u, "why: ").contains("expired"), "{out}");
    let last = out.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("1 FAIL") && last.contains("3 tls"), "{last}");

    // As JSON: the stack cannot talk, and follows step 3's FAIL.
    let (_, out) = doctor_device(&root, server.port(0), &["--device", "tlspost", "--json-output"]);
    let doc: Value = serde_json::from_str(&out).expect("one JSON document");
    let p = &doc["profiles"][0];
    assert_eq!(
        (p["can_talk"].as_bool(), p["follows_tls"].as_bool()),
        (Some(false), Some(true)),
        "{doc}"
    );
}

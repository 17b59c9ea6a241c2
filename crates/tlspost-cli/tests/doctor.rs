//! `tlspost doctor` run as the real binary against `tlspost serve` started by each test (default
//! and `--profile edge`), and against real nginx (Debian's `nginx-light`) in front of a recording
//! origin, on ephemeral loopback ports, with PKIs made at test time.

#[path = "../../tlspost/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::Value;

/// `tlspost serve` in a child process; killed on drop.
struct Serve {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Serve {
    /// Starts `tlspost serve` with its HTTPS listener on an ephemeral port; `prepare` may put a CA
    /// into the data directory first.
    fn start(profile: &str, prepare: impl FnOnce(&Path)) -> Serve {
        let dir = tempfile::tempdir().expect("temp dir");
        prepare(dir.path());
        let (child, port) = launch(profile, dir.path());
        Serve { child, port, dir }
    }

    /// Stops the server and starts it again on the same data directory (default profile).
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, port) = launch("default", self.dir.path());
        self.child = child;
        self.port = port;
    }

    fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }

    fn resolve(&self) -> String {
        format!("localhost:{}:127.0.0.1", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }
}

/// Runs `tlspost serve` on `dir` with ephemeral ports; returns the process and its HTTPS port.
fn launch(profile: &str, dir: &Path) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tlspost"))
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
            "--profile",
            profile,
        ])
        .arg("--data")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tlspost serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut port = None;
    for line in lines.by_ref() {
        let line = line.expect("serve output");
        if let Some(rest) = line.split("HTTPS on https://").nth(1) {
            let addr = rest.trim().trim_end_matches('/');
            port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
            break;
        }
    }
    // Keep reading: the server must not die of a closed pipe while printing the rest of its banner.
    std::thread::spawn(move || lines.for_each(drop));
    (child, port.expect("tlspost serve printed its HTTPS port"))
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let s = Serve::start("default", |_| {});
    let (ca, resolve, url) = (s.ca(), s.resolve(), s.url("/oauth/token"));
    let base = [
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "--json",
        r#"{"grant_type":"client_credentials"}"#,
        "-A",
        "acme-sensor/1.2",
    ];
    let mut args = base.to_vec();
    args.push(&url);
    let (code, out) = doctor(&args);
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
    args.extend(["--send", "--json-output", &url]);
    let (code, out) = doctor(&args);
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
    let s = Serve::start("edge", |_| {});
    let (ca, resolve, url) = (s.ca(), s.resolve(), s.url("/oauth/token"));
    let (code, out) = doctor(&[
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "--json",
        r#"{"grant_type":"client_credentials"}"#,
        "-A",
        "ESP32HTTPClient",
        &url,
    ]);
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
    let (code, out) = doctor(&[
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "--json",
        r#"{"grant_type":"client_credentials"}"#,
        "-A",
        "acme-sensor/1.2",
        &url,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(lines(&out, "FAIL").is_empty(), "{out}");
    assert!(
        lines(&out, "ok")
            .iter()
            .any(|l| l.contains("5 edge") && l.contains("200 OK")),
        "{out}"
    );
    // A device that sends no User-Agent at all: TP303, and the probe says it used tlspost's.
    let file = s.dir.path().join("no-ua.http");
    std::fs::write(
        &file,
        format!(
            "POST /oauth/token HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\n\r\n{{}}",
            s.port
        ),
    )
    .expect("write");
    let file = file.display().to_string();
    let (code, out) = doctor(&["--cacert", &ca, "--resolve", &resolve, "--request", &file, &url]);
    assert_eq!(code, 1, "{out}");
    assert!(lines(&out, "FAIL").iter().any(|l| l.contains("lint TP303")), "{out}");
    assert!(
        out.contains("with the device's User-Agent (none: probed with tlspost's)"),
        "{out}"
    );
}

#[test]
fn c_json_sent_with_data_binary_and_no_content_type_is_tp301_with_its_fix() {
    let s = Serve::start("default", |_| {});
    let (ca, resolve, url) = (s.ca(), s.resolve(), s.url("/oauth/token"));
    let args = [
        "--cacert",
        ca.as_str(),
        "--resolve",
        &resolve,
        "--data-binary",
        r#"{"grant_type":"client_credentials"}"#,
        "-A",
        "acme-sensor/1.2",
    ];
    let mut a = args.to_vec();
    a.push(&url);
    let (code, out) = doctor(&a);
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
    a.extend(["--json-output", &url]);
    let (code, out) = doctor(&a);
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
    assert!(
        step["fix"].as_str().is_some_and(|f| f.contains("application/json")),
        "{step}"
    );

    // The bytes a device really sends, from a file: Arduino HTTPClient's POST without addHeader.
    let file = s.dir.path().join("device.http");
    let body = r#"{"grant_type":"client_credentials"}"#;
    let raw = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: localhost:{}\r\nUser-Agent: ESP32HTTPClient\r\nConnection: keep-alive\r\n\
         Accept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\nContent-Length: {}\r\n\r\n{body}",
        s.port,
        body.len()
    );
    std::fs::write(&file, raw).expect("write the request file");
    let file = file.display().to_string();
    let (code, out) = doctor(&[
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "--request",
        &file,
        "--send",
        &url,
    ]);
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert!(fails.iter().any(|l| l.contains("lint TP301")), "{out}");
    assert!(fails.iter().any(|l| l.contains("lint TP304")), "{out}");
    assert!(out.contains(&format!("read from {file}")), "{out}");
    // tlspost's client cannot send a body without a Content-Type, so it does not pretend to.
    let (why, _) = why_fix(&out, "--send: the request file cannot be re-sent");
    assert!(why.contains("no Content-Type"), "{why}");
}

/// A self-signed CA certificate with this common name, valid until the end of `until_year`.
fn ca_cert(cn: &str, org: Option<&str>, until_year: i32) -> (String, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(o) = org {
        dn.push(DnType::OrganizationName, o);
    }
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(until_year, 12, 31);
    let cert = p.self_signed(&key).expect("self-sign");
    (cert.pem(), key)
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
    let s = Serve::start("default", |_| {});
    let (pem, _) = ca_cert("Foreign Test Root", None, this_year() + 20);
    let foreign: PathBuf = s.dir.path().join("foreign.pem");
    std::fs::write(&foreign, pem).expect("write");
    let foreign = foreign.display().to_string();
    let (resolve, url) = (s.resolve(), s.url("/oauth/token"));
    let (code, out) = doctor(&["--cacert", &foreign, "--resolve", &resolve, "-A", "acme/1", &url]);
    assert_eq!(code, 1, "{out}");
    let fails = lines(&out, "FAIL");
    assert!(
        fails
            .iter()
            .any(|l| l.contains("3 tls") && l.contains("the device would refuse the server")),
        "{out}"
    );
    let (why, fix) = why_fix(&out, "the device would refuse the server");
    assert!(why.contains("\"Foreign Test Root\": no path to this root"), "{why}");
    assert!(
        fix.contains("pin the self-signed root certificate of \"CN=tlspost capture local CA"),
        "{fix}"
    );
    // Given the server's CA as a candidate, the recommendation names it and the file it is in.
    let ca = s.ca();
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
    let mut s = s;
    let dir = s.dir.path().to_path_buf();
    let mut chain = std::fs::read_to_string(dir.join("server.pem")).expect("server.pem");
    chain.push_str(&std::fs::read_to_string(dir.join("ca.pem")).expect("ca.pem"));
    std::fs::write(dir.join("server.pem"), chain).expect("write server.pem");
    s.restart();
    let (resolve, url) = (s.resolve(), s.url("/oauth/token"));
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
    let leaf = s.dir.path().join("server.pem").display().to_string();
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
    let (pem, key) = ca_cert("tlspost capture local CA", Some("tlspost"), this_year() + 1);
    let s = Serve::start("default", |dir| {
        std::fs::write(dir.join("ca.pem"), &pem).expect("ca.pem");
        std::fs::write(dir.join("ca.key"), key.serialize_pem()).expect("ca.key");
    });
    let (ca, resolve, url) = (s.ca(), s.resolve(), s.url("/t"));
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
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let resolve = format!("localhost:{port}:127.0.0.1");
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
        why.contains(&format!("127.0.0.1:{port}: nothing listens on that port")),
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
fn usage_errors_exit_2_with_a_message_that_says_what_to_give() {
    let (code, out) = doctor(&["--resolve", "nonsense", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("expected HOST:PORT:ADDR"), "{out}");
    let (code, out) = doctor(&["--resolve", "other:1:127.0.0.1", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("no entry is for the URL's host and port localhost:1"),
        "{out}"
    );
    let (code, out) = doctor(&["ftp://example.com/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot use URL"), "{out}");
    let (code, out) = doctor(&["--cacert", "/nonexistent/roots.pem", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--cacert /nonexistent/roots.pem"), "{out}");
    let (code, out) = doctor(&["--request", "x.http", "--json", "{}", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot be used with"), "{out}");
    let (code, out) = doctor(&["--json", "{}", "-d", "a=1", "https://localhost:1/"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("use only one of"), "{out}");
}

/// A plain-HTTP origin on loopback that announces 100 body bytes, sends 10 and closes: the
/// truncated answer a device that stops reading early cannot tell from a whole one. `HEAD` gets
/// the head alone, as it should. Returns the port and the requests it saw.
fn truncating_origin() -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64) {
            let Ok(mut s) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // The head, then the body its Content-Length announces.
            let want = loop {
                let Ok(n) = s.read(&mut buf) else { break None };
                if n == 0 {
                    break None;
                }
                req.extend_from_slice(&buf[..n]);
                if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                    let cl = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break Some(end + 4 + cl);
                }
            };
            let Some(want) = want else { continue };
            while req.len() < want {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head_only = req.starts_with(b"HEAD ");
            if req.windows(7).any(|w| w == b" /close") {
                // No framing at all: the body ends when the connection closes.
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
                if !head_only {
                    let _ = s.write_all(b"ok until close");
                }
            } else {
                let _ =
                    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n");
                if !head_only {
                    let _ = s.write_all(b"{\"ok\":tru");
                }
            }
            if !head_only {
                let _ = tx.send(req);
            }
            let _ = s.flush();
        }
    });
    (port, rx)
}

#[test]
fn send_reports_a_truncated_answer_and_sends_the_post_only_once() {
    let (port, seen) = truncating_origin();
    let url = format!("http://localhost:{port}/v1/telemetry");
    let resolve = format!("localhost:{port}:127.0.0.1");
    // Without --send nothing but HEAD probes reach the server.
    let (code, out) = doctor(&["--resolve", &resolve, "-A", "acme/1", "--json", "{\"t\":1}", &url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("plain HTTP: nothing is encrypted"), "{out}");
    assert!(seen.try_recv().is_err(), "a POST was sent without --send");

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
        fails[0].contains("5 edge") && fails[0].contains("--send: POST /v1/telemetry failed"),
        "{out}"
    );
    assert!(fails[0].contains("not retried"), "{out}");
    let (why, fix) = why_fix(&out, "--send: POST");
    assert!(why.contains("9") && why.contains("100"), "the byte counts: {why}");
    assert!(fix.contains("never stop at a read that returns no data yet"), "{fix}");
    let post = seen.recv_timeout(std::time::Duration::from_secs(5)).expect("the POST");
    assert!(
        post.starts_with(b"POST /v1/telemetry HTTP/1.1\r\n"),
        "{}",
        String::from_utf8_lossy(&post)
    );
    assert!(post.ends_with(b"{\"t\":1}"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(seen.try_recv().is_err(), "the POST was sent twice");

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
    let env = common::Env::start();
    let n = &env.nginx;
    let root = env.root_file().display().to_string();
    let inter = env.dir.path().join("inter.pem");
    std::fs::write(&inter, &env.pki.inter.pem).expect("write the intermediate");
    let inter = inter.display().to_string();
    let run = |port: u16, pin: &str, path: &str, extra: &[&str]| {
        let resolve = format!("{}:{port}:127.0.0.1", common::HOST);
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
    let (code, out) = run(n.good, &root, "/echo", &["--send"]);
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
    let (code, out) = run(n.good, &inter, "/echo", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        lines(&out, "warn")
            .iter()
            .any(|l| l.contains("\"tlspost Test Issuing CA\"") && l.contains("which is an intermediate")),
        "{out}"
    );
    let (_, fix) = why_fix(&out, "which is an intermediate");
    assert!(fix.contains("root certificate of \"CN=tlspost Test Root"), "{fix}");
    assert!(out.contains("the device's pinned certificates verify it"), "{out}");

    // The leaf alone: the intermediate is missing, and the fix says to send it.
    let (code, out) = run(n.leaf_only, &root, "/echo", &[]);
    assert_eq!(code, 1, "{out}");
    let (_, fix) = why_fix(&out, "the chain does not verify");
    assert!(
        fix.contains("\"CN=tlspost Test Issuing CA") || fix.contains("tlspost Test Issuing CA"),
        "{fix}"
    );
    assert!(fix.contains("configure the server to send it after the leaf"), "{fix}");
    assert!(out.contains("the device would refuse the server"), "{out}");

    // Expired and wrong-name leaves.
    let (code, out) = run(n.expired, &root, "/echo", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        lines(&out, "FAIL")
            .iter()
            .any(|l| l.contains("a served certificate has expired")),
        "{out}"
    );
    let (code, out) = run(n.wrong_name, &root, "/echo", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        lines(&out, "FAIL")
            .iter()
            .any(|l| l.contains(&format!("the certificate is not valid for {}", common::HOST))),
        "{out}"
    );

    // An edge-made 403 (error 1010) for every User-Agent: the edge refuses the request itself.
    let (code, out) = run(n.good, &root, "/edge1010", &[]);
    assert_eq!(code, 1, "{out}");
    let edge = lines(&out, "FAIL");
    assert!(
        edge.iter().any(|l| l.contains("5 edge")
            && l.contains("the Cloudflare edge refuses the device's request: 403 (error 1010), and tlspost's")),
        "{out}"
    );

    // A redirect: works for some devices, not for others: a warning naming the target.
    let (code, out) = run(n.good, &root, "/r301", &[]);
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
    let (code, out) = run(n.good, &root, "/midbody", &["--send"]);
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

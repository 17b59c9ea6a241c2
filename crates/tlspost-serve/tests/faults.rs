//! Faults the server names by their cause (issue 13, item 5): handshake failures told apart by
//! the rustls error or the client's alert, TLS on the plain port and plain HTTP on the TLS port,
//! a request framed by both Content-Length and Transfer-Encoding, the data directory's lock, a
//! damaged CA or database, and option values refused at start. Real clients (curl, openssl
//! s_client) on loopback; every wait is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use tlspost_serve::{Capture, Config, Server};
use tlspost_testkit::proc::StartError;
use tlspost_testkit::serve::Serve;

/// `openssl s_client` against `port` with `args`, its stdin closed so it ends after the
/// handshake (or its failure); bounded by `-verify_return_error` and the server's own answer.
fn s_client(port: u16, args: &[&str]) -> (String, i32) {
    let out = run(Command::new("timeout")
        .args(["20", "openssl", "s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .stdin(Stdio::null()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text, out.status.code().unwrap_or(-1))
}

/// `s_client` with `args` (and trusting the server's CA when `trusting`) must fail its handshake
/// with `r`; the failure as recorded.
fn refused(r: &Running, trusting: bool, args: &[&str], what: &str) -> Capture {
    let ca = r.ca_path();
    let trust = if trusting {
        vec!["-CAfile", ca.to_str().unwrap()]
    } else {
        vec![]
    };
    let (out, code) = s_client(r.https().port(), &[args, &trust].concat());
    assert_ne!(code, 0, "{what}: s_client must fail: {out}");
    failed_handshake(r, what)
}

/// The failed TLS connection recorded last, once stored.
fn failed_handshake(r: &Running, what: &str) -> Capture {
    r.wait_for(what, |c| c.scheme == "https" && c.error.is_some())
}

fn error(c: &Capture) -> &str {
    c.error.as_deref().unwrap()
}

#[test]
fn an_h2_only_alpn_offer_is_named_as_such() {
    let r = start();
    let args = ["-servername", "api.example.test", "-alpn", "h2"];
    let c = refused(&r, true, &args, "the refused ALPN offer");
    let e = error(&c);
    assert!(e.contains("ALPN") && e.contains("h2") && e.contains("http/1.1"), "{e}");
    assert!(e.contains("no_application_protocol"), "{e}");
    assert!(!e.contains("trust"), "not a CA problem: {e}");
}

#[test]
fn an_sni_that_is_not_a_host_name_is_named_as_such() {
    let r = start();
    let c = refused(&r, true, &["-servername", "bad_name!"], "the refused SNI");
    let e = error(&c);
    assert!(
        e.contains("`bad_name!`") && e.contains("not a valid DNS host name"),
        "{e}"
    );
    assert!(e.contains("illegal_parameter"), "{e}");
    assert!(!e.contains("trust"), "not a CA problem: {e}");
}

#[test]
fn an_sni_not_in_the_certificate_is_named_with_the_fix() {
    let r = start();
    let name = "unknown.example.test";
    let args = ["-servername", name, "-verify_hostname", name, "-verify_return_error"];
    let c = refused(&r, true, &args, "the rejected name");
    let e = error(&c);
    assert_eq!(c.sni.as_deref(), Some("unknown.example.test"));
    assert!(
        e.contains("`unknown.example.test`") && e.contains("not a name in the server certificate"),
        "{e}"
    );
    assert!(
        e.contains("add `unknown.example.test` to the certificate's names"),
        "{e}"
    );
    assert!(!e.contains("does not trust"), "the CA is trusted: {e}");
}

#[test]
fn an_untrusted_ca_is_named_by_the_clients_alert() {
    let r = start();
    let args = ["-servername", "api.example.test", "-verify_return_error"];
    let c = refused(&r, false, &args, "the untrusted CA");
    let e = error(&c);
    assert!(e.contains("unknown_ca") && e.contains("ca.pem"), "{e}");
}

/// A ClientHello as rustls writes it, for a client that then goes away.
fn client_hello(ca: &std::path::Path) -> Vec<u8> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(ca).unwrap()).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut conn = rustls::ClientConnection::new(Arc::new(cfg), "api.example.test".try_into().unwrap()).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    hello
}

#[test]
fn a_client_closing_mid_handshake_is_named_as_such() {
    let r = start();
    let mut s = connect(r.https());
    s.write_all(&client_hello(&r.ca_path())).unwrap();
    // The server's first flight arrives (all of it: read until it stops); the client leaves
    // without a word.
    let mut got = vec![0u8; 5];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got[0], 0x16, "a handshake record");
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut rest = [0u8; 4096];
    while let Ok(1..) = s.read(&mut rest) {}
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let c = failed_handshake(&r, "the abandoned handshake");
    let e = error(&c);
    assert!(e.contains("closed the connection during the TLS handshake"), "{e}");
    assert!(!e.contains("does not trust"), "{e}");
}

/// The `tlspost-serve` binary on ephemeral loopback ports with its data in `dir`.
fn capture_process(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlspost-serve"));
    cmd.args([
        "--http",
        "127.0.0.1:0",
        "--https",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--data",
    ])
    .arg(dir)
    .args(args);
    cmd
}

#[test]
fn two_servers_started_together_on_one_data_directory_one_refuses() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let starts: Vec<_> = (0..2)
            .map(|_| {
                let (barrier, data) = (barrier.clone(), data.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Serve::spawn(capture_process(&data, &[]), &data)
                })
            })
            .collect();
        let mut results: Vec<_> = starts.into_iter().map(|t| t.join().unwrap()).collect();
        let refused = results
            .iter()
            .position(Result::is_err)
            .unwrap_or_else(|| panic!("both servers started on one data directory"));
        let Err(StartError::Exited { output, .. }) = results.remove(refused) else {
            panic!("the refused one exits");
        };
        let Ok(running) = results.remove(0) else {
            panic!("one of the two starts")
        };
        let expected = format!(
            "data directory {} is in use by another capture server (pid {})",
            data.display(),
            running.pid()
        );
        assert!(output.contains(&expected), "{output}");
        // The one running serves the CA in ca.pem.
        let ca = std::fs::read_to_string(data.join("ca.pem")).unwrap();
        assert!(running.stdout().contains(ca.trim_end()), "{}", running.stdout());
    }
}

#[test]
fn a_second_server_in_process_is_refused_and_a_stale_lock_file_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    // Left by a server that is gone: the file is there, its lock is free.
    std::fs::write(dir.path().join("serve.lock"), "4194303\n").unwrap();
    let first = Server::start(support::config(dir.path())).expect("a stale lock file is taken over");
    let pid = std::process::id();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("serve.lock")).unwrap(),
        format!("{pid}\n")
    );
    let Err(e) = Server::start(support::config(dir.path())) else {
        panic!("a second server on the same data directory starts");
    };
    assert!(
        e.to_string()
            .contains(&format!("is in use by another capture server (pid {pid})")),
        "{e}"
    );
    drop(first);
    Server::start(support::config(dir.path())).expect("free again once the first is stopped");
}

/// `Server::start` on `dir`'s data, as an error message.
fn start_error(dir: &std::path::Path) -> String {
    match Server::start(support::config(dir)) {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_damaged_ca_or_a_key_not_its_own_is_refused_at_start_with_the_fix() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    drop(Server::start(support::config(a.path())).unwrap());
    drop(Server::start(support::config(b.path())).unwrap());
    let ca = a.path().join("ca.pem");
    let good = std::fs::read_to_string(&ca).unwrap();
    let fix = "to make a new CA, delete both ca.pem and ca.key";

    for garbage in [
        "not a certificate\n".to_string(),
        "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n".to_string(),
    ] {
        std::fs::write(&ca, &garbage).unwrap();
        let e = start_error(a.path());
        assert!(e.contains(&format!("{} ", ca.display())) && e.contains(fix), "{e}");
    }
    std::fs::write(&ca, &good).unwrap();

    // A key that is another CA's.
    std::fs::copy(b.path().join("ca.key"), a.path().join("ca.key")).unwrap();
    let e = start_error(a.path());
    assert!(
        e.contains(&format!(
            "{} does not match the certificate in ca.pem",
            a.path().join("ca.key").display()
        )),
        "{e}"
    );
    assert!(e.contains(fix), "{e}");

    // Deleting both makes a new CA.
    std::fs::remove_file(&ca).unwrap();
    let e = start_error(a.path());
    assert!(e.contains("ca.pem is missing, while ca.key is there"), "{e}");
    std::fs::remove_file(a.path().join("ca.key")).unwrap();
    let server = Server::start(support::config(a.path())).unwrap();
    assert_ne!(server.ca_pem(), good, "a new CA");
}

#[test]
fn option_values_that_cannot_run_are_refused_at_start() {
    use tlspost_serve::{ConfigError, MIN_HEAD, RespondRule};
    let dir = tempfile::tempdir().unwrap();
    let refused = |f: &dyn Fn(&mut Config), want: ConfigError, text: &str| {
        let mut c = support::config(dir.path());
        f(&mut c);
        assert_eq!(c.validate(), Err(want));
        let Err(e) = Server::start(c) else {
            panic!("started with {text}");
        };
        assert!(e.to_string().contains(text), "{e}");
    };
    refused(
        &|c| c.limits.max_connections = 0,
        ConfigError::NoConnections,
        "at most 0 connections at once",
    );
    refused(
        &|c| c.limits.max_head = 0,
        ConfigError::HeadTooSmall {
            max_head: 0,
            least: MIN_HEAD,
        },
        "the UI's own requests",
    );
    refused(
        &|c| c.limits.max_head = 512,
        ConfigError::HeadTooSmall {
            max_head: 512,
            least: MIN_HEAD,
        },
        "of 512 bytes is below 4096",
    );
    refused(
        &|c| c.names = vec![String::new()],
        ConfigError::BadName(String::new()),
        "a name for the server certificate is empty",
    );
    refused(
        &|c| c.names = vec!["two words".into()],
        ConfigError::BadName("two words".into()),
        "`two words` for the server certificate is neither a DNS name nor an IP address",
    );
    let mut rule = RespondRule::parse("GET /=200;x-a:b").unwrap();
    rule.headers = vec![("x-a".into(), "b\r\nInjected: 1".into())];
    refused(
        &|c| c.rules = vec![rule.clone()],
        ConfigError::RuleHeader {
            rule: 0,
            name: "x-a".into(),
        },
        "rule 1: header `x-a` is not a header line",
    );
    // Written in a rule, refused by its parser.
    for bad in [
        "GET /=200;x-a:b\r\nInjected: 1",
        "GET /=200;x-a:b\0c",
        "GET /=200;x-a:b\rc",
    ] {
        let e = RespondRule::parse(bad).expect_err(bad).to_string();
        assert!(e.contains("the header `x-a` has a CR, LF or NUL"), "{e}");
    }
    // What still runs: the least head limit, names with a wildcard or an IP.
    let mut c = support::config(dir.path());
    c.limits.max_head = MIN_HEAD;
    c.names = vec!["*.lan".into(), "192.168.1.20".into(), "fe80::1".into()];
    c.validate().unwrap();

    // The standalone binary says so and exits 2.
    for args in [
        &["--name", ""][..],
        &["--respond", "GET /=200;x-a:b\r\nInjected: 1"][..],
    ] {
        let out = run(&mut capture_process(dir.path(), args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("empty") || err.contains("CR, LF or NUL"), "{err}");
    }
}

#[test]
fn a_request_with_content_length_and_transfer_encoding_closes_the_connection() {
    let r = start();
    let mut s = TcpStream::connect(r.http()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"POST /both HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n",
    )
    .unwrap();
    let resp = read_response(&mut s).unwrap();
    assert_eq!(resp.status, 200, "framed by Transfer-Encoding");
    assert_eq!(resp.header("connection").as_deref(), Some("close"), "{}", resp.head);
    // Then the server closes (RFC 9112 §6.1), well within the read timeout (10 s).
    let t = Instant::now();
    let mut rest = Vec::new();
    let end = s.read_to_end(&mut rest);
    assert!(end.is_ok() && rest.is_empty(), "{end:?} {rest:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let c = r.capture(resp.capture_id());
    assert!(c.raw.ends_with(b"0\r\n\r\n"), "the chunked body is the request's");
}

#[test]
fn tls_on_the_plain_port_is_answered_at_once_and_recorded_with_the_https_port() {
    let r = start();
    let https_port = r.https().port();
    let t = Instant::now();
    let (_, err, code) = curl(&["--insecure", &format!("https://127.0.0.1:{}/x", r.http().port())]);
    assert_ne!(code, 0, "no TLS on the plain port: {err}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "answered at once, not after the read timeout: {:?}",
        t.elapsed()
    );
    let c = r.wait_for("the ClientHello on the plain port", |c| {
        c.scheme == "http" && c.error.is_some()
    });
    assert_eq!(
        c.raw.get(..2),
        Some(&[0x16, 0x03][..]),
        "the ClientHello's bytes are kept"
    );
    assert_eq!(
        c.error.as_deref(),
        Some(format!("TLS sent to the plain HTTP port: use https:// and the HTTPS port {https_port}").as_str())
    );
}

#[test]
fn plain_http_on_the_https_port_is_recorded_with_the_http_port() {
    let r = start();
    let http_port = r.http().port();
    let resp = send_raw(r.https(), &[b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"]);
    assert_eq!(resp.status, 400);
    assert!(
        resp.text()
            .contains(&format!("use http:// and the HTTP port {http_port}")),
        "{}",
        resp.text()
    );
    let c = r.wait_for("plain HTTP on the TLS port", |c| {
        c.scheme == "https" && c.error.is_some()
    });
    let e = error(&c);
    assert!(
        e.starts_with(&format!(
            "plain HTTP sent to the HTTPS port: use http:// and the HTTP port {http_port}"
        )),
        "{e}"
    );
}

/// A copy of a store of `n` captures, with the root page of its captures table overwritten.
fn damaged_copy(n: usize) -> tempfile::TempDir {
    let r = start();
    let body = vec![b'x'; 3000];
    for i in 0..n {
        let head = format!(
            "POST /c/{i} HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        assert_eq!(send_raw(r.http(), &[head.as_bytes(), &body]).status, 200);
    }
    let Running { server, dir } = r;
    drop(server);
    let copy = tempfile::tempdir().unwrap();
    for f in ["captures.sqlite3", "captures.sqlite3-wal"] {
        if dir.path().join(f).exists() {
            std::fs::copy(dir.path().join(f), copy.path().join(f)).unwrap();
        }
    }
    let db = copy.path().join("captures.sqlite3");
    let (page_size, root): (u64, u64) = {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        let size = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let root = c
            .query_row("SELECT rootpage FROM sqlite_master WHERE name = 'captures'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (size, root)
    };
    let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start((root - 1) * page_size)).unwrap();
    f.write_all(&vec![0xA5; usize::try_from(page_size).unwrap()]).unwrap();
    copy
}

#[test]
fn a_damaged_database_page_is_named_in_the_500() {
    let copy = damaged_copy(40);
    let server = Server::start(support::config(copy.path())).unwrap();
    let api = format!("http://{}/_tlspost/api/captures", server.http_addr().unwrap());
    let (body, err, code) = curl(&["-w", "\n%{http_code}", &api]);
    assert_eq!(code, 0, "{err}");
    assert!(body.ends_with("\n500"), "{body}");
    assert!(
        body.contains("database disk image is malformed"),
        "SQLite's error: {body}"
    );
    assert!(
        body.contains("captures.sqlite3") && body.contains(".recover"),
        "the fix: {body}"
    );
}

//! HTTPS captures: curl and openssl s_client against the generated CA; ClientHello facts, JA4,
//! negotiated parameters; the edge profile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

#[test]
fn curl_https_records_sni_alpn_versions_and_ja4() {
    let r = start();
    let args = [
        "-H",
        "Content-Type: application/json",
        "-A",
        "dev/1",
        "-d",
        r#"{"a":1}"#,
    ];
    let c = r.echoed(r.curl("https", "api.example.test", "/v1/token", &args));
    assert_eq!(c.scheme, "https");
    assert_eq!(c.sni.as_deref(), Some("api.example.test"), "the SNI curl sent");
    let t = c.tls.as_ref().unwrap();
    let h = &t.hello;
    assert_eq!(h.sni.as_deref(), Some("api.example.test"));
    assert_eq!(t.alpn.as_deref(), Some("http/1.1"));
    assert!(h.alpn.contains(&"http/1.1".to_string()), "{:?}", h.alpn);
    assert_eq!(t.version.as_deref(), Some("TLSv1.3"));
    assert!(t.cipher.as_deref().unwrap().starts_with("TLS13_"), "{:?}", t.cipher);
    assert!(h.versions.contains(&tlspost::probe::Version::Tls13));
    assert!(h.cipher_suites.contains(&0x1301) && !h.groups.is_empty() && !h.signature_algorithms.is_empty());
    assert!(t.ja4.starts_with("t13d"), "{}", t.ja4);
    assert_eq!(t.ja4.len(), 36, "{}", t.ja4);
    assert!(c.raw.starts_with(b"POST /v1/token HTTP/1.1\r\nHost: api.example.test:"));
    assert!(c.raw.ends_with(b"{\"a\":1}"));
    assert!(codes(&c).is_empty(), "{:?}", codes(&c));
}

/// Waits until `s_client` has taken everything written to its stdin. It reads its input only once
/// the handshake is done, and sends what one read returned as one TLS record: what was written
/// before this returned and what is written after travel in separate records.
fn wait_taken(s_client: &mut Reaped, stdin: &ChildStdin) {
    let until = Instant::now() + Duration::from_secs(15);
    while rustix::io::ioctl_fionread(stdin).expect("FIONREAD on the pipe") > 0 {
        if let Some(status) = s_client.0.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(e) = s_client.0.stderr.as_mut() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("openssl s_client exited with {status}: {err}");
        }
        assert!(Instant::now() < until, "openssl s_client took no input within 15 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn openssl_s_client_arduino_request_byte_exact() {
    let r = start();
    let mut s_client = Reaped(
        Command::new("openssl")
            .args(["s_client", "-quiet", "-connect"])
            .arg(r.https().to_string())
            .args(["-servername", "api.example.test", "-CAfile"])
            .arg(r.ca_path())
            .args(["-verify_return_error", "-tls1_2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl (Debian package openssl) runs"),
    );
    // Head and body in separate writes, as the device sends them; stdin stays open until the end
    // (-quiet ignores its end anyway).
    let mut stdin = s_client.0.stdin.take().unwrap();
    stdin.write_all(ARDUINO_HEAD).unwrap();
    wait_taken(&mut s_client, &stdin);
    stdin.write_all(ARDUINO_BODY).unwrap();
    let c = r.wait_for("the s_client request", |c| c.target.as_deref() == Some("/oauth/token"));
    drop(s_client);
    drop(stdin);
    assert_eq!(
        c.raw,
        [ARDUINO_HEAD, ARDUINO_BODY].concat(),
        "stored bytes equal sent bytes"
    );
    let t = c.tls.as_ref().unwrap();
    assert_eq!(t.hello.sni.as_deref(), Some("api.example.test"));
    assert_eq!(t.version.as_deref(), Some("TLSv1.2"));
    assert!(t.ja4.starts_with("t12d"), "{}", t.ja4);
    assert_eq!(t.alpn, None, "s_client offered no ALPN");
    let codes = codes(&c);
    assert!(
        codes.contains(&"TP301".to_string()) && codes.contains(&"TP304".to_string()),
        "{codes:?}"
    );
}

#[test]
fn garbage_and_plain_http_on_the_tls_port_are_recorded_and_survived() {
    let r = start();
    let resp = send_raw(r.https(), &[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]);
    assert_eq!(resp.status, 400, "plain HTTP to the HTTPS port gets a plain answer");
    let garbage: Vec<u8> = (0..3000u32).map(|i| (i * 7919 % 251) as u8).collect();
    {
        let mut s = std::net::TcpStream::connect(r.https()).unwrap();
        let _ = s.write_all(&garbage);
    }
    let c = r.wait_for("the garbage", |c| {
        c.raw.first() == garbage.first() && c.scheme == "https"
    });
    assert!(
        c.error.as_deref().unwrap().contains("not a TLS ClientHello"),
        "{:?}",
        c.error
    );
    // Still serving TLS.
    let (_, err, code) = r.curl("https", "localhost", "/ok", &[]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn edge_profile_refuses_like_a_strict_cdn() {
    let r = start_with(|c| c.profile = tlspost_serve::Profile::Edge);

    // No SNI (curl sends none for an IP literal): handshake failure.
    let (_, err, code) = r.curl("https", "127.0.0.1", "/", &[]);
    assert_ne!(code, 0, "the handshake must fail without SNI");
    assert!(
        err.contains("alert") || err.contains("unrecognized") || err.contains("SSL"),
        "{err}"
    );
    let c = r.wait_for("the refused handshake", |c| {
        c.error.as_deref().is_some_and(|e| e.contains("no SNI"))
    });
    assert_eq!(c.tls.as_ref().unwrap().hello.sni, None);

    // IP as Host: 1003.
    let resp = send_raw(
        r.http(),
        &[b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: dev/1\r\n\r\n"],
    );
    assert_eq!(resp.status, 403);
    assert!(resp.text().contains("error code: 1003"), "{}", resp.text());
    assert_eq!(resp.header("server").as_deref(), Some("tlspost-edge"));

    // Library default User-Agent: 1010 with a CF-RAY-like header.
    let resp = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]);
    assert_eq!(resp.status, 403);
    assert!(resp.text().contains("Error 1010"), "{}", resp.text());
    assert!(resp.header("cf-ray").is_some_and(|v| v.len() > 10));
    assert_eq!(r.capture(resp.capture_id()).status, 403);

    // SNI differs from Host: 1013.
    let api = |args: &[&str]| {
        r.curl(
            "https",
            "api.example.test",
            "/",
            &[&["-i", "-A", "dev/1"], args].concat(),
        )
    };
    let (out, err, code) = api(&["-H", "Host: other.example.test"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("HTTP/1.1 421"), "{out}");
    assert!(out.contains("1013"));

    // A good request passes.
    let (out, err, code) = api(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

#[test]
fn a_client_rejecting_the_certificate_is_recorded() {
    let r = start();
    let port = r.https().port();
    let (_, err, code) = r.curl("https", "not-in-cert.example.test", "/", &[]);
    assert_eq!(code, 60, "curl rejects a certificate without the name: {err}");
    let c = r.wait_for("the rejected certificate", |c| c.scheme == "https" && c.error.is_some());
    assert_eq!(c.sni.as_deref(), Some("not-in-cert.example.test"));
    assert!(
        c.error.as_deref().unwrap().contains("to the certificate's names"),
        "{:?}",
        c.error
    );

    // And one that does not trust the CA at all.
    let (_, _, code) = curl(&[&format!("https://localhost:{port}/")]);
    assert_eq!(code, 60);
    r.wait_for("the untrusted CA", |c| {
        c.error.as_deref().is_some_and(|e| e.contains("unknown_ca"))
    });
}

//! UI pages over plain HTTP: masking (of the request, and of the upstream's response in forward
//! mode, the kit's origin behind), raw and hex views, commands, diff, CA downloads; the connection
//! cap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Read as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;
use tlspost::url::HttpUrl;
use tlspost_serve::Forward;
use tlspost_testkit::origin::Origin;

const SECRET_REQ: &[u8] = b"POST /oauth/token HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nAuthorization: Bearer s3cr3t-value\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n{\"client_secret\":\"hunter2hunter2\",\"scope\":\"rw\"}";

#[test]
fn capture_page_masks_secrets_and_shows_raw_hex_and_commands() {
    let r = start();
    let id = send_raw(r.http(), &[SECRET_REQ]).capture_id();
    let page_url = format!("http://{}/_tlspost/captures/{id}", r.http());
    let (page, _, code) = curl(&[&page_url]);
    assert_eq!(code, 0);
    assert!(
        !page.contains("s3cr3t-value") && !page.contains("hunter2hunter2"),
        "secrets masked by default"
    );
    assert!(page.contains("Bearer ************"), "the scheme stays visible");
    assert!(page.contains("\\r\\n"), "raw bytes escaped");
    assert!(page.contains("00000000  50 4f 53 54"), "hex dump");
    assert!(page.contains("tlspost post"), "tlspost command");
    assert!(page.contains("curl -i --http1.1 -X POST"), "curl command");

    let (revealed, _, _) = curl(&[&format!("{page_url}?reveal=1")]);
    assert!(revealed.contains("s3cr3t-value") && revealed.contains("hunter2hunter2"));
    // The store keeps the exact bytes, unmasked.
    assert_eq!(r.capture(id).raw, SECRET_REQ);
}

#[test]
fn api_masks_secrets_unless_asked_to_show_them() {
    let r = start();
    let req: &[u8] = b"POST /oauth/token?access_token=q5ecret HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: dev/1\r\nAuthorization: Bearer s3cr3t-value\r\nCookie: sid=c00kie-value\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n{\"client_secret\":\"hunter2hunter2\",\"scope\":\"rw\"}";
    let id = send_raw(r.http(), &[req]).capture_id();
    let api = format!("http://{}/_tlspost/api/captures", r.http());
    let secrets = ["q5ecret", "s3cr3t-value", "c00kie-value", "hunter2hunter2"];
    let b64 = |v: &serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(v["raw"].as_str().unwrap())
            .unwrap()
    };

    for url in [
        format!("{api}/{id}"),
        format!("{api}?limit=1"),
        format!("{api}/{id}?reveal=0"),
    ] {
        let (out, _, code) = curl(&[&url]);
        assert_eq!(code, 0);
        for s in secrets {
            assert!(!out.contains(s), "{url}: `{s}` masked by default: {out}");
        }
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let c = if v.is_array() { &v[0] } else { &v };
        assert_eq!(c["id"], id);
        let raw = b64(c);
        assert_eq!(raw.len(), req.len(), "masking keeps the length, so offsets hold");
        let raw = String::from_utf8(raw).unwrap();
        assert!(
            raw.starts_with("POST /oauth/token?access_token=******* HTTP/1.1\r\n"),
            "{raw}"
        );
        assert!(raw.contains("Authorization: Bearer ************\r\n"), "{raw}");
        assert!(
            raw.contains("{\"client_secret\":\"**************\",\"scope\":\"rw\"}"),
            "{raw}"
        );
        let headers = c["headers"].as_array().unwrap();
        assert!(
            headers
                .iter()
                .any(|h| h[0] == "Authorization" && h[1] == "Bearer ************")
        );
        assert!(
            headers
                .iter()
                .any(|h| h[0] == "Cookie" && h[1] == format!("sid={}", "*".repeat("c00kie-value".len())))
        );
        assert!(
            headers.iter().any(|h| h[0] == "User-Agent" && h[1] == "dev/1"),
            "others as sent"
        );
        assert_eq!(c["target"], "/oauth/token?access_token=*******");
    }

    for url in [format!("{api}/{id}?reveal=1"), format!("{api}?limit=1&reveal=1")] {
        let (out, _, _) = curl(&[&url]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let c = if v.is_array() { &v[0] } else { &v };
        assert_eq!(b64(c), req, "{url}: the exact bytes on request");
        assert_eq!(c["target"], "/oauth/token?access_token=q5ecret");
    }
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn the_upstreams_response_is_masked_as_the_request_is() {
    let origin = Origin::start();
    let fwd = Forward::new(HttpUrl::parse(&format!("http://127.0.0.1:{}", origin.port)).unwrap());
    let r = start_with(|c| c.forward = Some(fwd));
    // The origin's /echo answers with the body it got: a token in a JSON body of the response.
    const TOKEN: &str = "t0ken-from-upstream";
    let body = format!("{{\"access_token\":\"{TOKEN}\",\"n\":1}}");
    let masked_body = body.replace(TOKEN, &"*".repeat(TOKEN.len()));
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let resp = send_raw(r.http(), &[head.as_bytes(), body.as_bytes()]);
    assert_eq!(
        resp.body,
        body.as_bytes(),
        "the device gets the origin's answer unmasked"
    );
    let id = r
        .wait_for("the response", |c| c.upstream.as_ref().is_some_and(|u| u.complete))
        .id;
    let base = format!("http://{}/_tlspost", r.http());
    let get = |url: &str| {
        let (out, err, code) = curl(&[url]);
        assert_eq!(code, 0, "{url}: {err}");
        out
    };

    // The JSON API, one and in a list: the body masked byte for byte, the head as received.
    for (url, reveal) in [
        (format!("{base}/api/captures/{id}"), false),
        (format!("{base}/api/captures?limit=5"), false),
        (format!("{base}/api/captures/{id}?reveal=1"), true),
        (format!("{base}/api/captures?limit=5&reveal=1"), true),
    ] {
        let v: serde_json::Value = serde_json::from_str(&get(&url)).unwrap();
        let c = if v.is_array() { &v[0] } else { &v };
        let up = &c["upstream"];
        let got = String::from_utf8(b64(up["body"].as_str().unwrap())).unwrap();
        assert_eq!(got, if reveal { body.as_str() } else { masked_body.as_str() }, "{url}");
        assert!(
            String::from_utf8(b64(up["head"].as_str().unwrap()))
                .unwrap()
                .starts_with("HTTP/1.1 200 OK\r\n"),
            "{url}"
        );
    }
    // HAR: the response's content.
    for (url, reveal) in [
        (format!("{base}/api/har?ids={id}"), false),
        (format!("{base}/api/har?ids={id}&reveal=1"), true),
    ] {
        let har: serde_json::Value = serde_json::from_str(&get(&url)).unwrap();
        let response = &har["log"]["entries"][0]["response"];
        assert_eq!(response["status"], 200);
        assert_eq!(
            response["content"]["text"],
            if reveal { body.as_str() } else { masked_body.as_str() },
            "{url}"
        );
    }
    // The capture page's response view, and the diff page's responses.
    let page = get(&format!("{base}/captures/{id}"));
    let response = page.split("id=\"response-body\"").nth(1).unwrap();
    assert!(
        !page.contains(TOKEN) && response.contains(&"*".repeat(TOKEN.len())),
        "{page}"
    );
    assert!(get(&format!("{base}/captures/{id}?reveal=1")).contains(TOKEN));
    send_raw(r.http(), &[b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n"]);
    let other = r
        .wait_for("the other", |c| {
            c.method.as_deref() == Some("GET") && c.upstream.as_ref().is_some_and(|u| u.complete)
        })
        .id;
    let diff = get(&format!("{base}/diff?a={id}&b={other}"));
    assert!(
        diff.contains("id=\"responses\"") && diff.contains("HTTP/1.1 200 OK"),
        "{diff}"
    );
    assert!(!diff.contains(TOKEN), "{diff}");

    // A replay's answer: the new response masked unless `reveal=1`.
    let token = page.split("data-csrf=\"").nth(1).unwrap().split('"').next().unwrap();
    for (query, reveal) in [("", false), ("?reveal=1", true)] {
        let (out, err, code) = curl(&[
            "-X",
            "POST",
            "-H",
            &format!("X-Tlspost-Csrf: {token}"),
            &format!("{base}/api/captures/{id}/replay{query}"),
        ]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["replay_of"], id, "{out}");
        let got = String::from_utf8(b64(v["upstream"]["body"].as_str().unwrap())).unwrap();
        assert_eq!(got, if reveal { body.as_str() } else { masked_body.as_str() });
        assert_eq!(v["difference"]["body_same"], true, "compared as received");
    }
    assert_eq!(origin.count("/echo"), 4);
}

#[test]
fn diff_page_shows_both_captures_side_by_side() {
    let r = start();
    let a = send_raw(r.http(), &[ARDUINO_HEAD, ARDUINO_BODY]).capture_id();
    let b = send_raw(
        r.http(),
        &[b"POST /oauth/token HTTP/1.1\r\nHost: api.example.test\r\nUser-Agent: curl/8\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"],
    )
    .capture_id();
    let (page, _, code) = curl(&[&format!("http://{}/_tlspost/diff?a={a}&b={b}", r.http())]);
    assert_eq!(code, 0);
    assert!(page.contains(&format!("#{a} vs #{b}")));
    assert!(page.contains("class=\"del\">User-Agent: ESP32HTTPClient"), "{page}");
    assert!(page.contains("class=\"add\">User-Agent: curl/8"));
    assert!(
        page.contains("class=\"\">Host: api.example.test"),
        "common lines unmarked"
    );
    let (_, _, code) = curl(&["-f", &format!("http://{}/_tlspost/diff?a={a}", r.http())]);
    assert_eq!(code, 22);
}

#[test]
fn ca_is_served_as_pem_and_arduino_source() {
    let r = start();
    let (pem, _, _) = curl(&[&format!("http://{}/_tlspost/ca.pem", r.http())]);
    assert_eq!(pem, std::fs::read_to_string(r.ca_path()).unwrap());
    let (h, _, _) = curl(&[&format!("http://{}/_tlspost/ca.h", r.http())]);
    assert!(
        h.contains("const char CA[] PROGMEM = R\"EOF(\n-----BEGIN CERTIFICATE-----"),
        "{h}"
    );
    assert!(h.trim_end().ends_with("-----END CERTIFICATE-----\n)EOF\";"), "{h}");
    assert!(r.server.banner().contains("PROGMEM"));
}

#[test]
fn connection_cap_queues_extra_clients_until_a_slot_frees() {
    let r = start_with(|c| {
        c.limits.max_connections = 2;
        c.limits.read_timeout = Duration::from_secs(1);
    });
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(r.http()).unwrap()).collect();
    // Both hold their slot: the server has accepted them (their read timeout runs from there).
    for s in &idle {
        tcp::wait_accepted(s);
    }
    let t = Instant::now();
    let resp = send_raw(r.http(), &[b"GET /queued HTTP/1.1\r\nHost: h\r\n\r\n"]);
    assert_eq!(resp.status, 200);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Served only once a slot was free: the server ended an idle connection (its read timeout)
    // before it took the queued one, so that connection's end (a 408 or the close) is already
    // here. An order, not a time: the machine may be slow.
    let freed = idle
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 256];
            match (&mut &**s).read(&mut b) {
                Ok(_) => true, // a 408 or the close (0 bytes)
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
                Err(_) => true, // reset
            }
        })
        .count();
    assert!(
        freed >= 1,
        "the queued request was served while both idle connections still held their slots"
    );
    drop(idle);
}

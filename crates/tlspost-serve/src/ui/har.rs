//! HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>) for a selection of captures: the
//! requests as the device sent them, the upstream's response as received in forward mode and for
//! replays (else the status this server answered), both with secrets masked unless `?reveal=1`,
//! the times; what HAR has no field for (the exact bytes, the peer, TLS facts, findings, who
//! answered) under `_tlspost`, as the format allows for custom fields.

use base64::Engine;
use serde_json::{Value, json};

use super::shared::{Payload, chunked_in, is_chunked};
use crate::record::{Capture, Upstream};

/// `name=value` pairs of a query string (not percent-decoded, as HAR keeps them).
fn query_pairs(target: &str) -> Vec<Value> {
    let Some((_, q)) = target.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            json!({"name": n, "value": v})
        })
        .collect()
}

fn cookies(headers: &[(String, String)]) -> Vec<Value> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

/// The cookies a response sets: each `Set-Cookie`'s name and value (its attributes left out).
fn set_cookies(headers: &[(String, String)]) -> Vec<Value> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next()?.trim().split_once('='))
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

fn pairs(headers: &[(String, String)]) -> Vec<Value> {
    headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect()
}

fn header(c: &Capture, name: &str) -> Option<String> {
    c.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// A payload as HAR text: itself when it is UTF-8, else base64 (`encoding`).
fn text(mime: String, payload: &[u8]) -> Value {
    match std::str::from_utf8(payload) {
        Ok(text) => json!({"mimeType": mime, "text": text}),
        Err(_) => json!({
            "mimeType": mime,
            "text": base64::engine::general_purpose::STANDARD.encode(payload),
            "encoding": "base64",
        }),
    }
}

/// The body's payload as HAR `postData` (a binary one base64, marked `_encoding`).
fn post_data(c: &Capture, payload: &[u8]) -> Value {
    let mut v = text(header(c, "content-type").unwrap_or_default(), payload);
    if let Some(e) = v.as_object_mut().and_then(|o| o.remove("encoding")) {
        v["_encoding"] = e;
    }
    v
}

/// The upstream's response as HAR: status line and header fields as received, the cookies it
/// sets, the kept body's payload (chunks decoded; the first bytes only when longer than kept).
fn upstream_response(u: &Upstream) -> Value {
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Response::new(&mut fields);
    let parsed = r.parse(&u.head).is_ok_and(|s| s.is_complete());
    let headers: Vec<(String, String)> = if parsed {
        r.headers
            .iter()
            .map(|h| (h.name.to_string(), crate::json::lossy(h.value).into_owned()))
            .collect()
    } else {
        Vec::new()
    };
    let field = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let chunked = chunked_in(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let payload = Payload::new(&u.body, chunked).collect::<Vec<_>>().concat();
    let mut content = text(field("content-type").unwrap_or_default(), &payload);
    content["size"] = json!(payload.len());
    if (u.body.len() as u64) < u.body_len {
        content["comment"] = json!(format!("the first {} of {} bytes received", u.body.len(), u.body_len));
    }
    json!({
        "status": u.status,
        "statusText": if parsed { r.reason.unwrap_or_default() } else { "" },
        "httpVersion": r.version.filter(|_| parsed).map_or_else(String::new, |v| format!("HTTP/1.{v}")),
        "cookies": set_cookies(&headers),
        "headers": pairs(&headers),
        "content": content,
        "redirectURL": field("location").unwrap_or_default(),
        "headersSize": u.head.len(),
        "bodySize": u.body_len,
        "comment": u.answered_by.as_ref().map(|a| a.text.clone())
            .or_else(|| u.error.as_ref().map(|e| format!("{}: {}", e.cause, e.message)))
            .unwrap_or_default(),
    })
}

/// The status this server answered by itself (its bytes are not stored).
fn own_response(c: &Capture) -> Value {
    json!({
        "status": c.status,
        "statusText": "",
        "httpVersion": c.version.clone().unwrap_or_default(),
        "cookies": [],
        "headers": [],
        "content": {"size": -1, "mimeType": ""},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
        "comment": if c.status == 0 { "no response was sent" } else { "the status this server answered" },
    })
}

fn ms(us: Option<u64>) -> f64 {
    us.map_or(-1.0, |v| v as f64 / 1000.0)
}

/// One HAR entry for a capture (already masked when it should be).
fn entry(c: &Capture) -> Value {
    let host = header(c, "host")
        .or_else(|| c.sni.clone())
        .unwrap_or_else(|| "localhost".into());
    let target = c.target.clone().unwrap_or_default();
    let url = format!("{}://{host}{target}", c.scheme);
    let payload: Vec<u8> = Payload::new(c.raw_body(), is_chunked(c)).collect::<Vec<_>>().concat();
    let mut request = json!({
        "method": c.method.clone().unwrap_or_default(),
        "url": url,
        "httpVersion": c.version.clone().unwrap_or_default(),
        "cookies": cookies(&c.headers),
        "headers": pairs(&c.headers),
        "queryString": query_pairs(&target),
        "headersSize": c.head_len,
        "bodySize": c.raw_body().len(),
    });
    if !payload.is_empty() {
        request["postData"] = post_data(c, &payload);
    }
    let t = &c.timing;
    let send = ms(t.body_us.or(t.head_us));
    let (wait, receive) = c
        .upstream
        .as_ref()
        .map_or((-1.0, -1.0), |u| (ms(u.timing.first_byte_us), ms(u.timing.body_us)));
    json!({
        "startedDateTime": c.time,
        "time": send.max(0.0) + wait.max(0.0) + receive.max(0.0),
        "request": request,
        "response": c.upstream.as_ref().map_or_else(|| own_response(c), upstream_response),
        "cache": {},
        "timings": {"send": send, "wait": wait, "receive": receive},
        "connection": c.conn.to_string(),
        "comment": c.error.clone().unwrap_or_default(),
        "_tlspost": {
            "id": c.id,
            "peer": c.peer,
            "complete": c.complete,
            "raw": c.raw_base64(),
            "sni": c.sni,
            "ja4": c.tls.as_ref().map(|t| t.ja4.clone()),
            "findings": c.findings.iter().map(|f| json!({"code": f.code, "severity": f.severity, "title": f.title})).collect::<Vec<_>>(),
            "upstream": c.upstream.as_ref().map(|u| u.url.clone()),
            "answered_by": c.upstream.as_ref().and_then(|u| u.answered_by.as_ref()).map(|a| a.who.clone()),
            "replay_of": c.replay_of,
        },
    })
}

/// A HAR 1.2 log of `captures`, oldest first.
pub(super) fn har(captures: &[Capture]) -> Value {
    let mut entries: Vec<Value> = captures.iter().map(entry).collect();
    entries.reverse();
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "tlspost serve", "version": env!("CARGO_PKG_VERSION")},
            "entries": entries,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_as_a_har_entry() {
        let raw = b"POST /t?a=1&b HTTP/1.1\r\nHost: h.example\r\nCookie: s=1; t=2\r\nContent-Type: application/octet-stream\r\n\r\n\x00\xff";
        let head = crate::framing::parse_head(raw).unwrap();
        let c = Capture {
            id: 3,
            scheme: "https".into(),
            time: "2024-01-01T00:00:00.000Z".into(),
            head_len: head.len,
            method: Some(head.method),
            target: Some(head.target),
            version: Some("HTTP/1.1".into()),
            headers: head.headers,
            raw: raw.to_vec(),
            status: 200,
            ..Capture::default()
        };
        let h = har(std::slice::from_ref(&c));
        let e = &h["log"]["entries"][0];
        assert_eq!(h["log"]["version"], "1.2");
        assert_eq!(e["request"]["url"], "https://h.example/t?a=1&b");
        assert_eq!(e["request"]["queryString"][1], json!({"name": "b", "value": ""}));
        assert_eq!(e["request"]["cookies"][1], json!({"name": "t", "value": "2"}));
        assert_eq!(e["request"]["postData"]["text"], "AP8=");
        assert_eq!(e["request"]["postData"]["_encoding"], "base64");
        assert_eq!(e["response"]["status"], 200);
        assert_eq!(e["_tlspost"]["raw"], c.raw_base64());
        assert_eq!(e["response"]["comment"], "the status this server answered");

        // Forward mode: the upstream's response as received, chunks decoded.
        let c = Capture {
            upstream: Some(Upstream {
                status: 302,
                head: b"HTTP/1.1 302 Found\r\nLocation: /next\r\nSet-Cookie: sid=1; Path=/\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
                body: b"2\r\nhi\r\n0\r\n\r\n".to_vec(),
                body_len: 12,
                ..Upstream::default()
            }),
            replay_of: Some(2),
            ..c
        };
        let r = &har(std::slice::from_ref(&c))["log"]["entries"][0]["response"];
        assert_eq!(
            (&r["status"], &r["statusText"], &r["httpVersion"]),
            (&json!(302), &json!("Found"), &json!("HTTP/1.1"))
        );
        assert_eq!(r["redirectURL"], "/next");
        assert_eq!(r["cookies"], json!([{"name": "sid", "value": "1"}]));
        assert_eq!(r["headers"][0], json!({"name": "Location", "value": "/next"}));
        assert_eq!(r["content"], json!({"mimeType": "", "text": "hi", "size": 2}));
        assert_eq!(
            (&r["headersSize"], &r["bodySize"]),
            (&json!(c.upstream.as_ref().unwrap().head.len()), &json!(12))
        );
    }
}

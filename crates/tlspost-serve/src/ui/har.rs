//! HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>) for a selection of captures: the
//! requests as the device sent them (secrets masked unless `?reveal=1`), the status answered, the
//! arrival times; what HAR has no field for (the exact bytes, the peer, TLS facts, findings) under
//! `_tlspost`, as the format allows for custom fields.

use base64::Engine;
use serde_json::{Value, json};

use crate::record::Capture;

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

fn header(c: &Capture, name: &str) -> Option<String> {
    c.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// The body's payload as HAR `postData`: text when it is UTF-8, else base64 (`_encoding`).
fn post_data(c: &Capture, payload: &[u8]) -> Value {
    let mime = header(c, "content-type").unwrap_or_default();
    match std::str::from_utf8(payload) {
        Ok(text) => json!({"mimeType": mime, "text": text}),
        Err(_) => json!({
            "mimeType": mime,
            "text": base64::engine::general_purpose::STANDARD.encode(payload),
            "_encoding": "base64",
        }),
    }
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
    let payload: Vec<u8> = super::pages::Payload::new(c.raw_body(), super::pages::is_chunked(c))
        .collect::<Vec<_>>()
        .concat();
    let mut request = json!({
        "method": c.method.clone().unwrap_or_default(),
        "url": url,
        "httpVersion": c.version.clone().unwrap_or_default(),
        "cookies": cookies(&c.headers),
        "headers": c.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        "queryString": query_pairs(&target),
        "headersSize": c.head_len,
        "bodySize": c.raw_body().len(),
    });
    if !payload.is_empty() {
        request["postData"] = post_data(c, &payload);
    }
    let t = &c.timing;
    let send = ms(t.body_us.or(t.head_us));
    json!({
        "startedDateTime": c.time,
        "time": send.max(0.0),
        "request": request,
        "response": {
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
        },
        "cache": {},
        "timings": {"send": send, "wait": -1, "receive": -1},
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
    }
}

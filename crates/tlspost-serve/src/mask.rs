//! Secrets masked for display, byte for byte so offsets and the hex view stay aligned: a thin
//! wrapper over the one secret policy of `tlspost_proto::secrets`, which the client's `-v` and
//! `--trace` use too (secret header values with an auth scheme word kept visible, cookie values,
//! URL user information, query, form and JSON fields with secret names). The upstream's response
//! of forward mode and replays is masked by the same policy ([`mask_upstream`]).

use tlspost_proto::secrets::{self, Span};

use crate::record::Upstream;

/// `bytes` with every span masked.
fn masked(bytes: &[u8], spans: impl Iterator<Item = Span>) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for span in spans {
        if let Some(b) = out.get_mut(span.range()) {
            b.fill(secrets::MASK);
        }
    }
    out
}

/// A header value for display: its secrets masked (the whole value of a secret header, with an
/// auth scheme such as `Bearer` or `Basic` left visible; cookie values; URL user information).
pub fn mask_header_value(name: &str, value: &str) -> String {
    let out = masked(
        value.as_bytes(),
        secrets::header_value(name.as_bytes(), value.as_bytes()),
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// Mask secrets inside raw request bytes whose head is the first `head_len` bytes (0: no head,
/// all body).
pub fn mask_raw(raw: &[u8], head_len: usize) -> Vec<u8> {
    masked(raw, secrets::message_with_head(raw, head_len))
}

/// [`mask_raw`] for a stored capture: when its head never parsed (`head_len` 0), the head is
/// taken to end at the first empty line, or at the end of the bytes when none arrived (a head
/// that never ended still has its secret header lines masked).
pub fn mask_capture(raw: &[u8], head_len: usize) -> Vec<u8> {
    let head_len = match head_len {
        0 => head_end(raw),
        n => n,
    };
    mask_raw(raw, head_len)
}

/// The index after the first empty line (CRLF CRLF or LF LF), or the length of `raw`.
fn head_end(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    }
}

/// The secret strings masked in `masked` (runs of bytes that differ from `raw`), longest first.
pub fn secrets(raw: &[u8], masked: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if masked.get(i) != raw.get(i) {
            let start = i;
            while i < raw.len() && masked.get(i) != raw.get(i) {
                i += 1;
            }
            let s = String::from_utf8_lossy(raw.get(start..i).unwrap_or_default()).into_owned();
            if s.len() >= 3 && !out.contains(&s) {
                out.push(s);
            }
        } else {
            i += 1;
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `text` with every one of `secrets` replaced by asterisks.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut t = text.to_string();
    for s in secrets {
        if t.contains(s.as_str()) {
            t = t.replace(s.as_str(), &"*".repeat(s.chars().count()));
        }
    }
    t
}

/// The secret strings of a capture's request bytes (head the first `head_len`, as
/// [`mask_capture`] reads them), longest first: what its other texts are scrubbed of.
pub fn capture_secrets(raw: &[u8], head_len: usize) -> Vec<String> {
    secrets(raw, &mask_capture(raw, head_len))
}

/// Secret strings sorted longest first (so a longer one is scrubbed before a part of it), each once.
pub fn longest_first(secrets: &mut Vec<String>) {
    secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    secrets.dedup();
}

/// `bytes` with every one of `secrets` masked byte for byte.
fn scrub_bytes(bytes: &mut [u8], secrets: &[String]) {
    for s in secrets.iter().map(String::as_bytes).filter(|s| !s.is_empty()) {
        let mut i = 0;
        while let Some(at) = bytes
            .get(i..)
            .and_then(|rest| rest.windows(s.len()).position(|w| w == s))
        {
            let end = i + at + s.len();
            if let Some(b) = bytes.get_mut(i + at..end) {
                b.fill(secrets::MASK);
            }
            i = end;
        }
    }
}

/// An upstream exchange for display, masked as a request is: the response's head and kept body
/// as one message, byte for byte (`Set-Cookie` values, secret header fields, JSON and form fields
/// with secret names, in a chunked body too), the values of the header fields rewritten on the
/// way, and wherever the secrets found, or `also` (the request's), appear again: in the bytes and
/// in the verdict and error texts. Returns the secrets found in the response, longest first.
pub fn mask_upstream(u: &mut Upstream, also: &[String]) -> Vec<String> {
    let head_len = u.head.len();
    let mut bytes = std::mem::take(&mut u.head);
    bytes.append(&mut u.body);
    let mut shown = mask_raw(&bytes, head_len);
    let found = secrets(&bytes, &shown);
    scrub_bytes(&mut shown, also);
    u.body = shown.split_off(head_len.min(shown.len()));
    u.head = shown;
    for r in &mut u.rewritten {
        for v in [&mut r.from, &mut r.to].into_iter().flatten() {
            *v = mask_header_value(&r.name, v);
        }
    }
    let mut all: Vec<String> = found.iter().chain(also).cloned().collect();
    longest_first(&mut all);
    let scrub = |t: &mut String| *t = scrub(t, &all);
    if let Some(a) = &mut u.answered_by {
        scrub(&mut a.text);
        scrub(&mut a.hint);
        a.ray.iter_mut().for_each(scrub);
    }
    if let Some(e) = &mut u.error {
        scrub(&mut e.message);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_headers_json_and_form_keeping_length() {
        let raw = b"POST /t HTTP/1.1\r\nAuthorization: Bearer abc.def\r\nCookie: s=1\r\nHost: a\r\n\r\n{\"client_secret\": \"xy\\\"z\", \"user\":\"bob\",\"refresh_token\":\"r1\"}";
        let head_len = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let m = mask_raw(raw, head_len);
        assert_eq!(m.len(), raw.len());
        let s = String::from_utf8(m).unwrap();
        assert!(s.contains("Authorization: Bearer *******\r\n"), "{s}");
        assert!(s.contains("Cookie: s=*\r\n"), "{s}");
        assert!(s.contains("Host: a\r\n"));
        assert!(s.contains("\"client_secret\": \"*****\""), "{s}");
        assert!(s.contains("\"user\":\"bob\""));
        assert!(s.contains("\"refresh_token\":\"**\""));
        let form = b"grant_type=password&password=hunter2&username=u";
        let m = String::from_utf8(mask_raw(form, 0)).unwrap();
        assert_eq!(m, "grant_type=password&password=*******&username=u");
        assert_eq!(mask_header_value("Authorization", "Basic dTpw"), "Basic ****");
        assert_eq!(mask_header_value("Accept", "x"), "x");
        let raw = b"a: 1\r\nCookie: abcdef\r\n\r\n";
        let found = secrets(raw, &mask_raw(raw, raw.len()));
        assert_eq!(found, vec!["abcdef".to_string()]);
        assert_eq!(scrub("cookie abcdef sent", &found), "cookie ****** sent");
    }

    #[test]
    fn masks_secret_query_fields_and_heads_that_never_ended() {
        let raw = b"GET /cb?code=1&access_token=abc123&x=y HTTP/1.1\r\nHost: h\r\n\r\n";
        let m = String::from_utf8(mask_capture(raw, raw.len())).unwrap();
        assert_eq!(m, "GET /cb?code=1&access_token=******&x=y HTTP/1.1\r\nHost: h\r\n\r\n");
        // No head parsed (it never ended): secret header lines are masked all the same.
        let raw = b"POST / HTTP/1.1\r\nAuthorization: Basic dTpw\r\nX-Pad: aaaa";
        let m = String::from_utf8(mask_capture(raw, 0)).unwrap();
        assert!(m.contains("Authorization: Basic ****\r\n"), "{m}");
        assert_eq!(m.len(), raw.len());
    }

    #[test]
    fn an_upstream_response_is_masked_as_a_request_is() {
        use crate::record::{AnsweredBy, Rewrite, UpstreamError};
        let head = b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=s3ss10n; Path=/; HttpOnly\r\nX-Api-Key: k3y-value\r\nTransfer-Encoding: chunked\r\n\r\n";
        let body = b"2c\r\n{\"access_token\":\"t0ken-value\",\"echo\":\"dev-pw\"}\r\n0\r\n\r\n";
        let mut u = Upstream {
            status: 200,
            head: head.to_vec(),
            body: body.to_vec(),
            body_len: body.len() as u64,
            rewritten: vec![Rewrite {
                toward: "upstream".into(),
                name: "Authorization".into(),
                from: Some("Bearer dev-pw".into()),
                to: None,
                why: "w".into(),
            }],
            answered_by: Some(AnsweredBy {
                text: "the origin answered t0ken-value".into(),
                ..AnsweredBy::default()
            }),
            error: Some(UpstreamError {
                cause: "closed".into(),
                message: "after s3ss10n".into(),
            }),
            ..Upstream::default()
        };
        let found = mask_upstream(&mut u, &["dev-pw".to_string()]);
        assert_eq!((u.head.len(), u.body.len()), (head.len(), body.len()), "byte for byte");
        let head = String::from_utf8(u.head.clone()).unwrap();
        assert!(head.contains("Set-Cookie: sid=*******; Path=/; HttpOnly\r\n"), "{head}");
        assert!(head.contains("X-Api-Key: *********\r\n"), "{head}");
        let body = String::from_utf8(u.body.clone()).unwrap();
        assert_eq!(
            body, "2c\r\n{\"access_token\":\"***********\",\"echo\":\"******\"}\r\n0\r\n\r\n",
            "chunk framing kept; the request's secret too"
        );
        assert_eq!(u.rewritten[0].from.as_deref(), Some("Bearer ******"));
        assert_eq!(u.answered_by.unwrap().text, "the origin answered ***********");
        assert_eq!(u.error.unwrap().message, "after *******");
        assert_eq!(found, ["t0ken-value", "k3y-value", "s3ss10n"]);
    }

    #[test]
    fn the_same_policy_as_the_client_trace() {
        let raw = b"GET http://u:pw@h/cb?client_secret=s HTTP/1.1\r\nHost: h\r\nX-Auth-Token: t0k\r\n\r\n";
        let head_len = raw.len();
        let mut expected = vec![0; raw.len()];
        tlspost_proto::secrets::mask_into(raw, &mut expected).unwrap();
        assert_eq!(mask_raw(raw, head_len), expected);
        assert_eq!(
            String::from_utf8(expected).unwrap(),
            "GET http://*:**@h/cb?client_secret=* HTTP/1.1\r\nHost: h\r\nX-Auth-Token: ***\r\n\r\n"
        );
        assert_eq!(mask_header_value("X-Auth-Token", "abc"), "***");
        assert_eq!(mask_header_value("Host", "me:pw@h"), "**:**@h");
    }
}

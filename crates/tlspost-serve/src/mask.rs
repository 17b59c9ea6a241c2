//! Secrets masked for display, byte for byte so offsets and the hex view stay aligned: a thin
//! wrapper over the one secret policy of `tlspost_proto::secrets`, which the client's `-v` and
//! `--trace` use too (secret header values with an auth scheme word kept visible, cookie values,
//! URL user information, query, form and JSON fields with secret names).

use tlspost_proto::secrets::{self, Span};

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

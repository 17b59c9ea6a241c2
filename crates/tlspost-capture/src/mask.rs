//! Secrets masked for display: same length, so offsets and the hex view stay aligned.

const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
];

fn secret_name(name: &[u8]) -> bool {
    let n = String::from_utf8_lossy(name).to_ascii_lowercase();
    n.contains("secret") || n.contains("password") || n.contains("token") || n.contains("passwd")
}

/// Whether a header's value is a secret.
pub fn secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) || secret_name(name.as_bytes())
}

/// A header value for display: masked when the header carries a secret. An auth scheme
/// (`Bearer`, `Basic`) stays visible.
pub fn mask_header_value(name: &str, value: &str) -> String {
    if !secret_header(name) {
        return value.to_string();
    }
    let (keep, secret) = match value.split_once(' ') {
        Some((scheme, rest)) if name.to_ascii_lowercase().contains("authorization") => (format!("{scheme} "), rest),
        _ => (String::new(), value),
    };
    format!("{keep}{}", "*".repeat(secret.len()))
}

/// Mask secrets inside raw request bytes: secret header values in the head (`head_len` bytes),
/// and values of JSON or form fields whose names contain secret/password/token in the body.
pub fn mask_raw(raw: &[u8], head_len: usize) -> Vec<u8> {
    let mut out = raw.to_vec();
    let head_len = head_len.min(out.len());
    // Head: line by line.
    let mut start = 0;
    while start < head_len {
        let end = out
            .get(start..head_len)
            .and_then(|l| l.iter().position(|&b| b == b'\n'))
            .map_or(head_len, |p| start + p);
        let line = out.get(start..end).unwrap_or_default().to_vec();
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(line.get(..colon).unwrap_or_default())
                .trim()
                .to_string();
            if secret_header(&name) {
                let mut v = colon + 1;
                while line.get(v).is_some_and(|b| *b == b' ' || *b == b'\t') {
                    v += 1;
                }
                // Keep an auth scheme word visible.
                if name.to_ascii_lowercase().contains("authorization") {
                    if let Some(sp) = line.get(v..).and_then(|r| r.iter().position(|&b| b == b' ')) {
                        v += sp + 1;
                    }
                }
                let mut stop = line.len();
                if line.last() == Some(&b'\r') {
                    stop -= 1;
                }
                for b in out.get_mut(start + v..start + stop).into_iter().flatten() {
                    *b = b'*';
                }
            }
        }
        start = end + 1;
    }
    // The request line's query: `?access_token=…&…` (form-field rules on the first line only).
    let line_end = out
        .get(..head_len)
        .and_then(|h| h.iter().position(|&b| b == b'\n'))
        .unwrap_or(head_len);
    if let Some(line) = out.get_mut(..line_end) {
        if let Some(q) = line.iter().position(|&b| b == b'?') {
            mask_body(line, q);
        }
    }
    mask_body(&mut out, head_len);
    out
}

/// [`mask_raw`] for a stored capture: when its head never parsed (`head_len` 0), the head is
/// taken to end at the first empty line, or at the end of the bytes when none arrived (a head
/// that never ended still has its secret header lines masked).
pub fn mask_capture(raw: &[u8], head_len: usize) -> Vec<u8> {
    let head_len = match head_len {
        0 => crate::framing::head_end(raw).unwrap_or(raw.len()),
        n => n,
    };
    mask_raw(raw, head_len)
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

fn mask_body(out: &mut [u8], from: usize) {
    let len = out.len();
    let mut i = from;
    while i < len {
        match out.get(i) {
            // JSON: "name" : "value"
            Some(b'"') => {
                let Some(close) = out.get(i + 1..).and_then(|r| r.iter().position(|&b| b == b'"')) else {
                    return;
                };
                let name_end = i + 1 + close;
                let name = out.get(i + 1..name_end).unwrap_or_default().to_vec();
                let mut j = name_end + 1;
                while out.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
                    j += 1;
                }
                if out.get(j) == Some(&b':') && secret_name(&name) {
                    j += 1;
                    while out.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
                        j += 1;
                    }
                    if out.get(j) == Some(&b'"') {
                        let mut k = j + 1;
                        while let Some(&b) = out.get(k) {
                            if b == b'"' {
                                break;
                            }
                            if let Some(x) = out.get_mut(k) {
                                *x = b'*';
                            }
                            if b == b'\\' {
                                if let Some(x) = out.get_mut(k + 1) {
                                    *x = b'*';
                                }
                                k += 1;
                            }
                            k += 1;
                        }
                        i = k + 1;
                        continue;
                    }
                }
                i = name_end + 1;
            }
            // Form: name=value&
            Some(b'=') => {
                let name_start = out
                    .get(from..i)
                    .and_then(|r| {
                        r.iter()
                            .rposition(|&b| b == b'&' || b == b'?' || b.is_ascii_whitespace())
                    })
                    .map_or(from, |p| from + p + 1);
                let name = out.get(name_start..i).unwrap_or_default().to_vec();
                let mut k = i + 1;
                if secret_name(&name) && !name.contains(&b'"') {
                    while let Some(&b) = out.get(k) {
                        if b == b'&' || b.is_ascii_whitespace() {
                            break;
                        }
                        if let Some(x) = out.get_mut(k) {
                            *x = b'*';
                        }
                        k += 1;
                    }
                }
                i = k;
            }
            _ => i += 1,
        }
    }
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
        assert!(s.contains("Cookie: ***\r\n"));
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
}

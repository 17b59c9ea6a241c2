//! The wire trace: the exact bytes both ways (escaped like `curl --trace-ascii`), TLS facts and
//! phase timings, with secrets masked unless asked otherwise.

use std::fmt::Write as _;
use std::time::Duration;

/// One thing that happened on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A line of information (connect, TLS summary, reuse, retry).
    Info(String),
    /// Application bytes written (after TLS decryption: what HTTP sees).
    Sent(Vec<u8>),
    /// Application bytes read.
    Received(Vec<u8>),
}

/// Wall-clock offsets from the start of one attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Name resolution done.
    pub dns: Duration,
    /// TCP connected (equal to `dns` on a reused connection).
    pub connect: Duration,
    /// TLS handshake done (equal to `connect` for plain HTTP or a reused connection).
    pub tls: Duration,
    /// The whole request written.
    pub sent: Duration,
    /// The first response byte read.
    pub first_byte: Duration,
    /// The response read to its end.
    pub total: Duration,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

impl Timings {
    /// One line: `dns 0.1 ms, connect 0.3 ms, tls 4.2 ms, sent 4.3 ms, first byte 5.0 ms, total 5.1 ms`.
    pub fn line(&self) -> String {
        format!(
            "dns {}, connect {}, tls {}, sent {}, first byte {}, total {}",
            ms(self.dns),
            ms(self.connect),
            ms(self.tls),
            ms(self.sent),
            ms(self.first_byte),
            ms(self.total)
        )
    }
}

const MASK: &[u8] = b"***";
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];
const SECRET_WORDS: &[&str] = &["secret", "password", "token"];

/// Masks secrets in HTTP bytes: the values of `Authorization`, `Proxy-Authorization`, `Cookie`,
/// `Set-Cookie` and `X-Api-Key` header lines, and JSON string (or number) values whose field name
/// contains `secret`, `password` or `token` (any case). Byte counts change; structure stays.
pub fn mask_secrets(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut line_start = true;
    let mut i = 0;
    while i < data.len() {
        if line_start {
            if let Some(end) = secret_header_value(data, i) {
                let (value_start, value_end) = end;
                out.extend_from_slice(data.get(i..value_start).unwrap_or_default());
                out.extend_from_slice(MASK);
                i = value_end;
                line_start = false;
                continue;
            }
        }
        let b = data.get(i).copied().unwrap_or(0);
        if b == b'"' {
            if let Some((key_end, value_start, value_end)) = secret_json_value(data, i) {
                out.extend_from_slice(data.get(i..value_start).unwrap_or_default());
                let quoted = data.get(value_start) == Some(&b'"');
                if quoted {
                    out.push(b'"');
                }
                out.extend_from_slice(MASK);
                if quoted {
                    out.push(b'"');
                }
                let _ = key_end;
                i = value_end;
                continue;
            }
        }
        out.push(b);
        line_start = b == b'\n';
        i += 1;
    }
    out
}

/// `(value_start, value_end)` when a header line starting at `at` names a secret header.
fn secret_header_value(data: &[u8], at: usize) -> Option<(usize, usize)> {
    let rest = data.get(at..)?;
    let colon = rest.iter().take(64).position(|&b| b == b':')?;
    let name = std::str::from_utf8(rest.get(..colon)?).ok()?;
    if !SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return None;
    }
    let mut vs = colon + 1;
    while rest.get(vs) == Some(&b' ') {
        vs += 1;
    }
    let ve = rest
        .iter()
        .skip(vs)
        .position(|&b| b == b'\r' || b == b'\n')
        .map_or(rest.len(), |p| p + vs);
    Some((at + vs, at + ve))
}

/// For a JSON key starting at the quote at `at`: `(key_end, value_start, value_end)` when the key
/// names a secret and a string or bare value follows its colon.
fn secret_json_value(data: &[u8], at: usize) -> Option<(usize, usize, usize)> {
    let mut j = at + 1;
    while let Some(&b) = data.get(j) {
        match b {
            b'\\' => j += 2,
            b'"' => break,
            _ => j += 1,
        }
    }
    let key = std::str::from_utf8(data.get(at + 1..j)?).ok()?.to_ascii_lowercase();
    if !SECRET_WORDS.iter().any(|w| key.contains(w)) {
        return None;
    }
    let key_end = j + 1;
    let mut k = key_end;
    while matches!(data.get(k), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        k += 1;
    }
    if data.get(k) != Some(&b':') {
        return None;
    }
    k += 1;
    while matches!(data.get(k), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        k += 1;
    }
    match data.get(k)? {
        b'"' => {
            let mut e = k + 1;
            while let Some(&b) = data.get(e) {
                match b {
                    b'\\' => e += 2,
                    b'"' => break,
                    _ => e += 1,
                }
            }
            Some((key_end, k, (e + 1).min(data.len())))
        }
        b'{' | b'[' => None,
        _ => {
            let e = data
                .iter()
                .skip(k)
                .position(|&b| matches!(b, b',' | b'}' | b']' | b' ' | b'\r' | b'\n'))
                .map_or(data.len(), |p| p + k);
            Some((key_end, k, e))
        }
    }
}

/// Appends `data` as `curl --trace-ascii` does: a `=> Send data, N bytes (0xN)` line, then one line
/// per input line with a hex offset, bytes outside printable ASCII shown as `.`.
pub fn render_ascii(out: &mut String, sent: bool, data: &[u8]) {
    let dir = if sent { "=> Send data" } else { "<= Recv data" };
    let _ = writeln!(out, "{dir}, {} bytes (0x{:x})", data.len(), data.len());
    let mut off = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        let _ = write!(out, "{off:04x}: ");
        for &b in line {
            match b {
                b'\r' | b'\n' => {}
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push('.'),
            }
        }
        out.push('\n');
        off += line.len();
    }
}

/// Renders a whole trace. With `show_secrets` false, secrets are masked (see [`mask_secrets`]).
pub fn render(events: &[TraceEvent], show_secrets: bool) -> String {
    let mut out = String::new();
    for e in events {
        match e {
            TraceEvent::Info(m) => {
                for line in m.lines() {
                    let _ = writeln!(out, "== Info: {line}");
                }
            }
            TraceEvent::Sent(d) | TraceEvent::Received(d) => {
                let sent = matches!(e, TraceEvent::Sent(_));
                if show_secrets {
                    render_ascii(&mut out, sent, d);
                } else {
                    render_ascii(&mut out, sent, &mask_secrets(d));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_headers_and_json_fields() {
        let req = b"POST / HTTP/1.1\r\nAuthorization: Bearer abc.def\r\ncookie: a=b\r\nHost: x\r\n\r\n\
{\"client_secret\": \"s3cr3t\", \"user\":\"me\", \"Password\":\"p\\\"w\", \"access_token\":42, \"n\":{\"tokenish\":\"t\"}}";
        let m = String::from_utf8(mask_secrets(req)).unwrap();
        assert!(m.contains("Authorization: ***\r\n"), "{m}");
        assert!(m.contains("cookie: ***\r\n"), "{m}");
        assert!(m.contains("Host: x\r\n"), "{m}");
        assert!(m.contains(r#""client_secret": "***""#), "{m}");
        assert!(m.contains(r#""user":"me""#), "{m}");
        assert!(m.contains(r#""Password":"***""#), "{m}");
        assert!(m.contains(r#""access_token":***,"#), "{m}");
        assert!(m.contains(r#""tokenish":"***""#), "{m}");
        for s in ["s3cr3t", "abc.def", "p\\\"w", "a=b"] {
            assert!(!m.contains(s), "{s} leaked: {m}");
        }
    }

    #[test]
    fn ascii_rendering_like_curl() {
        let mut s = String::new();
        render_ascii(&mut s, true, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x01x");
        assert_eq!(
            s,
            "=> Send data, 29 bytes (0x1d)\n0000: GET / HTTP/1.1\n0010: Host: a\n0019: \n001b: .x\n"
        );
    }
}

//! The wire trace: the exact bytes both ways (shown like `curl --trace-ascii`, every byte that is
//! not printable text escaped), TLS facts and phase timings, with secrets masked byte for byte unless
//! asked otherwise.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::Duration;

use tlspost_proto::escape::Escaped;
use tlspost_proto::secrets;

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

/// A duration in milliseconds, the one way this workspace shows a time: `4.2 ms` for people
/// ([`fmt::Display`], one decimal) and [`Ms::value`] for a machine-readable document.
///
/// ```
/// use std::time::Duration;
/// use tlspost::trace::Ms;
///
/// assert_eq!(Ms(Duration::from_micros(4_249)).to_string(), "4.2 ms");
/// assert_eq!(Ms(Duration::from_nanos(4_249_600)).value(), 4.25);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ms(pub Duration);

impl Ms {
    /// The milliseconds as a number, rounded to the microsecond.
    pub fn value(self) -> f64 {
        (self.0.as_secs_f64() * 1_000_000.0).round() / 1000.0
    }
}

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} ms", self.0.as_secs_f64() * 1000.0)
    }
}

impl Timings {
    /// One line: `dns 0.1 ms, connect 0.3 ms, tls 4.2 ms, sent 4.3 ms, first byte 5.0 ms, total 5.1 ms`.
    pub fn line(&self) -> String {
        format!(
            "dns {}, connect {}, tls {}, sent {}, first byte {}, total {}",
            Ms(self.dns),
            Ms(self.connect),
            Ms(self.tls),
            Ms(self.sent),
            Ms(self.first_byte),
            Ms(self.total)
        )
    }
}

/// `data` with its secrets masked byte for byte (the policy of [`tlspost_proto::secrets`]: secret
/// header values with the scheme word of `Authorization` kept, cookie values, URL user information,
/// query, form and JSON fields with secret names), so its length and every offset stay the same.
pub fn mask_secrets(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0; data.len()];
    // The buffer is exactly as long as the data: masking into it cannot fail.
    let _ = secrets::mask_into(data, &mut out);
    out
}

/// Free text (an information line) with its secrets masked: `name=value` pairs with secret names,
/// such as a URL's `?access_token=…`.
fn mask_text(text: &str) -> String {
    masked(text, secrets::body(text.as_bytes()))
}

/// `text` with each of `spans` (found in it by a [`secrets`] finder) masked byte for byte.
pub(crate) fn masked(text: &str, spans: secrets::Spans<'_>) -> String {
    let mut out = text.as_bytes().to_vec();
    for span in spans {
        if let Some(b) = out.get_mut(span.range()) {
            b.fill(secrets::MASK);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The events with their secrets masked. Consecutive bytes of one direction are masked as one
/// stream, so a secret split between two writes or reads is still found; each event keeps its length.
pub fn mask_events(events: &[TraceEvent]) -> Vec<TraceEvent> {
    let mut out = Vec::with_capacity(events.len());
    let mut i = 0;
    while let Some(e) = events.get(i) {
        let sent = match e {
            TraceEvent::Info(m) => {
                out.push(TraceEvent::Info(mask_text(m)));
                i += 1;
                continue;
            }
            TraceEvent::Sent(_) => true,
            TraceEvent::Received(_) => false,
        };
        let run: Vec<&[u8]> = events
            .get(i..)
            .unwrap_or_default()
            .iter()
            .map_while(|e| match e {
                TraceEvent::Sent(d) if sent => Some(d.as_slice()),
                TraceEvent::Received(d) if !sent => Some(d.as_slice()),
                _ => None,
            })
            .collect();
        let masked = mask_secrets(&run.concat());
        let mut at = 0;
        for d in &run {
            let part = masked.get(at..at + d.len()).unwrap_or_default().to_vec();
            at += d.len();
            out.push(if sent {
                TraceEvent::Sent(part)
            } else {
                TraceEvent::Received(part)
            });
        }
        i += run.len();
    }
    out
}

fn shown(events: &[TraceEvent], show_secrets: bool) -> Cow<'_, [TraceEvent]> {
    if show_secrets {
        Cow::Borrowed(events)
    } else {
        Cow::Owned(mask_events(events))
    }
}

/// Appends `data` as `curl --trace-ascii` does: a `=> Send data, N bytes (0xN)` line, then one line
/// per input line with its hex offset. The line ending is left out; every other byte that is not
/// printable text is escaped ([`Escaped`]: `\r`, `\x1b`, `\xff`), so nothing a server sends can
/// drive the terminal.
pub fn render_ascii(out: &mut String, sent: bool, data: &[u8]) {
    let dir = if sent { "=> Send data" } else { "<= Recv data" };
    let _ = writeln!(out, "{dir}, {} bytes (0x{:x})", data.len(), data.len());
    let mut off = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        let _ = writeln!(out, "{off:04x}: {}", Escaped(line_content(line)));
        off += line.len();
    }
}

/// A line without its ending (`\n` or `\r\n`).
fn line_content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Renders a whole trace. With `show_secrets` false, secrets are masked (see [`mask_events`]).
pub fn render(events: &[TraceEvent], show_secrets: bool) -> String {
    let mut out = String::new();
    for e in shown(events, show_secrets).iter() {
        match e {
            TraceEvent::Info(m) => {
                for line in m.lines() {
                    let _ = writeln!(out, "== Info: {}", Escaped(line.as_bytes()));
                }
            }
            TraceEvent::Sent(d) => render_ascii(&mut out, true, d),
            TraceEvent::Received(d) => render_ascii(&mut out, false, d),
        }
    }
    out
}

/// What `-v` shows, as curl does: information lines (`* `), and the heads both ways (`> ` sent,
/// `< ` received; an interim 1xx head and the final one), one line each, escaped ([`Escaped`]);
/// bodies are left out. With `show_secrets` false, secrets are masked (see [`mask_events`]).
pub fn verbose(events: &[TraceEvent], show_secrets: bool) -> String {
    let events = shown(events, show_secrets);
    let mut s = String::new();
    let mut i = 0;
    while let Some(e) = events.get(i) {
        let sent = match e {
            TraceEvent::Info(m) => {
                for line in m.lines() {
                    let _ = writeln!(s, "* {}", Escaped(line.as_bytes()));
                }
                i += 1;
                continue;
            }
            TraceEvent::Sent(_) => true,
            TraceEvent::Received(_) => false,
        };
        let mut run = Vec::new();
        while let Some(TraceEvent::Sent(d) | TraceEvent::Received(d)) = events.get(i) {
            if matches!(events.get(i), Some(TraceEvent::Sent(_))) != sent {
                break;
            }
            run.extend_from_slice(d);
            i += 1;
        }
        heads(&mut s, if sent { "> " } else { "< " }, &run);
    }
    s
}

/// Appends the head lines at the start of `data` (and those of the next head after an interim 1xx
/// response), each after `prefix`.
fn heads(out: &mut String, prefix: &str, mut data: &[u8]) {
    loop {
        let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
        let is_head = first.starts_with(b"HTTP/") || first.windows(6).any(|w| w == b" HTTP/");
        if !is_head {
            return;
        }
        let interim = first.starts_with(b"HTTP/")
            && first
                .split(|&b| b == b' ')
                .nth(1)
                .is_some_and(|c| c.len() == 3 && c.first() == Some(&b'1'));
        let mut rest = data;
        loop {
            let Some(line) = rest.split_inclusive(|&b| b == b'\n').next() else {
                return;
            };
            rest = rest.get(line.len()..).unwrap_or_default();
            let content = line_content(line);
            if content.is_empty() && line.ends_with(b"\n") {
                break;
            }
            let _ = writeln!(out, "{prefix}{}", Escaped(content));
        }
        if !interim {
            return;
        }
        data = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_headers_and_json_fields_keeping_the_length() {
        let req = b"POST /t?access_token=q1 HTTP/1.1\r\nAuthorization: Bearer abc.def\r\ncookie: a=b\r\nHost: x\r\n\
X-Auth-Token: t0k\r\n\r\n\
{\"client_secret\": \"s3cr3t\", \"user\":\"me\", \"Password\":\"p\\\"w\", \"access_token\":42, \"n\":{\"tokenish\":\"t\"}}";
        let m = String::from_utf8(mask_secrets(req)).unwrap();
        assert_eq!(m.len(), req.len());
        assert!(m.starts_with("POST /t?access_token=** HTTP/1.1\r\n"), "{m}");
        assert!(m.contains("Authorization: Bearer *******\r\n"), "{m}");
        assert!(m.contains("cookie: a=*\r\n"), "{m}");
        assert!(m.contains("Host: x\r\n"), "{m}");
        assert!(m.contains("X-Auth-Token: ***\r\n"), "{m}");
        assert!(m.contains(r#""client_secret": "******""#), "{m}");
        assert!(m.contains(r#""user":"me""#), "{m}");
        assert!(m.contains(r#""Password":"****""#), "{m}");
        assert!(m.contains(r#""access_token":**,"#), "{m}");
        assert!(m.contains(r#""tokenish":"*""#), "{m}");
        for s in ["s3cr3t", "abc.def", "p\\\"w", "a=b", "q1", "t0k"] {
            assert!(!m.contains(s), "{s} leaked: {m}");
        }
    }

    #[test]
    fn a_secret_split_between_two_writes_is_masked() {
        let events = vec![
            TraceEvent::Info("connecting; following 307 to https://h/cb?token=abc (POST)".into()),
            TraceEvent::Sent(b"GET / HTTP/1.1\r\nAuthoriz".to_vec()),
            TraceEvent::Sent(b"ation: Bearer sec".to_vec()),
            TraceEvent::Sent(b"ret\r\n\r\n".to_vec()),
            TraceEvent::Received(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"api_key\":".to_vec()),
            TraceEvent::Received(b"\"k-123\"}".to_vec()),
        ];
        let masked = mask_events(&events);
        let lens = |v: &[TraceEvent]| -> Vec<usize> {
            v.iter()
                .map(|e| match e {
                    TraceEvent::Info(m) => m.len(),
                    TraceEvent::Sent(d) | TraceEvent::Received(d) => d.len(),
                })
                .collect()
        };
        assert_eq!(lens(&masked), lens(&events));
        let text = render(&events, false);
        for s in ["sec", "ret", "k-123", "abc"] {
            assert!(!text.contains(s), "{s}: {text}");
        }
        assert!(text.contains("0000: ation: Bearer ***"), "{text}");
        assert!(text.contains("?token=*** (POST)"), "{text}");
        assert!(render(&events, true).contains("0000: ret"));
        let v = verbose(&events, false);
        assert_eq!(
            v,
            "* connecting; following 307 to https://h/cb?token=*** (POST)\n\
             > GET / HTTP/1.1\n> Authorization: Bearer ******\n\
             < HTTP/1.1 200 OK\n< Content-Length: 20\n"
        );
    }

    #[test]
    fn hostile_bytes_are_escaped_in_the_trace_and_in_verbose() {
        let events = vec![
            TraceEvent::Info("cert #0: subject CN=\u{1b}]0;owned\u{7}".into()),
            TraceEvent::Received(
                b"HTTP/1.1 100 Go\x1b[2J\r\n\r\nHTTP/1.1 200 \x1b[31mOK\r\nX-Evil\x1b[31m: a\rb\x00c\xff\r\n\r\nbody \x1b[0m"
                    .to_vec(),
            ),
        ];
        let v = verbose(&events, false);
        assert_eq!(
            v,
            "* cert #0: subject CN=\\x1b]0;owned\\x07\n< HTTP/1.1 100 Go\\x1b[2J\n< HTTP/1.1 200 \\x1b[31mOK\n\
             < X-Evil\\x1b[31m: a\\rb\\x00c\\xff\n"
        );
        let t = render(&events, false);
        assert!(
            !t.contains('\u{1b}') && !t.contains('\r') && !t.contains('\u{0}'),
            "{t:?}"
        );
        assert!(t.contains("X-Evil\\x1b[31m: a\\rb\\x00c\\xff\n"), "{t}");
        assert!(t.contains("body \\x1b[0m\n"), "{t}");
    }

    #[test]
    fn ascii_rendering_like_curl() {
        let mut s = String::new();
        render_ascii(&mut s, true, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x01x");
        assert_eq!(
            s,
            "=> Send data, 29 bytes (0x1d)\n0000: GET / HTTP/1.1\n0010: Host: a\n0019: \n001b: \\x01x\n"
        );
    }
}

//! The checks, one module per rule category. Each appends findings; none can fail.
//!
//! The capture server lints every request it captures, so a check that finds nothing must not
//! allocate: messages and excerpts are built only when a finding is pushed, and names and
//! patterns are compared with `eq_ignore_ascii_case` instead of lowercased copies.

use std::borrow::Cow;

use tlspost_proto::escape::Escaped;

use crate::parse::Head;
use crate::{Context, Finding};

mod framing;
mod http;
mod tls;
mod traps;

/// The request body as far as it arrived, after removing chunked framing.
pub(crate) struct BodyView<'a> {
    /// Borrowed from the request unless chunked framing had to be removed.
    pub bytes: Cow<'a, [u8]>,
    /// All of the announced body arrived and its framing was unambiguous.
    pub complete: bool,
}

/// Run every check over a parsed head and the raw bytes.
pub(crate) fn run(head: &Head<'_>, raw: &[u8], ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let body = framing::check(head, raw, out);
    http::check(head, out);
    traps::check(head, &body, ctx, out);
    tls::check(head, ctx, out);
}

/// A short excerpt of bytes for messages, escaped for a terminal by tlspost-proto's one escaping
/// function ([`Escaped`]: printable text as is, UTF-8 included; control bytes, bidirectional
/// overrides and invalid bytes as `\r`, `\n`, `\t`, `\xNN`), `…` when cut (never inside a character).
pub(crate) fn excerpt(bytes: &[u8], max: usize) -> String {
    let mut cut = bytes.get(..bytes.len().min(max)).unwrap_or_default();
    if bytes.len() > max {
        // A character cut in two at the end is left out rather than shown as invalid bytes.
        if let Err(e) = std::str::from_utf8(cut) {
            if e.error_len().is_none() {
                cut = cut.get(..e.valid_up_to()).unwrap_or_default();
            }
        }
    }
    let mut s = Escaped(cut).to_string();
    if bytes.len() > max {
        s.push('…');
    }
    s
}

/// Host name part of a Host value or SNI: port removed, brackets removed, lower case, no trailing dot.
pub(crate) fn host_name(value: &str) -> String {
    host_part(value).to_ascii_lowercase()
}

/// [`host_name`] without the lower-casing (compare it with `eq_ignore_ascii_case`).
pub(crate) fn host_part(value: &str) -> &str {
    let v = value.trim();
    let name = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        match v.rsplit_once(':') {
            Some((n, port)) if !n.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => v,
        }
    };
    name.trim_end_matches('.')
}

/// `true` for an IPv4 or IPv6 literal (with or without brackets).
pub(crate) fn is_ip(name: &str) -> bool {
    let n = name.trim_start_matches('[').trim_end_matches(']');
    n.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_escape_only_what_is_unreadable() {
        assert_eq!(excerpt(b"{\"a\":1}", 40), "{\"a\":1}");
        assert_eq!(excerpt(b"a\r\nb\x00\xff", 40), "a\\r\\nb\\x00\\xff");
        assert_eq!(excerpt("25°C".as_bytes(), 40), "25°C");
        assert_eq!(excerpt(b"abcdef", 3), "abc…");
        assert_eq!(excerpt(b"X-\x1b[31m\xe2\x80\xae", 40), "X-\\x1b[31m\\xe2\\x80\\xae");
        assert_eq!(excerpt("a°C".as_bytes(), 2), "a…");
    }

    #[test]
    fn host_names_and_ips() {
        assert_eq!(host_name("API.example.com.:8443"), "api.example.com");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert!(is_ip("203.0.113.7"));
        assert!(is_ip("[2001:db8::1]"));
        assert!(!is_ip("api.example.com"));
        // `is_ip` of the name as sent and of its lower case agree (hex digits in either case).
        assert!(is_ip(host_part("[2001:DB8::A]:443")) && is_ip(&host_name("[2001:DB8::A]:443")));
        assert_eq!(host_part("API.example.com.:8443"), "API.example.com");
    }
}

//! The checks, one module per rule category. Each appends findings; none can fail.

use crate::parse::Head;
use crate::{Context, Finding};

mod framing;
mod http;
mod tls;
mod traps;

/// The request body as far as it arrived, after removing chunked framing.
pub(crate) struct BodyView {
    pub bytes: Vec<u8>,
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

/// A short, escaped excerpt of bytes for messages.
pub(crate) fn excerpt(bytes: &[u8], max: usize) -> String {
    let cut = bytes.get(..bytes.len().min(max)).unwrap_or_default();
    let mut s = cut.escape_ascii().to_string();
    if bytes.len() > max {
        s.push('…');
    }
    s
}

/// Host name part of a Host value or SNI: port removed, brackets removed, lower case, no trailing dot.
pub(crate) fn host_name(value: &str) -> String {
    let v = value.trim();
    let name = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        match v.rsplit_once(':') {
            Some((n, port)) if !n.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => v,
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `true` for an IPv4 or IPv6 literal (with or without brackets).
pub(crate) fn is_ip(name: &str) -> bool {
    let n = name.trim_start_matches('[').trim_end_matches(']');
    n.parse::<std::net::IpAddr>().is_ok()
}

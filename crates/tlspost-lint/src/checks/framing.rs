//! Framing (TP1xx): line endings, header syntax, and where the body ends.

use std::borrow::Cow;

use tlspost_proto::escape::Escaped;
use tlspost_proto::syntax::{is_tchar, trim_ows};

use super::{BodyView, excerpt};
use crate::chunked::{self, Outcome};
use crate::parse::{Head, Version};
use crate::rules::*;
use crate::{Finding, Rule};

/// Heads larger than this are refused by common servers' default limits.
const LARGE_HEAD: usize = 8 * 1024;

/// Codings a server knows (RFC 9112 §7 and the IANA registry).
const KNOWN_CODINGS: &[&str] = &["chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress"];

/// How the body is delimited, as a server would decide (RFC 9112 §6.3).
enum Framing {
    None,
    Length(u64),
    Chunked,
    /// The framing headers are contradictory or invalid: a server rejects the request.
    Faulty,
}

fn push(out: &mut Vec<Finding>, rule: &Rule, message: String) {
    out.push(Finding::new(rule, message));
}

pub(super) fn check<'a>(head: &Head<'_>, raw: &'a [u8], out: &mut Vec<Finding>) -> BodyView<'a> {
    syntax(head, raw, out);
    let framing = framing(head, out);
    body(head, raw, framing, out)
}

/// The head's syntax: where it ends, its lines, its fields and its size.
fn syntax(head: &Head<'_>, raw: &[u8], out: &mut Vec<Finding>) {
    if !head_end(head, raw, out) {
        return;
    }
    line_breaks(head, out);
    field_lines(head, out);
    if head.len > LARGE_HEAD {
        push(
            out,
            &HEAD_LARGE,
            format!(
                "the head is {} bytes; many servers refuse heads or header lines over 8 KiB \
                 (nginx: 400 or 414 with default buffers) and a device spends RAM and airtime on it",
                head.len
            ),
        );
    }
}

/// Whether a request arrived at all (`false`: nothing else to check) and whether its head ends.
fn head_end(head: &Head<'_>, raw: &[u8], out: &mut Vec<Finding>) -> bool {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        push(
            out,
            &HEAD_UNTERMINATED,
            format!(
                "no request arrived: {} byte(s), none of them a request line; the server waits \
                 until its timeout and closes the connection",
                raw.len()
            ),
        );
        return false;
    }
    if !head.complete {
        push(
            out,
            &HEAD_UNTERMINATED,
            format!(
                "{} bytes arrived but no empty line (CRLF CRLF) ends the head; the server keeps \
                 waiting for more headers until its timeout, then closes or answers 408. The \
                 bytes end with `{}`",
                raw.len(),
                excerpt(raw.get(raw.len().saturating_sub(24)..).unwrap_or_default(), 24)
            ),
        );
    }
    true
}

/// How lines end and continue: bare LF endings and obs-fold continuation lines.
fn line_breaks(head: &Head<'_>, out: &mut Vec<Finding>) {
    if head.bare_lf_lines > 0 {
        push(
            out,
            &BARE_LF,
            format!(
                "{} line(s) of the head end with LF alone instead of CRLF; strict servers and \
                 CDN edges answer 400, lenient ones accept it, and that disagreement is what \
                 request smuggling exploits",
                head.bare_lf_lines
            ),
        );
    }
    for f in head.fields.iter().filter(|f| f.folds > 0) {
        push(
            out,
            &OBS_FOLD,
            format!(
                "header `{}` continues on {} line(s) starting with a space or tab (obs-fold); \
                 RFC 9112 §5.2 lets a server reject it with 400, and servers that unfold it read \
                 the next line as part of `{}` instead of as its own header",
                excerpt(f.name, 48),
                f.folds,
                excerpt(f.name, 48)
            ),
        );
    }
    if head.orphan_folds > 0 {
        push(
            out,
            &OBS_FOLD,
            format!(
                "{} line(s) start with a space or tab without a header to continue (e.g. right \
                 after the request line); RFC 9112 §2.2 says a server must reject or ignore them",
                head.orphan_folds
            ),
        );
    }
}

/// Each field line: `name: value` with a token name, a colon right after it, no control bytes.
fn field_lines(head: &Head<'_>, out: &mut Vec<Finding>) {
    for f in head.fields.iter().filter(|f| f.space_before_colon) {
        push(
            out,
            &SPACE_BEFORE_COLON,
            format!(
                "header `{}` has whitespace before its colon; RFC 9112 §5.1 requires a server to \
                 answer 400, and a lenient proxy may see a header named `{} ` that nothing matches",
                excerpt(f.name, 48),
                excerpt(f.name, 48)
            ),
        );
    }
    for f in &head.fields {
        if let Some((i, &b)) = f
            .value
            .iter()
            .enumerate()
            .find(|&(_, &b)| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            let what = match b {
                b'\r' => "a bare CR",
                b'\n' => "a LF",
                0 => "NUL",
                _ => "a control byte",
            };
            push(
                out,
                &CTL_IN_VALUE,
                format!(
                    "header `{}` contains {what} (0x{b:02x}) at offset {i} of its value `{}`; \
                     servers answer 400 or cut the value there, and a CR can split the header in \
                     two at a lenient hop (header injection)",
                    excerpt(f.name, 48),
                    excerpt(&f.value, 48)
                ),
            );
        }
    }
    for &(line_no, line) in &head.colonless {
        push(
            out,
            &BAD_FIELD_NAME,
            format!(
                "line {line_no} of the head, `{}`, has no colon, so it is not a header; servers \
                 answer 400",
                excerpt(line, 48)
            ),
        );
    }
    for f in &head.fields {
        if f.name.is_empty() {
            push(
                out,
                &BAD_FIELD_NAME,
                format!(
                    "a header line starts with a colon (empty name, value `{}`); servers answer 400",
                    excerpt(&f.value, 48)
                ),
            );
        } else if let Some(&b) = f.name.iter().find(|&&b| !is_tchar(b)) {
            push(
                out,
                &BAD_FIELD_NAME,
                format!(
                    "header name `{}` contains `{}`, which a header name cannot contain; \
                     servers answer 400",
                    excerpt(f.name, 48),
                    [b].escape_ascii()
                ),
            );
        }
    }
}

/// A Content-Length list element as a number: plain decimal digits that fit in 64 bits.
fn content_length(v: &[u8]) -> Option<u64> {
    if !v.is_empty() && v.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(v).ok().and_then(|s| s.parse::<u64>().ok())
    } else {
        None
    }
}

/// What the Content-Length fields announce.
enum Length {
    Absent,
    Bytes(u64),
    /// Invalid or differing values: a server rejects the request.
    Ambiguous,
}

/// How the body is delimited, as a server would decide (RFC 9112 §6.3): Transfer-Encoding when
/// present, else Content-Length.
fn framing(head: &Head<'_>, out: &mut Vec<Finding>) -> Framing {
    let length = content_length_fields(head, out);
    if !head.has("transfer-encoding") {
        return match length {
            Length::Absent => Framing::None,
            Length::Bytes(n) => Framing::Length(n),
            Length::Ambiguous => Framing::Faulty,
        };
    }
    let mut faulty = te_codings(head, out);
    faulty |= te_conflicts(head, out);
    if faulty {
        return Framing::Faulty;
    }
    out.push(Finding::new(
        &CHUNKED_REQUEST,
        "the body is sent chunked (as ESP-IDF's esp_http_client does when no length is set); \
         some servers and serverless front ends answer 411 Length Required or buffer the whole \
         body first",
    ));
    Framing::Chunked
}

/// Transfer-Encoding's fields as one text, for messages.
fn te_text(head: &Head<'_>) -> String {
    head.all("transfer-encoding")
        .map(|f| f.value_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Content-Length's values: each a plain decimal number, all the same.
fn content_length_fields(head: &Head<'_>, out: &mut Vec<Finding>) -> Length {
    let cl_fields = head.all("content-length").count();
    let cls = head.list("content-length");
    let cl_count = cls.clone().count();
    // The first valid length, and whether another valid one differs from it.
    let mut first: Option<u64> = None;
    let mut differ = false;
    let mut cl_bad = false;
    for v in cls.clone() {
        match content_length(v) {
            Some(n) => match first {
                None => first = Some(n),
                Some(f) => differ |= f != n,
            },
            None => {
                cl_bad = true;
                let why = if !v.is_empty() && v.iter().all(u8::is_ascii_digit) {
                    "does not fit in 64 bits"
                } else {
                    "is not a plain decimal number"
                };
                push(
                    out,
                    &CL_INVALID,
                    format!(
                        "Content-Length `{}` {why}; RFC 9112 §6.3 requires a 400, and parsers \
                         that accept `+5`, ` 5` or `0x5` disagree with those that do not",
                        excerpt(v, 32)
                    ),
                );
            }
        }
    }
    if differ {
        let distinct = {
            let mut d: Vec<u64> = cls.clone().filter_map(content_length).collect();
            d.sort_unstable();
            d.dedup();
            d
        };
        push(
            out,
            &CL_CONFLICT,
            format!(
                "Content-Length has differing values {distinct:?} ({cl_fields} header line(s)); a \
                 server must answer 400, and a proxy that picks one value and a server that picks \
                 another disagree on where the body ends (request smuggling)"
            ),
        );
    } else if cl_count > 1 && !cl_bad {
        push(
            out,
            &CL_DUPLICATE,
            format!(
                "Content-Length is sent {} times with the same value {}; RFC 9112 lets a server \
                 accept that, but many proxies, WAFs and CDN edges answer 400",
                cl_count,
                first.unwrap_or_default()
            ),
        );
    }
    if cl_bad || differ {
        Length::Ambiguous
    } else {
        first.map_or(Length::Absent, Length::Bytes)
    }
}

/// Transfer-Encoding's codings: known, each once, `chunked` last; `true` when faulty.
fn te_codings(head: &Head<'_>, out: &mut Vec<Finding>) -> bool {
    let codings: Vec<String> = head
        .list("transfer-encoding")
        .map(|c| {
            let name = c.split(|&b| b == b';').next().unwrap_or_default();
            String::from_utf8_lossy(trim_ows(name)).to_ascii_lowercase()
        })
        .collect();
    let mut faulty = false;
    for c in &codings {
        if !KNOWN_CODINGS.contains(&c.as_str()) {
            faulty = true;
            let shown = if c.is_empty() { "(empty)" } else { c.as_str() };
            push(
                out,
                &TE_UNKNOWN,
                format!(
                    "Transfer-Encoding `{}` names the coding `{}`, which servers do not know; \
                     RFC 9112 §6.1 calls for 501, and hops that ignore it frame the body \
                     differently from hops that reject it",
                    excerpt(te_text(head).as_bytes(), 64),
                    excerpt(shown.as_bytes(), 32)
                ),
            );
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for c in &codings {
        if seen.contains(&c.as_str()) {
            faulty = true;
            push(
                out,
                &TE_REPEATED,
                format!(
                    "Transfer-Encoding `{}` lists `{}` more than once; chunked applied twice is \
                     invalid (RFC 9112 §6.1) and servers answer 400 or decode it once and misread \
                     the rest",
                    excerpt(te_text(head).as_bytes(), 64),
                    excerpt(c.as_bytes(), 32)
                ),
            );
            break;
        }
        seen.push(c);
    }
    let chunked_last = codings.last().is_some_and(|c| c == "chunked");
    if !chunked_last {
        faulty = true;
        push(
            out,
            &TE_CHUNKED_NOT_LAST,
            format!(
                "Transfer-Encoding `{}` does not end with `chunked`, so a server cannot tell where \
                 a request body ends; RFC 9112 §6.3 requires a 400",
                excerpt(te_text(head).as_bytes(), 64)
            ),
        );
    }
    faulty
}

/// Transfer-Encoding beside Content-Length (reported), or in HTTP/1.0 (faulty: `true`).
fn te_conflicts(head: &Head<'_>, out: &mut Vec<Finding>) -> bool {
    let cls = head.list("content-length");
    if cls.clone().next().is_some() {
        push(
            out,
            &CL_WITH_TE,
            format!(
                "both Content-Length ({}) and Transfer-Encoding ({}) are present; Transfer-Encoding \
                 wins (RFC 9112 §6.3) but servers may answer 400, and a hop that uses \
                 Content-Length instead reads a different body (request smuggling)",
                excerpt(
                    &cls.clone()
                        .map(|c| c.escape_ascii().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                        .into_bytes(),
                    32
                ),
                excerpt(te_text(head).as_bytes(), 32)
            ),
        );
    }
    if head.version == Some(Version::Http10) {
        push(
            out,
            &HTTP10_CHUNKED,
            format!(
                "an HTTP/1.0 request carries Transfer-Encoding `{}`; HTTP/1.0 has no transfer \
                 codings, so RFC 9112 §6.1 makes the server treat the framing as faulty and close \
                 the connection",
                excerpt(te_text(head).as_bytes(), 32)
            ),
        );
        return true;
    }
    false
}

/// Describe bytes found after the end of a body.
fn extra_message(extra: &[u8], end: &str) -> String {
    let first_line = extra
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default()
        .strip_suffix(b"\r")
        .unwrap_or_else(|| extra.split(|&b| b == b'\n').next().unwrap_or_default());
    let looks_like_request = {
        let mut parts = first_line.split(|&b| b == b' ');
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        !method.is_empty()
            && method.iter().all(|b| b.is_ascii_uppercase())
            && (target.starts_with(b"/") || target.starts_with(b"http"))
    };
    let what = if looks_like_request {
        format!(
            "they look like a pipelined request `{}`; if that is not intended, the body's length \
             is wrong and the server will treat the rest of the body as a new request",
            excerpt(first_line, 48)
        )
    } else {
        format!(
            "they start with `{}`; the server reads them as the start of the next request on this \
             connection (usually a 400, or a desync behind a proxy). A common cause is a length \
             counted in characters instead of UTF-8 bytes",
            excerpt(extra, 32)
        )
    };
    format!("{} byte(s) arrived after {end}: {what}", extra.len())
}

/// Where the body ends and what arrived of it, by the framing the head announced.
fn body<'a>(head: &Head<'_>, raw: &'a [u8], framing: Framing, out: &mut Vec<Finding>) -> BodyView<'a> {
    if !head.complete {
        return BodyView {
            bytes: Cow::Borrowed(&[]),
            complete: false,
        };
    }
    let arrived = raw.get(head.len..).unwrap_or_default();
    match framing {
        Framing::Faulty => BodyView {
            bytes: Cow::Borrowed(arrived),
            complete: false,
        },
        Framing::Length(n) => length_body(head, arrived, n, out),
        Framing::Chunked => chunked_body(head, arrived, out),
        Framing::None => unframed_body(head, arrived, out),
    }
}

/// A GET or HEAD request, whose body has no defined meaning.
fn get_or_head(head: &Head<'_>) -> bool {
    head.method_is("GET") || head.method_is("HEAD")
}

/// A body of `n` bytes announced by Content-Length.
fn length_body<'a>(head: &Head<'_>, arrived: &'a [u8], n: u64, out: &mut Vec<Finding>) -> BodyView<'a> {
    if get_or_head(head) && n > 0 {
        // Escaped as it is written: no allocation unless a finding quotes it.
        let method = Escaped(head.method);
        push(
            out,
            &BODY_ON_GET,
            format!(
                "a {method} request announces a {n}-byte body (Content-Length); a {method} \
                 body has no defined meaning (RFC 9110 §9.3): servers may ignore it, \
                 reject the request, or read it as the next request"
            ),
        );
    }
    let len = u64::try_from(arrived.len()).unwrap_or(u64::MAX);
    if len < n {
        push(
            out,
            &BODY_SHORT,
            format!(
                "Content-Length says {n} bytes but only {len} arrived ({} missing); the \
                 server waits for the rest until its read timeout, then drops the request \
                 or answers 400/408 — the write was cut short, sent late, or the length \
                 counts something other than the bytes sent",
                n.saturating_sub(len)
            ),
        );
        return BodyView {
            bytes: Cow::Borrowed(arrived),
            complete: false,
        };
    }
    let n = usize::try_from(n).unwrap_or(arrived.len());
    let (body, extra) = arrived.split_at(n.min(arrived.len()));
    if !extra.is_empty() {
        push(
            out,
            &BODY_EXTRA,
            extra_message(extra, &format!("the {n}-byte body (Content-Length)")),
        );
    }
    BodyView {
        bytes: Cow::Borrowed(body),
        complete: true,
    }
}

/// A chunked body: decoded as far as it arrived, with where and why its framing stops.
fn chunked_body<'a>(head: &Head<'_>, arrived: &[u8], out: &mut Vec<Finding>) -> BodyView<'a> {
    if get_or_head(head) {
        let method = Escaped(head.method);
        push(
            out,
            &BODY_ON_GET,
            format!(
                "a {method} request announces a chunked body; a {method} body has no \
                 defined meaning (RFC 9110 §9.3): servers may ignore it or reject the request"
            ),
        );
    }
    let c = chunked::read(arrived);
    let complete = match c.outcome {
        Outcome::Complete { consumed } => {
            let extra = arrived.get(consumed..).unwrap_or_default();
            if !extra.is_empty() {
                push(out, &BODY_EXTRA, extra_message(extra, "the last chunk"));
            }
            true
        }
        Outcome::Incomplete(why) => {
            push(
                out,
                &CHUNKED_INCOMPLETE,
                format!(
                    "{why} ({} body bytes arrived, {} decoded); the server waits for the \
                     rest until its read timeout",
                    arrived.len(),
                    c.data.len()
                ),
            );
            false
        }
        Outcome::Malformed(why) => {
            push(
                out,
                &CHUNKED_MALFORMED,
                format!(
                    "{why}; strict servers answer 400, lenient ones may find a different \
                     end of body (request smuggling)"
                ),
            );
            false
        }
    };
    BodyView {
        bytes: Cow::Owned(c.data),
        complete,
    }
}

/// No body announced: bytes after the head are the next request, and a POST without a length
/// is refused by some servers.
fn unframed_body<'a>(head: &Head<'_>, arrived: &'a [u8], out: &mut Vec<Finding>) -> BodyView<'a> {
    if !arrived.is_empty() {
        push(
            out,
            &BODY_UNFRAMED,
            format!(
                "{} byte(s) follow the head (`{}`) but neither Content-Length nor \
                 Transfer-Encoding announces a body; the server takes the body as empty \
                 and reads these bytes as the next request (usually a 400)",
                arrived.len(),
                excerpt(arrived, 32)
            ),
        );
    } else if ["POST", "PUT", "PATCH"].iter().any(|m| head.method_is(m)) {
        let method = Escaped(head.method);
        push(
            out,
            &NO_LENGTH,
            format!(
                "a {method} without Content-Length or Transfer-Encoding; Google's front \
                 ends and other servers answer 411 Length Required"
            ),
        );
    }
    BodyView {
        bytes: Cow::Borrowed(arrived),
        complete: true,
    }
}

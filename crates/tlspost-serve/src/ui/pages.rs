//! The HTML pages: the live list and one capture (parsed, findings, TLS, timing, raw bytes, the
//! command lines that send the same request), and a capture's exact bytes as a download.
//!
//! A page shows at most [`SHOWN`] bytes of a body or request and renders them from slices of the
//! stored bytes; the whole request is only ever sent as a download.

use std::borrow::Cow;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use super::access::Reveal;
use super::shared::{SHOWN, St, bytes_text, err500, load_one, page};
use crate::framing;
use crate::html::{EscapedBytes, HexDump, Visible, VisibleLines};
use crate::mask;
use crate::record::Capture;

pub(super) async fn list_page() -> Html<String> {
    page(
        "captures",
        html! {
            h1 { "Captures" }
            p #status { "connecting…" }
            form action="/_tlspost/diff" {
                "diff " input name="a" size="5" placeholder="id";
                " vs " input name="b" size="5" placeholder="id";
                " " button { "compare" }
            }
            table {
                thead {
                    tr {
                        th { "id" } th { "time" } th { "peer" } th { "scheme" } th { "request" }
                        th { "SNI" } th { "status" } th { "findings" }
                    }
                }
                tbody #list {}
            }
            script src="/_tlspost/app.js" {}
        },
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Whether the capture's body is chunked (per its parsed head).
pub(super) fn is_chunked(c: &Capture) -> bool {
    c.headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"))
}

/// The payload of a body in borrowed pieces: the body itself, or the data of each chunk when it is
/// chunked (read for display: a size line that does not parse ends it).
#[derive(Clone)]
pub(super) struct Payload<'a> {
    rest: &'a [u8],
    chunked: bool,
}

impl<'a> Payload<'a> {
    pub(super) fn new(body: &'a [u8], chunked: bool) -> Payload<'a> {
        Payload { rest: body, chunked }
    }
}

impl<'a> Iterator for Payload<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = std::mem::take(&mut self.rest);
        if rest.is_empty() {
            return None;
        }
        if !self.chunked {
            return Some(rest);
        }
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let line = std::str::from_utf8(rest.get(..nl).unwrap_or_default()).unwrap_or("");
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        let rest = rest.get(nl + 1..).unwrap_or_default();
        if size == 0 {
            return None;
        }
        self.rest = rest.get(size.saturating_add(2).min(rest.len())..).unwrap_or_default();
        Some(rest.get(..size.min(rest.len())).unwrap_or_default())
    }
}

/// The first `limit` bytes of `pieces`, still in pieces, and how many bytes that is.
fn first<'a>(pieces: impl Iterator<Item = &'a [u8]>, limit: usize) -> (Vec<&'a [u8]>, usize) {
    let (mut out, mut n) = (Vec::new(), 0);
    for p in pieces {
        let take = p.get(..p.len().min(limit - n)).unwrap_or_default();
        n += take.len();
        out.push(take);
        if n == limit {
            break;
        }
    }
    (out, n)
}

/// Where a capture's bytes download: the whole request, or the body's payload (`part=body`); with
/// secrets masked unless the page shows them.
fn download_href(id: i64, body: bool, reveal: bool) -> String {
    let mut href = format!("/_tlspost/captures/{id}/raw");
    match (body, reveal) {
        (false, false) => {}
        (true, false) => href.push_str("?part=body"),
        (false, true) => href.push_str("?reveal=1"),
        (true, true) => href.push_str("?part=body&reveal=1"),
    }
    href
}

fn download_name(id: i64, body: bool) -> String {
    if body {
        format!("capture-{id}-body.bin")
    } else {
        format!("capture-{id}.bin")
    }
}

/// The request target and header fields as a page shows them.
struct ShownHead<'a> {
    target: Option<Cow<'a, str>>,
    headers: Cow<'a, [(String, String)]>,
}

impl<'a> ShownHead<'a> {
    /// As received when secrets are shown; else parsed again from the masked head (`view`, whose
    /// first `head_len` bytes are the head), so the target's query and every header are masked
    /// exactly as the raw bytes are.
    fn new(c: &'a Capture, view: &[u8], reveal: bool, scrub: impl Fn(&str) -> String) -> ShownHead<'a> {
        if reveal {
            return ShownHead {
                target: c.target.as_deref().map(Cow::Borrowed),
                headers: Cow::Borrowed(&c.headers),
            };
        }
        let reparsed = (c.method.is_some() && c.head_len > 0)
            .then(|| view.get(..c.head_len).map(framing::parse_head))
            .flatten();
        match reparsed {
            Some(Ok(head)) => ShownHead {
                target: Some(Cow::Owned(head.target)),
                headers: Cow::Owned(head.headers),
            },
            _ => ShownHead {
                target: c.target.as_deref().map(|t| Cow::Owned(scrub(t))),
                headers: c
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), scrub(&mask::mask_header_value(n, v))))
                    .collect(),
            },
        }
    }
}

/// Equivalent `tlspost` and curl command lines for a capture. `body` is the whole payload when it
/// is shown on the page; a larger one is sent from the body's download file.
fn commands(c: &Capture, head: &ShownHead<'_>, body: Option<&[u8]>, body_bytes: usize) -> (String, String) {
    let host = head
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .or_else(|| c.sni.clone())
        .unwrap_or_else(|| "HOST".into());
    let url = format!("{}://{}{}", c.scheme, host, head.target.as_deref().unwrap_or("/"));
    let method = c.method.clone().unwrap_or_else(|| "GET".into());
    let mut args = String::new();
    for (n, v) in head.headers.iter() {
        let l = n.to_ascii_lowercase();
        if l == "host" || l == "content-length" || l == "transfer-encoding" {
            continue;
        }
        let _ = write!(args, " -H {}", shell_quote(&format!("{n}: {v}")));
    }
    match body {
        Some([]) => {}
        Some(b) => {
            let _ = write!(args, " --data-binary {}", shell_quote(&String::from_utf8_lossy(b)));
        }
        None if body_bytes == 0 => {}
        None => {
            let _ = write!(args, " --data-binary @{}", download_name(c.id, true));
        }
    }
    if c.scheme == "https" {
        args.push_str(" --cacert ca.pem");
    }
    let ver = if c.version.as_deref() == Some("HTTP/1.0") {
        " --http1.0"
    } else {
        ""
    };
    let curl = format!("curl -v --http1.1{ver} -X {method} {}{args}", shell_quote(&url));
    let tp = if method == "POST" {
        format!("tlspost post{ver} {}{args}", shell_quote(&url))
    } else {
        format!("tlspost request{ver} -X {method} {}{args}", shell_quote(&url))
    };
    (tp, curl)
}

/// "showing the first X of Y" with the download of all Y, when not all is shown.
fn shown_note(shown: usize, total: usize, href: &str, name: &str, reveal: bool) -> Markup {
    html! {
        @if shown < total {
            p .note {
                "Showing the first " (bytes_text(shown)) " of " (bytes_text(total)) ". "
                a href=(href) download=(name) {
                    "Download all " (bytes_text(total))
                    @if !reveal { " (secrets masked)" }
                }
            }
        }
    }
}

fn tls_rows(t: &crate::record::TlsFacts) -> Vec<(&'static str, String)> {
    vec![
        ("SNI", t.sni.clone().unwrap_or_else(|| "(none sent)".into())),
        ("ALPN offered", t.alpn_offered.join(", ")),
        ("ALPN negotiated", t.alpn.clone().unwrap_or_default()),
        ("version", t.version.clone().unwrap_or_default()),
        ("cipher", t.cipher.clone().unwrap_or_default()),
        ("offered versions", t.offered_versions.join(", ")),
        ("cipher suites", t.cipher_suites.join(", ")),
        ("groups", t.groups.join(", ")),
        ("signature algorithms", t.signature_algorithms.join(", ")),
        ("extensions", t.extensions.join(", ")),
        ("JA4", t.ja4.clone()),
        ("JA4_r", t.ja4_r.clone()),
        ("ClientHello records", t.hello_records.to_string()),
    ]
}

fn capture_html(c: &Capture, reveal: bool) -> Markup {
    let total = c.raw.len();
    // Everything the page shows lies in the head and the first SHOWN bytes after it: only that
    // window is masked (a copy of it, not of the whole request).
    let window = c
        .raw
        .get(..c.head_len.saturating_add(SHOWN).min(total))
        .unwrap_or_default();
    let view: Cow<'_, [u8]> = if reveal {
        Cow::Borrowed(window)
    } else {
        Cow::Owned(mask::mask_capture(window, c.head_len))
    };
    // Secret values also appear in finding messages and commands: scrub them there too.
    let secrets = mask::secrets(window, &view);
    let scrub = |t: &str| mask::scrub(t, &secrets);
    let raw_shown = view.get(..SHOWN.min(view.len())).unwrap_or_default();
    let chunked = is_chunked(c);
    let body_view = view.get(c.head_len.min(view.len())..).unwrap_or_default();
    let (body, body_shown) = first(Payload::new(body_view, chunked), SHOWN);
    let body_total: usize = Payload::new(c.raw_body(), chunked).map(<[u8]>::len).sum();
    // Inline in the commands only a body that is all shown and is text a shell line can carry.
    let whole_body = (body_shown == body_total).then(|| body.concat()).filter(|b| {
        std::str::from_utf8(b).is_ok_and(|s| !s.chars().any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t')))
    });
    let head = ShownHead::new(c, &view, reveal, scrub);
    let (tp, curl) = commands(c, &head, whole_body.as_deref(), body_total);
    let status = if c.status == 0 {
        "nothing".to_string()
    } else {
        c.status.to_string()
    };
    let t = &c.timing;
    let us = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
    html! {
        h1 { "Capture #" (c.id) }
        p {
            (Visible(&c.time)) " from " (Visible(&c.peer)) " over " (Visible(&c.scheme)) " · "
            (total) " bytes in " (c.reads) " reads · connection " (c.conn) " request " (c.seq + 1)
            " · answered " (status)
        }
        @if reveal {
            p { "Secrets shown. " a href="?" { "mask them" } }
        } @else {
            p {
                "Secrets masked (Authorization, cookies, and fields named *token*, *secret*, *password*, *key*, *auth*, *session*). "
                a href="?reveal=1" { "show them" }
            }
        }
        @if let Some(e) = &c.error {
            p .error { b { "Not a complete request:" } " " (Visible(&scrub(e))) }
        }
        h2 { "Findings" }
        @if c.findings.is_empty() {
            p #findings { "No findings." }
        } @else {
            table #findings {
                tr { th { "code" } th { "severity" } th { "what" } th { "fix" } }
                @for f in &c.findings {
                    tr class=(f.severity) {
                        td { b { (f.code) } }
                        td { (f.severity) }
                        td { b { (f.title) } br; (Visible(&scrub(&f.message))) }
                        td { (Visible(&scrub(&f.fix))) }
                    }
                }
            }
        }
        h2 { "Parsed" }
        @if let (Some(m), Some(target)) = (&c.method, &head.target) {
            p { code { (Visible(m)) " " (Visible(target)) " " (Visible(c.version.as_deref().unwrap_or(""))) } }
            table {
                tr { th { "#" } th { "name" } th { "value" } }
                @for (i, (n, v)) in head.headers.iter().enumerate() {
                    tr { td { (i + 1) } td { (Visible(n)) } td { code { (Visible(v)) } } }
                }
            }
            p { "Body: " (bytes_text(body_total)) }
            (shown_note(body_shown, body_total, &download_href(c.id, true, reveal), &download_name(c.id, true), reveal))
            pre #body { @for piece in &body { (EscapedBytes(piece)) } }
            h2 { "Send the same request" }
            @if whole_body.is_none() {
                p .note {
                    "The body is sent from " code { (download_name(c.id, true)) } ": "
                    a href=(download_href(c.id, true, reveal)) download=(download_name(c.id, true)) { "download it" }
                    "."
                }
            }
            pre { (VisibleLines(&scrub(&tp))) }
            pre { (VisibleLines(&scrub(&curl))) }
        } @else {
            p { "The head did not parse." }
        }
        h2 { "TLS" }
        @match &c.tls {
            None => { p { "Plain HTTP (no TLS)." } }
            Some(t) => {
                table {
                    @for (k, v) in tls_rows(t) {
                        tr { th { (k) } td { code { (Visible(&v)) } } }
                    }
                }
            }
        }
        h2 { "Timing" }
        p {
            "first byte " (t.first_byte_us) " µs after accept; head complete +" (us(t.head_us))
            " µs; body complete +" (us(t.body_us)) " µs"
        }
        h2 { "Raw bytes (escaped)" }
        (shown_note(raw_shown.len(), total, &download_href(c.id, false, reveal), &download_name(c.id, false), reveal))
        pre #raw { (EscapedBytes(raw_shown)) }
        h2 { "Raw bytes (hex)" }
        pre #hex { (HexDump(raw_shown)) }
        p {
            a href={ "/_tlspost/api/captures/" (c.id) } { "JSON" } " · "
            a href=(download_href(c.id, false, reveal)) download=(download_name(c.id, false)) {
                "download the " (bytes_text(total))
                @if !reveal { " (secrets masked)" }
            }
        }
    }
}

pub(super) async fn capture_page(AxState(state): St, Path(id): Path<String>, Reveal(reveal): Reveal) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    match load_one(state, id).await {
        Ok(Some(c)) => page(&format!("capture {id}"), capture_html(&c, reveal)).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            page("not found", html! { p { "No capture " (id) "." } }),
        )
            .into_response(),
        Err(e) => err500(e),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct RawQuery {
    part: Option<String>,
}

/// A capture's bytes as a download (`application/octet-stream`, an attachment): the whole request
/// as received, or with `part=body` the body's payload (chunks decoded). Secrets are masked byte
/// for byte, as on the page, unless `reveal=1`: then they are the exact bytes stored.
pub(super) async fn raw_download(
    AxState(state): St,
    Path(id): Path<String>,
    Reveal(reveal): Reveal,
    Query(q): Query<RawQuery>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    let body_only = match q.part.as_deref() {
        None | Some("request") => false,
        Some("body") => true,
        Some(_) => {
            return (StatusCode::BAD_REQUEST, "part is `request` (the default) or `body`\n").into_response();
        }
    };
    let mut c = match load_one(state, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return (StatusCode::NOT_FOUND, format!("no capture {id}\n")).into_response(),
        Err(e) => return err500(e),
    };
    let raw = std::mem::take(&mut c.raw);
    let bytes = if reveal {
        raw
    } else {
        mask::mask_capture(&raw, c.head_len)
    };
    let head_len = c.head_len.min(bytes.len());
    let bytes = match (body_only, is_chunked(&c)) {
        (false, _) => Bytes::from(bytes),
        (true, false) => Bytes::from(bytes).slice(head_len..),
        (true, true) => {
            let body = bytes.get(head_len..).unwrap_or_default();
            Bytes::from(Payload::new(body, true).collect::<Vec<_>>().concat())
        }
    };
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", download_name(id, body_only)),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_pieces_borrow_the_chunks() {
        let body = b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n";
        let pieces: Vec<&[u8]> = Payload::new(body, true).collect();
        assert_eq!(pieces, [&b"abc"[..], b"de"]);
        assert_eq!(Payload::new(b"plain", false).collect::<Vec<_>>(), [b"plain"]);
        // Truncated: what arrived.
        assert_eq!(Payload::new(b"5\r\nab", true).collect::<Vec<_>>(), [b"ab"]);
        assert_eq!(Payload::new(b"zz\r\nab", true).count(), 0);
        let (shown, n) = first(Payload::new(body, true), 4);
        assert_eq!((shown, n), (vec![&b"abc"[..], b"d"], 4));
    }
}

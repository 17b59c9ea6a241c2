//! The HTML pages: the live list and one capture (parsed, findings, TLS, timing, raw bytes, the
//! command lines that send the same request), and a capture's exact bytes as a download.
//!
//! A page shows at most [`SHOWN`] bytes of a body or request and renders them from slices of the
//! stored bytes; the whole request is only ever sent as a download.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use super::access::Reveal;
use super::access::csrf_token;
use super::shared::{Payload, SHOWN, St, bytes_text, err500, is_chunked, load_one, page};
use super::{detail, export};
use crate::framing;
use crate::html::{EscapedBytes, HexDump, Visible};
use crate::mask;
use crate::record::Capture;
use crate::store::query::path_of;

/// The list: a filter (its fields are the API's query, kept in the page's address), the captures
/// newest first with the live ones on top, older pages on demand, a pick of two to compare, the
/// HAR of what is shown or picked, and clearing (app.js fills and drives it).
pub(super) async fn list_page(AxState(state): St) -> Html<String> {
    let field = |label: &str, name: &str, hint: &str| {
        html! { label { (label) input name=(name) placeholder=(hint) autocomplete="off"; } }
    };
    page(
        "captures",
        html! {
            h1 { "Captures" }
            p #status .note { "connecting…" }
            form .filter #filter action="/_tlspost/" method="get" {
                label .wide { "Search" input name="q" placeholder="method, path, User-Agent, peer, SNI, error or code" autocomplete="off"; }
                label { "Method"
                    select name="method" {
                        option value="" { "any" }
                        @for m in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] { option { (m) } }
                    }
                }
                (field("Path", "path", "/oauth/token"))
                (field("User-Agent", "ua", "ESP32HTTPClient"))
                (field("Finding code", "code", "TP301"))
                (field("Status", "status", "200, 4xx, none"))
                label { "Error"
                    select name="error" {
                        option value="" { "any" }
                        option value="1" { "with an error" }
                        option value="0" { "without" }
                    }
                }
                label { "From" input type="datetime-local" name="from"; }
                label { "To" input type="datetime-local" name="to"; }
                div .actions.wide {
                    button type="submit" { "Filter" }
                    a href="/_tlspost/" { "Reset" }
                    a #har href="/_tlspost/api/har" download="tlspost.har" { "HAR of these" }
                    button type="button" .secondary #compare disabled { "Compare the two picked" }
                    button type="button" .danger #clear data-csrf=(csrf_token(&state)) { "Clear the list" }
                }
            }
            div .scroll {
                table .captures {
                    thead {
                        tr {
                            th { "pick" } th { "id" } th { "time" } th { "peer" } th { "request" }
                            th { "SNI" } th { "status" } th { "findings" }
                        }
                    }
                    tbody #list {}
                }
            }
            div .actions {
                button type="button" .secondary #more hidden { "Older captures" }
                span #shown .note {}
            }
            script src="/_tlspost/app.js" {}
        },
    )
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

/// What the capture page shows beside the capture itself.
struct Around {
    /// "Send the same request".
    send_again: Markup,
    /// The response view.
    response: Markup,
    /// The newest earlier capture of the same path.
    previous: Option<i64>,
    /// The token the page's buttons send.
    csrf: String,
}

fn capture_html(c: &Capture, reveal: bool, around: &Around) -> Markup {
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
    // Secret values also appear in finding messages: scrub them there too.
    let secrets = mask::secrets(window, &view);
    let scrub = |t: &str| mask::scrub(t, &secrets);
    let raw_shown = view.get(..SHOWN.min(view.len())).unwrap_or_default();
    let chunked = is_chunked(c);
    let body_view = view.get(c.head_len.min(view.len())..).unwrap_or_default();
    let (body, body_shown) = first(Payload::new(body_view, chunked), SHOWN);
    let body_total: usize = Payload::new(c.raw_body(), chunked).map(<[u8]>::len).sum();
    let head = ShownHead::new(c, &view, reveal, scrub);
    let t = &c.timing;
    let us = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
    html! {
        h1 { "Capture #" (c.id) }
        p .summary {
            span { b { (Visible(&c.time)) } }
            span { "from " (Visible(&c.peer)) " over " (Visible(&c.scheme)) }
            span { (bytes_text(total)) " in " (c.reads) " reads" }
            span { "connection " (c.conn) ", request " (c.seq + 1) }
            span { "answered " b { @if c.status == 0 { "nothing" } @else { (c.status) } } }
        }
        div .actions {
            @if let Some(p) = around.previous {
                a .button href={ "/_tlspost/diff?a=" (p) "&b=" (c.id) } #diff-previous { "Diff with #" (p) " (same path)" }
            }
            button .secondary #replay data-id=(c.id) data-csrf=(around.csrf) { "Replay" }
            button .danger #delete data-id=(c.id) data-csrf=(around.csrf) { "Delete" }
            span #action-status .note {}
        }
        @if reveal {
            p .note { "Secrets shown. " a href="?" { "Mask them" } }
        } @else {
            p .note {
                "Secrets masked (Authorization, cookies, and fields named *token*, *secret*, *password*, *key*, *auth*, *session*). "
                a href="?reveal=1" { "Show them" }
            }
        }
        @if let Some(e) = &c.error {
            p .error { b { "Not a complete request:" } " " (Visible(&scrub(e))) }
        }
        h2 { "Findings" }
        @if c.findings.is_empty() {
            p #findings { span .badge.ok { "none" } " No findings." }
        } @else {
            div .scroll { table #findings {
                tr { th { "code" } th { "what" } th { "fix" } }
                @for f in &c.findings {
                    tr class=(f.severity) {
                        td { span class={ "badge " (f.severity) } title=(f.severity) { (f.code) } }
                        td { b { (f.title) } br; (Visible(&scrub(&f.message))) }
                        td { (Visible(&scrub(&f.fix))) }
                    }
                }
            } }
        }
        h2 { "Request" }
        @if let (Some(m), Some(target)) = (&c.method, &head.target) {
            p { code { (Visible(m)) " " (Visible(target)) " " (Visible(c.version.as_deref().unwrap_or(""))) } }
            div .scroll { table #headers {
                tr { th { "#" } th { "name" } th { "value" } }
                @for (i, (n, v)) in head.headers.iter().enumerate() {
                    tr { td { (i + 1) } td { (Visible(n)) } td { code { (Visible(v)) } } }
                }
            } }
            p { "Body: " (bytes_text(body_total)) @if chunked { " (chunked)" } }
            (shown_note(body_shown, body_total, &download_href(c.id, true, reveal), &download_name(c.id, true), reveal))
            pre #body { @for piece in &body { (EscapedBytes(piece)) } }
        } @else {
            p { "The head did not parse." }
        }
        (around.response)
        (around.send_again)
        h2 { "TLS" }
        @match &c.tls {
            None => { p { "Plain HTTP (no TLS)." } }
            Some(t) => { (detail::tls_html(t)) }
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
        p .actions {
            a href={ "/_tlspost/api/captures/" (c.id) } { "JSON" }
            a href={ "/_tlspost/api/har?ids=" (c.id) @if reveal { "&reveal=1" } } download={ "capture-" (c.id) ".har" } { "HAR" }
            a href=(download_href(c.id, false, reveal)) download=(download_name(c.id, false)) {
                "Download the " (bytes_text(total))
                @if !reveal { " (secrets masked)" }
            }
        }
        script src="/_tlspost/app.js" {}
    }
}

pub(super) async fn capture_page(AxState(state): St, Path(id): Path<String>, Reveal(reveal): Reveal) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    match load_one(state.clone(), id).await {
        Ok(Some(c)) => {
            let cmds = export::commands(&c, &export::Dest::of(&state, &c.scheme), reveal);
            let path = c.target.as_deref().map(|t| path_of(t).to_string());
            let store = state.store.clone();
            let previous = match path {
                Some(p) => tokio::task::spawn_blocking(move || store.previous_of_path(id, &p))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten()
                    .map(|p| p.id),
                None => None,
            };
            let around = Around {
                send_again: export::section(cmds.as_ref(), reveal),
                response: detail::response_html(&c, &state, reveal),
                previous,
                csrf: csrf_token(&state).to_string(),
            };
            page(&format!("capture {id}"), capture_html(&c, reveal, &around)).into_response()
        }
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
    fn the_first_bytes_of_a_payload_in_pieces() {
        let body = b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n";
        let (shown, n) = first(Payload::new(body, true), 4);
        assert_eq!((shown, n), (vec![&b"abc"[..], b"d"], 4));
    }
}

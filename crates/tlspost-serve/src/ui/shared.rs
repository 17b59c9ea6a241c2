//! What the UI's handlers share: the state extractor, loading captures off the async threads,
//! the store error answer, how much of a capture a page shows, the page frame and its static
//! script and style. The views of network bytes and text are in [`crate::html`].

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::record::Capture;
use crate::state::State;

/// The shared state, as handlers extract it.
pub(super) type St = AxState<Arc<State>>;

/// How many bytes of a request a page shows at most: of the body in the body view, of the whole
/// request in the raw (escaped) and hex views, and of each side on the diff page. The rest is
/// counted ("showing X of Y bytes") and offered as a download of the exact bytes, so a page stays
/// well under a megabyte however large the capture is.
pub(super) const SHOWN: usize = 64 * 1024;

pub(super) fn err500(e: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("store error: {e}\n")).into_response()
}

pub(super) async fn load_one(state: Arc<State>, id: i64) -> Result<Option<Capture>, String> {
    tokio::task::spawn_blocking(move || state.store.get(id))
        .await
        .map_err(|e| e.to_string())?
}

/// "N bytes" with thousands separators.
pub(super) fn bytes_text(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 6);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out.push_str(if n == 1 { " byte" } else { " bytes" });
    out
}

/// Whether the capture's body is chunked (per its parsed head).
pub(super) fn is_chunked(c: &Capture) -> bool {
    chunked_in(c.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// Whether header fields `(name, value)` say the body is chunked.
pub(super) fn chunked_in<'a>(mut headers: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    headers.any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"))
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

/// A whole page: the frame (title, the site's bar, the stylesheet and icon) around `body`.
pub(super) fn page(title: &str, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tlspost serve" }
                link rel="stylesheet" href="/_tlspost/app.css";
                link rel="icon" href="/_tlspost/favicon.svg" type="image/svg+xml";
            }
            body {
                header .top {
                    a .brand href="/_tlspost/" { "tlspost serve" }
                    nav {
                        a href="/_tlspost/" { "Captures" }
                        a href="/_tlspost/diff" { "Diff" }
                        a href="/_tlspost/ca.pem" { "ca.pem" }
                        a href="/_tlspost/ca.h" { "CA for Arduino" }
                        a href="/_tlspost/api/captures?limit=20" { "API" }
                    }
                }
                main { (body) }
            }
        }
        "\n"
    };
    Html(page.into_string())
}

/// The UI's icon (the browser asks for it under `/_tlspost/`, never at the captured `/favicon.ico`).
pub(super) async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        include_str!("favicon.svg"),
    )
        .into_response()
}

/// The pages' script (the live list), compiled in.
pub(super) async fn app_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("app.js"),
    )
        .into_response()
}

/// The pages' stylesheet, compiled in.
pub(super) async fn app_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("app.css"),
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
    }

    #[test]
    fn byte_counts() {
        assert_eq!(bytes_text(10_485_760), "10,485,760 bytes");
        assert_eq!(bytes_text(1), "1 byte");
        assert_eq!(bytes_text(999), "999 bytes");
    }
}

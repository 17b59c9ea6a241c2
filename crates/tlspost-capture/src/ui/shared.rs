//! What the UI's handlers share: the state extractor, loading captures off the async threads,
//! the store error answer, HTML escaping and the page frame.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::record::Capture;
use crate::state::State;

/// The shared state, as handlers extract it.
pub(super) type St = AxState<Arc<State>>;

pub(super) fn err500(e: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("store error: {e}\n")).into_response()
}

pub(super) async fn load_list(state: Arc<State>, limit: u32, before: Option<i64>) -> Result<Vec<Capture>, String> {
    tokio::task::spawn_blocking(move || state.store.list(limit, before))
        .await
        .map_err(|e| e.to_string())?
}

pub(super) async fn load_one(state: Arc<State>, id: i64) -> Result<Option<Capture>, String> {
    tokio::task::spawn_blocking(move || state.store.get(id))
        .await
        .map_err(|e| e.to_string())?
}

/// HTML-escape text.
pub(super) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Bytes shown as text with every non-printable byte escaped (`\r`, `\n` kept visible, `\xNN`).
pub(super) fn escaped_bytes(b: &[u8]) -> String {
    let mut o = String::new();
    for &c in b {
        match c {
            b'\r' => o.push_str("\\r"),
            b'\n' => o.push_str("\\n\n"),
            b'\t' => o.push_str("\\t"),
            b'\\' => o.push_str("\\\\"),
            0x20..=0x7e => o.push(c as char),
            _ => {
                let _ = write!(o, "\\x{c:02x}");
            }
        }
    }
    o
}

const STYLE: &str = "<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:13px}table{border-collapse:collapse}\
td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top;font-size:14px}\
.error{color:#b00}.warning{color:#a60}.info{color:#666}code{background:#f0f0f0}\
.cols{display:flex;gap:1em}.cols>div{flex:1;min-width:0}.del{background:#fdd}.add{background:#dfd}</style>";

pub(super) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{} · tlspost serve</title>{STYLE}</head>\
         <body><p><a href=\"/_tlspost/\">captures</a> · <a href=\"/_tlspost/ca.pem\">ca.pem</a> · \
         <a href=\"/_tlspost/ca.h\">CA for Arduino</a></p>{body}</body></html>\n",
        esc(title)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escaped_bytes(b"a\r\n\x00"), "a\\r\\n\n\\x00");
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}

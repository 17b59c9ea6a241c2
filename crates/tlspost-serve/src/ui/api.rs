//! The JSON API: captures as stored, with secrets masked unless `?reveal=1` asks for them.

use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::access::Reveal;
use super::shared::{St, err500, load_list, load_one};
use crate::framing;
use crate::mask;
use crate::record::Capture;

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

/// A capture for the JSON API with its secrets masked as in the UI: secret header values
/// (Authorization keeps its scheme), JSON and form fields named *secret*/*password*/*token* in
/// the body and the query, in the raw bytes (same length, so offsets hold), the parsed head, and
/// wherever those values appear again (finding messages, the error). The event stream and the
/// capture page show captures through it too.
pub(super) fn masked(mut c: Capture) -> Capture {
    let raw = mask::mask_capture(&c.raw, c.head_len);
    let secrets = mask::secrets(&c.raw, &raw);
    let scrub = |t: &str| mask::scrub(t, &secrets);
    let reparsed = (c.method.is_some() && c.head_len > 0)
        .then(|| raw.get(..c.head_len).map(framing::parse_head))
        .flatten();
    match reparsed {
        Some(Ok(head)) => {
            c.target = Some(head.target);
            c.headers = head.headers;
        }
        _ => {
            c.target = c.target.as_deref().map(scrub);
            c.headers = c
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), scrub(&mask::mask_header_value(n, v))))
                .collect();
        }
    }
    for f in &mut c.findings {
        f.message = scrub(&f.message);
        f.fix = scrub(&f.fix);
    }
    c.error = c.error.as_deref().map(scrub);
    c.raw = raw;
    c
}

pub(super) async fn api_list(AxState(state): St, Reveal(reveal): Reveal, Query(q): Query<ListQuery>) -> Response {
    match load_list(state, q.limit.unwrap_or(100).min(1000), q.before).await {
        Ok(list) if reveal => axum::Json(list).into_response(),
        Ok(list) => axum::Json(list.into_iter().map(masked).collect::<Vec<_>>()).into_response(),
        Err(e) => err500(e),
    }
}

pub(super) async fn api_one(AxState(state): St, Path(id): Path<String>, Reveal(reveal): Reveal) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    match load_one(state, id).await {
        Ok(Some(c)) if reveal => axum::Json(c).into_response(),
        Ok(Some(c)) => axum::Json(masked(c)).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no capture {id}\n")).into_response(),
        Err(e) => err500(e),
    }
}

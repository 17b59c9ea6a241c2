//! The JSON API: captures as stored, with secrets masked unless `?reveal=1` asks for them.

use std::sync::Arc;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::access::{CsrfChecked, Reveal};
use super::har::har;
use super::shared::{St, err500, load_one};
use crate::framing;
use crate::mask;
use crate::record::Capture;
use crate::replay::Replayed;
use crate::state::State;
use crate::store::query::{Filter, Status};

/// The list's query: paging (`limit`, `before`) and the filter (see [`Filter`]): `q` (text
/// anywhere), `method`, `path`, `ua`, `code`, `status` (`404`, `4xx`, `none`), `error` (`1`: with
/// an error, `0`: without), `since` and `until` (Unix milliseconds); `ids` (comma-separated)
/// picks captures by id (those the filter keeps: a HAR of a selection, a live capture checked
/// against the filter).
#[derive(serde::Deserialize, Default)]
pub(super) struct ListQuery {
    limit: Option<u32>,
    before: Option<i64>,
    q: Option<String>,
    method: Option<String>,
    path: Option<String>,
    ua: Option<String>,
    code: Option<String>,
    status: Option<String>,
    error: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    ids: Option<String>,
}

/// The header naming where the next (older) page of a list starts.
pub(super) const NEXT_BEFORE: &str = "x-tlspost-next-before";

impl ListQuery {
    fn filter(&self) -> Result<Filter, String> {
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
        let status = match given(&self.status) {
            None => None,
            Some(s) => Some(
                Status::parse(&s)
                    .ok_or_else(|| format!("status {s:?}: a code (404), a class (4xx) or `none` (nothing answered)"))?,
            ),
        };
        let error = match given(&self.error).as_deref() {
            None => None,
            Some("1" | "true") => Some(true),
            Some("0" | "false") => Some(false),
            Some(e) => return Err(format!("error {e:?}: `1` (with an error) or `0` (without)")),
        };
        Ok(Filter {
            text: given(&self.q),
            method: given(&self.method),
            path: given(&self.path),
            user_agent: given(&self.ua),
            code: given(&self.code),
            status,
            error,
            since_ms: self.since,
            until_ms: self.until,
        })
    }

    fn ids(&self) -> Result<Option<Vec<i64>>, String> {
        let Some(ids) = self.ids.as_deref() else {
            return Ok(None);
        };
        ids.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("ids: {s:?} is not a capture id"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The captures a list query selects (masked unless `reveal`), and where the next page starts.
async fn select(
    state: Arc<State>,
    q: ListQuery,
    reveal: bool,
    max: u32,
) -> Result<(Vec<Capture>, Option<i64>), Response> {
    let bad = |e: String| (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
    let filter = q.filter().map_err(bad)?;
    let ids = q.ids().map_err(bad)?;
    let limit = q.limit.unwrap_or(100).min(max);
    let before = q.before;
    let found = tokio::task::spawn_blocking(move || match ids {
        Some(ids) => {
            let mut out = Vec::new();
            for id in ids.into_iter().take(max as usize) {
                out.extend(state.store.get(id)?.filter(|c| filter.matches(c)));
            }
            Ok((out, None))
        }
        None => state
            .store
            .search(&filter, limit, before)
            .map(|p| (p.captures, p.next_before)),
    })
    .await
    .map_err(|e| err500(e.to_string()))?
    .map_err(err500)?;
    let (list, next) = found;
    Ok((
        if reveal {
            list
        } else {
            list.into_iter().map(masked).collect()
        },
        next,
    ))
}

/// A capture for the JSON API with its secrets masked as in the UI: secret header values
/// (Authorization keeps its scheme), JSON and form fields named *secret*/*password*/*token* in
/// the body and the query, in the raw bytes (same length, so offsets hold), the parsed head, and
/// wherever those values appear again (finding messages, the error); the upstream's response
/// (forward mode, replays) by the same policy ([`mask::mask_upstream`]). The event stream and the
/// HAR show captures through it too.
pub(super) fn masked(mut c: Capture) -> Capture {
    let raw = mask::mask_capture(&c.raw, c.head_len);
    let mut secrets = mask::secrets(&c.raw, &raw);
    if let Some(u) = &mut c.upstream {
        secrets.extend(mask::mask_upstream(u, &secrets));
        mask::longest_first(&mut secrets);
    }
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

/// A replay's answer with its response masked as a capture's ([`mask::mask_upstream`]) and so
/// are the values of the header fields whose difference it names (the original's too).
pub(super) fn masked_replay(mut r: Replayed) -> Replayed {
    let found = mask::mask_upstream(&mut r.upstream, &[]);
    for (name, was, now) in &mut r.difference.headers {
        for v in [was, now].into_iter().flatten() {
            *v = mask::scrub(&mask::mask_header_value(name, v), &found);
        }
    }
    r
}

/// `GET /_tlspost/api/captures`: newest first, filtered and paged (see [`ListQuery`]); when there
/// may be more, the `X-Tlspost-Next-Before` header says the `before` of the next page.
pub(super) async fn api_list(AxState(state): St, Reveal(reveal): Reveal, Query(q): Query<ListQuery>) -> Response {
    match select(state, q, reveal, 1000).await {
        Ok((list, next)) => {
            let mut r = axum::Json(list).into_response();
            if let Some(next) = next {
                r.headers_mut().insert(NEXT_BEFORE, HeaderValue::from(next));
            }
            r
        }
        Err(r) => r,
    }
}

/// `GET /_tlspost/api/har`: the captures the list's query selects (by default the newest 100; at
/// most 1000), or `ids=1,2,3`, as a HAR 1.2 download.
pub(super) async fn api_har(AxState(state): St, Reveal(reveal): Reveal, Query(q): Query<ListQuery>) -> Response {
    match select(state, q, reveal, 1000).await {
        Ok((list, _)) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"tlspost.har\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            axum::Json(har(&list)),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// `POST /_tlspost/api/captures/{id}/delete` (CSRF-checked): delete one capture.
pub(super) async fn api_delete(AxState(state): St, _: CsrfChecked, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    match tokio::task::spawn_blocking(move || state.store.delete(id)).await {
        Ok(Ok(true)) => axum::Json(serde_json::json!({"deleted": 1})).into_response(),
        Ok(Ok(false)) => (StatusCode::NOT_FOUND, format!("no capture {id}\n")).into_response(),
        Ok(Err(e)) => err500(e),
        Err(e) => err500(e.to_string()),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct ClearQuery {
    upto: Option<i64>,
}

/// `POST /_tlspost/api/captures/clear?upto=ID` (CSRF-checked): delete every capture up to `ID`
/// (the newest the page showed; all without it).
pub(super) async fn api_clear(AxState(state): St, _: CsrfChecked, Query(q): Query<ClearQuery>) -> Response {
    match tokio::task::spawn_blocking(move || state.store.clear(q.upto)).await {
        Ok(Ok(n)) => axum::Json(serde_json::json!({"deleted": n})).into_response(),
        Ok(Err(e)) => err500(e),
        Err(e) => err500(e.to_string()),
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

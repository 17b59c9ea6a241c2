//! The diff page: two captures' raw bytes side by side, changed lines marked, and below them the
//! two responses the upstream gave (forward mode, replays) the same way. Each side shows at most
//! the first [`SHOWN`] bytes of its capture or response body, masked as the capture page masks
//! them, with a download of the rest of a request.

use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::detail::shown_upstream;
use super::shared::{SHOWN, St, bytes_text, err500, load_one, page};
use crate::html::{Visible, write_escaped_bytes};
use crate::mask;
use crate::record::Capture;

#[derive(serde::Deserialize)]
pub(super) struct DiffQuery {
    a: Option<String>,
    b: Option<String>,
}

/// Lines compared pairwise at most (the table is their product); past them, after the lines the
/// two sides share at the start and the end, the rest is shown as changed.
const DIFF_LINES: usize = 2000;

/// Line diff of two texts: (left, right) rows, `None` on the side a line is missing from. The
/// lines both start and end with are matched directly; the middle by longest common subsequence.
fn diff_lines<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a_rest, b_rest) = (a.get(prefix..).unwrap_or_default(), b.get(prefix..).unwrap_or_default());
    let suffix = a_rest
        .iter()
        .rev()
        .zip(b_rest.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mid_a = a_rest.get(..a_rest.len() - suffix).unwrap_or_default();
    let mid_b = b_rest.get(..b_rest.len() - suffix).unwrap_or_default();
    let mut out: Vec<(Option<&str>, Option<&str>)> = a.iter().take(prefix).map(|&x| (Some(x), Some(x))).collect();
    let (n, m) = (mid_a.len().min(DIFF_LINES), mid_b.len().min(DIFF_LINES));
    // l[i][j]: common subsequence length of mid_a[i..n] and mid_b[j..m] (at most DIFF_LINES).
    let mut l = vec![vec![0u16; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if mid_a[i] == mid_b[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && mid_a[i] == mid_b[j] {
            out.push((Some(mid_a[i]), Some(mid_b[j])));
            i += 1;
            j += 1;
        } else if j < m && (i == n || l[i][j + 1] >= l[i + 1][j]) {
            out.push((None, Some(mid_b[j])));
            j += 1;
        } else {
            out.push((Some(mid_a[i]), None));
            i += 1;
        }
    }
    out.extend(mid_a.iter().skip(n).map(|&x| (Some(x), None)));
    out.extend(mid_b.iter().skip(m).map(|&y| (None, Some(y))));
    out.extend(a_rest.iter().skip(mid_a.len()).map(|&x| (Some(x), Some(x))));
    out
}

/// A capture's first [`SHOWN`] bytes, masked, as escaped text (a copy of that window only).
fn shown_text(c: &Capture) -> (String, usize) {
    let window = c.raw.get(..SHOWN.min(c.raw.len())).unwrap_or_default();
    let mut text = String::with_capacity(window.len() + window.len() / 8);
    let _ = write_escaped_bytes(&mask::mask_capture(window, c.head_len), &mut text);
    (text, window.len())
}

/// The upstream's response to a capture as the capture page shows it (masked), as escaped text;
/// empty when there is none.
fn response_text(c: &Capture) -> String {
    let Some(u) = &c.upstream else {
        return String::new();
    };
    let shown = shown_upstream(c, u, false);
    let mut text = String::with_capacity(shown.head.len() + shown.body.len() + 64);
    let _ = write_escaped_bytes(&shown.head, &mut text);
    let _ = write_escaped_bytes(&shown.body, &mut text);
    text
}

/// Two texts side by side, line by line, changed lines marked: the left's as removed, the right's
/// as added. `head` makes each column's top.
fn columns(a: &str, b: &str, id: &str, head: impl Fn(bool) -> Markup) -> Markup {
    let la: Vec<&str> = a.lines().collect();
    let lb: Vec<&str> = b.lines().collect();
    let rows = diff_lines(&la, &lb);
    let changed = |x: Option<&str>, y: Option<&str>| x.is_none() || y.is_none();
    let side = |left: bool| {
        html! {
            div {
                (head(left))
                pre {
                    @for &(x, y) in &rows {
                        @let (line, class) = if left { (x, "del") } else { (y, "add") };
                        div class=(if changed(x, y) { class } else { "" }) { (line.unwrap_or("")) }
                    }
                }
            }
        }
    };
    html! { div .cols id=(id) { (side(true)) (side(false)) } }
}

/// The top of a capture's column: its id, peer and findings, and how much of it is shown.
fn capture_head(c: &Capture, shown: usize) -> Markup {
    let codes = c.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>().join(" ");
    let href = format!("/_tlspost/captures/{}/raw", c.id);
    html! {
        h2 { a href={ "/_tlspost/captures/" (c.id) } { "#" (c.id) } " " (Visible(&c.peer)) }
        p { "findings: " (codes) }
        @if shown < c.raw.len() {
            p .note {
                "Showing the first " (bytes_text(shown)) " of " (bytes_text(c.raw.len())) ". "
                a href=(href) download={ "capture-" (c.id) ".bin" } { "Download all (secrets masked)" }
            }
        }
    }
}

/// The top of a response's column: who answered and the status.
fn response_head(c: &Capture) -> Markup {
    html! {
        h3 {
            "#" (c.id) ": "
            @match &c.upstream {
                Some(u) => {
                    @if u.status == 0 { "no response" } @else { "status " (u.status) }
                    @if let Some(a) = &u.answered_by { " · " (Visible(&a.who)) }
                    @if (u.body.len() as u64) < u.body_len { " · body cut at " (bytes_text(u.body.len())) }
                }
                None => { "answered by this server (not stored)" }
            }
        }
    }
}

pub(super) async fn diff_page(AxState(state): St, Query(q): Query<DiffQuery>) -> Response {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| v.trim().trim_start_matches('#').parse::<i64>().ok())
    };
    let (Some(a), Some(b)) = (parse(&q.a), parse(&q.b)) else {
        return (
            StatusCode::BAD_REQUEST,
            page("diff", html! { p { "Give two capture ids: /_tlspost/diff?a=1&b=2" } }),
        )
            .into_response();
    };
    let (ca, cb) = match (load_one(state.clone(), a).await, load_one(state, b).await) {
        (Ok(Some(x)), Ok(Some(y))) => (x, y),
        (Err(e), _) | (_, Err(e)) => return err500(e),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                page("diff", html! { p { "One of the captures does not exist." } }),
            )
                .into_response();
        }
    };
    let (ta, shown_a) = shown_text(&ca);
    let (tb, shown_b) = shown_text(&cb);
    let requests = columns(&ta, &tb, "requests", |left| {
        if left {
            capture_head(&ca, shown_a)
        } else {
            capture_head(&cb, shown_b)
        }
    });
    let upstream = ca.upstream.is_some() || cb.upstream.is_some();
    let responses = upstream.then(|| {
        columns(&response_text(&ca), &response_text(&cb), "responses", |left| {
            response_head(if left { &ca } else { &cb })
        })
    });
    let body = html! {
        h1 { "#" (a) " vs #" (b) }
        @if ca.replay_of == Some(b) || cb.replay_of == Some(a) {
            p .note { "One is a replay of the other: the same request bytes sent again (unless edited)." }
        }
        (requests)
        @if let Some(r) = responses {
            h2 #response { "Responses from the upstream" }
            (r)
        }
    };
    page("diff", body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines() {
        let d = diff_lines(&["a", "b", "c"], &["a", "x", "c"]);
        assert_eq!(d.first(), Some(&(Some("a"), Some("a"))));
        assert!(d.contains(&(Some("b"), None)) && d.contains(&(None, Some("x"))));
        assert_eq!(d.last(), Some(&(Some("c"), Some("c"))));
        let d = diff_lines(&["h", "x", "y", "t"], &["h", "t"]);
        assert_eq!(
            d,
            [
                (Some("h"), Some("h")),
                (Some("x"), None),
                (Some("y"), None),
                (Some("t"), Some("t"))
            ]
        );
        // Past DIFF_LINES in the middle: shown as changed, nothing dropped.
        let a: Vec<&str> = (0..DIFF_LINES + 5).map(|_| "a").collect();
        let d = diff_lines(&["s"].iter().chain(&a).copied().collect::<Vec<_>>(), &["t"]);
        assert_eq!(d.len(), DIFF_LINES + 7);
        assert_eq!(d.iter().filter(|r| r.1.is_some()).count(), 1);
    }
}

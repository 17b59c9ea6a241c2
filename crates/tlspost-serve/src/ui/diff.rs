//! The diff page: two captures' raw bytes side by side, changed lines marked. Each side shows at
//! most the first [`SHOWN`] bytes of its capture (masked), with a download of the rest.

use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

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

fn side(c: &Capture, shown: usize, rows: &mut dyn Iterator<Item = (&str, bool)>, class: &str) -> Markup {
    let codes = c.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>().join(" ");
    let href = format!("/_tlspost/captures/{}/raw", c.id);
    html! {
        div {
            h2 { a href={ "/_tlspost/captures/" (c.id) } { "#" (c.id) } " " (Visible(&c.peer)) }
            p { "findings: " (codes) }
            @if shown < c.raw.len() {
                p .note {
                    "Showing the first " (bytes_text(shown)) " of " (bytes_text(c.raw.len())) ". "
                    a href=(href) download={ "capture-" (c.id) ".bin" } { "Download all (secrets masked)" }
                }
            }
            pre { @for (line, changed) in rows { div class=(if changed { class } else { "" }) { (line) } } }
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
    let la: Vec<&str> = ta.lines().collect();
    let lb: Vec<&str> = tb.lines().collect();
    let rows = diff_lines(&la, &lb);
    let changed = |x: Option<&str>, y: Option<&str>| x.is_none() || y.is_none();
    let left = side(
        &ca,
        shown_a,
        &mut rows.iter().map(|&(x, y)| (x.unwrap_or(""), changed(x, y))),
        "del",
    );
    let right = side(
        &cb,
        shown_b,
        &mut rows.iter().map(|&(x, y)| (y.unwrap_or(""), changed(x, y))),
        "add",
    );
    let body = html! {
        h1 { "#" (a) " vs #" (b) }
        div .cols { (left) (right) }
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

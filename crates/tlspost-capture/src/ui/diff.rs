//! The diff page: two captures' raw bytes side by side, changed lines marked.

use std::fmt::Write as _;

use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::shared::{St, err500, esc, escaped_bytes, load_one, page};
use crate::mask;
use crate::record::Capture;

#[derive(serde::Deserialize)]
pub(super) struct DiffQuery {
    a: Option<String>,
    b: Option<String>,
}

/// Line diff (longest common subsequence) of two texts: (left, right) rows with a marker.
fn diff_lines<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    let (n, m) = (a.len().min(2000), b.len().min(2000));
    let mut l = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if a[i] == b[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((Some(a[i]), Some(b[j])));
            i += 1;
            j += 1;
        } else if j < m && (i == n || l[i][j + 1] >= l[i + 1][j]) {
            out.push((None, Some(b[j])));
            j += 1;
        } else {
            out.push((Some(a[i]), None));
            i += 1;
        }
    }
    out
}

pub(super) async fn diff_page(AxState(state): St, Query(q): Query<DiffQuery>) -> Response {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| v.trim().trim_start_matches('#').parse::<i64>().ok())
    };
    let (Some(a), Some(b)) = (parse(&q.a), parse(&q.b)) else {
        return (
            StatusCode::BAD_REQUEST,
            page("diff", "<p>Give two capture ids: /_tlspost/diff?a=1&amp;b=2</p>"),
        )
            .into_response();
    };
    let (ca, cb) = match (load_one(state.clone(), a).await, load_one(state, b).await) {
        (Ok(Some(x)), Ok(Some(y))) => (x, y),
        (Err(e), _) | (_, Err(e)) => return err500(e),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                page("diff", "<p>One of the captures does not exist.</p>"),
            )
                .into_response();
        }
    };
    let ta = escaped_bytes(&mask::mask_capture(&ca.raw, ca.head_len));
    let tb = escaped_bytes(&mask::mask_capture(&cb.raw, cb.head_len));
    let la: Vec<&str> = ta.lines().collect();
    let lb: Vec<&str> = tb.lines().collect();
    let mut left = String::new();
    let mut right = String::new();
    for (x, y) in diff_lines(&la, &lb) {
        let cls = match (x, y) {
            (Some(_), Some(_)) => "",
            _ => "changed",
        };
        let _ = writeln!(
            left,
            "<div class=\"{}\">{}&nbsp;</div>",
            if cls.is_empty() { "" } else { "del" },
            esc(x.unwrap_or(""))
        );
        let _ = writeln!(
            right,
            "<div class=\"{}\">{}&nbsp;</div>",
            if cls.is_empty() { "" } else { "add" },
            esc(y.unwrap_or(""))
        );
    }
    let codes = |c: &Capture| c.findings.iter().map(|f| f.code.clone()).collect::<Vec<_>>().join(" ");
    let body = format!(
        "<h1>#{a} vs #{b}</h1><div class=\"cols\"><div><h2><a href=\"/_tlspost/captures/{a}\">#{a}</a> {}</h2><p>findings: {}</p><pre>{left}</pre></div>\
         <div><h2><a href=\"/_tlspost/captures/{b}\">#{b}</a> {}</h2><p>findings: {}</p><pre>{right}</pre></div></div>",
        esc(&ca.peer),
        esc(&codes(&ca)),
        esc(&cb.peer),
        esc(&codes(&cb))
    );
    page("diff", &body).into_response()
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
    }
}

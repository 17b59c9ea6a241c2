//! The UI's and API's questions to the store: search and filter with paging, the previous capture
//! of a path, and deleting captures.
//!
//! Method, target, headers and findings live in the stored bytes and the `meta` JSON, not in
//! columns, so a search reads rows newest first (time and id bounds in SQL) and keeps those that
//! match; it reads at most [`SCAN`] rows per call and says where to go on from.

use std::ops::ControlFlow;

use rusqlite::params;

use super::{COLUMNS, Store, read_error, row_to_capture};
use crate::record::Capture;

/// Rows a search reads at most per call.
pub(crate) const SCAN: usize = 20_000;

/// Rows read per statement.
const BATCH: u32 = 500;

/// What a search keeps. Text matches ignore ASCII case; every given field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Anywhere in the method, target, User-Agent, peer, SNI, error or finding codes.
    pub text: Option<String>,
    /// The method, exactly (ASCII case ignored).
    pub method: Option<String>,
    /// Part of the target's path (the query not included).
    pub path: Option<String>,
    /// Part of the User-Agent.
    pub user_agent: Option<String>,
    /// A finding code, e.g. `TP301`.
    pub code: Option<String>,
    /// The status answered.
    pub status: Option<Status>,
    /// Whether the capture has an error (`true`) or none (`false`).
    pub error: Option<bool>,
    /// Arrived at or after, Unix milliseconds.
    pub since_ms: Option<i64>,
    /// Arrived before, Unix milliseconds.
    pub until_ms: Option<i64>,
}

/// A status to match: one code, or a class (`4` for 4xx).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Exactly this code (0: nothing was answered).
    Code(u16),
    /// Any code of this hundred.
    Class(u16),
}

impl Status {
    /// `404`, `4xx` (any case), or `none` (nothing answered).
    pub(crate) fn parse(s: &str) -> Option<Status> {
        let s = s.trim().to_ascii_lowercase();
        if s == "none" {
            return Some(Status::Code(0));
        }
        if let Some(d) = s.strip_suffix("xx") {
            return d.parse::<u16>().ok().filter(|d| (1..=9).contains(d)).map(Status::Class);
        }
        s.parse().ok().map(Status::Code)
    }

    fn matches(self, status: u16) -> bool {
        match self {
            Status::Code(c) => status == c,
            Status::Class(c) => status / 100 == c && status != 0,
        }
    }
}

fn contains(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
}

fn header<'a>(c: &'a Capture, name: &str) -> Option<&'a str> {
    c.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The target's path: up to `?`.
pub(crate) fn path_of(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

impl Filter {
    /// Whether `c` is kept.
    pub(crate) fn matches(&self, c: &Capture) -> bool {
        let target = c.target.as_deref().unwrap_or("");
        let ua = header(c, "user-agent").unwrap_or("");
        let text_ok = self.text.as_deref().is_none_or(|t| {
            [
                c.method.as_deref().unwrap_or(""),
                target,
                ua,
                &c.peer,
                c.sni.as_deref().unwrap_or(""),
                c.error.as_deref().unwrap_or(""),
            ]
            .iter()
            .any(|h| contains(h, t))
                || c.findings.iter().any(|f| f.code.eq_ignore_ascii_case(t.trim()))
        });
        text_ok
            && self
                .method
                .as_deref()
                .is_none_or(|m| c.method.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(m.trim())))
            && self.path.as_deref().is_none_or(|p| contains(path_of(target), p))
            && self.user_agent.as_deref().is_none_or(|u| contains(ua, u))
            && self
                .code
                .as_deref()
                .is_none_or(|code| c.findings.iter().any(|f| f.code.eq_ignore_ascii_case(code.trim())))
            && self.status.is_none_or(|s| s.matches(c.status))
            && self.error.is_none_or(|e| e == c.error.is_some())
    }
}

/// One page of a search.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// The matches, newest first.
    pub captures: Vec<Capture>,
    /// Where the next (older) page starts (`before`), when there may be more.
    pub next_before: Option<i64>,
    /// Rows read.
    pub scanned: usize,
}

impl Store {
    /// Captures matching `filter`, newest first: at most `limit`, with ids below `before` when
    /// given. Reads at most [`SCAN`] rows; `next_before` then says where to go on.
    pub(crate) fn search(&self, filter: &Filter, limit: u32, before: Option<i64>) -> Result<Page, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        let mut st = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM captures c LEFT JOIN tls_facts t ON t.key = c.tls_key \
                 WHERE c.id < ?1 AND c.time_ms >= ?2 AND c.time_ms < ?3 ORDER BY c.id DESC LIMIT ?4"
            ))
            .map_err(read_error)?;
        let mut page = Page::default();
        let mut cursor = before.unwrap_or(i64::MAX);
        let (since, until) = (filter.since_ms.unwrap_or(i64::MIN), filter.until_ms.unwrap_or(i64::MAX));
        let limit = limit as usize;
        loop {
            let rows = st
                .query_map(params![cursor, since, until, BATCH], row_to_capture)
                .map_err(read_error)?;
            let mut read = 0;
            for row in rows {
                let capture = row.map_err(read_error)??;
                read += 1;
                page.scanned += 1;
                cursor = capture.id;
                if filter.matches(&capture) {
                    page.captures.push(capture);
                    if page.captures.len() == limit {
                        page.next_before = Some(cursor);
                        return Ok(page);
                    }
                }
            }
            if read < BATCH as usize {
                return Ok(page);
            }
            if page.scanned >= SCAN {
                page.next_before = Some(cursor);
                return Ok(page);
            }
        }
    }

    /// The newest capture before `id` whose target has the path `path` (the query not
    /// compared), if any within [`SCAN`] rows.
    pub(crate) fn previous_of_path(&self, id: i64, path: &str) -> Result<Option<Capture>, String> {
        let mut found = None;
        self.newest_below(id, SCAN as u32, |capture| {
            if capture.target.as_deref().map(path_of) == Some(path) {
                found = Some(capture);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        Ok(found)
    }

    /// Delete one capture; whether it was there.
    pub(crate) fn delete(&self, id: i64) -> Result<bool, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        c.execute("DELETE FROM captures WHERE id = ?1", params![id])
            .map(|n| n > 0)
            .map_err(|e| format!("delete capture {id}: {}", read_error(e)))
    }

    /// Delete every capture up to id `upto` (all when `None`): captures that arrived after the
    /// list was shown stay. How many were deleted.
    pub(crate) fn clear(&self, upto: Option<i64>) -> Result<usize, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        c.execute("DELETE FROM captures WHERE id <= ?1", params![upto.unwrap_or(i64::MAX)])
            .map_err(|e| format!("delete the captures: {}", read_error(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(target: &str, ua: &str, status: u16, code: Option<&str>) -> Capture {
        let raw =
            format!("POST {target} HTTP/1.1\r\nHost: h\r\nUser-Agent: {ua}\r\nContent-Length: 0\r\n\r\n").into_bytes();
        let head = crate::framing::parse_head(&raw).unwrap();
        Capture {
            time_ms: 1_700_000_000_000,
            peer: "127.0.0.1:1".into(),
            scheme: "http".into(),
            head_len: head.len,
            method: Some(head.method),
            target: Some(head.target),
            version: Some("HTTP/1.1".into()),
            headers: head.headers,
            raw,
            complete: true,
            status,
            findings: code
                .map(|code| crate::record::FindingRecord {
                    code: code.into(),
                    severity: "error".into(),
                    title: String::new(),
                    message: String::new(),
                    fix: String::new(),
                })
                .into_iter()
                .collect(),
            ..Capture::default()
        }
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(Status::parse("404"), Some(Status::Code(404)));
        assert_eq!(Status::parse("4XX"), Some(Status::Class(4)));
        assert_eq!(Status::parse("none"), Some(Status::Code(0)));
        assert_eq!(Status::parse("0xx"), None);
        assert_eq!(Status::parse("x"), None);
        assert!(Status::Class(2).matches(204) && !Status::Class(2).matches(0));
    }

    #[tokio::test]
    async fn search_filters_pages_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        let mut ids = Vec::new();
        for i in 0..30 {
            let c = if i % 3 == 0 {
                capture(&format!("/a?n={i}"), "esp32/1", 400, Some("TP301"))
            } else {
                capture("/b", "curl/8", 200, None)
            };
            ids.push(store.put(c).await.unwrap().id);
        }
        let all = |f: &Filter| store.search(f, 1000, None).unwrap().captures.len();
        assert_eq!(all(&Filter::default()), 30);
        let f = |g: fn(&mut Filter)| {
            let mut x = Filter::default();
            g(&mut x);
            x
        };
        assert_eq!(all(&f(|x| x.path = Some("/A".into()))), 10);
        assert_eq!(all(&f(|x| x.user_agent = Some("curl".into()))), 20);
        assert_eq!(all(&f(|x| x.code = Some("tp301".into()))), 10);
        assert_eq!(all(&f(|x| x.status = Some(Status::Class(4)))), 10);
        assert_eq!(all(&f(|x| x.method = Some("get".into()))), 0);
        assert_eq!(all(&f(|x| x.error = Some(true))), 0);
        assert_eq!(all(&f(|x| x.text = Some("n=27".into()))), 1);
        assert_eq!(all(&f(|x| x.until_ms = Some(1_700_000_000_000))), 0);
        // Pages of 4 of the /a captures, newest first, none twice.
        let filter = f(|x| x.path = Some("/a".into()));
        let (mut seen, mut before) = (Vec::new(), None);
        loop {
            let page = store.search(&filter, 4, before).unwrap();
            seen.extend(page.captures.iter().map(|c| c.id));
            match page.next_before {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        assert_eq!(seen.len(), 10);
        assert_eq!(
            seen,
            ids.iter()
                .enumerate()
                .rev()
                .filter(|(i, _)| i % 3 == 0)
                .map(|(_, id)| *id)
                .collect::<Vec<_>>()
        );
        // The previous capture of /a before the newest /a.
        let prev = store.previous_of_path(seen[0], "/a").unwrap().unwrap();
        assert_eq!(prev.id, seen[1]);
        assert!(store.previous_of_path(*seen.last().unwrap(), "/a").unwrap().is_none());
        assert!(store.delete(seen[0]).unwrap());
        assert!(!store.delete(seen[0]).unwrap(), "gone already");
        assert_eq!(store.clear(Some(ids[9])).unwrap(), 10);
        assert_eq!(store.count().unwrap(), 19);
        assert_eq!(store.clear(None).unwrap(), 19);
        assert_eq!(store.count().unwrap(), 0);
    }
}

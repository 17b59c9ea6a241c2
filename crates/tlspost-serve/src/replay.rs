//! Replay: a stored request's exact bytes sent again to the configured upstream (optionally
//! edited: header fields set, the body replaced), recorded as a new capture linked to the original
//! (`replay_of`), with the difference between the two responses.
//!
//! The API replays only to the configured upstream: a page or script that can reach the API
//! cannot make the server send requests elsewhere. A client that wants another target (the CLI's
//! `--to`) sends the bytes itself ([`send_to`]) and has the result recorded ([`Recorded`]).

use std::sync::Arc;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::forward::{self, Forward, Forwarder};
use crate::framing;
use crate::record::{Capture, Upstream, now_ms, rfc3339};
use crate::state::State;

/// Changes to the stored bytes before they are sent again.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Edits {
    /// Header fields to set: each replaces the value of the first field of that name
    /// (case-insensitive; the name keeps its spelling as sent) in place, or is added at the end of
    /// the head; the other fields stay as they were.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// A new body (base64 in JSON): replaces the stored one, with `Content-Length` set to its
    /// length (a chunked request's `Transfer-Encoding` goes).
    #[serde(
        default,
        with = "crate::record::b64::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub body: Option<Vec<u8>>,
}

/// What a replay request to the API holds: edits to send, or (for a client that sent the bytes
/// itself to another target) a result to record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReplayRequest {
    /// Edits, when the server sends.
    #[serde(default)]
    pub edits: Edits,
    /// A result the client got itself, to record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Recorded>,
}

/// A replay a client sent itself: the bytes it sent and what came back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Recorded {
    /// The request bytes as sent (base64 in JSON).
    #[serde(with = "crate::record::b64")]
    pub raw: Vec<u8>,
    /// The exchange.
    pub upstream: Upstream,
}

/// The answer of a replay: the new capture, and how its response differs from the original's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Replayed {
    /// The new capture's id.
    pub id: i64,
    /// The original's id.
    pub replay_of: i64,
    /// The new exchange.
    pub upstream: Upstream,
    /// How the responses differ (empty lists and `body_same` when they do not).
    pub difference: Difference,
}

/// How two responses differ.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The statuses, original first (0: no response).
    pub status: (u16, u16),
    /// Header fields whose values differ: name, original value(s), new value(s).
    pub headers: Vec<(String, Option<String>, Option<String>)>,
    /// Whether the kept bodies are the same bytes.
    pub body_same: bool,
    /// The bodies' lengths, original first.
    pub body_len: (u64, u64),
}

/// Why a replay cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// No capture with this id.
    NoCapture(i64),
    /// The capture holds no whole request (its head did not parse, or it never ended).
    Incomplete(i64),
    /// The server runs without an upstream, so it has nowhere to send to.
    NoUpstream,
    /// An edit cannot be applied.
    BadEdit(String),
    /// The store failed.
    Store(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::NoCapture(id) => write!(f, "there is no capture {id}"),
            ReplayError::Incomplete(id) => write!(
                f,
                "capture {id} holds no whole request (it did not parse or never ended), so there is nothing to send again"
            ),
            ReplayError::NoUpstream => write!(
                f,
                "this capture server runs without an upstream, so it replays nowhere (it sends only to its configured upstream)"
            ),
            ReplayError::BadEdit(e) => write!(f, "the edit cannot be applied: {e}"),
            ReplayError::Store(e) => write!(f, "the store failed: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// The stored bytes with `edits` applied (`head_len`: where the head ends).
pub fn edit(raw: &[u8], head_len: usize, edits: &Edits) -> Result<Vec<u8>, ReplayError> {
    if edits.headers.is_empty() && edits.body.is_none() {
        return Ok(raw.to_vec());
    }
    for (n, v) in &edits.headers {
        if !crate::respond::header_ok(n, v) {
            return Err(ReplayError::BadEdit(format!(
                "`{}: {}` is not a header line (a token name, a value without CR, LF or NUL)",
                n.escape_debug(),
                v.escape_debug()
            )));
        }
    }
    let head = raw.get(..head_len).unwrap_or_default();
    let mut set = edits.headers.clone();
    if let Some(b) = &edits.body {
        set.retain(|(n, _)| !n.eq_ignore_ascii_case("content-length"));
        set.push(("Content-Length".into(), b.len().to_string()));
    }
    let drop_te = edits.body.is_some();
    let eol: &[u8] = if head.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut done = vec![false; set.len()];
    for (i, line) in head.split_inclusive(|&b| b == b'\n').enumerate() {
        let name = line
            .iter()
            .position(|&b| b == b':')
            .and_then(|c| std::str::from_utf8(line.get(..c).unwrap_or_default()).ok())
            .filter(|_| i > 0);
        let is_end = i > 0 && (line == b"\r\n" || line == b"\n");
        if is_end {
            for ((n, v), d) in set.iter().zip(&done) {
                if !d {
                    out.extend_from_slice(format!("{n}: {v}").as_bytes());
                    out.extend_from_slice(eol);
                }
            }
        }
        match name {
            Some(n) if drop_te && n.eq_ignore_ascii_case("transfer-encoding") => {}
            Some(n) => match set.iter().position(|(s, _)| s.eq_ignore_ascii_case(n)) {
                Some(k) if !done.get(k).copied().unwrap_or(true) => {
                    if let (Some(d), Some((_, v))) = (done.get_mut(k), set.get(k)) {
                        *d = true;
                        out.extend_from_slice(format!("{n}: {v}").as_bytes());
                        out.extend_from_slice(if line.ends_with(b"\r\n") { b"\r\n" } else { b"\n" });
                    }
                }
                Some(_) => {}
                None => out.extend_from_slice(line),
            },
            None => out.extend_from_slice(line),
        }
    }
    match &edits.body {
        Some(b) => out.extend_from_slice(b),
        None => out.extend_from_slice(raw.get(head_len..).unwrap_or_default()),
    }
    Ok(out)
}

/// How the response of `new` differs from that of `old`.
pub fn difference(old: Option<&Upstream>, new: &Upstream) -> Difference {
    let fields = |u: Option<&Upstream>| -> Vec<(String, String)> {
        let Some(u) = u else { return Vec::new() };
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut r = httparse::Response::new(&mut headers);
        if r.parse(&u.head).is_err() {
            return Vec::new();
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for h in r.headers.iter() {
            let v = crate::json::lossy(h.value).into_owned();
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(h.name)) {
                Some((_, all)) => {
                    all.push_str(", ");
                    all.push_str(&v);
                }
                None => out.push((h.name.to_string(), v)),
            }
        }
        out
    };
    let (a, b) = (fields(old), fields(Some(new)));
    let mut headers = Vec::new();
    for (n, v) in &a {
        let other = b
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(n))
            .map(|(_, w)| w.clone());
        if other.as_deref() != Some(v.as_str()) {
            headers.push((n.clone(), Some(v.clone()), other));
        }
    }
    for (n, w) in &b {
        if !a.iter().any(|(m, _)| m.eq_ignore_ascii_case(n)) {
            headers.push((n.clone(), None, Some(w.clone())));
        }
    }
    Difference {
        status: (old.map_or(0, |u| u.status), new.status),
        headers,
        body_same: old.is_some_and(|u| u.body == new.body && u.body_len == new.body_len),
        body_len: (old.map_or(0, |u| u.body_len), new.body_len),
    }
}

/// A capture of `raw` (a whole request), replaying `of`.
fn replay_capture(of: &Capture, raw: Vec<u8>) -> Result<Capture, ReplayError> {
    let end = framing::head_end(&raw).ok_or(ReplayError::Incomplete(of.id))?;
    let head =
        framing::parse_head(raw.get(..end).unwrap_or_default()).map_err(|e| ReplayError::BadEdit(e.to_string()))?;
    let ms = now_ms();
    let mut cap = Capture {
        time: rfc3339(ms),
        time_ms: ms,
        peer: "replay".into(),
        scheme: of.scheme.clone(),
        complete: true,
        body_len: u64::try_from(raw.len() - end).unwrap_or(u64::MAX),
        raw,
        replay_of: Some(of.id),
        ..Capture::default()
    };
    cap.lint();
    cap.version = Some(framing::http_version(head.minor));
    cap.method = Some(head.method);
    cap.target = Some(head.target);
    cap.headers = head.headers;
    cap.head_len = head.len;
    Ok(cap)
}

async fn original(state: &Arc<State>, id: i64) -> Result<Capture, ReplayError> {
    let st = state.clone();
    let got = tokio::task::spawn_blocking(move || st.store.get(id))
        .await
        .map_err(|e| ReplayError::Store(e.to_string()))?
        .map_err(ReplayError::Store)?;
    let c = got.ok_or(ReplayError::NoCapture(id))?;
    if !c.complete || c.method.is_none() {
        return Err(ReplayError::Incomplete(id));
    }
    Ok(c)
}

/// Replay capture `id` as `req` asks: send it (edited) to the configured upstream, or record what
/// a client got itself. The new capture is committed before it is sent and when its response ends.
pub(crate) async fn replay(state: &Arc<State>, id: i64, req: ReplayRequest) -> Result<Replayed, ReplayError> {
    let of = original(state, id).await?;
    if let Some(rec) = req.recorded {
        let mut cap = replay_capture(&of, rec.raw)?;
        cap.status = rec.upstream.status;
        cap.upstream = Some(rec.upstream);
        return finish(state, &of, cap).await;
    }
    let fwd = state.forward.clone().ok_or(ReplayError::NoUpstream)?;
    let raw = edit(&of.raw, of.head_len, &req.edits)?;
    let cap = replay_capture(&of, raw)?;
    let cap = send(&fwd, cap, Some(state)).await?;
    finish(state, &of, cap).await
}

async fn finish(state: &Arc<State>, of: &Capture, cap: Capture) -> Result<Replayed, ReplayError> {
    let stored = state.record(cap).await.map_err(ReplayError::Store)?;
    let upstream = stored.upstream.clone().unwrap_or_default();
    Ok(Replayed {
        id: stored.id,
        replay_of: of.id,
        difference: difference(of.upstream.as_ref(), &upstream),
        upstream,
    })
}

/// Send `cap`'s bytes through `fwd` (committing the request first when there is a store) and note
/// the exchange in it.
async fn send(fwd: &Arc<Forwarder>, mut cap: Capture, state: Option<&Arc<State>>) -> Result<Capture, ReplayError> {
    let head_len = cap.head_len;
    let (out_head, rewritten) = forward::upstream_head(cap.raw.get(..head_len).unwrap_or_default(), &fwd.cfg);
    let mut up = Upstream {
        url: fwd.cfg.origin(),
        rewritten,
        ..Upstream::default()
    };
    if let Some(state) = state {
        cap.upstream = Some(Upstream {
            error: Some(crate::record::UpstreamError::unfinished()),
            ..up.clone()
        });
        cap = Arc::unwrap_or_clone(state.store.put(cap).await.map_err(ReplayError::Store)?);
    }
    let req = forward::Request {
        head: &out_head,
        body: cap.raw.get(head_len..).unwrap_or_default(),
        is_head: cap.method.as_deref() == Some("HEAD"),
        minor: 1,
        keep_alive: true,
    };
    let mut sink = tokio::io::sink();
    let mut buf = Vec::new();
    let timeout = fwd.cfg.timeout;
    let done = forward::exchange(fwd, req, &mut sink, &mut buf, timeout, &mut up).await;
    cap.status = done.status;
    cap.upstream = Some(up);
    Ok(cap)
}

/// Send `raw` (a whole request, e.g. a capture's bytes fetched from the API) to `target` and
/// return what came back, without a capture server: for a client replaying to a target of its own.
pub fn send_to(target: Forward, raw: Vec<u8>) -> Result<Recorded, ReplayError> {
    let fwd = Arc::new(Forwarder::new(target).map_err(|e| ReplayError::BadEdit(e.to_string()))?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ReplayError::Store(e.to_string()))?;
    let of = Capture {
        complete: true,
        ..Capture::default()
    };
    let cap = replay_capture(&of, raw)?;
    let cap = rt.block_on(send(&fwd, cap, None))?;
    Ok(Recorded {
        raw: cap.raw,
        upstream: cap.upstream.unwrap_or_default(),
    })
}

/// The API's answer to `POST /_tlspost/api/captures/{id}/replay` (the access and CSRF checks are
/// the UI's, before this): the JSON of [`Replayed`], or the error as text with its status.
pub(crate) async fn api(state: Arc<State>, id: &str, body: &[u8]) -> (u16, String) {
    let Ok(id) = id.parse::<i64>() else {
        return (404, "capture ids are numbers\n".into());
    };
    let req: ReplayRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReplayRequest::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => return (400, format!("the replay request is not the JSON expected: {e}\n")),
        }
    };
    match replay(&state, id, req).await {
        Ok(r) => (200, serde_json::to_string(&r).unwrap_or_default()),
        Err(e @ ReplayError::NoCapture(_)) => (404, format!("{e}\n")),
        Err(e @ ReplayError::NoUpstream) => (409, format!("{e}\n")),
        Err(e @ ReplayError::Store(_)) => (500, format!("{e}\n")),
        Err(e) => (400, format!("{e}\n")),
    }
}

/// The base64 text of `b` (for clients building a [`ReplayRequest`]).
pub fn base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_set_fields_in_place_and_replace_the_body() {
        let raw =
            b"POST /t HTTP/1.1\r\nHost: a\r\nX-Key: old\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        let head_len = framing::head_end(raw).unwrap();
        assert_eq!(edit(raw, head_len, &Edits::default()).unwrap(), raw);
        let e = Edits {
            headers: vec![("x-key".into(), "new".into()), ("X-Added".into(), "1".into())],
            body: Some(b"{}".to_vec()),
        };
        assert_eq!(
            edit(raw, head_len, &e).unwrap(),
            b"POST /t HTTP/1.1\r\nHost: a\r\nX-Key: new\r\nX-Added: 1\r\nContent-Length: 2\r\n\r\n{}"
        );
        let bad = Edits {
            headers: vec![("X".into(), "a\r\nInjected: 1".into())],
            body: None,
        };
        assert!(matches!(edit(raw, head_len, &bad), Err(ReplayError::BadEdit(_))));
    }

    #[test]
    fn the_difference_names_status_fields_and_body() {
        let up = |status: u16, head: &[u8], body: &[u8]| Upstream {
            status,
            head: head.to_vec(),
            body: body.to_vec(),
            body_len: body.len() as u64,
            ..Upstream::default()
        };
        let a = up(403, b"HTTP/1.1 403 Forbidden\r\nCF-RAY: 1\r\nX-Same: s\r\n\r\n", b"no");
        let b = up(200, b"HTTP/1.1 200 OK\r\nX-Same: s\r\nX-New: n\r\n\r\n", b"yes");
        let d = difference(Some(&a), &b);
        assert_eq!(d.status, (403, 200));
        assert_eq!(
            d.headers,
            [
                ("CF-RAY".to_string(), Some("1".to_string()), None),
                ("X-New".to_string(), None, Some("n".to_string()))
            ]
        );
        assert!(!d.body_same);
        assert!(difference(Some(&b), &b).body_same);
    }
}

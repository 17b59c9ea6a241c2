//! One connection: read requests off the raw stream, frame them without normalising, record, answer.
//!
//! The framing decisions are [`crate::framing`]'s (no I/O there); this module is the I/O loop
//! around them. The TLS layer hands its decrypted stream in through [`serve`]; nothing here knows
//! about TLS beyond the facts in [`ConnInfo`].

mod info;
mod read;
mod response;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Limits;
use crate::forward::{self, Forwarder};
use crate::framing::{self, BodyKind, BodyProgress, Head, HeadProgress};
use crate::record::{Capture, Upstream, UpstreamError};
use crate::respond;
use crate::state::State;
use crate::stream::Prefixed;
use crate::ui;

use crate::budget::{self, ALLOWANCE, Reservation};
pub(crate) use crate::record::now_ms;
use info::micros;
pub(crate) use info::{ConnInfo, base_capture};
use read::{ReadEnd, ReadTimer, read_more};
use response::{busy, simple, write_response};

/// Room kept free in the read buffer for the next read.
const READ_ROOM: usize = 16 * 1024;

/// What a request refused for want of memory is told to wait before it is sent again
/// (`Retry-After`, seconds).
const RETRY_AFTER_SECS: u64 = 5;

/// How long a connection whose request was refused for want of memory keeps reading (and
/// discarding) what the client still sends, so that the client reads the `503` rather than a
/// reset: as long as more keeps coming within [`LINGER_IDLE`], [`LINGER`] at most (as nginx's
/// lingering close).
const LINGER: Duration = Duration::from_secs(10);
const LINGER_IDLE: Duration = Duration::from_secs(2);

/// Serve requests on one connection; `buf` holds bytes already read.
pub(crate) async fn serve<S>(state: Arc<State>, s: S, buf: Vec<u8>, info: ConnInfo)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = state.cfg.limits.clone();
    let mem = Reservation::new(state.budget.clone());
    Conn {
        mem,
        state,
        s,
        buf,
        info,
        limits,
        seq: 0,
        echo: Vec::new(),
        out: Vec::new(),
        timer: ReadTimer::new(),
    }
    .run()
    .await;
}

/// A connection being served.
struct Conn<S> {
    state: Arc<State>,
    s: S,
    /// Bytes read and not yet part of a recorded request (a pipelined next request's start).
    buf: Vec<u8>,
    info: ConnInfo,
    limits: Limits,
    /// Requests answered so far.
    seq: u32,
    /// Reused for every response on this connection: the echo body and the bytes sent.
    echo: Vec<u8>,
    out: Vec<u8>,
    timer: ReadTimer,
    /// This connection's share of the memory budget: covers `buf`, `echo`, `out` and the bytes
    /// of the request being recorded and answered. Given back when the connection ends.
    mem: Reservation,
}

/// Why a request cannot be framed: recorded with `error`, answered with `status` (0: not
/// answered), and the connection closed.
struct Failure {
    status: u16,
    error: String,
}

impl Failure {
    /// A read that ended before the request did, after `bytes` bytes; `what` says which part.
    fn read(end: &ReadEnd, bytes: usize, what: &str) -> Failure {
        Failure {
            status: if matches!(end, ReadEnd::Timeout) { 408 } else { 0 },
            error: format!("{} ({what})", end.describe(bytes)),
        }
    }
}

/// Why a request's body did not arrive.
enum BodyStop {
    /// Record and answer as the failure says.
    Failed(Failure),
    /// The connection is gone (the interim 100 Continue could not be sent): nothing to record.
    Gone,
}

impl From<Failure> for BodyStop {
    fn from(f: Failure) -> Self {
        BodyStop::Failed(f)
    }
}

impl<S> Conn<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Requests one after another until the connection ends, one is refused, or the UI takes it over.
    async fn run(mut self) {
        loop {
            let Some(reads) = self.await_request().await else {
                return;
            };
            let first = Instant::now();
            let mut cap = base_capture(&self.info, first, now_ms(), self.seq);
            cap.reads = reads;
            let deadline = first + self.limits.request_timeout;
            let head = match self.read_head(&mut cap, first, deadline).await {
                Ok(head) => head,
                Err(f) => return self.fail(cap, None, f).await,
            };
            if self.info.tls.is_none() && head.target.starts_with("/_tlspost") {
                return ui::serve_connection(self.state.clone(), Prefixed::new(self.buf, self.s)).await;
            }
            if self.state.forward.is_some() {
                if let Some(error) = forward::ambiguous(&head) {
                    return self.fail(cap, Some(head), Failure { status: 400, error }).await;
                }
            }
            let end = match self.read_body(&mut cap, &head, deadline).await {
                Ok(end) => end,
                Err(BodyStop::Failed(f)) => return self.fail(cap, Some(head), f).await,
                Err(BodyStop::Gone) => return,
            };
            cap.timing.body_us = Some(micros(first.elapsed()));
            let open = match self.state.forward.clone() {
                Some(fwd) => self.forward(&fwd, cap, head, end).await,
                None => self.answer(cap, head, end).await,
            };
            if !open {
                return;
            }
            self.seq = self.seq.saturating_add(1);
        }
    }

    /// Wait for the first bytes of the next request (unless some are there): how many reads it
    /// took, or `None` when the connection ended first. An idle keep-alive connection that ends
    /// is not recorded, but a TLS connection that never carried a request usually means the
    /// client rejected the certificate after the handshake: that is.
    async fn await_request(&mut self) -> Option<usize> {
        if !self.buf.is_empty() {
            return Some(0);
        }
        let idle = self.limits.read_timeout;
        // Within the allowance (the buffers were settled after the last answer): cannot fail.
        let _ = self.make_room(READ_ROOM);
        let end = match read_more(&mut self.s, &mut self.buf, &mut self.timer, idle, Instant::now() + idle).await {
            Ok(_) => return Some(1),
            Err(end) => end,
        };
        if self.seq == 0 && self.info.tls.is_some() {
            let mut cap = base_capture(&self.info, Instant::now(), now_ms(), 0);
            let what = match end {
                ReadEnd::Eof => "the client closed the connection without sending a request".to_string(),
                ReadEnd::Timeout => "no request arrived within the read timeout".to_string(),
                ReadEnd::Io(e) => format!("reading the first request failed ({e})"),
            };
            cap.error = Some(format!(
                "the TLS handshake completed but {what}; a client that checks the certificate after \
                 the handshake (host name not in the certificate: add it to the certificate's \
                 names; CA not trusted) closes here"
            ));
            let _ = self.state.record(cap).await;
        }
        None
    }

    /// Read more of the request, which ends within `until` bytes of `buf` as far as is known,
    /// into `buf`, counted in `cap.reads`; `what` says which part is awaited when the read ends
    /// the request.
    async fn read(&mut self, cap: &mut Capture, deadline: Instant, until: usize, what: &str) -> Result<(), Failure> {
        if !self.make_room(until) {
            return Err(self.over_budget());
        }
        read_more(
            &mut self.s,
            &mut self.buf,
            &mut self.timer,
            self.limits.read_timeout,
            deadline,
        )
        .await
        .map_err(|e| Failure::read(&e, self.buf.len(), what))?;
        cap.reads += 1;
        Ok(())
    }

    /// Make room in `buf` for the next read, covered by the memory budget, growing it towards
    /// `until` (where the request ends, as far as is known) but no further: `false` when the
    /// budget cannot cover even the least room.
    fn make_room(&mut self, until: usize) -> bool {
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap - len >= READ_ROOM {
            return true;
        }
        let least = len + READ_ROOM;
        let grown = cap.saturating_mul(2).min(until).max(least);
        let others = self.out.capacity() + self.echo.capacity();
        let target = if self.mem.cover(grown + others) {
            grown
        } else if grown > least && self.mem.cover(least + others) {
            least
        } else {
            return false;
        };
        self.buf.reserve_exact(target - len);
        true
    }

    /// The request cannot go on for want of memory: refused, recorded with what arrived.
    fn over_budget(&self) -> Failure {
        Failure {
            status: 503,
            error: format!(
                "refused after {} bytes of an unfinished request: the server's memory budget for \
                 request bytes ({} bytes) is taken by other requests; the \
                 answer asks the client to retry in {RETRY_AFTER_SECS} s",
                self.buf.len(),
                self.mem.limit()
            ),
        }
    }

    /// What the connection's buffers hold, with `raw` (the request being answered) besides.
    fn holding(&self, raw: usize) -> usize {
        self.buf.capacity() + self.echo.capacity() + self.out.capacity() + raw
    }

    /// The request ending at `end` in `buf`, taken out of it. A small one is copied (the read
    /// buffer stays for the next request); a large one takes the buffer along, and the rest
    /// (a pipelined next request's start) is copied into a new one.
    fn take_request(&mut self, end: usize) -> Vec<u8> {
        if end <= READ_ROOM {
            return self.buf.drain(..end).collect();
        }
        let rest = self.buf.get(end..).map(<[u8]>::to_vec).unwrap_or_default();
        self.buf.truncate(end);
        std::mem::replace(&mut self.buf, rest)
    }

    /// After an answer: buffers grown past the allowance are let go, and the budget with them.
    fn settle(&mut self) {
        if self.holding(0) > ALLOWANCE {
            if self.echo.capacity() > READ_ROOM / 2 {
                self.echo = Vec::new();
            }
            if self.out.capacity() > READ_ROOM / 2 {
                self.out = Vec::new();
            }
            if self.buf.capacity() > READ_ROOM && self.buf.len() < READ_ROOM {
                self.buf.shrink_to(READ_ROOM);
            }
        }
        // Giving back always succeeds; a pipelined rest larger than the allowance stays covered.
        let _ = self.mem.cover(self.holding(0));
    }

    /// Read until the head has ended, then parse it.
    async fn read_head(&mut self, cap: &mut Capture, first: Instant, deadline: Instant) -> Result<Head, Failure> {
        let end = loop {
            if self.info.tls.is_none() && framing::looks_like_tls(&self.buf) {
                let https = self.state.https_addr.map_or_else(
                    || "this server's HTTPS port, which is off".to_string(),
                    |a| format!("the HTTPS port {}", a.port()),
                );
                let error = format!("TLS sent to the plain HTTP port: use https:// and {https}");
                return Err(Failure { status: 400, error });
            }
            match framing::head_progress(&self.buf, self.limits.max_head) {
                HeadProgress::Complete(end) => break end,
                HeadProgress::TooLarge => {
                    return Err(Failure {
                        status: 431,
                        error: format!(
                            "the request head is larger than the {}-byte limit ({} bytes arrived without its end)",
                            self.limits.max_head,
                            self.buf.len()
                        ),
                    });
                }
                HeadProgress::Partial => {}
            }
            let until = self.limits.max_head.saturating_add(1);
            self.read(cap, deadline, until, "the head never ended").await?;
        };
        cap.timing.head_us = Some(micros(first.elapsed()));
        framing::parse_head(self.buf.get(..end).unwrap_or_default()).map_err(|e| Failure {
            status: 400,
            error: e.to_string(),
        })
    }

    /// Read until the body of `head` is complete (answering `Expect: 100-continue` before the
    /// first wait for it): where the request ends in `buf`.
    async fn read_body(&mut self, cap: &mut Capture, head: &Head, deadline: Instant) -> Result<usize, BodyStop> {
        let bad = |e: framing::FrameError| Failure {
            status: 400,
            error: e.to_string(),
        };
        let kind = framing::body_kind(head).map_err(bad)?;
        let expect = head
            .header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
        let mut continued = false;
        // Where the request ends, as far as is known (a larger body is refused before this matters).
        let until = match kind {
            BodyKind::Length(n) => head.len.saturating_add(usize::try_from(n).unwrap_or(usize::MAX)),
            BodyKind::Chunked => head
                .len
                .saturating_add(usize::try_from(self.limits.max_body).unwrap_or(usize::MAX))
                .saturating_add(64 * 1024 + 1),
        };
        loop {
            let body = self.buf.get(head.len..).unwrap_or_default();
            match framing::body_progress(kind, body, self.limits.max_body).map_err(bad)? {
                BodyProgress::Complete { len, data } => {
                    cap.body_len = data;
                    return Ok(head.len + len);
                }
                BodyProgress::TooLarge => {
                    let error = format!(
                        "the body is larger than the {}-byte limit ({}); the server answered 413 without reading it",
                        self.limits.max_body,
                        match kind {
                            BodyKind::Length(n) => format!("Content-Length: {n}"),
                            BodyKind::Chunked => format!("over {} chunked bytes", body.len()),
                        }
                    );
                    return Err(Failure { status: 413, error }.into());
                }
                BodyProgress::Partial => {}
            }
            if expect && !continued {
                continued = true;
                if self.s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
                    return Err(BodyStop::Gone);
                }
            }
            self.read(cap, deadline, until, "the body is incomplete").await?;
        }
    }

    /// Record the complete request ending at `end` in `buf`, then answer it as planned: whether
    /// the connection stays open for the next.
    async fn answer(&mut self, mut cap: Capture, head: Head, end: usize) -> bool {
        cap.raw = self.take_request(end);
        cap.complete = true;
        lint_into(&mut cap);
        let mut plan = respond::plan(self.state.cfg.profile, &self.state.cfg.rules, &head, &cap);
        plan.close |= !head.keep_alive();
        let (minor, is_head) = (head.minor, head.method == "HEAD");
        set_head(&mut cap, head);
        // The echo is made from the request: it is covered, with what making it takes, before
        // anything is stored, so that a request whose answer does not fit is recorded as refused.
        let raw = cap.raw.capacity();
        let (echo, making) = match plan.body {
            None => budget::echo_room(&cap),
            Some(_) => (0, 0),
        };
        if !self.mem.cover(self.holding(raw) + echo + making) {
            let error = format!(
                "the request arrived whole, but the server's memory budget for request bytes ({} \
                 bytes) is taken by other requests and cannot hold its echo now; the answer asks the \
                 client to retry in {RETRY_AFTER_SECS} s",
                self.mem.limit()
            );
            self.refuse(cap, Failure { status: 503, error }, minor, is_head).await;
            return false;
        }
        cap.status = plan.status;
        let wait = self.limits.read_timeout;
        let cap = match self.state.record(cap).await {
            Ok(c) => c,
            Err(e) => {
                let error = format!("the server could not store this request: {e}");
                self.close_with(&Failure { status: 503, error }, 0, minor, is_head, false)
                    .await;
                return false;
            }
        };
        let body: &[u8] = match &plan.body {
            Some(b) => b,
            None => {
                self.echo.clear();
                if echo > READ_ROOM {
                    // Made to measure: an echo that grew by doubling could hold twice its size.
                    self.echo.reserve_exact(echo);
                }
                respond::echo_into(&cap, &mut self.echo);
                &self.echo
            }
        };
        // The request is stored and the answer made: its bytes (and what making the echo took
        // besides) are given back before the answer is sent, which may take long.
        let id = cap.id;
        drop(cap);
        let held = self.holding(0);
        let _ = self.mem.cover(held);
        if !plan.delay.is_zero() {
            tokio::time::sleep(plan.delay).await;
        }
        if write_response(&mut self.s, &mut self.out, minor, is_head, &plan, body, id, wait)
            .await
            .is_err()
            || plan.close
        {
            let _ = self.s.shutdown().await;
            return false;
        }
        self.settle();
        true
    }

    /// Forward mode: record the complete request ending at `end` in `buf`, send it on to the
    /// upstream, relay the answer, then record that: whether the connection stays open.
    async fn forward(&mut self, fwd: &Arc<Forwarder>, mut cap: Capture, head: Head, end: usize) -> bool {
        cap.raw = self.take_request(end);
        cap.complete = true;
        lint_into(&mut cap);
        let (minor, is_head, keep_alive, head_len) = (head.minor, head.method == "HEAD", head.keep_alive(), head.len);
        set_head(&mut cap, head);
        let (out_head, rewritten) = forward::upstream_head(cap.raw.get(..head_len).unwrap_or_default(), &fwd.cfg);
        cap.upstream = Some(Upstream {
            url: fwd.cfg.origin(),
            rewritten,
            // Replaced when the response has ended: a record still saying this was cut short.
            error: Some(UpstreamError::unfinished()),
            ..Upstream::default()
        });
        // The request, the response's head and what is kept of its body, with room to read.
        let need = self.holding(cap.raw.capacity()) + out_head.len() + fwd.cfg.keep_body + 2 * READ_ROOM;
        if !self.mem.cover(need) {
            let error = format!(
                "the request arrived whole, but the server's memory budget for request bytes ({} \
                 bytes) is taken by other requests and cannot hold its exchange with the upstream \
                 now; the answer asks the client to retry in {RETRY_AFTER_SECS} s",
                self.mem.limit()
            );
            cap.upstream = None;
            self.refuse(cap, Failure { status: 503, error }, minor, is_head).await;
            return false;
        }
        // Committed before it goes on: a crash from here on leaves the request, and says the
        // response never ended.
        let mut cap = match self.state.store.put(cap).await {
            Ok(c) => Arc::unwrap_or_clone(c),
            Err(e) => {
                let error = format!("the server could not store this request, so it was not forwarded: {e}");
                self.close_with(&Failure { status: 503, error }, 0, minor, is_head, false)
                    .await;
                return false;
            }
        };
        let mut up = cap.upstream.take().unwrap_or_default();
        up.error = None;
        let req = forward::Request {
            head: &out_head,
            body: cap.raw.get(head_len..).unwrap_or_default(),
            is_head,
            minor,
            keep_alive,
        };
        let wait = self.limits.read_timeout;
        let done = forward::exchange(fwd, req, &mut self.s, &mut self.out, wait, &mut up).await;
        cap.status = done.status;
        cap.upstream = Some(up);
        let _ = self.state.record(cap).await;
        if !done.open {
            let _ = self.s.shutdown().await;
            return false;
        }
        self.settle();
        true
    }

    /// Record a request that could not be framed (with everything read of it, and its head when
    /// that parsed), answer the failure and close.
    async fn fail(mut self, mut cap: Capture, head: Option<Head>, f: Failure) {
        if let Some(head) = head {
            set_head(&mut cap, head);
        }
        cap.raw = std::mem::take(&mut self.buf);
        lint_into(&mut cap);
        self.refuse(cap, f, 1, false).await;
    }

    /// The one way a request is refused: recorded with the failure, its bytes given back, then
    /// answered and the connection closed ([`Conn::close_with`]).
    async fn refuse(&mut self, mut cap: Capture, f: Failure, minor: u8, is_head: bool) {
        cap.error = Some(f.error.clone());
        cap.status = f.status;
        let unfinished = !cap.complete;
        let id = self.state.record(cap).await.map_or(0, |c| c.id);
        // The request's bytes are stored (or lost): given back before the answer.
        let _ = self.mem.cover(self.holding(0));
        self.close_with(&f, id, minor, is_head, unfinished).await;
    }

    /// Answer the failure's status (0: no answer) with its text, then close. A `503` (the server
    /// is busy) says when to retry, and after an unfinished request the connection reads on for a
    /// moment so that the client, perhaps still sending, gets to read it.
    async fn close_with(&mut self, f: &Failure, id: i64, minor: u8, is_head: bool, unfinished: bool) {
        let busy_now = f.status == 503;
        if f.status != 0 {
            let text = format!("{} {}: {}\n", f.status, respond::reason(f.status), f.error);
            let plan = if busy_now {
                busy(f.status, text, RETRY_AFTER_SECS)
            } else {
                simple(f.status, text)
            };
            let body = plan.body.as_deref().unwrap_or_default();
            let wait = self.limits.read_timeout;
            let _ = write_response(&mut self.s, &mut self.out, minor, is_head, &plan, body, id, wait).await;
        }
        let _ = self.s.shutdown().await;
        if busy_now && unfinished {
            linger(&mut self.s).await;
        }
    }
}

/// Read and discard what the client still sends (see [`LINGER`]): a client still sending the
/// request gets to read the answer instead of a reset.
async fn linger<S: AsyncRead + Unpin>(s: &mut S) {
    let mut sink = vec![0u8; READ_ROOM];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(Ok(1..)) = tokio::time::timeout(LINGER_IDLE, s.read(&mut sink)).await {}
    })
    .await;
}

pub(crate) fn lint_into(cap: &mut Capture) {
    cap.lint();
}

/// The parsed head into the capture.
fn set_head(cap: &mut Capture, head: Head) {
    cap.version = Some(framing::http_version(head.minor));
    cap.method = Some(head.method);
    cap.target = Some(head.target);
    cap.headers = head.headers;
    cap.head_len = head.len;
}

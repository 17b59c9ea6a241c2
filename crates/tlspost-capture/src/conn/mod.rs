//! One connection: read requests off the raw stream, frame them without normalising, record, answer.
//!
//! The framing decisions are [`crate::framing`]'s (no I/O there); this module is the I/O loop
//! around them. The TLS layer hands its decrypted stream in through [`serve`]; nothing here knows
//! about TLS beyond the facts in [`ConnInfo`].

mod info;
mod read;
mod response;

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::config::Limits;
use crate::framing::{self, BodyKind, BodyProgress, Head, HeadProgress};
use crate::record::{Capture, FindingRecord};
use crate::respond;
use crate::state::State;
use crate::stream::Prefixed;
use crate::ui;

use info::micros;
pub(crate) use info::{ConnInfo, base_capture, now_ms};
use read::{ReadEnd, ReadTimer, read_more};
use response::{simple, write_response};

/// Serve requests on one connection; `buf` holds bytes already read.
pub(crate) async fn serve<S>(state: Arc<State>, s: S, buf: Vec<u8>, info: ConnInfo)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = state.cfg.limits.clone();
    Conn {
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
            let end = match self.read_body(&mut cap, &head, deadline).await {
                Ok(end) => end,
                Err(BodyStop::Failed(f)) => return self.fail(cap, Some(head), f).await,
                Err(BodyStop::Gone) => return,
            };
            cap.timing.body_us = Some(micros(first.elapsed()));
            if !self.answer(cap, head, end).await {
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
                 the handshake (host name not in the certificate: add it with --name; CA not \
                 trusted) closes here"
            ));
            let _ = self.state.store.put(cap).await;
        }
        None
    }

    /// Read more of the request into `buf`, counted in `cap.reads`.
    async fn read(&mut self, cap: &mut Capture, deadline: Instant) -> Result<(), ReadEnd> {
        read_more(
            &mut self.s,
            &mut self.buf,
            &mut self.timer,
            self.limits.read_timeout,
            deadline,
        )
        .await?;
        cap.reads += 1;
        Ok(())
    }

    /// Read until the head has ended, then parse it.
    async fn read_head(&mut self, cap: &mut Capture, first: Instant, deadline: Instant) -> Result<Head, Failure> {
        let end = loop {
            if self.info.tls.is_none() && framing::looks_like_tls(&self.buf) {
                let https = self.state.https_addr.map_or_else(
                    || "this server's HTTPS port, which is off (--https off)".to_string(),
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
            if let Err(e) = self.read(cap, deadline).await {
                return Err(Failure::read(&e, self.buf.len(), "the head never ended"));
            }
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
            if let Err(e) = self.read(cap, deadline).await {
                return Err(Failure::read(&e, self.buf.len(), "the body is incomplete").into());
            }
        }
    }

    /// Record the complete request ending at `end` in `buf`, then answer it as planned: whether
    /// the connection stays open for the next.
    async fn answer(&mut self, mut cap: Capture, head: Head, end: usize) -> bool {
        cap.raw = self.buf.drain(..end).collect();
        cap.complete = true;
        lint_into(&mut cap);
        let mut plan = respond::plan(self.state.cfg.profile, &self.state.cfg.rules, &head, &cap);
        plan.close |= !head.keep_alive();
        cap.status = plan.status;
        let (minor, is_head) = (head.minor, head.method == "HEAD");
        set_head(&mut cap, head);
        let cap = match self.state.store.put(cap).await {
            Ok(c) => c,
            Err(e) => {
                let msg = simple(503, format!("tlspost serve could not store this request: {e}\n"));
                let body = msg.body.as_deref().unwrap_or_default();
                let _ = write_response(&mut self.s, &mut self.out, minor, is_head, &msg, body, 0).await;
                return false;
            }
        };
        let body: &[u8] = match &plan.body {
            Some(b) => b,
            None => {
                self.echo.clear();
                respond::echo_into(&cap, &mut self.echo);
                &self.echo
            }
        };
        if !plan.delay.is_zero() {
            tokio::time::sleep(plan.delay).await;
        }
        if write_response(&mut self.s, &mut self.out, minor, is_head, &plan, body, cap.id)
            .await
            .is_err()
            || plan.close
        {
            let _ = self.s.shutdown().await;
            return false;
        }
        true
    }

    /// Record a request that could not be framed (with everything read of it, and its head when
    /// that parsed), answer the failure's status (0: no answer) and close.
    async fn fail(mut self, mut cap: Capture, head: Option<Head>, f: Failure) {
        if let Some(head) = head {
            set_head(&mut cap, head);
        }
        cap.raw = std::mem::take(&mut self.buf);
        cap.error = Some(f.error);
        lint_into(&mut cap);
        cap.status = f.status;
        let why = cap.error.clone().unwrap_or_default();
        let id = self.state.store.put(cap).await.map_or(0, |c| c.id);
        if f.status != 0 {
            let plan = simple(f.status, format!("{} {}: {why}\n", f.status, respond::reason(f.status)));
            let body = plan.body.as_deref().unwrap_or_default();
            let _ = write_response(&mut self.s, &mut self.out, 1, false, &plan, body, id).await;
        }
        let _ = self.s.shutdown().await;
    }
}

fn lint_into(cap: &mut Capture) {
    let ctx = tlspost_lint::Context {
        tls: cap.tls.is_some(),
        sni: cap.sni.as_deref(),
        alpn: cap.tls.as_ref().and_then(|t| t.alpn.as_deref()),
    };
    cap.findings = tlspost_lint::lint(&cap.raw, &ctx)
        .iter()
        .map(FindingRecord::from)
        .collect();
}

/// The parsed head into the capture.
fn set_head(cap: &mut Capture, head: Head) {
    cap.version = Some(framing::http_version(head.minor));
    cap.method = Some(head.method);
    cap.target = Some(head.target);
    cap.headers = head.headers;
    cap.head_len = head.len;
}

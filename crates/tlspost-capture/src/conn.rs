//! One connection: read requests off the raw stream, frame them without normalising, record, answer.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpListener;

use crate::State;
use crate::framing::{self, BodyKind, Chunked, Head};
use crate::record::{Capture, FindingRecord, TlsFacts, rfc3339};
use crate::respond::{self, Plan};

/// What is known about a connection before its first request.
pub(crate) struct ConnInfo {
    /// Peer address as text, made once per connection.
    pub peer: String,
    pub tls: Option<Arc<TlsFacts>>,
    pub accepted: Instant,
    pub id: u64,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// An accepted connection on its way to a worker.
enum Socket {
    /// The worker is the accepting runtime.
    Here(tokio::net::TcpStream),
    /// Taken out of the accepting runtime, to be registered with the worker's.
    Moved(std::net::TcpStream),
}

pub(crate) async fn accept_loop(state: Arc<State>, listener: TcpListener, tls: bool) {
    loop {
        let Ok(permit) = state.slots.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // Out of descriptors or a connection reset before accept: back off, keep serving.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let st = state.clone();
        let here = tokio::runtime::Handle::current();
        let worker = state.worker().cloned().unwrap_or_else(|| here.clone());
        // To another worker's runtime the socket moves as a plain one and is registered there.
        let socket = if worker.id() == here.id() {
            Socket::Here(tcp)
        } else {
            match tcp.into_std() {
                Ok(s) => Socket::Moved(s),
                Err(_) => continue,
            }
        };
        worker.spawn(async move {
            let _permit = permit;
            let tcp = match socket {
                Socket::Here(t) => t,
                Socket::Moved(s) => match tokio::net::TcpStream::from_std(s) {
                    Ok(t) => t,
                    Err(_) => return,
                },
            };
            let info = ConnInfo {
                peer: peer.to_string(),
                tls: None,
                accepted: Instant::now(),
                id: st.conns.fetch_add(1, Ordering::Relaxed) + 1,
            };
            if tls {
                crate::tls::handle(st, tcp, info).await;
            } else {
                serve(st, tcp, Vec::new(), info).await;
            }
        });
    }
}

pub(crate) fn base_capture(info: &ConnInfo, first: Instant, wall_ms: i64, seq: u32) -> Capture {
    Capture {
        time: rfc3339(wall_ms),
        time_ms: wall_ms,
        peer: info.peer.clone(),
        scheme: if info.tls.is_some() { "https" } else { "http" }.into(),
        timing: crate::record::Timing {
            first_byte_us: micros(first.saturating_duration_since(info.accepted)),
            ..Default::default()
        },
        conn: info.id,
        seq,
        sni: info.tls.as_ref().and_then(|t| t.sni.clone()),
        tls: info.tls.clone(),
        ..Capture::default()
    }
}

enum ReadEnd {
    Eof,
    Timeout,
    Io(std::io::Error),
}

impl ReadEnd {
    fn describe(&self, bytes: usize) -> String {
        match self {
            ReadEnd::Eof => format!("the client closed the connection after {bytes} bytes of an unfinished request"),
            ReadEnd::Timeout => format!("timed out waiting for the rest of the request after {bytes} bytes"),
            ReadEnd::Io(e) => format!("reading failed after {bytes} bytes: {e}"),
        }
    }
}

/// The read timeout of one connection: one timer, kept registered across reads and moved only
/// when it fires early or must fire sooner. A fresh `tokio::time::timeout` per read would register
/// and cancel a timer for every request, and registering one that is due sooner than anything
/// else wakes the runtime's driver (a syscall).
struct ReadTimer {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl ReadTimer {
    fn new() -> ReadTimer {
        // Far off: the first read sets it.
        let far = tokio::time::Instant::now() + std::time::Duration::from_secs(86_400);
        ReadTimer {
            sleep: Box::pin(tokio::time::sleep_until(far)),
        }
    }
}

/// Read more bytes into `buf`, giving up `idle` after now or at `deadline`, whichever is sooner.
async fn read_more<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    timer: &mut ReadTimer,
    idle: std::time::Duration,
    deadline: Instant,
) -> Result<usize, ReadEnd> {
    buf.reserve(16 * 1024);
    let due = tokio::time::Instant::from_std(deadline.min(Instant::now() + idle));
    if due < timer.sleep.deadline() {
        timer.sleep.as_mut().reset(due);
    }
    loop {
        tokio::select! {
            biased;
            r = s.read_buf(buf) => return match r {
                Ok(0) => Err(ReadEnd::Eof),
                Ok(n) => Ok(n),
                Err(e) => Err(ReadEnd::Io(e)),
            },
            () = timer.sleep.as_mut() => {
                // Set for an earlier read: this one may wait longer.
                if tokio::time::Instant::now() >= due {
                    return Err(ReadEnd::Timeout);
                }
                timer.sleep.as_mut().reset(due);
            }
        }
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

pub(crate) fn http_version(minor: u8) -> String {
    if minor == 0 { "HTTP/1.0" } else { "HTTP/1.1" }.into()
}

/// The parsed head into the capture (a copy: for requests that end early, the head stays in use).
fn fill_head(cap: &mut Capture, head: &Head) {
    cap.method = Some(head.method.clone());
    cap.target = Some(head.target.clone());
    cap.version = Some(http_version(head.minor));
    cap.headers = head.headers.clone();
    cap.head_len = head.len;
}

/// The parsed head into the capture, moved (the request is complete and its plan made).
fn move_head(cap: &mut Capture, head: Head) {
    cap.version = Some(http_version(head.minor));
    cap.method = Some(head.method);
    cap.target = Some(head.target);
    cap.headers = head.headers;
    cap.head_len = head.len;
}

/// Serve requests on one connection; `buf` holds bytes already read.
pub(crate) async fn serve<S>(state: Arc<State>, mut s: S, mut buf: Vec<u8>, info: ConnInfo)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = state.cfg.limits.clone();
    let mut seq = 0u32;
    // Reused for every response on this connection: the echo body and the bytes sent.
    let mut echo = Vec::new();
    let mut out = Vec::new();
    let mut timer = ReadTimer::new();
    loop {
        let mut reads = 0usize;
        if buf.is_empty() {
            let far = Instant::now() + limits.read_timeout;
            match read_more(&mut s, &mut buf, &mut timer, limits.read_timeout, far).await {
                Ok(_) => reads += 1,
                Err(end) => {
                    // An idle keep-alive connection ended: nothing to record. But a TLS connection
                    // that never carried a request usually means the client rejected the
                    // certificate after the handshake: record that.
                    if seq == 0 && info.tls.is_some() {
                        let mut cap = base_capture(&info, Instant::now(), now_ms(), 0);
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
                        let _ = state.store.put(cap).await;
                    }
                    return;
                }
            }
        }
        let first = Instant::now();
        let mut cap = base_capture(&info, first, now_ms(), seq);
        let deadline = first + limits.request_timeout;

        // The head.
        let head_end = loop {
            if let Some(e) = framing::head_end(&buf) {
                if e <= limits.max_head {
                    break e;
                }
            }
            if buf.len() > limits.max_head {
                cap.raw = std::mem::take(&mut buf);
                cap.reads = reads;
                cap.error = Some(format!(
                    "the request head is larger than the {}-byte limit ({} bytes arrived without its end)",
                    limits.max_head,
                    cap.raw.len()
                ));
                fail(&state, &mut s, cap, 431).await;
                return;
            }
            match read_more(&mut s, &mut buf, &mut timer, limits.read_timeout, deadline).await {
                Ok(_) => reads += 1,
                Err(end) => {
                    let timeout = matches!(end, ReadEnd::Timeout);
                    cap.raw = std::mem::take(&mut buf);
                    cap.reads = reads;
                    cap.error = Some(end.describe(cap.raw.len()) + " (the head never ended)");
                    fail(&state, &mut s, cap, if timeout { 408 } else { 0 }).await;
                    return;
                }
            }
        };
        cap.timing.head_us = Some(micros(first.elapsed()));
        let head = match framing::parse_head(buf.get(..head_end).unwrap_or_default()) {
            Ok(h) => h,
            Err(e) => {
                cap.raw = std::mem::take(&mut buf);
                cap.reads = reads;
                cap.error = Some(e.to_string());
                fail(&state, &mut s, cap, 400).await;
                return;
            }
        };
        if info.tls.is_none() && head.target.starts_with("/_tlspost") {
            crate::ui::serve_connection(state.clone(), Prefixed::new(buf, s)).await;
            return;
        }

        // The body.
        let kind = match framing::body_kind(&head) {
            Ok(k) => k,
            Err(e) => {
                fill_head(&mut cap, &head);
                cap.raw = std::mem::take(&mut buf);
                cap.reads = reads;
                cap.error = Some(e.to_string());
                fail(&state, &mut s, cap, 400).await;
                return;
            }
        };
        let expect = head
            .header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
        let mut continued = false;
        let end = loop {
            let have = buf.len().saturating_sub(head.len);
            let done = match kind {
                BodyKind::Length(n) => {
                    if n > limits.max_body {
                        None
                    } else if have as u64 >= n {
                        cap.body_len = n;
                        Some(Ok(head.len + n as usize))
                    } else {
                        Some(Err(()))
                    }
                }
                BodyKind::Chunked => match framing::scan_chunked(buf.get(head.len..).unwrap_or_default()) {
                    Ok(Chunked::Complete { len, data }) => {
                        cap.body_len = data;
                        Some(Ok(head.len + len))
                    }
                    Ok(Chunked::Partial) if have as u64 <= limits.max_body + 64 * 1024 => Some(Err(())),
                    Ok(Chunked::Partial) => None,
                    Err(e) => {
                        fill_head(&mut cap, &head);
                        cap.raw = std::mem::take(&mut buf);
                        cap.reads = reads;
                        cap.error = Some(e.to_string());
                        fail(&state, &mut s, cap, 400).await;
                        return;
                    }
                },
            };
            match done {
                Some(Ok(end)) => break end,
                None => {
                    fill_head(&mut cap, &head);
                    cap.raw = std::mem::take(&mut buf);
                    cap.reads = reads;
                    cap.error = Some(format!(
                        "the body is larger than the {}-byte limit ({}); the server answered 413 without reading it",
                        limits.max_body,
                        match kind {
                            BodyKind::Length(n) => format!("Content-Length: {n}"),
                            BodyKind::Chunked => format!("over {have} chunked bytes"),
                        }
                    ));
                    fail(&state, &mut s, cap, 413).await;
                    return;
                }
                Some(Err(())) => {}
            }
            if expect && !continued {
                continued = true;
                if s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
                    return;
                }
            }
            match read_more(&mut s, &mut buf, &mut timer, limits.read_timeout, deadline).await {
                Ok(_) => reads += 1,
                Err(e) => {
                    let timeout = matches!(e, ReadEnd::Timeout);
                    fill_head(&mut cap, &head);
                    cap.raw = std::mem::take(&mut buf);
                    cap.reads = reads;
                    cap.error = Some(e.describe(cap.raw.len()) + " (the body is incomplete)");
                    fail(&state, &mut s, cap, if timeout { 408 } else { 0 }).await;
                    return;
                }
            }
        };
        cap.timing.body_us = Some(micros(first.elapsed()));
        cap.raw = buf.drain(..end).collect();
        cap.reads = reads;
        cap.complete = true;
        lint_into(&mut cap);
        let mut plan = respond::plan(state.cfg.profile, &state.cfg.rules, &head, &cap);
        plan.close |= !head.keep_alive();
        cap.status = plan.status;
        let (minor, is_head) = (head.minor, head.method == "HEAD");
        move_head(&mut cap, head);
        let cap = match state.store.put(cap).await {
            Ok(c) => c,
            Err(e) => {
                let msg = simple(503, format!("tlspost serve could not store this request: {e}\n"));
                let body = msg.body.as_deref().unwrap_or_default();
                let _ = write_response(&mut s, &mut out, minor, is_head, &msg, body, 0).await;
                return;
            }
        };
        let body: &[u8] = match &plan.body {
            Some(b) => b,
            None => {
                echo.clear();
                respond::echo_into(&cap, &mut echo);
                &echo
            }
        };
        if !plan.delay.is_zero() {
            tokio::time::sleep(plan.delay).await;
        }
        if write_response(&mut s, &mut out, minor, is_head, &plan, body, cap.id)
            .await
            .is_err()
            || plan.close
        {
            let _ = s.shutdown().await;
            return;
        }
        seq = seq.saturating_add(1);
    }
}

fn simple(status: u16, text: String) -> Plan {
    Plan {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: Some(text.into_bytes()),
        close: true,
        ..Plan::default()
    }
}

/// Record a request that could not be framed, answer `status` (0: no answer) and close.
async fn fail<S: AsyncWrite + Unpin>(state: &State, s: &mut S, mut cap: Capture, status: u16) {
    lint_into(&mut cap);
    cap.status = status;
    let why = cap.error.clone().unwrap_or_default();
    let id = state.store.put(cap).await.map_or(0, |c| c.id);
    if status != 0 {
        let plan = simple(status, format!("{} {}: {why}\n", status, respond::reason(status)));
        let body = plan.body.as_deref().unwrap_or_default();
        let _ = write_response(s, &mut Vec::new(), 1, false, &plan, body, id).await;
    }
    let _ = s.shutdown().await;
}

/// Send `plan` with `body` (for a HEAD request or a status without content, the head only),
/// built in `out` and written at once.
async fn write_response<S: AsyncWrite + Unpin>(
    s: &mut S,
    out: &mut Vec<u8>,
    minor: u8,
    is_head: bool,
    plan: &Plan,
    body: &[u8],
    id: i64,
) -> std::io::Result<()> {
    let chunked = plan.chunked && minor >= 1;
    out.clear();
    out.reserve(256 + body.len());
    out.extend_from_slice(if minor == 0 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    crate::json::uint(out, u64::from(plan.status));
    out.push(b' ');
    out.extend_from_slice(respond::reason(plan.status).as_bytes());
    out.extend_from_slice(b"\r\n");
    if !plan.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("server")) {
        out.extend_from_slice(b"Server: tlspost-capture\r\n");
    }
    for (n, v) in &plan.headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Ok(id @ 1..) = u64::try_from(id) {
        out.extend_from_slice(b"X-Tlspost-Capture: ");
        crate::json::uint(out, id);
        out.extend_from_slice(b"\r\n");
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else {
        out.extend_from_slice(b"Content-Length: ");
        crate::json::uint(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    if plan.close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !is_head && plan.status >= 200 && plan.status != 204 && plan.status != 304 {
        if chunked {
            for part in body.chunks(4096) {
                use std::io::Write as _;
                write!(out, "{:x}\r\n", part.len())?;
                out.extend_from_slice(part);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(body);
        }
    }
    s.write_all(out).await?;
    s.flush().await
}

/// A stream whose first bytes come from a buffer (bytes read before handing the stream on).
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed { prefix, pos: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.prefix.len() {
            let rest = this.prefix.get(this.pos..).unwrap_or_default();
            let n = rest.len().min(out.remaining());
            out.put_slice(rest.get(..n).unwrap_or_default());
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, out)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_read_timer_times_each_read_from_its_own_start() {
        use std::time::Duration;
        let (mut client, mut server) = tokio::io::duplex(1024);
        let mut timer = ReadTimer::new();
        let mut buf = Vec::new();
        let ms = Duration::from_millis;
        let far = Instant::now() + Duration::from_secs(60);
        // Data that is there is read at once.
        client.write_all(b"a").await.unwrap();
        assert_eq!(
            read_more(&mut server, &mut buf, &mut timer, ms(300), far).await.ok(),
            Some(1)
        );
        // A read that waits: data after 200 ms of a 300 ms allowance arrives in time.
        let (r, ()) = tokio::join!(read_more(&mut server, &mut buf, &mut timer, ms(300), far), async {
            tokio::time::sleep(ms(200)).await;
            client.write_all(b"b").await.unwrap();
        });
        assert_eq!(r.ok(), Some(1));
        // The timer still stands at the first read's end (about 100 ms from now); this read's
        // allowance is another 300 ms, so data after 250 ms still counts.
        let (r, ()) = tokio::join!(read_more(&mut server, &mut buf, &mut timer, ms(300), far), async {
            tokio::time::sleep(ms(250)).await;
            client.write_all(b"c").await.unwrap();
        });
        assert_eq!(r.ok(), Some(1));
        // Nothing arrives: the read ends after its allowance, not before and not much after.
        let t = Instant::now();
        let r = read_more(&mut server, &mut buf, &mut timer, ms(300), far).await;
        assert!(matches!(r, Err(ReadEnd::Timeout)));
        assert!(t.elapsed() >= ms(300) && t.elapsed() < ms(900), "{:?}", t.elapsed());
        // A sooner deadline than the timer's moves it forward.
        let t = Instant::now();
        let r = read_more(&mut server, &mut buf, &mut timer, ms(5_000), t + ms(200)).await;
        assert!(matches!(r, Err(ReadEnd::Timeout)));
        assert!(t.elapsed() >= ms(200) && t.elapsed() < ms(800), "{:?}", t.elapsed());
        assert_eq!(buf, b"abc");
    }

    #[tokio::test]
    async fn responses_are_framed_exactly() {
        let plan = Plan {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            ..Plan::default()
        };
        let (mut sent, mut out) = (Vec::new(), Vec::new());
        write_response(&mut sent, &mut out, 1, false, &plan, b"{}", 42)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.1 200 OK\r\nServer: tlspost-capture\r\nContent-Type: application/json\r\n\
              X-Tlspost-Capture: 42\r\nContent-Length: 2\r\n\r\n{}"
        );
        let plan = Plan {
            status: 503,
            chunked: true,
            close: true,
            ..Plan::default()
        };
        sent.clear();
        write_response(&mut sent, &mut out, 1, false, &plan, b"busy", 0)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.1 503 Service Unavailable\r\nServer: tlspost-capture\r\nTransfer-Encoding: chunked\r\n\
              Connection: close\r\n\r\n4\r\nbusy\r\n0\r\n\r\n"
        );
        // HTTP/1.0: no chunked, keep-alive said; HEAD: the head only.
        sent.clear();
        write_response(&mut sent, &mut out, 0, true, &plan_ok(), b"abc", 0)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.0 200 OK\r\nServer: tlspost-capture\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    fn plan_ok() -> Plan {
        Plan {
            status: 200,
            ..Plan::default()
        }
    }
}

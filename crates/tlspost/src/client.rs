//! The host client: the blocking driver over TCP and rustls, with trust, DNS overrides, per-phase
//! timeouts, retries and redirects from the core's policies, keep-alive and session resumption.
//!
//! ```no_run
//! use tlspost::{Client, RequestSpec, Trust};
//!
//! let mut client = Client::builder()
//!     .trust(Trust::pinned_files(&["roots.pem"])?)
//!     .resolve("api.example.com", 443, "192.0.2.10:443".parse().unwrap())
//!     .build()?;
//! let resp = client.send(&RequestSpec::json("https://api.example.com/oauth/token", br#"{"a":1}"#.to_vec()))?;
//! println!("{} (answered by {})", resp.status, if resp.answered_by.made_by_edge { "the edge" } else { "the origin" });
//! # Ok::<(), tlspost::Error>(())
//! ```
//!
//! [`Client::send`] collects the body in memory, up to [`ClientBuilder::max_body`] (64 MiB by
//! default). [`Client::send_to`] writes it to a [`BodySink`] (any [`std::io::Write`] is one) as it
//! arrives instead:
//!
//! ```no_run
//! # use tlspost::{Client, RequestSpec};
//! let mut client = Client::builder().build()?;
//! let mut file = std::fs::File::create("firmware.bin").expect("create");
//! let mut spec = RequestSpec::json("https://api.example.com/firmware", b"{}".to_vec());
//! spec.method = "GET".into();
//! let resp = client.send_to(&spec, &mut file)?;
//! println!("{} bytes written", resp.body_len);
//! # Ok::<(), tlspost::Error>(())
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use tlspost_proto::edge::{AnsweredBy, classify};
use tlspost_proto::redirect::{self, RedirectDecision, RedirectPolicy};
use tlspost_proto::request::DEFAULT_USER_AGENT;
use tlspost_proto::retry::{self, RetryDecision, RetryPolicy};
use tlspost_proto::url::Url;
use tlspost_proto::{Body, Budgets, Deadlines, Header, Millis, Omit, Phase, Request, Scheme, Version, httparse};

pub use crate::conn::TlsInfo;
use crate::conn::{self, Embedded, Stream};
use crate::driver::{self, Buffers, DriverError, Hooks};
use crate::error::Error;
use crate::trace::{Timings, TraceEvent};
use crate::trust::{SeenChain, Trust, client_config};

/// The body of a request to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BodySpec {
    /// No body.
    #[default]
    None,
    /// JSON (`Content-Type: application/json`).
    Json(Vec<u8>),
    /// A URL-encoded form.
    Form(Vec<u8>),
    /// Bytes with their content type.
    Bytes {
        /// The `Content-Type`.
        content_type: String,
        /// The bytes.
        data: Vec<u8>,
    },
}

/// A request to send: owned, so it can be re-sent on a retry or a redirect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestSpec {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The absolute `http://` or `https://` URL.
    pub url: String,
    /// Extra headers; one named like an automatic one (`User-Agent`, `Content-Type`, ...) replaces it.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Automatic headers to leave out (`User-Agent`, `Accept-Encoding`, `Connection`,
    /// `Content-Type`); `Host` and the body's framing are always sent.
    pub omit: Omit,
    /// The body.
    pub body: BodySpec,
}

impl RequestSpec {
    /// A JSON POST.
    pub fn json(url: &str, body: Vec<u8>) -> RequestSpec {
        RequestSpec {
            method: "POST".to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            omit: Omit::NONE,
            body: BodySpec::Json(body),
        }
    }
}

/// Who made the response, in words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answered {
    /// `true` when an edge (CDN) made the response and the origin never saw the request.
    pub made_by_edge: bool,
    /// The edge on the path, if any (e.g. `Cloudflare`).
    pub edge: Option<String>,
    /// The edge's error code (Cloudflare 1xxx).
    pub code: Option<u16>,
    /// What the response is (empty when the origin answered).
    pub what: String,
    /// What to change.
    pub hint: String,
    /// The edge's request id (e.g. `CF-RAY`).
    pub ray: Option<String>,
}

impl Answered {
    /// A sentence for people: who answered and what to do.
    pub fn sentence(&self, status: u16) -> String {
        match (&self.edge, self.made_by_edge) {
            (None, _) => "answered by the origin (no CDN edge detected)".to_string(),
            (Some(e), false) => format!("answered by the origin, through the {e} edge"),
            (Some(e), true) => {
                let code = self.code.map(|c| format!(" (error {c})")).unwrap_or_default();
                let ray = self.ray.as_ref().map(|r| format!(" Ray id: {r}.")).unwrap_or_default();
                let mut hint = self.hint.trim_end_matches('.').to_string();
                if let Some(first) = hint.get(..1) {
                    hint = format!("{}{}", first.to_ascii_uppercase(), hint.get(1..).unwrap_or(""));
                }
                format!(
                    "the {e} edge made this {status}{code}: {}; the origin never saw the request. {hint}.{ray}",
                    self.what
                )
            }
        }
    }
}

/// A response read to its end, with everything learned on the way.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// `0` for HTTP/1.0, `1` for HTTP/1.1.
    pub version: u8,
    /// The header fields in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The decoded body; empty after [`Client::send_to`], which wrote it to the sink.
    pub body: Vec<u8>,
    /// Length of the decoded body in bytes (also when it went to a sink).
    pub body_len: u64,
    /// The raw response head.
    pub head: Vec<u8>,
    /// Who made it.
    pub answered_by: Answered,
    /// Attempts made for the last URL (1 without retries).
    pub attempts: u32,
    /// The URLs redirected to, in order.
    pub redirects: Vec<String>,
    /// The URL that answered.
    pub url: String,
    /// Phase timings of the final attempt.
    pub timings: Timings,
    /// TLS facts of the connection (as of its handshake, for a reused connection).
    pub tls: Option<TlsInfo>,
    /// Whether the final attempt reused a kept-alive connection.
    pub reused_connection: bool,
    /// Request bytes written by the final attempt.
    pub request_bytes: u64,
}

impl Response {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first header with this name, as text.
    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// Configures a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    trust: Trust,
    resolve: Vec<(String, u16, SocketAddr)>,
    budgets: Budgets,
    retry: RetryPolicy,
    redirect: RedirectPolicy,
    user_agent: Option<String>,
    http10: bool,
    keep_alive: bool,
    trace: bool,
    max_body: u64,
    max_streamed_body: Option<u64>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            trust: Trust::default(),
            resolve: Vec::new(),
            budgets: Budgets::default(),
            retry: RetryPolicy::NEVER,
            redirect: RedirectPolicy::default(),
            user_agent: None,
            http10: false,
            keep_alive: true,
            trace: false,
            max_body: DEFAULT_MAX_BODY,
            max_streamed_body: None,
        }
    }
}

impl ClientBuilder {
    /// Where trust comes from (default: Mozilla's roots).
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }
    /// Like curl's `--resolve host:port:addr`: connect to `addr` for `host:port`; SNI and `Host`
    /// stay `host`.
    pub fn resolve(mut self, host: &str, port: u16, addr: SocketAddr) -> Self {
        self.resolve.push((host.to_string(), port, addr));
        self
    }
    /// Per-phase budgets (default: [`Budgets::default`]).
    pub fn budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = budgets;
        self
    }
    /// Retry policy (default: never).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Redirect policy (default: do not follow).
    pub fn redirect(mut self, redirect: RedirectPolicy) -> Self {
        self.redirect = redirect;
        self
    }
    /// The `User-Agent` (default `tlspost/<version>`).
    pub fn user_agent(mut self, ua: &str) -> Self {
        self.user_agent = Some(ua.to_string());
        self
    }
    /// Send `HTTP/1.0` requests.
    pub fn http10(mut self, on: bool) -> Self {
        self.http10 = on;
        self
    }
    /// Keep connections open for the next request to the same origin (default on).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }
    /// Record the wire trace of each request ([`Client::trace`]).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }
    /// The largest response body collected in memory (default [`DEFAULT_MAX_BODY`], 64 MiB): by
    /// [`Client::send`], and by [`Client::send_to`] for a response it may not keep (a redirect it
    /// follows, a status it retries). A larger body fails with [`Error::BodyTooLarge`].
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }
    /// The largest response body [`Client::send_to`] writes to its sink (default `None`: no limit
    /// but the body and total time budgets). A larger body fails with [`Error::BodyTooLarge`] once
    /// the limit is reached (at once when its `Content-Length` says so); the sink has received at
    /// most `bytes` bytes of it.
    pub fn max_streamed_body(mut self, bytes: Option<u64>) -> Self {
        self.max_streamed_body = bytes;
        self
    }
    /// Builds the client (parses the trust anchors).
    pub fn build(self) -> Result<Client, Error> {
        let (config, seen) = client_config(&self.trust)?;
        Ok(Client {
            opts: self,
            config,
            seen,
            pool: HashMap::new(),
            events: Vec::new(),
            attempts: 0,
            last_streamed: false,
        })
    }
}

type Origin = (Scheme, String, u16);

struct Pooled {
    stream: Stream,
    tls: Option<TlsInfo>,
}

/// Sends requests; keeps one idle connection per origin and the TLS sessions for resumption.
pub struct Client {
    opts: ClientBuilder,
    config: Arc<ClientConfig>,
    seen: SeenChain,
    pool: HashMap<Origin, Pooled>,
    events: Vec<TraceEvent>,
    attempts: u32,
    /// Whether the last attempt's body went to the sink as it arrived.
    last_streamed: bool,
}

/// The default of [`ClientBuilder::max_body`]: 64 MiB.
pub const DEFAULT_MAX_BODY: u64 = 64 << 20;

/// Received bytes the trace records per attempt; beyond them it counts what it left out.
const TRACE_RECEIVED_LIMIT: usize = 1 << 20;

/// Body bytes kept when the body goes to a sink: what [`classify`] looks at to tell an edge's page.
const BODY_PREFIX: usize = 4096;

/// Where [`Client::send_to`] writes a response body as it arrives.
///
/// Every [`std::io::Write`] is a sink that ignores the head and writes the body.
pub trait BodySink {
    /// The head of the response whose body follows: its status and exact bytes. Called once per
    /// response, before its body, also when the body is empty.
    fn on_head(&mut self, _status: u16, _head: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    /// The next piece of the decoded body.
    fn on_body(&mut self, data: &[u8]) -> std::io::Result<()>;
    /// The response written since the last [`BodySink::on_head`] failed part way, and the client
    /// would send the request again: forget what was written and return `true`, or return `false`
    /// (the default: what was written stays, and the request is not sent again).
    fn discard(&mut self) -> bool {
        false
    }
}

impl<W: Write + ?Sized> BodySink for W {
    fn on_body(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.write_all(data)
    }
}

/// The sink again, for one more attempt.
fn reborrow<'s>(sink: &'s mut Option<&mut dyn BodySink>) -> Option<&'s mut dyn BodySink> {
    match sink {
        Some(s) => Some(&mut **s),
        None => None,
    }
}

/// Which responses of one attempt may be re-sent for, so that their body is held, not streamed.
#[derive(Clone, Copy)]
struct Resend {
    redirects: bool,
    retries: bool,
}

impl Resend {
    fn may(self, status: u16) -> bool {
        (self.redirects && matches!(status, 301 | 302 | 303 | 307 | 308))
            || (self.retries && matches!(status, 408 | 429 | 502 | 503 | 504))
    }
}

/// Clock, socket timeouts, trace and body sink for one attempt.
struct HostHooks<'a, 's> {
    start: Instant,
    sock: Option<TcpStream>,
    events: Option<&'a mut Vec<TraceEvent>>,
    /// Received bytes recorded in the trace, and those left out.
    traced: usize,
    untraced: u64,
    sink: Option<&'s mut dyn BodySink>,
    resend: Resend,
    /// The request is a HEAD: no body follows whatever the head says.
    bodiless: bool,
    max_body: u64,
    max_streamed: Option<u64>,
    /// Set by `head`: the body goes to the sink as it arrives.
    streaming: bool,
    /// The limit in force for this response's body.
    limit: Option<u64>,
    /// The whole body, or its first [`BODY_PREFIX`] bytes when streaming.
    body: Vec<u8>,
    body_len: u64,
    too_large: bool,
    sink_error: Option<std::io::Error>,
    sent_at: Duration,
    first_at: Duration,
}

impl Hooks for HostHooks<'_, '_> {
    fn now(&mut self) -> Millis {
        Millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
    fn budget(&mut self, remaining_ms: Option<u64>) {
        if let Some(s) = &self.sock {
            // One more millisecond: the clock reads whole milliseconds, so wake only once it has passed.
            let t = remaining_ms.map(|ms| Duration::from_millis(ms.saturating_add(1)));
            let _ = s.set_read_timeout(t);
            let _ = s.set_write_timeout(t);
        }
    }
    fn phase(&mut self, phase: Phase, _at: Millis) {
        match phase {
            Phase::FirstByte => self.sent_at = self.start.elapsed(),
            Phase::Body => self.first_at = self.start.elapsed(),
            _ => {}
        }
    }
    fn sent(&mut self, bytes: &[u8]) {
        if let Some(e) = self.events.as_deref_mut() {
            e.push(TraceEvent::Sent(bytes.to_vec()));
        }
    }
    fn received(&mut self, bytes: &[u8]) {
        if let Some(e) = self.events.as_deref_mut() {
            let room = TRACE_RECEIVED_LIMIT.saturating_sub(self.traced);
            let kept = bytes.get(..bytes.len().min(room)).unwrap_or_default();
            if !kept.is_empty() {
                e.push(TraceEvent::Received(kept.to_vec()));
                self.traced = self.traced.saturating_add(kept.len());
            }
            self.untraced = self.untraced.saturating_add((bytes.len() - kept.len()) as u64);
        }
    }
    fn head(&mut self, status: u16, head: &[u8]) {
        self.streaming = self.sink.is_some() && !self.resend.may(status);
        self.limit = if self.streaming {
            self.max_streamed
        } else if self.sink.is_some() {
            // Held now, maybe written to the sink later: both limits apply.
            Some(self.max_streamed.map_or(self.max_body, |s| s.min(self.max_body)))
        } else {
            Some(self.max_body)
        };
        if let Some(limit) = self.limit {
            let mut hs = [httparse::EMPTY_HEADER; driver::MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut hs);
            let _ = parsed.parse(head);
            let declared = parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<u64>().ok());
            // A HEAD's answer or a 304 declares a body it does not send.
            if declared.is_some_and(|n| n > limit) && !self.bodiless && !matches!(status, 204 | 304) {
                self.too_large = true;
            }
        }
        if self.streaming {
            if let Some(sink) = self.sink.as_deref_mut() {
                if let Err(e) = sink.on_head(status, head) {
                    self.sink_error = Some(e);
                }
            }
        }
    }
    fn body(&mut self, data: &[u8]) -> bool {
        if self.too_large || self.sink_error.is_some() {
            return false;
        }
        let len = self.body_len.saturating_add(data.len() as u64);
        if self.limit.is_some_and(|limit| len > limit) {
            self.too_large = true;
            return false;
        }
        if self.streaming {
            let room = BODY_PREFIX.saturating_sub(self.body.len());
            self.body
                .extend_from_slice(data.get(..data.len().min(room)).unwrap_or_default());
            if let Some(sink) = self.sink.as_deref_mut() {
                if let Err(e) = sink.on_body(data) {
                    self.sink_error = Some(e);
                    return false;
                }
            }
        } else {
            self.body.extend_from_slice(data);
        }
        self.body_len = len;
        true
    }
}

fn random_u32() -> u32 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    n.wrapping_mul(2_654_435_761)
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The trace of the last [`Client::send`] (empty unless tracing is on), kept after a failure.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.events
    }

    /// Attempts made by the last [`Client::send`] for its last URL.
    pub fn last_attempts(&self) -> u32 {
        self.attempts
    }

    /// Sends the request: retries and redirects as configured; a POST is never re-sent after it may
    /// have reached the server. The body is collected in [`Response::body`], up to
    /// [`ClientBuilder::max_body`].
    pub fn send(&mut self, spec: &RequestSpec) -> Result<Response, Error> {
        self.send_inner(spec, None)
    }

    /// Sends the request as [`Client::send`] does, writing the final response's head and body to
    /// `sink` as they arrive; [`Response::body`] stays empty and [`Response::body_len`] says how
    /// much was written. Only [`ClientBuilder::max_streamed_body`] limits the body. A response the
    /// client may re-send for (a redirect it follows, a status it retries) is held in memory instead,
    /// up to [`ClientBuilder::max_body`], and written to `sink` once it turns out to be the final one.
    ///
    /// On an error the sink may hold part of a body: that of the response that failed.
    pub fn send_to(&mut self, spec: &RequestSpec, sink: &mut dyn BodySink) -> Result<Response, Error> {
        let mut resp = self.send_inner(spec, Some(&mut *sink))?;
        if !self.last_streamed {
            let written = sink.on_head(resp.status, &resp.head).and_then(|()| {
                if resp.body.is_empty() {
                    Ok(())
                } else {
                    sink.on_body(&resp.body)
                }
            });
            written.map_err(|e| Error::Sink { detail: e.to_string() })?;
            resp.body = Vec::new();
        }
        Ok(resp)
    }

    fn send_inner(&mut self, spec: &RequestSpec, mut sink: Option<&mut dyn BodySink>) -> Result<Response, Error> {
        self.events.clear();
        self.attempts = 0;
        let mut method = spec.method.clone();
        let mut url = spec.url.clone();
        let mut body = spec.body.clone();
        let mut redirects = Vec::new();
        let mut hops: u8 = 0;
        loop {
            let mut resp =
                self.send_with_retries(&method, &url, &spec.headers, spec.omit, &body, reborrow(&mut sink))?;
            let next = {
                let parsed = Url::parse(&url).map_err(|e| Error::Url {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
                let location = resp.header("location");
                match redirect::decide(&self.opts.redirect, &method, &parsed, resp.status, location, hops) {
                    Ok(RedirectDecision::Follow(r)) => {
                        Some((r.method_str(&method).to_string(), r.target.to_string(), r.keep_body))
                    }
                    Ok(_) => None,
                    Err(e) => {
                        return Err(Error::Redirect {
                            status: resp.status,
                            reason: e.to_string(),
                        });
                    }
                }
            };
            match next {
                None => {
                    resp.redirects = redirects;
                    return Ok(resp);
                }
                Some((m, u, keep_body)) => {
                    self.info(format!(
                        "following {} to {u} ({m}, body {})",
                        resp.status,
                        if keep_body { "re-sent" } else { "dropped" }
                    ));
                    if !keep_body {
                        body = BodySpec::None;
                    }
                    method = m;
                    url = u.clone();
                    redirects.push(u);
                    hops = hops.saturating_add(1);
                }
            }
        }
    }

    fn info(&mut self, m: String) {
        if self.opts.trace {
            self.events.push(TraceEvent::Info(m));
        }
    }

    fn send_with_retries(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(String, Vec<u8>)],
        omit: Omit,
        body: &BodySpec,
        mut sink: Option<&mut dyn BodySink>,
    ) -> Result<Response, Error> {
        let hdrs: Vec<Header<'_>> = headers
            .iter()
            .map(|(n, v)| Header {
                name: n.as_str(),
                value: v.as_slice(),
            })
            .collect();
        let idempotent = retry::is_idempotent(method, &hdrs);
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            self.attempts = attempt;
            let resend = Resend {
                redirects: self.opts.redirect.follow,
                retries: attempt < self.opts.retry.max_attempts,
            };
            let result = self.attempt(method, url, &hdrs, omit, body, reborrow(&mut sink), resend);
            let failure = match &result {
                Ok(r) if matches!(r.status, 408 | 429 | 502 | 503 | 504) => {
                    let hs: Vec<httparse::Header<'_>> = r
                        .headers
                        .iter()
                        .map(|(n, v)| httparse::Header { name: n, value: v })
                        .collect();
                    retry::Failure::from_response(r.status, &hs)
                }
                Ok(_) => return finish(result, attempt),
                Err((e, _)) if e.is_permanent() => return result.map_err(|(e, _)| e),
                Err((_, 0)) => retry::Failure::BeforeRequestWritten,
                Err(_) => retry::Failure::AfterRequestWritten,
            };
            match retry::decide(&self.opts.retry, attempt, failure, idempotent, random_u32()) {
                RetryDecision::RetryAfterMs(ms) => {
                    let total_left = self
                        .opts
                        .budgets
                        .total
                        .map(|t| Duration::from_millis(t).saturating_sub(started.elapsed()));
                    if total_left.is_some_and(|left| left < Duration::from_millis(ms)) {
                        self.info("no time left in the total budget for another attempt".to_string());
                        return finish(result, attempt);
                    }
                    // Part of a body that failed went to the sink: retry only if the sink takes it back.
                    if self.last_streamed && !reborrow(&mut sink).is_some_and(|s| s.discard()) {
                        self.info(
                            "not retried: part of the response body was already written and cannot be taken back"
                                .to_string(),
                        );
                        return finish(result, attempt);
                    }
                    let why = match &result {
                        Ok(r) => format!("status {}", r.status),
                        Err((e, _)) => e.to_string(),
                    };
                    self.info(format!("attempt {attempt} failed ({why}); retrying in {ms} ms"));
                    std::thread::sleep(Duration::from_millis(ms));
                }
                RetryDecision::GiveUp(reason) => {
                    if attempt > 1 || !matches!(reason, retry::GiveUpReason::AttemptsExhausted { .. }) {
                        self.info(format!("{reason}"));
                    }
                    return finish(result, attempt);
                }
            }
        }
    }

    /// One attempt: (re)use a connection, run the driver, read the whole response.
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &mut self,
        method: &str,
        url_text: &str,
        headers: &[Header<'_>],
        omit: Omit,
        body: &BodySpec,
        sink: Option<&mut dyn BodySink>,
        resend: Resend,
    ) -> Result<Response, (Error, u64)> {
        self.last_streamed = false;
        let url = Url::parse(url_text).map_err(|e| {
            (
                Error::Url {
                    url: url_text.to_string(),
                    reason: e.to_string(),
                },
                0,
            )
        })?;
        let mut req: Request<'_> = url.request(method);
        req.headers = headers;
        req.omit = omit;
        req.body = match body {
            BodySpec::None => Body::None,
            BodySpec::Json(d) => Body::Json(d),
            BodySpec::Form(d) => Body::Form(d),
            BodySpec::Bytes { content_type, data } => Body::Bytes { content_type, data },
        };
        req.user_agent = self.opts.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT);
        if self.opts.http10 {
            req.version = Version::Http10;
        }
        if !self.opts.keep_alive {
            req.connection = tlspost_proto::Connection::Close;
        }
        // A request that cannot be encoded fails here, before any connection is made.
        tlspost_proto::Encoder::new(&req).map_err(|e| (Error::InvalidRequest(e), 0))?;
        let port = url.port_or_default();
        let origin: Origin = (url.scheme, url.host.to_ascii_lowercase(), port);
        let start = Instant::now();
        let budgets = self.opts.budgets;
        let mut deadlines = Deadlines::new(budgets, Millis(0));
        let mut timings = Timings::default();
        let trace = self.opts.trace;

        let mut reused = false;
        let mut pooled = None;
        if let Some(mut p) = self.pool.remove(&origin) {
            if p.stream.idle_ok() {
                reused = true;
                pooled = Some(p);
            } else if trace {
                self.events.push(TraceEvent::Info(
                    "the kept-alive connection was closed by the server; opening a new one".into(),
                ));
            }
        }
        let (mut stream, tls) = match pooled {
            Some(p) => {
                if trace {
                    let peer = p.stream.tcp().peer_addr().map(|a| a.to_string()).unwrap_or_default();
                    self.events.push(TraceEvent::Info(format!(
                        "re-using the kept-alive connection to {peer}"
                    )));
                }
                (p.stream, p.tls)
            }
            None => {
                let addrs = conn::resolve(url.host, port, &self.opts.resolve).map_err(|e| (e, 0))?;
                timings.dns = start.elapsed();
                let connect_budget = match (budgets.connect, budgets.total) {
                    (Some(c), Some(t)) => Some(c.min(t)),
                    (c, t) => c.or(t),
                };
                if trace {
                    let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                    self.events.push(TraceEvent::Info(format!(
                        "connecting to {} ({})",
                        url.host,
                        list.join(", ")
                    )));
                }
                let tcp = conn::connect(&addrs, connect_budget.map(Duration::from_millis)).map_err(|e| {
                    let e = match e {
                        Error::Connect {
                            failure: crate::error::ConnectFailure::TimedOut,
                            ..
                        } => Error::Timeout {
                            phase: Phase::Connect,
                            budget_ms: connect_budget,
                        },
                        other => other,
                    };
                    (e, 0)
                })?;
                timings.connect = start.elapsed();
                if trace {
                    let local = tcp.local_addr().map(|a| a.to_string()).unwrap_or_default();
                    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                    self.events
                        .push(TraceEvent::Info(format!("connected {local} -> {peer}")));
                }
                match url.scheme {
                    Scheme::Http => {
                        timings.tls = timings.connect;
                        (Stream::Plain(tcp), None)
                    }
                    Scheme::Https => {
                        let now = Millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
                        deadlines.enter(Phase::Handshake, now);
                        let deadline = deadlines
                            .next_deadline()
                            .map(|(at, _)| start + Duration::from_millis(at.0));
                        let (s, info) = conn::handshake(
                            &self.config,
                            &self.seen,
                            url.host,
                            tcp,
                            deadline,
                            budgets.handshake,
                            &mut |_, _| {},
                        )
                        .map_err(|e| (e, 0))?;
                        timings.tls = start.elapsed();
                        if trace {
                            self.events.push(TraceEvent::Info(tls_summary(&info)));
                        }
                        (s, Some(info))
                    }
                }
            }
        };
        if reused {
            timings.dns = Duration::ZERO;
            timings.connect = Duration::ZERO;
            timings.tls = Duration::ZERO;
        }

        let mut rx = vec![0u8; 16 * 1024];
        let mut tx = vec![0u8; 16 * 1024];
        let events = if trace { Some(&mut self.events) } else { None };
        let mut hooks = HostHooks {
            start,
            sock: stream.tcp().try_clone().ok(),
            events,
            traced: 0,
            untraced: 0,
            sink,
            resend,
            bodiless: method.eq_ignore_ascii_case("HEAD"),
            max_body: self.opts.max_body,
            max_streamed: self.opts.max_streamed_body,
            streaming: false,
            limit: None,
            body: Vec::new(),
            body_len: 0,
            too_large: false,
            sink_error: None,
            sent_at: Duration::ZERO,
            first_at: Duration::ZERO,
        };
        let result = driver::exchange(
            &mut Embedded(&mut stream),
            &req,
            &mut deadlines,
            Buffers {
                rx: &mut rx,
                tx: &mut tx,
            },
            &mut hooks,
        );
        timings.sent = hooks.sent_at;
        timings.first_byte = hooks.first_at;
        timings.total = start.elapsed();
        let body_out = std::mem::take(&mut hooks.body);
        let body_len = hooks.body_len;
        let streamed = hooks.streaming;
        self.last_streamed = streamed;
        let limit = hooks.limit.unwrap_or(self.opts.max_body);
        let too_large = hooks.too_large;
        let sink_error = hooks.sink_error.take();
        let untraced = hooks.untraced;
        drop(hooks);
        if untraced > 0 {
            self.events.push(TraceEvent::Info(format!(
                "{untraced} more received byte(s) not recorded: the trace keeps the first {TRACE_RECEIVED_LIMIT} of \
                 an attempt"
            )));
        }
        let written = match &result {
            Ok(o) => o.request_written,
            Err(f) => f.request_written,
        };
        if let Some(e) = sink_error {
            return Err((Error::Sink { detail: e.to_string() }, written));
        }
        if too_large {
            return Err((Error::BodyTooLarge { limit }, written));
        }
        let outcome = match result {
            Ok(o) => o,
            Err(f) => {
                let written = f.request_written;
                let e = match f.error {
                    DriverError::Io { phase, error } => Error::Io {
                        phase,
                        detail: error.to_string(),
                        request_written: written,
                    },
                    DriverError::ClosedWhileSending { written } => Error::Io {
                        phase: Phase::Send,
                        detail: "the server closed the connection while the request was being sent".into(),
                        request_written: written,
                    },
                    DriverError::Http(tlspost_proto::Error::Timeout { phase }) => Error::Timeout {
                        phase,
                        budget_ms: budgets.get(phase),
                    },
                    DriverError::Http(error) => Error::Http {
                        error,
                        request_written: written,
                    },
                    DriverError::BodyRejected { .. } => Error::BodyTooLarge { limit },
                    DriverError::BufferTooSmall { which } => {
                        Error::Config(format!("internal {which} buffer too small"))
                    }
                };
                return Err((e, written));
            }
        };
        let head = rx.get(..outcome.head_len).unwrap_or_default();
        let mut hs = [httparse::EMPTY_HEADER; driver::MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut hs);
        let _ = parsed.parse(head);
        let headers: Vec<(String, Vec<u8>)> = parsed
            .headers
            .iter()
            .map(|h| (h.name.to_string(), h.value.to_vec()))
            .collect();
        let answered_by = answered(outcome.status, parsed.headers, &body_out);
        let resp = Response {
            status: outcome.status,
            reason: parsed.reason.unwrap_or("").to_string(),
            version: parsed.version.unwrap_or(1),
            headers,
            head: head.to_vec(),
            body: if streamed { Vec::new() } else { body_out },
            body_len,
            answered_by,
            attempts: 1,
            redirects: Vec::new(),
            url: url_text.to_string(),
            timings,
            tls: tls.clone(),
            reused_connection: reused,
            request_bytes: outcome.request_written,
        };
        if trace {
            self.events
                .push(TraceEvent::Info(format!("timings: {}", timings.line())));
        }
        match outcome.close {
            None if self.opts.keep_alive => {
                self.pool.insert(origin, Pooled { stream, tls });
            }
            None => {}
            Some(reason) if trace => {
                self.events
                    .push(TraceEvent::Info(format!("closing the connection: {reason}")));
            }
            Some(_) => {}
        }
        Ok(resp)
    }
}

fn finish(result: Result<Response, (Error, u64)>, attempt: u32) -> Result<Response, Error> {
    result
        .map(|mut r| {
            r.attempts = attempt;
            r
        })
        .map_err(|(e, _)| e)
}

fn answered(status: u16, headers: &[httparse::Header<'_>], body: &[u8]) -> Answered {
    let prefix = body.get(..body.len().min(4096)).unwrap_or_default();
    match classify(status, headers, prefix) {
        AnsweredBy::Origin => Answered::default(),
        AnsweredBy::Edge(v) => Answered {
            made_by_edge: v.made_by_edge,
            edge: Some(v.vendor.name().to_string()),
            code: v.code,
            what: v.what.to_string(),
            hint: v.hint.to_string(),
            ray: v.ray.map(|r| String::from_utf8_lossy(r).into_owned()),
        },
    }
}

/// The TLS summary line(s) of the trace.
pub fn tls_summary(info: &TlsInfo) -> String {
    let mut s = format!(
        "TLS {} {} ALPN {} {}; SNI {}",
        info.version,
        info.cipher,
        info.alpn.as_deref().unwrap_or("none"),
        if info.resumed { "resumed" } else { "full handshake" },
        info.sni.as_deref().unwrap_or("(none: IP address)")
    );
    for (i, c) in info.chain.iter().enumerate() {
        s.push_str(&format!(
            "\n  cert #{i}: subject {}; issuer {}; not after {} UTC",
            c.subject,
            c.issuer,
            c.not_after_utc()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A plain-HTTP server on loopback that answers every connection with `answer(path)` (written
    /// once its request head arrived) and counts the connections.
    fn server(answer: fn(&str, &mut std::net::TcpStream)) -> (u16, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let conns = Arc::new(AtomicUsize::new(0));
        let c2 = conns.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                c2.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    loop {
                        let mut head = Vec::new();
                        let mut b = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            match s.read(&mut b) {
                                Ok(1) => head.push(b[0]),
                                _ => return,
                            }
                        }
                        let text = String::from_utf8_lossy(&head).into_owned();
                        let len: usize = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        let mut body = vec![0u8; len];
                        s.read_exact(&mut body).unwrap();
                        let path = text.split(' ').nth(1).unwrap_or("/").to_string();
                        answer(&path, &mut s);
                    }
                });
            }
        });
        (port, conns)
    }

    fn answer(path: &str, s: &mut std::net::TcpStream) {
        match path {
            "/endless" => {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                while s.write_all(chunk.as_bytes()).is_ok() {}
            }
            "/big" => {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
                let _ = s.write_all(&vec![b'y'; 1_000_000]);
            }
            "/cut" => {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
            "/r307" => {
                let _ = s.write_all(b"HTTP/1.1 307 Moved\r\nLocation: /small\r\nContent-Length: 9\r\n\r\nredirect!");
            }
            _ => {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall");
            }
        }
    }

    fn get(port: u16, path: &str) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            url: format!("http://127.0.0.1:{port}{path}"),
            ..RequestSpec::default()
        }
    }

    /// Counts what it is given; keeps nothing.
    #[derive(Default)]
    struct Count {
        heads: Vec<u16>,
        bytes: u64,
    }
    impl BodySink for Count {
        fn on_head(&mut self, status: u16, _head: &[u8]) -> std::io::Result<()> {
            self.heads.push(status);
            Ok(())
        }
        fn on_body(&mut self, data: &[u8]) -> std::io::Result<()> {
            self.bytes += data.len() as u64;
            Ok(())
        }
    }

    #[test]
    fn send_to_streams_and_stops_at_the_streamed_limit() {
        let (port, _) = server(answer);
        let limit = 5 << 20;
        let mut c = Client::builder().max_streamed_body(Some(limit)).build().unwrap();
        let mut sink = Count::default();
        let e = c.send_to(&get(port, "/endless"), &mut sink).unwrap_err();
        assert_eq!(e, Error::BodyTooLarge { limit });
        assert_eq!(e.class(), "too-large");
        assert!(e.to_string().contains("larger than the limit of 5242880 bytes"), "{e}");
        assert_eq!(sink.heads, [200]);
        assert!(sink.bytes <= limit && sink.bytes > limit - 64 * 1024, "{}", sink.bytes);

        // Collected in memory, the body meets max_body.
        let mut c = Client::builder().max_body(1 << 20).build().unwrap();
        assert_eq!(
            c.send(&get(port, "/endless")).unwrap_err(),
            Error::BodyTooLarge { limit: 1 << 20 }
        );
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_any_body_byte() {
        let (port, _) = server(answer);
        let mut c = Client::builder().max_streamed_body(Some(1000)).build().unwrap();
        let mut sink = Count::default();
        let e = c.send_to(&get(port, "/big"), &mut sink).unwrap_err();
        assert_eq!(e, Error::BodyTooLarge { limit: 1000 });
        assert_eq!(sink.bytes, 0);
        // Within the limit: streamed, and not kept.
        let mut c = Client::builder().max_streamed_body(Some(1_000_000)).build().unwrap();
        let mut out = Vec::new();
        let r = c.send_to(&get(port, "/big"), &mut out).unwrap();
        assert_eq!(
            (r.status, r.body_len, r.body.len(), out.len()),
            (200, 1_000_000, 0, 1_000_000)
        );
    }

    #[test]
    fn the_body_of_a_followed_redirect_never_reaches_the_sink() {
        let (port, _) = server(answer);
        let mut c = Client::builder()
            .redirect(RedirectPolicy {
                follow: true,
                ..RedirectPolicy::default()
            })
            .build()
            .unwrap();
        let mut sink = Count::default();
        let r = c.send_to(&get(port, "/r307"), &mut sink).unwrap();
        assert_eq!((r.status, r.body_len), (200, 5));
        assert_eq!((sink.heads.as_slice(), sink.bytes), (&[200u16][..], 5));

        // Not followed: the held 307 is the answer, and is written once it is known to be.
        let mut c = Client::builder().build().unwrap();
        let mut out = Vec::new();
        let r = c.send_to(&get(port, "/r307"), &mut out).unwrap();
        assert_eq!((r.status, out.as_slice()), (307, &b"redirect!"[..]));
    }

    /// A client that tries three times, with 1 ms between attempts.
    fn three_attempts() -> Client {
        Client::builder()
            .retry(RetryPolicy {
                max_attempts: 3,
                base_delay_ms: 1,
                max_delay_ms: 1,
                honor_retry_after: false,
            })
            .build()
            .unwrap()
    }

    #[test]
    fn a_body_partly_written_to_a_sink_that_keeps_it_is_not_retried() {
        let (port, conns) = server(answer);
        let mut c = three_attempts();
        let mut out = Vec::new();
        let e = c.send_to(&get(port, "/cut"), &mut out).unwrap_err();
        assert_eq!(e.class(), "http", "{e}");
        assert_eq!(out, b"0123456789");
        assert_eq!(conns.load(Ordering::SeqCst), 1);
        // Collected in memory, the same GET is retried.
        let _ = c.send(&get(port, "/cut")).unwrap_err();
        assert_eq!(conns.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_sink_that_takes_back_a_partial_body_gets_the_retries() {
        /// Keeps what it is given; takes it back on request.
        #[derive(Default)]
        struct Undo {
            kept: Vec<u8>,
            discarded: usize,
        }
        impl BodySink for Undo {
            fn on_body(&mut self, data: &[u8]) -> std::io::Result<()> {
                self.kept.extend_from_slice(data);
                Ok(())
            }
            fn discard(&mut self) -> bool {
                self.kept.clear();
                self.discarded += 1;
                true
            }
        }
        let (port, conns) = server(answer);
        let mut c = three_attempts();
        let mut sink = Undo::default();
        let e = c.send_to(&get(port, "/cut"), &mut sink).unwrap_err();
        assert_eq!(e.class(), "http", "{e}");
        assert_eq!((sink.kept.as_slice(), sink.discarded), (&b"0123456789"[..], 2));
        assert_eq!(conns.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_failing_sink_is_its_own_error() {
        struct Full;
        impl BodySink for Full {
            fn on_body(&mut self, _: &[u8]) -> std::io::Result<()> {
                Err(std::io::Error::other("no space left"))
            }
        }
        let (port, _) = server(answer);
        let mut c = Client::builder().build().unwrap();
        let e = c.send_to(&get(port, "/endless"), &mut Full).unwrap_err();
        assert_eq!(e.class(), "output");
        assert!(e.to_string().contains("no space left"), "{e}");
    }

    #[test]
    fn an_unsendable_request_fails_before_connecting() {
        let (port, conns) = server(answer);
        let mut c = Client::builder().build().unwrap();
        let bad = [
            ("X-A", b"b\r\nInjected: 1".to_vec()),
            ("Bad Name", b"v".to_vec()),
            ("X-Nul", b"a\0b".to_vec()),
        ];
        for h in bad {
            let mut spec = get(port, "/small");
            spec.headers = vec![(h.0.to_string(), h.1)];
            let e = c.send(&spec).unwrap_err();
            assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
            assert_eq!(e.class(), "usage");
        }
        let mut spec = get(port, "/small");
        spec.method = "GE T".into();
        assert!(matches!(c.send(&spec).unwrap_err(), Error::InvalidRequest(_)));
        let mut c = Client::builder().user_agent("ua\r\nX: y").build().unwrap();
        assert!(matches!(
            c.send(&get(port, "/small")).unwrap_err(),
            Error::InvalidRequest(_)
        ));
        assert_eq!(conns.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_trace_keeps_a_bounded_part_of_what_was_received() {
        let (port, _) = server(answer);
        let mut c = Client::builder()
            .trace(true)
            .max_streamed_body(Some(3 << 20))
            .build()
            .unwrap();
        let _ = c.send_to(&get(port, "/endless"), &mut std::io::sink());
        let received: usize = c
            .trace()
            .iter()
            .map(|e| match e {
                TraceEvent::Received(d) => d.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(received, TRACE_RECEIVED_LIMIT);
        assert!(
            c.trace()
                .iter()
                .any(|e| matches!(e, TraceEvent::Info(m) if m.contains("not recorded"))),
            "{:?}",
            c.trace().last()
        );
    }
}

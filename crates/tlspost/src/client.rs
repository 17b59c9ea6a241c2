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
//! let url = "https://api.example.com/oauth/token".parse().expect("a valid URL");
//! let resp = client.send(&RequestSpec::json(url, br#"{"a":1}"#.to_vec()))?;
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
//! let spec = RequestSpec::new("GET", "https://api.example.com/firmware".parse().expect("a valid URL"));
//! let resp = client.send_to(&spec, &mut file)?;
//! println!("{} bytes written", resp.body_len);
//! # Ok::<(), tlspost::Error>(())
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tlspost_proto::edge::{AnsweredBy, Vendor, classify};
use tlspost_proto::redirect::{self, RedirectDecision, RedirectPolicy};
use tlspost_proto::request::DEFAULT_USER_AGENT;
use tlspost_proto::retry::{self, RetryDecision, RetryPolicy};
use tlspost_proto::{Body, Budgets, Deadlines, Header, Millis, Omit, Phase, Request, Scheme, Version, httparse};

use crate::conn::{self, Embedded, Stream};
use crate::driver::{self, Buffers, DriverError, Hooks};
use crate::error::{Error, RedirectRefusal};
use crate::probe::{Override, TlsFacts, TlsSetup};
use crate::trace::{Timings, TraceEvent};
use crate::trust::Trust;
use crate::url::HttpUrl;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The absolute `http://` or `https://` URL, parsed where it was given.
    pub url: HttpUrl,
    /// Extra headers; one named like an automatic one (`User-Agent`, `Content-Type`, ...) replaces it.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Automatic headers to leave out (`User-Agent`, `Accept-Encoding`, `Connection`,
    /// `Content-Type`); `Host` and the body's framing are always sent.
    pub omit: Omit,
    /// The body.
    pub body: BodySpec,
}

impl RequestSpec {
    /// A bodiless request with `method`, no extra headers.
    pub fn new(method: &str, url: HttpUrl) -> RequestSpec {
        RequestSpec {
            method: method.to_string(),
            url,
            headers: Vec::new(),
            omit: Omit::NONE,
            body: BodySpec::None,
        }
    }

    /// A JSON POST.
    pub fn json(url: HttpUrl, body: Vec<u8>) -> RequestSpec {
        RequestSpec {
            body: BodySpec::Json(body),
            ..RequestSpec::new("POST", url)
        }
    }

    /// The extra headers as the core takes them, for [`RequestSpec::request`].
    pub fn header_fields(&self) -> Vec<Header<'_>> {
        self.headers
            .iter()
            .map(|(n, v)| Header {
                name: n.as_str(),
                value: v.as_slice(),
            })
            .collect()
    }

    /// The core's request for this spec, with `headers` from [`RequestSpec::header_fields`] and the
    /// default `User-Agent`: what the client encodes (it may set the version, `Connection` and
    /// `User-Agent` it was built with).
    pub fn request<'a>(&'a self, headers: &'a [Header<'a>]) -> Request<'a> {
        let mut req = self.url.as_url().request(&self.method);
        req.headers = headers;
        req.omit = self.omit;
        req.body = match &self.body {
            BodySpec::None => Body::None,
            BodySpec::Json(d) => Body::Json(d),
            BodySpec::Form(d) => Body::Form(d),
            BodySpec::Bytes { content_type, data } => Body::Bytes { content_type, data },
        };
        req
    }
}

/// Who made the response: the core's edge classification ([`classify`]), owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answered {
    /// `true` when an edge (CDN) made the response and the origin never saw the request.
    pub made_by_edge: bool,
    /// The edge on the path, if any ([`Vendor::name`] names it).
    pub edge: Option<Vendor>,
    /// The edge's error code (Cloudflare 1xxx).
    pub code: Option<u16>,
    /// What the response is, from the core's table (empty when the origin answered).
    pub what: &'static str,
    /// What to change, from the core's table.
    pub hint: &'static str,
    /// The edge's request id (e.g. `CF-RAY`).
    pub ray: Option<String>,
}

impl Answered {
    /// Who made a response with this status, head fields and body (its first 4 KB are read),
    /// by the core's [`classify`].
    pub fn classify(status: u16, headers: &[httparse::Header<'_>], body: &[u8]) -> Answered {
        let prefix = body.get(..body.len().min(BODY_PREFIX)).unwrap_or_default();
        match classify(status, headers, prefix) {
            AnsweredBy::Origin => Answered::default(),
            AnsweredBy::Edge(v) => Answered {
                made_by_edge: v.made_by_edge,
                edge: Some(v.vendor),
                code: v.code,
                what: v.what,
                hint: v.hint,
                ray: v.ray.map(|r| String::from_utf8_lossy(r).into_owned()),
            },
        }
    }

    /// A sentence for people: who answered and what to do.
    pub fn sentence(&self, status: u16) -> String {
        match (self.edge.map(Vendor::name), self.made_by_edge) {
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
#[derive(Debug, Clone)]
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
    pub redirects: Vec<HttpUrl>,
    /// The URL that answered.
    pub url: HttpUrl,
    /// Phase timings of the final attempt.
    pub timings: Timings,
    /// TLS facts of the connection (as of its handshake, for a reused connection).
    pub tls: Option<TlsFacts>,
    /// Whether the final attempt reused a kept-alive connection.
    pub reused_connection: bool,
    /// Request bytes written by the final attempt.
    pub request_bytes: u64,
}

impl Response {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        header(&self.headers, name)
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
    resolve: Vec<Override>,
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

/// Builder methods that set the field of their name to the value given.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.$name = value;
                self
            }
        )*
    };
}

impl ClientBuilder {
    setters! {
        /// Where trust comes from (default: Mozilla's roots).
        trust: Trust;
        /// Per-phase budgets (default: [`Budgets::default`]).
        budgets: Budgets;
        /// Retry policy (default: never).
        retry: RetryPolicy;
        /// Redirect policy (default: do not follow).
        redirect: RedirectPolicy;
        /// Send `HTTP/1.0` requests.
        http10: bool;
        /// Keep connections open for the next request to the same origin (default on).
        keep_alive: bool;
        /// Record the wire trace of each request ([`Client::trace`]).
        trace: bool;
        /// The largest response body collected in memory (default [`DEFAULT_MAX_BODY`], 64 MiB): by
        /// [`Client::send`], and by [`Client::send_to`] for a response it may not keep (a redirect it
        /// follows, a status it retries). A larger body fails with [`Error::BodyTooLarge`].
        max_body: u64;
        /// The largest response body [`Client::send_to`] writes to its sink (default `None`: no limit
        /// but the body and total time budgets). A larger body fails with [`Error::BodyTooLarge`] once
        /// the limit is reached (at once when its `Content-Length` says so); the sink has received at
        /// most that many bytes of it.
        max_streamed_body: Option<u64>;
    }
    /// Like curl's `--resolve host:port:addr`: connect to `addr` for `host:port`; SNI and `Host`
    /// stay `host`.
    pub fn resolve(self, host: &str, port: u16, addr: SocketAddr) -> Self {
        self.resolve_override(Override {
            host: host.to_string(),
            port,
            addr,
        })
    }
    /// [`ClientBuilder::resolve`] with an entry parsed by [`Override::parse`].
    pub fn resolve_override(mut self, entry: Override) -> Self {
        self.resolve.push(entry);
        self
    }
    /// The `User-Agent` (default `tlspost/<version>`).
    pub fn user_agent(mut self, ua: &str) -> Self {
        self.user_agent = Some(ua.to_string());
        self
    }
    /// Builds the client (parses the trust anchors).
    pub fn build(self) -> Result<Client, Error> {
        let tls = TlsSetup::verifying(&self.trust, &[b"http/1.1"])?;
        Ok(Client {
            opts: self,
            tls,
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
    tls: Option<TlsFacts>,
}

/// Sends requests; keeps one idle connection per origin and the TLS sessions for resumption.
pub struct Client {
    opts: ClientBuilder,
    /// The TLS setup: trust, ALPN, and the sessions kept for resumption.
    tls: TlsSetup,
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

/// A response head, parsed once: what [`Response`] keeps of it.
#[derive(Debug, Default)]
struct ParsedHead {
    reason: String,
    version: u8,
    headers: Vec<(String, Vec<u8>)>,
}

impl ParsedHead {
    /// The head as the core's parser reads it (the driver has already accepted it).
    fn parse(head: &[u8]) -> ParsedHead {
        let mut hs = [httparse::EMPTY_HEADER; driver::MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut hs);
        let _ = parsed.parse(head);
        ParsedHead {
            reason: parsed.reason.unwrap_or("").to_string(),
            version: parsed.version.unwrap_or(1),
            headers: parsed
                .headers
                .iter()
                .map(|h| (h.name.to_string(), h.value.to_vec()))
                .collect(),
        }
    }

    fn header(&self, name: &str) -> Option<&[u8]> {
        header(&self.headers, name)
    }
}

/// The first header with this name (ASCII case-insensitive) in owned fields.
fn header<'h>(headers: &'h [(String, Vec<u8>)], name: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// Owned fields as the core's parsed headers, for its functions (edge classification, retry).
fn httparse_headers(headers: &[(String, Vec<u8>)]) -> Vec<httparse::Header<'_>> {
    headers
        .iter()
        .map(|(n, v)| httparse::Header { name: n, value: v })
        .collect()
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
    /// The final head, parsed once as it arrives.
    parsed: Option<ParsedHead>,
    /// The whole body, or its first [`BODY_PREFIX`] bytes when streaming.
    body: Vec<u8>,
    body_len: u64,
    too_large: bool,
    sink_error: Option<std::io::Error>,
    sent_at: Duration,
    first_at: Duration,
}

impl<'a, 's> HostHooks<'a, 's> {
    /// Hooks for one attempt over `stream`, started at `start`; `bodiless` for a HEAD request.
    fn new(
        start: Instant,
        stream: &Stream,
        events: Option<&'a mut Vec<TraceEvent>>,
        sink: Option<&'s mut dyn BodySink>,
        resend: Resend,
        bodiless: bool,
        opts: &ClientBuilder,
    ) -> Self {
        HostHooks {
            start,
            sock: stream.tcp().try_clone().ok(),
            events,
            traced: 0,
            untraced: 0,
            sink,
            resend,
            bodiless,
            max_body: opts.max_body,
            max_streamed: opts.max_streamed_body,
            streaming: false,
            limit: None,
            parsed: None,
            body: Vec::new(),
            body_len: 0,
            too_large: false,
            sink_error: None,
            sent_at: Duration::ZERO,
            first_at: Duration::ZERO,
        }
    }
}

impl Hooks for HostHooks<'_, '_> {
    fn now(&mut self) -> Millis {
        elapsed_ms(self.start)
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
        let parsed = ParsedHead::parse(head);
        if let Some(limit) = self.limit {
            let declared = parsed
                .header("content-length")
                .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
            // A HEAD's answer or a 304 declares a body it does not send.
            if declared.is_some_and(|n| n > limit) && !self.bodiless && !matches!(status, 204 | 304) {
                self.too_large = true;
            }
        }
        self.parsed = Some(parsed);
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
        let mut hop = spec.clone();
        let mut redirects = Vec::new();
        let mut hops: u8 = 0;
        loop {
            let mut resp = self.send_with_retries(&hop, reborrow(&mut sink))?;
            let location = resp.header("location");
            let next = match redirect::decide(
                &self.opts.redirect,
                &hop.method,
                &hop.url.as_url(),
                resp.status,
                location,
                hops,
            ) {
                Ok(RedirectDecision::Follow(r)) => Some((
                    r.method_str(&hop.method).to_string(),
                    HttpUrl::from(&r.target),
                    r.keep_body,
                )),
                Ok(_) => None,
                Err(e) => {
                    return Err(Error::Redirect {
                        status: resp.status,
                        reason: RedirectRefusal::from_core(&e),
                    });
                }
            };
            let Some((method, url, keep_body)) = next else {
                resp.redirects = redirects;
                return Ok(resp);
            };
            self.info(format!(
                "following {} to {url} ({method}, body {})",
                resp.status,
                if keep_body { "re-sent" } else { "dropped" }
            ));
            if !keep_body {
                hop.body = BodySpec::None;
            }
            hop.method = method;
            hop.url = url.clone();
            redirects.push(url);
            hops = hops.saturating_add(1);
        }
    }

    fn info(&mut self, m: String) {
        if self.opts.trace {
            self.events.push(TraceEvent::Info(m));
        }
    }

    fn send_with_retries(
        &mut self,
        spec: &RequestSpec,
        mut sink: Option<&mut dyn BodySink>,
    ) -> Result<Response, Error> {
        let hdrs = spec.header_fields();
        let idempotent = retry::is_idempotent(&spec.method, &hdrs);
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            self.attempts = attempt;
            let resend = Resend {
                redirects: self.opts.redirect.follow,
                retries: attempt < self.opts.retry.max_attempts,
            };
            let result = self.attempt(spec, &hdrs, reborrow(&mut sink), resend);
            let failure = match &result {
                Ok(r) if matches!(r.status, 408 | 429 | 502 | 503 | 504) => {
                    retry::Failure::from_response(r.status, &httparse_headers(&r.headers))
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

    /// One attempt: connect or reuse a connection, run the exchange, make the response of it.
    fn attempt(
        &mut self,
        spec: &RequestSpec,
        headers: &[Header<'_>],
        sink: Option<&mut dyn BodySink>,
        resend: Resend,
    ) -> Result<Response, (Error, u64)> {
        self.last_streamed = false;
        let user_agent = self.opts.user_agent.clone();
        let mut req = spec.request(headers);
        req.user_agent = user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT);
        if self.opts.http10 {
            req.version = Version::Http10;
        }
        if !self.opts.keep_alive {
            req.connection = tlspost_proto::Connection::Close;
        }
        // A request that cannot be encoded fails here, before any connection is made.
        tlspost_proto::Encoder::new(&req).map_err(|e| (Error::InvalidRequest(e), 0))?;
        let start = Instant::now();
        let mut deadlines = Deadlines::new(self.opts.budgets, Millis(0));
        let mut timings = Timings::default();
        let (mut conn, reused) = match self.reuse(&spec.url) {
            Some(c) => (c, true),
            None => (
                self.open(&spec.url, start, &mut deadlines, &mut timings)
                    .map_err(|e| (e, 0))?,
                false,
            ),
        };
        let hooks = HostHooks::new(
            start,
            &conn.stream,
            if self.opts.trace { Some(&mut self.events) } else { None },
            sink,
            resend,
            spec.method.eq_ignore_ascii_case("HEAD"),
            &self.opts,
        );
        let run = run_exchange(&mut conn.stream, &req, &mut deadlines, hooks);
        timings.sent = run.sent_at;
        timings.first_byte = run.first_at;
        timings.total = start.elapsed();
        self.last_streamed = run.streamed;
        if run.untraced > 0 {
            self.events.push(TraceEvent::Info(format!(
                "{} more received byte(s) not recorded: the trace keeps the first {TRACE_RECEIVED_LIMIT} of \
                 an attempt",
                run.untraced
            )));
        }
        let done = Attempted {
            url: &spec.url,
            timings,
            reused,
        };
        self.response(run, conn, done)
    }

    /// The kept-alive connection to this URL's origin, if the server has not closed it.
    fn reuse(&mut self, url: &HttpUrl) -> Option<Pooled> {
        let mut p = self.pool.remove(&origin(url))?;
        if !p.stream.idle_ok() {
            self.info("the kept-alive connection was closed by the server; opening a new one".into());
            return None;
        }
        if self.opts.trace {
            let peer = p.stream.tcp().peer_addr().map(|a| a.to_string()).unwrap_or_default();
            self.info(format!("re-using the kept-alive connection to {peer}"));
        }
        Some(p)
    }

    /// A new connection: resolve, connect, and for `https` the TLS handshake, each timed.
    fn open(
        &mut self,
        url: &HttpUrl,
        start: Instant,
        deadlines: &mut Deadlines,
        timings: &mut Timings,
    ) -> Result<Pooled, Error> {
        let budgets = self.opts.budgets;
        let addrs = conn::resolve(url.host(), url.port_or_default(), &self.opts.resolve)?;
        timings.dns = start.elapsed();
        let connect_budget = match (budgets.connect, budgets.total) {
            (Some(c), Some(t)) => Some(c.min(t)),
            (c, t) => c.or(t),
        };
        if self.opts.trace {
            let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
            self.info(format!("connecting to {} ({})", url.host(), list.join(", ")));
        }
        let tcp = conn::connect(&addrs, connect_budget.map(Duration::from_millis)).map_err(|e| match e {
            Error::Connect {
                failure: crate::error::ConnectFailure::TimedOut,
                ..
            } => Error::Timeout {
                phase: Phase::Connect,
                budget_ms: connect_budget,
            },
            other => other,
        })?;
        timings.connect = start.elapsed();
        if self.opts.trace {
            let local = tcp.local_addr().map(|a| a.to_string()).unwrap_or_default();
            let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            self.info(format!("connected {local} -> {peer}"));
        }
        if url.scheme() == Scheme::Http {
            timings.tls = timings.connect;
            return Ok(Pooled {
                stream: Stream::Plain(tcp),
                tls: None,
            });
        }
        deadlines.enter(Phase::Handshake, elapsed_ms(start));
        let deadline = deadlines
            .next_deadline()
            .map(|(at, _)| start + Duration::from_millis(at.0));
        let (stream, info) = conn::handshake(&self.tls, url.host(), tcp, deadline, budgets.handshake, &mut |_, _| {})?;
        timings.tls = start.elapsed();
        if self.opts.trace {
            self.info(tls_summary(&info));
        }
        Ok(Pooled {
            stream,
            tls: Some(info),
        })
    }

    /// The response of a finished exchange (or its error), and the connection kept for the next
    /// request when the response allows it.
    fn response(&mut self, run: Run, conn: Pooled, done: Attempted<'_>) -> Result<Response, (Error, u64)> {
        let written = match &run.result {
            Ok(o) => o.request_written,
            Err(f) => f.request_written,
        };
        if let Some(e) = run.sink_error {
            return Err((Error::Sink { detail: e.to_string() }, written));
        }
        if run.too_large {
            return Err((
                Error::BodyTooLarge {
                    limit: run.limit.unwrap_or(self.opts.max_body),
                },
                written,
            ));
        }
        let outcome = run.result.map_err(|f| {
            let limit = run.limit.unwrap_or(self.opts.max_body);
            (
                driver_error(f.error, f.request_written, &self.opts.budgets, limit),
                written,
            )
        })?;
        let head = run.rx.get(..outcome.head_len).unwrap_or_default();
        let parsed = run.parsed.unwrap_or_default();
        let answered_by = Answered::classify(outcome.status, &httparse_headers(&parsed.headers), &run.body);
        let resp = Response {
            status: outcome.status,
            reason: parsed.reason,
            version: parsed.version,
            headers: parsed.headers,
            head: head.to_vec(),
            body: if run.streamed { Vec::new() } else { run.body },
            body_len: run.body_len,
            answered_by,
            attempts: 1,
            redirects: Vec::new(),
            url: done.url.clone(),
            timings: done.timings,
            tls: conn.tls.clone(),
            reused_connection: done.reused,
            request_bytes: outcome.request_written,
        };
        self.info(format!("timings: {}", done.timings.line()));
        match outcome.close {
            None if self.opts.keep_alive => {
                self.pool.insert(origin(done.url), conn);
            }
            None => {}
            Some(reason) => self.info(format!("closing the connection: {reason}")),
        }
        Ok(resp)
    }
}

/// What an attempt knew before its exchange ended: the URL, the timings, whether it reused a
/// connection.
struct Attempted<'u> {
    url: &'u HttpUrl,
    timings: Timings,
    reused: bool,
}

/// What an exchange left: the driver's result, its receive buffer (the head is at its start), and
/// what the hooks gathered.
struct Run {
    result: Result<driver::Outcome, driver::Failure<std::io::Error>>,
    rx: Vec<u8>,
    parsed: Option<ParsedHead>,
    body: Vec<u8>,
    body_len: u64,
    streamed: bool,
    limit: Option<u64>,
    too_large: bool,
    sink_error: Option<std::io::Error>,
    untraced: u64,
    sent_at: Duration,
    first_at: Duration,
}

/// Runs the driver over the connection with the hooks.
fn run_exchange(
    stream: &mut Stream,
    req: &Request<'_>,
    deadlines: &mut Deadlines,
    mut hooks: HostHooks<'_, '_>,
) -> Run {
    let mut rx = vec![0u8; 16 * 1024];
    let mut tx = vec![0u8; 16 * 1024];
    let result = driver::exchange(
        &mut Embedded(stream),
        req,
        deadlines,
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
        &mut hooks,
    );
    Run {
        result,
        rx,
        parsed: hooks.parsed,
        body: hooks.body,
        body_len: hooks.body_len,
        streamed: hooks.streaming,
        limit: hooks.limit,
        too_large: hooks.too_large,
        sink_error: hooks.sink_error,
        untraced: hooks.untraced,
        sent_at: hooks.sent_at,
        first_at: hooks.first_at,
    }
}

/// The client's error for a driver's failure.
fn driver_error(error: DriverError<std::io::Error>, written: u64, budgets: &Budgets, limit: u64) -> Error {
    match error {
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
        DriverError::BufferTooSmall { which } => Error::Config(format!("internal {which} buffer too small")),
    }
}

fn origin(url: &HttpUrl) -> Origin {
    (url.scheme(), url.host().to_ascii_lowercase(), url.port_or_default())
}

fn elapsed_ms(start: Instant) -> Millis {
    Millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
}

fn finish(result: Result<Response, (Error, u64)>, attempt: u32) -> Result<Response, Error> {
    result
        .map(|mut r| {
            r.attempts = attempt;
            r
        })
        .map_err(|(e, _)| e)
}

/// The TLS summary line(s) of the trace.
pub fn tls_summary(info: &TlsFacts) -> String {
    let mut s = format!(
        "TLS {} {} ALPN {} {}; SNI {}",
        info.version,
        info.suite_text(),
        info.alpn_text().as_deref().unwrap_or("none"),
        if info.resumed() { "resumed" } else { "full handshake" },
        info.sni.as_deref().unwrap_or("(none: IP address)")
    );
    for (i, c) in info.certs().iter().enumerate() {
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
    use crate::ErrorClass;
    use std::io::Write;
    use tlspost_testkit::http::{PathServer, endless_chunked};

    fn answer(path: &str, s: &mut std::net::TcpStream) {
        match path {
            "/endless" => endless_chunked(s),
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

    fn get(server: &PathServer, path: &str) -> RequestSpec {
        RequestSpec::new("GET", server.url(path).parse().unwrap())
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
        let server = PathServer::start(answer);
        let limit = 5 << 20;
        let mut c = Client::builder().max_streamed_body(Some(limit)).build().unwrap();
        let mut sink = Count::default();
        let e = c.send_to(&get(&server, "/endless"), &mut sink).unwrap_err();
        assert_eq!(e, Error::BodyTooLarge { limit });
        assert_eq!(e.class(), ErrorClass::TooLarge);
        assert!(e.to_string().contains("larger than the limit of 5242880 bytes"), "{e}");
        assert_eq!(sink.heads, [200]);
        assert!(sink.bytes <= limit && sink.bytes > limit - 64 * 1024, "{}", sink.bytes);

        // Collected in memory, the body meets max_body.
        let mut c = Client::builder().max_body(1 << 20).build().unwrap();
        assert_eq!(
            c.send(&get(&server, "/endless")).unwrap_err(),
            Error::BodyTooLarge { limit: 1 << 20 }
        );
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_any_body_byte() {
        let server = PathServer::start(answer);
        let mut c = Client::builder().max_streamed_body(Some(1000)).build().unwrap();
        let mut sink = Count::default();
        let e = c.send_to(&get(&server, "/big"), &mut sink).unwrap_err();
        assert_eq!(e, Error::BodyTooLarge { limit: 1000 });
        assert_eq!(sink.bytes, 0);
        // Within the limit: streamed, and not kept.
        let mut c = Client::builder().max_streamed_body(Some(1_000_000)).build().unwrap();
        let mut out = Vec::new();
        let r = c.send_to(&get(&server, "/big"), &mut out).unwrap();
        assert_eq!(
            (r.status, r.body_len, r.body.len(), out.len()),
            (200, 1_000_000, 0, 1_000_000)
        );
    }

    #[test]
    fn the_body_of_a_followed_redirect_never_reaches_the_sink() {
        let server = PathServer::start(answer);
        let mut c = Client::builder()
            .redirect(RedirectPolicy {
                follow: true,
                ..RedirectPolicy::default()
            })
            .build()
            .unwrap();
        let mut sink = Count::default();
        let r = c.send_to(&get(&server, "/r307"), &mut sink).unwrap();
        assert_eq!((r.status, r.body_len), (200, 5));
        assert_eq!((sink.heads.as_slice(), sink.bytes), (&[200u16][..], 5));

        // Not followed: the held 307 is the answer, and is written once it is known to be.
        let mut c = Client::builder().build().unwrap();
        let mut out = Vec::new();
        let r = c.send_to(&get(&server, "/r307"), &mut out).unwrap();
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
        let server = PathServer::start(answer);
        let mut c = three_attempts();
        let mut out = Vec::new();
        let e = c.send_to(&get(&server, "/cut"), &mut out).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Protocol, "{e}");
        assert_eq!(out, b"0123456789");
        assert_eq!(server.connections(), 1);
        // Collected in memory, the same GET is retried.
        let _ = c.send(&get(&server, "/cut")).unwrap_err();
        assert_eq!(server.connections(), 4);
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
        let server = PathServer::start(answer);
        let mut c = three_attempts();
        let mut sink = Undo::default();
        let e = c.send_to(&get(&server, "/cut"), &mut sink).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Protocol, "{e}");
        assert_eq!((sink.kept.as_slice(), sink.discarded), (&b"0123456789"[..], 2));
        assert_eq!(server.connections(), 3);
    }

    #[test]
    fn a_failing_sink_is_its_own_error() {
        struct Full;
        impl BodySink for Full {
            fn on_body(&mut self, _: &[u8]) -> std::io::Result<()> {
                Err(std::io::Error::other("no space left"))
            }
        }
        let server = PathServer::start(answer);
        let mut c = Client::builder().build().unwrap();
        let e = c.send_to(&get(&server, "/endless"), &mut Full).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Output);
        assert!(e.to_string().contains("no space left"), "{e}");
    }

    #[test]
    fn an_unsendable_request_fails_before_connecting() {
        let server = PathServer::start(answer);
        let mut c = Client::builder().build().unwrap();
        let bad = [
            ("X-A", b"b\r\nInjected: 1".to_vec()),
            ("Bad Name", b"v".to_vec()),
            ("X-Nul", b"a\0b".to_vec()),
        ];
        for h in bad {
            let mut spec = get(&server, "/small");
            spec.headers = vec![(h.0.to_string(), h.1)];
            let e = c.send(&spec).unwrap_err();
            assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
            assert_eq!(e.class(), ErrorClass::Usage);
        }
        let mut spec = get(&server, "/small");
        spec.method = "GE T".into();
        assert!(matches!(c.send(&spec).unwrap_err(), Error::InvalidRequest(_)));
        let mut c = Client::builder().user_agent("ua\r\nX: y").build().unwrap();
        assert!(matches!(
            c.send(&get(&server, "/small")).unwrap_err(),
            Error::InvalidRequest(_)
        ));
        assert_eq!(server.connections(), 0);
    }

    #[test]
    fn the_trace_keeps_a_bounded_part_of_what_was_received() {
        let server = PathServer::start(answer);
        let mut c = Client::builder()
            .trace(true)
            .max_streamed_body(Some(3 << 20))
            .build()
            .unwrap();
        let _ = c.send_to(&get(&server, "/endless"), &mut std::io::sink());
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

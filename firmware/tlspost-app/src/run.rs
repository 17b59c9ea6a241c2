//! The report: attempts on fresh connections, each connect → verified TLS 1.3 → exchange → close,
//! until a response or the retry policy says stop.

use core::fmt;

use tlspost::async_driver;
use tlspost::driver::{self, DriverError, Hooks};
use tlspost_device::embedded_tls::{Aes128GcmSha256, CryptoRngCore, TlsConnection};
use tlspost_device::{ConnectError, DeviceProvider, PinnedVerifier, config, open_async};
use tlspost_proto::retry::{self, Failure, RetryDecision};
use tlspost_proto::{Body, Connection, Deadlines, Millis, Phase, Request, httparse};

use crate::report::{Error, Failed, Report, Timings};
use crate::{Buffers, Clock, Job, Net, Parts};

type Tls<'b, S> = TlsConnection<'b, S, Aes128GcmSha256>;

/// Sends `job` and prints what happens on `parts.out`: each attempt, the verified handshake,
/// `status: CODE`, the timings and the start of the response body; a failed attempt's reason and
/// the retry decision.
///
/// Every attempt opens a new connection (and closes it after the response), so a retry never
/// depends on the state of an earlier one. A failure before any request byte was written is
/// retried; after that, only an idempotent request is (a `POST` with an `Idempotency-Key`
/// header): a plain `POST` is never sent twice. 429 and 503 are retried (the server did not act);
/// `Retry-After` is honoured. A refused certificate is never retried.
pub async fn post<N: Net, C: Clock, R: CryptoRngCore, W: fmt::Write>(
    parts: Parts<'_, N, C, R, W>,
    job: &Job<'_>,
    bufs: &mut Buffers<'_>,
) -> Result<Report, Failed<N::Error>> {
    let Parts { net, clock, rng, out } = parts;
    let mut req = Request::post(job.url.host, job.url.target, Body::Json(job.body));
    req.port = job.url.port;
    req.headers = job.headers;
    req.user_agent = job.user_agent;
    req.connection = Connection::Close;
    let idempotent = retry::is_idempotent(req.method, req.headers);
    let mut attempts: u32 = 0;
    loop {
        attempts = attempts.saturating_add(1);
        let _ = writeln!(
            out,
            "attempt {attempts}: POST https://{}:{}{}",
            req.host,
            req.port(),
            req.target
        );
        let (failure, last) = match attempt(net, clock, &mut *rng, out, job, &req, bufs).await {
            Ok(done) => {
                print_done(out, &done.report, bufs.keep);
                match done.report.status {
                    408 | 429 | 502 | 503 | 504 => (status_failure(&done, bufs.http_rx), Last::Response(done.report)),
                    _ => {
                        return Ok(Report {
                            attempts,
                            ..done.report
                        });
                    }
                }
            }
            Err((error, written)) => {
                let _ = writeln!(out, "attempt {attempts} failed: {error}");
                let Some(failure) = classify(&error, written) else {
                    let _ = writeln!(out, "not retried: trying again cannot change this");
                    return Err(Failed {
                        error,
                        attempts,
                        gave_up: None,
                    });
                };
                (failure, Last::Error(error))
            }
        };
        match retry::decide(&job.retry, attempts, failure, idempotent, rng.next_u32()) {
            RetryDecision::RetryAfterMs(ms) => {
                let _ = writeln!(out, "retrying in {ms} ms");
                clock.sleep_ms(ms).await;
            }
            RetryDecision::GiveUp(why) => {
                let _ = writeln!(out, "{why}");
                return match last {
                    Last::Response(r) => Ok(Report {
                        attempts,
                        not_retried: Some(why),
                        ..r
                    }),
                    Last::Error(error) => Err(Failed {
                        error,
                        attempts,
                        gave_up: Some(why),
                    }),
                };
            }
        }
    }
}

/// How the last attempt ended, kept while the retry policy decides.
enum Last<N> {
    Response(Report),
    Error(Error<N>),
}

/// A complete response of one attempt (its `attempts` is filled in by [`post`]).
struct Done {
    report: Report,
    head_len: usize,
}

/// The retry policy's view of a retryable status: its code and `Retry-After`.
fn status_failure(done: &Done, http_rx: &[u8]) -> Failure {
    let mut hs = [httparse::EMPTY_HEADER; driver::MAX_HEADERS];
    let head = http_rx.get(..done.head_len).unwrap_or_default();
    match driver::parse_head(head, &mut hs) {
        Some((code, _, headers)) => Failure::from_response(code, headers),
        None => Failure::from_response(done.report.status, &[]),
    }
}

/// How the retry policy sees a failed attempt; `None`: no retry can fix it.
fn classify<N>(error: &Error<N>, written: u64) -> Option<Failure> {
    match error {
        Error::Roots(_) | Error::Tls(ConnectError::Verify(_)) => None,
        Error::Exchange(DriverError::BufferTooSmall { .. } | DriverError::BodyRejected { .. }) => None,
        // Nothing reached the wire because the request itself was refused (it does not encode).
        Error::Exchange(DriverError::Http(_)) if written == 0 => None,
        _ if written == 0 => Some(Failure::BeforeRequestWritten),
        _ => Some(Failure::AfterRequestWritten),
    }
}

fn print_done(out: &mut impl fmt::Write, r: &Report, keep: &[u8]) {
    let _ = writeln!(out, "status: {}", r.status);
    let _ = writeln!(out, "timings ms: {}", r.timings);
    let _ = writeln!(out, "response body bytes: {} (first {} shown)", r.body_len, r.kept);
    let _ = writeln!(out, "----- response -----");
    for chunk in keep.get(..r.kept).unwrap_or_default().utf8_chunks() {
        let _ = out.write_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            let _ = out.write_char(char::REPLACEMENT_CHARACTER);
        }
    }
    let _ = writeln!(out, "\n----- end response -----");
}

/// One attempt: connect, verified handshake, exchange, close.
async fn attempt<N: Net, C: Clock, R: CryptoRngCore, W: fmt::Write>(
    net: &mut N,
    clock: &mut C,
    rng: &mut R,
    out: &mut W,
    job: &Job<'_>,
    req: &Request<'_>,
    bufs: &mut Buffers<'_>,
) -> Result<Done, (Error<N::Error>, u64)> {
    let start = clock.now_ms();
    let mut deadlines = Deadlines::new(job.budgets, Millis(start));
    deadlines.enter(Phase::Connect, Millis(start));
    let socket = net
        .connect(req.host, req.port())
        .await
        .map_err(|e| (Error::Connect(e), 0))?;
    let mut t = Timings::default();
    let connected = clock.now_ms();
    t.connect = connected.saturating_sub(start);
    deadlines.enter(Phase::Handshake, Millis(connected));
    let mut tls: Tls<'_, N::Socket<'_>> = TlsConnection::new(socket, &mut *bufs.tls_rx, &mut *bufs.tls_tx);
    let opened = handshake(&mut tls, clock, rng, job, req.host).await;
    let result = match opened {
        Ok(()) => {
            let verified = clock.now_ms();
            t.tls = verified.saturating_sub(connected);
            let _ = writeln!(
                out,
                "TLS 1.3 handshake ok, server verified for {} ({} ms)",
                req.host, t.tls
            );
            let mut hooks = Keep {
                clock: &mut *clock,
                keep: &mut *bufs.keep,
                kept: 0,
                t,
                current: (Phase::Handshake, verified),
            };
            let io = driver::Buffers {
                rx: &mut *bufs.http_rx,
                tx: &mut *bufs.http_tx,
            };
            let r = exchange(&mut tls, req, &mut deadlines, io, &mut hooks).await;
            let end = hooks.clock.now_ms();
            hooks.phase(Phase::Total, Millis(end));
            hooks.t.total = end.saturating_sub(start);
            r.map(|o| Done {
                report: Report {
                    status: o.status,
                    attempts: 0,
                    timings: hooks.t,
                    request_written: o.request_written,
                    body_len: o.body_len,
                    kept: hooks.kept,
                    not_retried: None,
                },
                head_len: o.head_len,
            })
        }
        Err(e) => Err((e, 0)),
    };
    match tls.close().await {
        Ok(socket) | Err((socket, _)) => N::close(socket).await,
    }
    result
}

/// The TLS 1.3 handshake with the pinned roots, the time of day from `clock`.
async fn handshake<S, C: Clock, R: CryptoRngCore, N>(
    tls: &mut Tls<'_, S>,
    clock: &mut C,
    rng: &mut R,
    job: &Job<'_>,
    host: &str,
) -> Result<(), Error<N>>
where
    S: embedded_io_async::Read + embedded_io_async::Write,
{
    let verifier = PinnedVerifier::new(job.roots, clock.unix_time()).map_err(Error::Roots)?;
    let mut provider = DeviceProvider::new(rng, verifier);
    open_async(tls, &config(host), &mut provider).await.map_err(Error::Tls)
}

/// The request out and the response in, through tlspost's async driver.
async fn exchange<S, C: Clock, N>(
    tls: &mut Tls<'_, S>,
    req: &Request<'_>,
    deadlines: &mut Deadlines,
    io: driver::Buffers<'_>,
    hooks: &mut Keep<'_, C>,
) -> Result<driver::Outcome, (Error<N>, u64)>
where
    S: embedded_io_async::Read + embedded_io_async::Write,
{
    async_driver::exchange(tls, req, deadlines, io, hooks)
        .await
        .map_err(|f| (Error::Exchange(f.error), f.request_written))
}

/// The driver's hooks: the clock, the phase timings, and the first body bytes kept.
struct Keep<'k, C> {
    clock: &'k mut C,
    keep: &'k mut [u8],
    kept: usize,
    t: Timings,
    /// The phase the exchange is in and when it entered it.
    current: (Phase, u64),
}

impl<C: Clock> Hooks for Keep<'_, C> {
    fn now(&mut self) -> Millis {
        Millis(self.clock.now_ms())
    }

    fn phase(&mut self, phase: Phase, at: Millis) {
        let (was, since) = self.current;
        let spent = at.0.saturating_sub(since);
        match was {
            Phase::Send => self.t.send = spent,
            Phase::FirstByte => self.t.first_byte = spent,
            Phase::Body => self.t.body = spent,
            _ => {}
        }
        self.current = (phase, at.0);
    }

    fn body(&mut self, data: &[u8]) -> bool {
        let room = self.keep.len().saturating_sub(self.kept);
        let take = data.len().min(room);
        if let (Some(dst), Some(src)) = (self.keep.get_mut(self.kept..self.kept + take), data.get(..take)) {
            dst.copy_from_slice(src);
            self.kept += take;
        }
        true
    }
}

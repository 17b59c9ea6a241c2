//! The blocking driver: runs one [`Exchange`] over any `embedded_io::{Read, Write}` transport with
//! caller buffers and no allocation. The device and the host run this same code.

use core::fmt;

use embedded_io::{Read, Write};
use tlspost_proto::httparse;
use tlspost_proto::{CloseReason, Deadlines, Error as ProtoError, Exchange, HeadStatus, Millis, Phase, Request};

/// Headers parsed while looking for the end of the response head. A response with more header
/// fields fails with a head error.
pub const MAX_HEADERS: usize = 64;

/// What the driver needs from its surroundings: a clock, and optionally a way to bound blocking
/// I/O, a trace of the bytes, and a place for the body.
pub trait Hooks {
    /// Milliseconds on a monotonic clock.
    fn now(&mut self) -> Millis;
    /// Called before every blocking read or write with the milliseconds left until the next
    /// deadline (`None`: unbounded). Set the transport's timeout here, if it has one.
    fn budget(&mut self, _remaining_ms: Option<u64>) {}
    /// The driver entered `phase` at `at`.
    fn phase(&mut self, _phase: Phase, _at: Millis) {}
    /// These exact bytes were written to the transport.
    fn sent(&mut self, _bytes: &[u8]) {}
    /// These exact bytes were read from the transport.
    fn received(&mut self, _bytes: &[u8]) {}
    /// The final response head is complete (interim 1xx heads are not reported): its status and its
    /// exact bytes. Its body, if any, follows through [`Hooks::body`].
    fn head(&mut self, _status: u16, _head: &[u8]) {}
    /// Decoded body bytes, in order. Return `false` to stop (the body does not fit).
    fn body(&mut self, data: &[u8]) -> bool;
}

/// The buffers the driver works in, owned by the caller.
pub struct Buffers<'a> {
    /// Received bytes: the response head stays at its start (see [`Outcome::head_len`]); the rest
    /// is where body bytes arrive. 2 KB is enough for most APIs; its size bounds the head.
    pub rx: &'a mut [u8],
    /// Request bytes on the way out, then decoded body bytes on the way to [`Hooks::body`].
    /// A few hundred bytes work; a size that holds the whole request sends it in one write.
    pub tx: &'a mut [u8],
}

/// A finished exchange. The response head is `rx[..head_len]`: parse it with [`parse_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The final status code.
    pub status: u16,
    /// Length of the response head at the start of `rx`.
    pub head_len: usize,
    /// Decoded body bytes handed to [`Hooks::body`].
    pub body_len: u64,
    /// `None` when the connection may carry another request; otherwise why not.
    pub close: Option<CloseReason>,
    /// Request bytes written.
    pub request_written: u64,
    /// Bytes received after the end of the response (the connection must not be reused when > 0).
    pub leftover: usize,
}

/// Why an exchange failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError<E> {
    /// The transport failed during `phase`.
    Io {
        /// The phase.
        phase: Phase,
        /// The transport's error.
        error: E,
    },
    /// The connection was closed while the request was being written.
    ClosedWhileSending {
        /// Request bytes written before.
        written: u64,
    },
    /// The core refused the request or the response (including `Timeout { phase }`).
    Http(ProtoError),
    /// [`Hooks::body`] returned `false` after this many body bytes.
    BodyRejected {
        /// Body bytes accepted before.
        received: u64,
    },
    /// `tx` is empty, or the part of `rx` after the head has no room for body bytes.
    BufferTooSmall {
        /// Which buffer.
        which: &'static str,
    },
}

impl<E: fmt::Debug> fmt::Display for DriverError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Io { phase, error } => write!(f, "connection failed during {phase}: {error:?}"),
            DriverError::ClosedWhileSending { written } => write!(
                f,
                "the server closed the connection after {written} request byte(s) were written; it may refuse \
                 the request size or framing: check its logs, or capture the request as sent"
            ),
            DriverError::Http(e) => fmt::Display::fmt(e, f),
            DriverError::BodyRejected { received } => write!(
                f,
                "the response body does not fit: {received} byte(s) were accepted before the body sink refused \
                 more; give it more room"
            ),
            DriverError::BufferTooSmall { which } => write!(
                f,
                "the {which} buffer is too small: give rx room for the response head plus at least 64 bytes, \
                 and tx at least 64 bytes"
            ),
        }
    }
}

/// A failed exchange: the error, and how many request bytes reached the transport before it (zero
/// means a retry can never do the work twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<E> {
    /// What failed.
    pub error: DriverError<E>,
    /// Request bytes written before the failure.
    pub request_written: u64,
}

impl<E: fmt::Debug> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

/// Parses the response head left at the start of `rx` by [`exchange`].
pub fn parse_head<'h, 'b>(
    head: &'b [u8],
    headers: &'h mut [httparse::Header<'b>],
) -> Option<(u16, &'b str, &'h [httparse::Header<'b>])> {
    let mut resp = httparse::Response::new(headers);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => Some((resp.code?, resp.reason.unwrap_or(""), resp.headers)),
        _ => None,
    }
}

/// Where the exchange stands, shared by the blocking and the async drivers.
pub(crate) struct State<'r> {
    pub(crate) ex: Exchange<'r>,
    pub(crate) filled: usize,
    pub(crate) head_len: usize,
    pub(crate) start: usize,
    pub(crate) body_len: u64,
    pub(crate) first_byte: bool,
}

/// What the receive loop must do next.
pub(crate) enum Next {
    /// Read more bytes into `rx[from..]` (`from` is an index into the whole `rx`).
    Read { from: usize },
    /// The response is complete.
    Done(Outcome),
}

impl<'r> State<'r> {
    pub(crate) fn new(req: &Request<'r>, rx_len: usize) -> Result<Self, ProtoError> {
        let mut ex = Exchange::new(req).map_err(ProtoError::from)?;
        ex.set_head_limit(rx_len);
        Ok(State {
            ex,
            filled: 0,
            head_len: 0,
            start: 0,
            body_len: 0,
            first_byte: false,
        })
    }

    /// Advances with what is in `rx[..filled]`, handing body bytes to `hooks`; says what to do next.
    pub(crate) fn step<E, H: Hooks>(
        &mut self,
        rx: &mut [u8],
        tx: &mut [u8],
        hooks: &mut H,
    ) -> Result<Next, DriverError<E>> {
        if self.head_len == 0 {
            loop {
                let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let buf = rx.get(..self.filled).unwrap_or_default();
                match self.ex.read_head(buf, &mut hs).map_err(DriverError::Http)? {
                    HeadStatus::Partial => {
                        if self.filled >= rx.len() {
                            return Err(DriverError::BufferTooSmall { which: "rx" });
                        }
                        return Ok(Next::Read { from: self.filled });
                    }
                    HeadStatus::Interim { len, .. } => {
                        rx.copy_within(len..self.filled, 0);
                        self.filled = self.filled.saturating_sub(len);
                    }
                    HeadStatus::Complete(head) => {
                        self.head_len = head.len;
                        self.start = head.len;
                        hooks.head(self.ex.status(), rx.get(..head.len).unwrap_or_default());
                        break;
                    }
                }
            }
        }
        let head_len = self.head_len;
        loop {
            if self.ex.is_done() {
                return Ok(Next::Done(self.outcome()));
            }
            let input = rx.get(self.start..self.filled).unwrap_or_default();
            let (used, produced) = if input.is_empty() {
                (0, 0)
            } else {
                self.ex.read_body(input, tx).map_err(DriverError::Http)?
            };
            if produced > 0 {
                let data = tx.get(..produced).unwrap_or_default();
                if !hooks.body(data) {
                    return Err(DriverError::BodyRejected {
                        received: self.body_len,
                    });
                }
                self.body_len = self.body_len.saturating_add(produced as u64);
            }
            self.start = self.start.saturating_add(used);
            if used == 0 && produced == 0 && !self.ex.is_done() {
                // Need more input: move the unconsumed bytes down to just after the head.
                rx.copy_within(self.start..self.filled, head_len);
                self.filled = head_len.saturating_add(self.filled.saturating_sub(self.start));
                self.start = head_len;
                if self.filled >= rx.len() {
                    return Err(DriverError::BufferTooSmall { which: "rx" });
                }
                return Ok(Next::Read { from: self.filled });
            }
        }
    }

    /// The transport reached end of file.
    pub(crate) fn eof<E>(&mut self) -> Result<Outcome, DriverError<E>> {
        self.ex.on_eof().map_err(DriverError::Http)?;
        Ok(self.outcome())
    }

    fn outcome(&self) -> Outcome {
        let leftover = self.filled.saturating_sub(self.start);
        Outcome {
            status: self.ex.status(),
            head_len: self.head_len,
            body_len: self.body_len,
            close: match self.ex.close_reason() {
                None if leftover > 0 => Some(CloseReason::Error),
                other => other,
            },
            request_written: self.ex.request_written(),
            leftover,
        }
    }
}

/// Maps a transport error: a passed deadline wins over the error the timeout caused, and a
/// transport that reports `TimedOut` (its timeout was set from [`Hooks::budget`]) timed out the phase.
pub(crate) fn io_error<E: embedded_io::Error>(
    deadlines: &Deadlines,
    now: Millis,
    phase: Phase,
    error: E,
) -> DriverError<E> {
    match deadlines.passed(now) {
        Some(phase) => DriverError::Http(ProtoError::Timeout { phase }),
        None if error.kind() == embedded_io::ErrorKind::TimedOut => {
            let phase = match deadlines.next_deadline() {
                Some((_, Phase::Total)) => Phase::Total,
                _ => phase,
            };
            DriverError::Http(ProtoError::Timeout { phase })
        }
        None => DriverError::Io { phase, error },
    }
}

/// `Err(Timeout)` when a deadline has passed at `now`.
pub(crate) fn check<E>(deadlines: &Deadlines, now: Millis) -> Result<(), DriverError<E>> {
    match deadlines.passed(now) {
        Some(phase) => Err(DriverError::Http(ProtoError::Timeout { phase })),
        None => Ok(()),
    }
}

/// Sends `req` on `io` and reads the whole response, handing the decoded body to [`Hooks::body`].
///
/// `deadlines` keeps counting from the caller's connect and handshake phases; the driver enters
/// [`Phase::Send`], [`Phase::FirstByte`] and [`Phase::Body`]. Time is checked after every read and
/// write, and [`Hooks::budget`] lets the transport stop a blocking call when the deadline comes.
pub fn exchange<T, H>(
    io: &mut T,
    req: &Request<'_>,
    deadlines: &mut Deadlines,
    bufs: Buffers<'_>,
    hooks: &mut H,
) -> Result<Outcome, Failure<T::Error>>
where
    T: Read + Write,
    H: Hooks,
{
    let Buffers { rx, tx } = bufs;
    let mut st = match State::new(req, rx.len()) {
        Ok(s) => s,
        Err(e) => {
            return Err(Failure {
                error: DriverError::Http(e),
                request_written: 0,
            });
        }
    };
    let r = run(io, &mut st, deadlines, rx, tx, hooks);
    r.map_err(|error| {
        st.ex.fail();
        Failure {
            error,
            request_written: st.ex.request_written(),
        }
    })
}

fn run<T, H>(
    io: &mut T,
    st: &mut State<'_>,
    deadlines: &mut Deadlines,
    rx: &mut [u8],
    tx: &mut [u8],
    hooks: &mut H,
) -> Result<Outcome, DriverError<T::Error>>
where
    T: Read + Write,
    H: Hooks,
{
    if tx.is_empty() || rx.len() < 64 {
        return Err(DriverError::BufferTooSmall {
            which: if tx.is_empty() { "tx" } else { "rx" },
        });
    }
    let now = hooks.now();
    deadlines.enter(Phase::Send, now);
    hooks.phase(Phase::Send, now);
    while !st.ex.request_done() {
        let n = st.ex.poll_output(tx).map_err(DriverError::Http)?;
        let mut off = 0;
        while off < n {
            let now = hooks.now();
            check(deadlines, now)?;
            hooks.budget(deadlines.remaining(now));
            let chunk = tx.get(off..n).unwrap_or_default();
            match io.write(chunk) {
                Ok(0) => {
                    return Err(DriverError::ClosedWhileSending {
                        written: st.ex.request_written(),
                    });
                }
                Ok(k) => {
                    hooks.sent(chunk.get(..k).unwrap_or_default());
                    off = off.saturating_add(k);
                }
                Err(e) => return Err(io_error(deadlines, hooks.now(), Phase::Send, e)),
            }
        }
    }
    let now = hooks.now();
    hooks.budget(deadlines.remaining(now));
    if let Err(e) = io.flush() {
        return Err(io_error(deadlines, hooks.now(), Phase::Send, e));
    }
    let now = hooks.now();
    deadlines.enter(Phase::FirstByte, now);
    hooks.phase(Phase::FirstByte, now);
    loop {
        let from = match st.step(rx, tx, hooks)? {
            Next::Done(o) => return Ok(o),
            Next::Read { from } => from,
        };
        let now = hooks.now();
        check(deadlines, now)?;
        hooks.budget(deadlines.remaining(now));
        let phase = deadlines.phase();
        let into = rx.get_mut(from..).unwrap_or_default();
        match io.read(into) {
            Ok(0) => return st.eof(),
            Ok(n) => {
                hooks.received(into.get(..n).unwrap_or_default());
                st.filled = st.filled.saturating_add(n);
                if !st.first_byte {
                    st.first_byte = true;
                    let now = hooks.now();
                    deadlines.enter(Phase::Body, now);
                    hooks.phase(Phase::Body, now);
                }
            }
            Err(e) => return Err(io_error(deadlines, hooks.now(), phase, e)),
        }
    }
}

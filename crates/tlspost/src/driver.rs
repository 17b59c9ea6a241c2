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

/// The I/O a driver does next, as [`State::next`] decides it.
pub(crate) enum Io {
    /// Write `tx[range]`.
    Write(core::ops::Range<usize>),
    /// Flush the transport: the whole request has been written.
    Flush,
    /// Read more bytes into `rx[from..]` (`from` is an index into the whole `rx`).
    Read { from: usize },
    /// The response is complete.
    Done(Outcome),
}

/// Where the exchange stands in the caller's buffers: the one loop body both drivers run, each
/// doing only the I/O [`State::next`] asks for and handing its result back.
pub(crate) struct State<'r> {
    ex: Exchange<'r>,
    /// Request bytes in `tx[sent..pending]` not written yet.
    sent: usize,
    pending: usize,
    flushed: bool,
    filled: usize,
    head_len: usize,
    start: usize,
    body_len: u64,
    phase: Option<Phase>,
}

impl<'r> State<'r> {
    /// Starts the exchange: checks the buffers and the request, and enters [`Phase::Send`].
    pub(crate) fn begin<E, H: Hooks>(
        req: &Request<'r>,
        deadlines: &'r mut Deadlines,
        rx_len: usize,
        tx_len: usize,
        hooks: &mut H,
    ) -> Result<Self, Failure<E>> {
        let fail = |error| Failure {
            error,
            request_written: 0,
        };
        if tx_len == 0 || rx_len < 64 {
            let which = if tx_len == 0 { "tx" } else { "rx" };
            return Err(fail(DriverError::BufferTooSmall { which }));
        }
        let mut ex = Exchange::new(req).map_err(|e| fail(DriverError::Http(e.into())))?;
        ex.set_head_limit(rx_len);
        ex.start(deadlines, hooks.now());
        let mut st = State {
            ex,
            sent: 0,
            pending: 0,
            flushed: false,
            filled: 0,
            head_len: 0,
            start: 0,
            body_len: 0,
            phase: None,
        };
        st.report_phase(hooks);
        Ok(st)
    }

    /// Ends the exchange: on failure, says how much was written.
    pub(crate) fn end<E>(mut self, result: Result<Outcome, DriverError<E>>) -> Result<Outcome, Failure<E>> {
        result.map_err(|error| {
            self.ex.fail();
            Failure {
                error,
                request_written: self.ex.request_written(),
            }
        })
    }

    /// What to do next: a deadline that passed fails here, and [`Hooks::budget`] hears the time left.
    pub(crate) fn next<E, H: Hooks>(
        &mut self,
        rx: &mut [u8],
        tx: &mut [u8],
        hooks: &mut H,
    ) -> Result<Io, DriverError<E>> {
        let io = if self.sent < self.pending {
            Io::Write(self.sent..self.pending)
        } else if !self.ex.request_done() {
            self.pending = self.ex.poll_output(tx).map_err(DriverError::Http)?;
            self.sent = 0;
            Io::Write(0..self.pending)
        } else if !self.flushed {
            Io::Flush
        } else {
            match self.step(rx, tx, hooks)? {
                Io::Done(o) => return Ok(Io::Done(o)),
                io => io,
            }
        };
        let now = hooks.now();
        self.ex.handle_timeout(now).map_err(DriverError::Http)?;
        hooks.budget(self.ex.remaining(now));
        Ok(io)
    }

    /// The result of writing `tx[sent..pending]`.
    pub(crate) fn wrote<E: embedded_io::Error, H: Hooks>(
        &mut self,
        result: Result<usize, E>,
        tx: &[u8],
        hooks: &mut H,
    ) -> Result<(), DriverError<E>> {
        match result {
            Ok(0) => Err(DriverError::ClosedWhileSending {
                written: self.ex.request_written(),
            }),
            Ok(k) => {
                let end = self.sent.saturating_add(k).min(self.pending);
                hooks.sent(tx.get(self.sent..end).unwrap_or_default());
                self.sent = end;
                Ok(())
            }
            Err(e) => Err(self.io_error(e, hooks)),
        }
    }

    /// The result of flushing the request: the wait for the first byte starts.
    pub(crate) fn flushed<E: embedded_io::Error, H: Hooks>(
        &mut self,
        result: Result<(), E>,
        hooks: &mut H,
    ) -> Result<(), DriverError<E>> {
        result.map_err(|e| self.io_error(e, hooks))?;
        self.flushed = true;
        self.ex.handle_flushed(hooks.now());
        self.report_phase(hooks);
        Ok(())
    }

    /// The result of reading into `rx[from..]`: `Some` when the transport's end finished the response.
    pub(crate) fn read<E: embedded_io::Error, H: Hooks>(
        &mut self,
        result: Result<usize, E>,
        rx: &[u8],
        hooks: &mut H,
    ) -> Result<Option<Outcome>, DriverError<E>> {
        match result {
            Ok(0) => {
                self.ex.on_eof().map_err(DriverError::Http)?;
                Ok(Some(self.outcome()))
            }
            Ok(n) => {
                let end = self.filled.saturating_add(n);
                hooks.received(rx.get(self.filled..end).unwrap_or_default());
                self.filled = end;
                self.ex.handle_received(n, hooks.now());
                self.report_phase(hooks);
                Ok(None)
            }
            Err(e) => Err(self.io_error(e, hooks)),
        }
    }

    /// Maps a transport error: the exchange says whether it was a timeout, else in which phase.
    fn io_error<E: embedded_io::Error, H: Hooks>(&mut self, error: E, hooks: &mut H) -> DriverError<E> {
        let timed_out = error.kind() == embedded_io::ErrorKind::TimedOut;
        match self.ex.handle_io_error(hooks.now(), timed_out) {
            Ok(phase) => DriverError::Io { phase, error },
            Err(e) => DriverError::Http(e),
        }
    }

    /// Tells [`Hooks::phase`] when the exchange entered a new phase.
    fn report_phase<H: Hooks>(&mut self, hooks: &mut H) {
        let phase = self.ex.phase();
        if self.phase != Some(phase) {
            self.phase = Some(phase);
            let at = self.ex.deadlines().map_or(Millis(0), Deadlines::phase_started);
            hooks.phase(phase, at);
        }
    }

    /// Advances with what is in `rx[..filled]`, handing body bytes to `hooks`; says what to do next.
    fn step<E, H: Hooks>(&mut self, rx: &mut [u8], tx: &mut [u8], hooks: &mut H) -> Result<Io, DriverError<E>> {
        if self.head_len == 0 {
            loop {
                let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let buf = rx.get(..self.filled).unwrap_or_default();
                match self.ex.read_head(buf, &mut hs).map_err(DriverError::Http)? {
                    HeadStatus::Partial => return self.read_more(rx.len()),
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
        while !self.ex.is_done() {
            let input = rx.get(self.start..self.filled).unwrap_or_default();
            let (used, produced) = if input.is_empty() {
                (0, 0)
            } else {
                self.ex.read_body(input, tx).map_err(DriverError::Http)?
            };
            if produced > 0 {
                if !hooks.body(tx.get(..produced).unwrap_or_default()) {
                    return Err(DriverError::BodyRejected {
                        received: self.body_len,
                    });
                }
                self.body_len = self.body_len.saturating_add(produced as u64);
            }
            self.start = self.start.saturating_add(used);
            if used == 0 && produced == 0 && !self.ex.is_done() {
                // Need more input: move the unconsumed bytes down to just after the head.
                rx.copy_within(self.start..self.filled, self.head_len);
                self.filled = self.head_len.saturating_add(self.filled.saturating_sub(self.start));
                self.start = self.head_len;
                return self.read_more(rx.len());
            }
        }
        Ok(Io::Done(self.outcome()))
    }

    /// Read into `rx[filled..]`, if there is room.
    fn read_more<E>(&self, rx_len: usize) -> Result<Io, DriverError<E>> {
        if self.filled >= rx_len {
            return Err(DriverError::BufferTooSmall { which: "rx" });
        }
        Ok(Io::Read { from: self.filled })
    }

    fn outcome(&self) -> Outcome {
        Outcome {
            status: self.ex.status(),
            head_len: self.head_len,
            body_len: self.body_len,
            close: self.ex.close_reason(),
            request_written: self.ex.request_written(),
            leftover: self.ex.leftover(),
        }
    }
}

/// Sends `req` on `io` and reads the whole response, handing the decoded body to [`Hooks::body`].
///
/// `deadlines` keeps counting from the caller's connect and handshake phases; the exchange enters
/// [`Phase::Send`], [`Phase::FirstByte`] and [`Phase::Body`]. Time is checked before every read and
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
    let mut st = State::begin(req, deadlines, rx.len(), tx.len(), hooks)?;
    let result = run(io, &mut st, rx, tx, hooks);
    st.end(result)
}

fn run<T: Read + Write, H: Hooks>(
    io: &mut T,
    st: &mut State<'_>,
    rx: &mut [u8],
    tx: &mut [u8],
    hooks: &mut H,
) -> Result<Outcome, DriverError<T::Error>> {
    loop {
        match st.next(rx, tx, hooks)? {
            Io::Write(range) => st.wrote(io.write(tx.get(range).unwrap_or_default()), tx, hooks)?,
            Io::Flush => st.flushed(io.flush(), hooks)?,
            Io::Read { from } => {
                let result = io.read(rx.get_mut(from..).unwrap_or_default());
                if let Some(o) = st.read(result, rx, hooks)? {
                    return Ok(o);
                }
            }
            Io::Done(o) => return Ok(o),
        }
    }
}

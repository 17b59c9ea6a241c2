//! One request/response exchange on an open connection: encode, then read the head, then the body.
//!
//! The exchange owns its state machine: which phase it is in ([`Exchange::phase`]), when the next
//! deadline falls ([`Exchange::poll_timeout`]), and whether the connection may carry another
//! request ([`Exchange::close_reason`], which counts bytes received after the response). A driver
//! is a thin I/O loop around it: it writes what [`Exchange::poll_output`] produces, reads into its
//! buffer, and reports each event with the time it happened ([`Exchange::start`],
//! [`Exchange::handle_flushed`], [`Exchange::handle_received`], [`Exchange::handle_timeout`],
//! [`Exchange::handle_io_error`]). Without those calls (no clock at all) it still runs: no
//! deadline ever passes.

use httparse::Header;

use crate::body::BodyDecoder;
use crate::deadline::{Deadlines, Millis, Phase};
use crate::encode::Encoder;
use crate::error::{EncodeError, Error};
use crate::framing::{CloseReason, Framing, RequestFacts, response_framing};
use crate::head::{HeadReader, HeadStatus};
use crate::request::{Connection, Request};

/// Default bound on the response head, in bytes; see [`Exchange::set_head_limit`].
pub const DEFAULT_HEAD_LIMIT: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Exchanging,
    Body(BodyDecoder),
    Done,
    Failed,
}

/// Drives one HTTP/1.1 exchange without I/O. See the crate docs for a complete example.
#[derive(Debug)]
// Fields in the order written: what every call touches first, within reach of RV32's compressed
// loads and stores (offsets under 128 bytes); Rust's own order put the deadline state there and
// cost a device's firmware 100 bytes of code.
#[repr(C)]
pub struct Exchange<'r> {
    encoder: Encoder<'r>,
    head: HeadReader,
    state: State,
    facts: RequestFacts,
    framing: Option<Framing>,
    status: u16,
    head_seen: usize,
    /// The caller's deadlines, from [`Exchange::start`]; none: nothing is bounded.
    deadlines: Option<&'r mut Deadlines>,
    /// The whole request is written and flushed ([`Exchange::handle_flushed`]).
    flushed: bool,
    /// A response byte has arrived ([`Exchange::handle_received`]).
    received: bool,
    /// Bytes given after the end of the response.
    leftover: usize,
}

impl<'r> Exchange<'r> {
    /// Validates the request and starts the exchange.
    pub fn new(req: &Request<'r>) -> Result<Self, EncodeError> {
        let close = req.connection == Connection::Close
            || req
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case(b"close"));
        Ok(Exchange {
            encoder: Encoder::new(req)?,
            head: HeadReader::new(DEFAULT_HEAD_LIMIT),
            state: State::Exchanging,
            facts: RequestFacts {
                head: req.is_head(),
                close,
            },
            framing: None,
            status: 0,
            head_seen: 0,
            deadlines: None,
            flushed: false,
            received: false,
            leftover: 0,
        })
    }

    /// Bounds the response head; set it to the size of the buffer the head is read into.
    pub fn set_head_limit(&mut self, limit: usize) {
        self.head = HeadReader::new(limit);
    }

    /// The request encoder (lengths, bytes written).
    pub const fn encoder(&self) -> &Encoder<'r> {
        &self.encoder
    }

    /// Writes request bytes into `out`; see [`Encoder::poll_output`].
    pub fn poll_output(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        self.encoder.poll_output(out).map_err(Error::from)
    }

    /// The body bytes not written yet, to write straight from the caller's slice.
    pub fn remaining_body(&self) -> &'r [u8] {
        self.encoder.remaining_body()
    }

    /// Marks `n` bytes of [`Exchange::remaining_body`] as written.
    pub fn advance_body(&mut self, n: usize) {
        self.encoder.advance_body(n);
    }

    /// Whether the whole request has been produced.
    pub const fn request_done(&self) -> bool {
        self.encoder.is_done()
    }

    /// Request bytes produced so far; zero means nothing reached the wire and a retry is always safe.
    pub const fn request_written(&self) -> u64 {
        self.encoder.written()
    }

    /// The phase the exchange is in: [`Phase::Send`] until the request is written and flushed,
    /// then [`Phase::FirstByte`] until a response byte arrives, then [`Phase::Body`].
    pub const fn phase(&self) -> Phase {
        if !self.flushed {
            Phase::Send
        } else if !self.received {
            Phase::FirstByte
        } else {
            Phase::Body
        }
    }

    /// Starts sending at `now` under the caller's `deadlines`, which keep counting from its connect
    /// and handshake phases (the total budget included): the exchange moves them through
    /// [`Phase::Send`] (from now), [`Phase::FirstByte`] and [`Phase::Body`] as it goes. Borrowed,
    /// not copied, so an exchange costs a device no more than a pointer for them.
    pub fn start(&mut self, deadlines: &'r mut Deadlines, now: Millis) {
        self.deadlines = Some(deadlines);
        self.enter(now);
    }

    /// The whole request was written and flushed at `now`: the wait for the first byte starts.
    pub fn handle_flushed(&mut self, now: Millis) {
        self.flushed = self.encoder.is_done();
        self.enter(now);
    }

    /// `n` response bytes arrived at `now`; the first ones start [`Phase::Body`].
    pub fn handle_received(&mut self, n: usize, now: Millis) {
        self.received |= n > 0;
        self.enter(now);
    }

    /// Moves the deadlines to the phase the exchange is in, from `now` if it is a new one.
    fn enter(&mut self, now: Millis) {
        let phase = self.phase();
        if let Some(d) = self.deadlines.as_deref_mut() {
            d.enter(phase, now);
        }
    }

    /// The next deadline and the phase it belongs to (the current phase's, or the total's if that
    /// comes first); `None` when nothing is bounded or the exchange has ended. A driver sets its
    /// transport's timeout from it.
    pub fn poll_timeout(&self) -> Option<(Millis, Phase)> {
        match self.state {
            State::Done | State::Failed => None,
            State::Exchanging | State::Body(_) => self.deadlines.as_deref()?.next_deadline(),
        }
    }

    /// Milliseconds from `now` to the next deadline (`Some(0)` once it passed).
    pub fn remaining(&self, now: Millis) -> Option<u64> {
        self.poll_timeout().map(|(at, _)| at.since(now))
    }

    /// The deadlines as they stand (phase and its start); `None` before [`Exchange::start`].
    pub fn deadlines(&self) -> Option<&Deadlines> {
        self.deadlines.as_deref()
    }

    /// `Err(Timeout)`, and the exchange failed, when a deadline has passed at `now`.
    pub fn handle_timeout(&mut self, now: Millis) -> Result<(), Error> {
        match self.poll_timeout() {
            Some((at, phase)) if now >= at => {
                self.state = State::Failed;
                Err(Error::Timeout { phase })
            }
            _ => Ok(()),
        }
    }

    /// The transport failed at `now` (`timed_out`: it gave up on its own timeout, the one set from
    /// [`Exchange::remaining`]). The exchange fails; `Err(Timeout)` when that is what happened (a
    /// passed deadline wins over the error it caused), else `Ok(phase)`: a transport error in it.
    pub fn handle_io_error(&mut self, now: Millis, timed_out: bool) -> Result<Phase, Error> {
        let phase = self.phase();
        let next = self.poll_timeout();
        self.handle_timeout(now)?;
        self.state = State::Failed;
        if timed_out {
            let phase = match next {
                Some((_, Phase::Total)) => Phase::Total,
                _ => phase,
            };
            return Err(Error::Timeout { phase });
        }
        Ok(phase)
    }

    /// Reads the response head from `buf` (all unconsumed bytes received so far). Allowed while the
    /// request is still being sent, since servers may answer early (e.g. 413).
    ///
    /// On [`HeadStatus::Interim`], drop `len` bytes from the front of `buf` and call again. On
    /// [`HeadStatus::Complete`], the body starts at `head.len`.
    pub fn read_head<'h, 'b>(
        &mut self,
        buf: &'b [u8],
        headers: &'h mut [Header<'b>],
    ) -> Result<HeadStatus<'h, 'b>, Error> {
        if self.state != State::Exchanging {
            return Err(Error::WrongState);
        }
        self.head_seen = buf.len();
        let status = match self.head.read(buf, headers) {
            Ok(s) => s,
            Err(e) => {
                self.state = State::Failed;
                return Err(e.into());
            }
        };
        match status {
            HeadStatus::Interim { len, .. } => self.head_seen = self.head_seen.saturating_sub(len),
            HeadStatus::Complete(head) => match response_framing(self.facts, head.version, head.status, head.headers) {
                Ok(f) => {
                    self.framing = Some(f);
                    self.status = head.status;
                    let decoder = BodyDecoder::new(f.body);
                    self.state = if decoder.is_done() {
                        self.leftover = buf.len().saturating_sub(head.len);
                        State::Done
                    } else {
                        State::Body(decoder)
                    };
                }
                Err(e) => {
                    self.state = State::Failed;
                    return Err(e.into());
                }
            },
            HeadStatus::Partial => {}
        }
        Ok(status)
    }

    /// Decodes body bytes from `input` (all received bytes not consumed yet) into `out`; returns
    /// `(consumed, produced)`. Bytes after the end of the body stay unconsumed, and keep the
    /// connection from being reused. `(0, 0)` once done.
    pub fn read_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), Error> {
        match &mut self.state {
            State::Body(d) => match d.decode(input, out) {
                Ok(r) => {
                    if d.is_done() {
                        self.state = State::Done;
                        self.leftover = input.len().saturating_sub(r.0);
                    }
                    Ok(r)
                }
                Err(e) => {
                    self.state = State::Failed;
                    Err(e.into())
                }
            },
            State::Done => Ok((0, 0)),
            State::Exchanging | State::Failed => Err(Error::WrongState),
        }
    }

    /// The connection reached end of file. Completes a close-delimited body; anything else not finished
    /// is an error (`ClosedBeforeHead` or `Truncated`), never a short success.
    pub fn on_eof(&mut self) -> Result<(), Error> {
        let result = match &mut self.state {
            State::Exchanging => Err(Error::Head(self.head.closed(self.head_seen))),
            State::Body(d) => d.on_eof().map_err(Error::from),
            State::Done => Ok(()),
            State::Failed => Err(Error::WrongState),
        };
        self.state = if result.is_ok() { State::Done } else { State::Failed };
        result
    }

    /// Marks the exchange failed (an I/O error or a timeout in the driver): the connection is not reused.
    pub fn fail(&mut self) {
        self.state = State::Failed;
    }

    /// Whether the response has been read to its end.
    pub const fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The final status code (0 before the head is read).
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// The framing decided from the response head.
    pub const fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// Body bytes decoded so far.
    pub const fn body_received(&self) -> u64 {
        match self.state {
            State::Body(d) => d.received(),
            _ => 0,
        }
    }

    /// Bytes received after the end of the response (given to the last [`Exchange::read_head`] or
    /// [`Exchange::read_body`] and not consumed).
    pub const fn leftover(&self) -> usize {
        self.leftover
    }

    /// `None` when the connection may carry another request; otherwise why it must be closed.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.state {
            State::Failed => Some(CloseReason::Error),
            State::Done if self.leftover > 0 => Some(CloseReason::TrailingBytes),
            State::Done if self.encoder.is_done() => self.framing.and_then(|f| f.close),
            State::Done => Some(CloseReason::Incomplete),
            State::Exchanging | State::Body(_) => Some(CloseReason::Incomplete),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{BodyError, HeadError};
    use crate::request::Body;
    use crate::{Budgets, Deadlines, Millis};
    use std::vec::Vec;

    fn send_all(ex: &mut Exchange<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        while !ex.request_done() {
            let n = ex.poll_output(&mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    /// Status, body and bytes left over, or the error.
    type Received = Result<(u16, Vec<u8>, usize), Error>;

    /// Sends `req` whole, then feeds `resp` in `step`-byte pieces: what [`recv`] gives, and
    /// the close reason after it.
    fn answer(req: &Request<'_>, resp: &[u8], step: usize) -> (Received, Option<CloseReason>) {
        let mut ex = Exchange::new(req).unwrap();
        send_all(&mut ex);
        let got = recv(&mut ex, resp, step);
        (got, ex.close_reason())
    }

    /// Feeds `resp` in `step`-byte pieces; returns (status, body, close reason) or the error.
    fn recv(ex: &mut Exchange<'_>, resp: &[u8], step: usize) -> Received {
        let mut buf = Vec::new();
        let mut pos = 0;
        let mut body = Vec::new();
        loop {
            let take = step.min(resp.len() - pos);
            buf.extend_from_slice(&resp[pos..pos + take]);
            pos += take;
            let mut hs = [httparse::EMPTY_HEADER; 16];
            match ex.read_head(&buf, &mut hs)? {
                HeadStatus::Partial if take == 0 => {
                    ex.on_eof()?;
                    unreachable!()
                }
                HeadStatus::Partial => continue,
                HeadStatus::Interim { len, .. } => {
                    buf.drain(..len);
                    continue;
                }
                HeadStatus::Complete(h) => {
                    let len = h.len;
                    buf.drain(..len);
                    break;
                }
            }
        }
        let mut out = [0u8; 7];
        while !ex.is_done() {
            let (c, p) = ex.read_body(&buf, &mut out)?;
            body.extend_from_slice(&out[..p]);
            buf.drain(..c);
            if c == 0 && p == 0 {
                let take = step.min(resp.len() - pos);
                if take == 0 {
                    ex.on_eof()?;
                    continue;
                }
                buf.extend_from_slice(&resp[pos..pos + take]);
                pos += take;
            }
        }
        Ok((ex.status(), body, buf.len() + resp.len() - pos))
    }

    #[test]
    fn chunked_keep_alive_every_split() {
        let resp = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nNEXT";
        for step in 1..resp.len() {
            let req = Request::post("h", "/", Body::Json(b"{}"));
            let mut ex = Exchange::new(&req).unwrap();
            send_all(&mut ex);
            let (status, body, left) = recv(&mut ex, resp, step).unwrap();
            assert_eq!((status, body.as_slice(), left), (200, &b"hello"[..], 4), "step {step}");
            // "NEXT" came after the response: where a piece carried some of it along with the end
            // of the body, the exchange saw it and the connection is not reused.
            let seen = ex.leftover();
            assert!(seen <= 4, "step {step}");
            let want = if seen == 0 {
                None
            } else {
                Some(CloseReason::TrailingBytes)
            };
            assert_eq!(ex.close_reason(), want, "step {step}");
        }
    }

    #[test]
    fn bytes_after_the_response_keep_the_connection_closed() {
        // After a body (read_body sees them) and after a bodiless head (read_head sees them).
        for (resp, left) in [
            (&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK"[..], 4),
            (b"HTTP/1.1 204 No Content\r\n\r\nX", 1),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0),
        ] {
            let req = Request::new("GET", "h", "/");
            let mut ex = Exchange::new(&req).unwrap();
            send_all(&mut ex);
            let mut hs = [httparse::EMPTY_HEADER; 4];
            let HeadStatus::Complete(head) = ex.read_head(resp, &mut hs).unwrap() else {
                panic!("complete head expected")
            };
            let mut out = [0u8; 8];
            ex.read_body(&resp[head.len..], &mut out).unwrap();
            assert!(ex.is_done());
            assert_eq!(ex.leftover(), left);
            let want = if left == 0 {
                None
            } else {
                Some(CloseReason::TrailingBytes)
            };
            assert_eq!(ex.close_reason(), want);
        }
    }

    const BUDGETS: Budgets = Budgets {
        connect: Some(1_000),
        handshake: None,
        send: Some(1_000),
        first_byte: Some(200),
        body: Some(300),
        total: Some(10_000),
    };

    /// Runs one exchange on a simulated clock that advances 1 ms per byte moved, with the request
    /// and the response cut in `step`-byte pieces, as a driver would; checks the phase and the next
    /// deadline after every event.
    fn clocked<'r>(req: &Request<'r>, d: &'r mut Deadlines, step: usize, resp: &[u8]) -> Exchange<'r> {
        let mut ex = Exchange::new(req).unwrap();
        let mut now = Millis(5);
        ex.start(d, now);
        assert_eq!(
            (ex.phase(), ex.poll_timeout()),
            (Phase::Send, Some((Millis(1_005), Phase::Send)))
        );
        let mut out = [0u8; 256];
        while !ex.request_done() {
            let n = ex.poll_output(&mut out[..step]).unwrap();
            now = now.after(n as u64);
            ex.handle_timeout(now).unwrap();
            assert_eq!(ex.phase(), Phase::Send, "step {step}");
        }
        ex.handle_flushed(now);
        let flushed = now;
        assert_eq!(ex.phase(), Phase::FirstByte);
        assert_eq!(ex.poll_timeout(), Some((flushed.after(200), Phase::FirstByte)));
        ex.handle_received(0, now.after(1)); // a read that brought nothing changes nothing
        assert_eq!(ex.poll_timeout(), Some((flushed.after(200), Phase::FirstByte)));
        let mut buf: Vec<u8> = Vec::new();
        let mut pos = 0;
        let mut first = None;
        while !ex.is_done() {
            let take = step.min(resp.len() - pos);
            assert!(take > 0, "response ended early at step {step}");
            buf.extend_from_slice(&resp[pos..pos + take]);
            pos += take;
            now = now.after(take as u64);
            ex.handle_received(take, now);
            let body_start = *first.get_or_insert(now);
            assert_eq!(ex.phase(), Phase::Body);
            assert_eq!(
                ex.poll_timeout(),
                Some((body_start.after(300), Phase::Body)),
                "step {step}"
            );
            ex.handle_timeout(now).unwrap();
            while ex.framing().is_none() {
                let mut hs = [httparse::EMPTY_HEADER; 8];
                let len = match ex.read_head(&buf, &mut hs).unwrap() {
                    HeadStatus::Complete(h) => h.len,
                    HeadStatus::Interim { len, .. } => len,
                    HeadStatus::Partial => break,
                };
                buf.drain(..len);
            }
            if ex.framing().is_some() && !ex.is_done() {
                let (used, _) = ex.read_body(&buf, &mut out).unwrap();
                buf.drain(..used);
            }
        }
        assert_eq!(ex.poll_timeout(), None, "a finished exchange has no deadline");
        ex
    }

    #[test]
    fn phases_and_deadlines_at_every_split() {
        let resp = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let req = Request::post("h", "/", Body::Json(b"{\"a\":1}"));
        for step in 1..resp.len() {
            let mut d = Deadlines::new(BUDGETS, Millis(0));
            let ex = clocked(&req, &mut d, step, resp);
            assert_eq!(
                (ex.status(), ex.close_reason(), ex.leftover()),
                (200, None, 0),
                "step {step}"
            );
        }
    }

    #[test]
    fn a_passed_deadline_fails_the_exchange() {
        let req = Request::post("h", "/", Body::Json(b"{}"));
        // (started at, its last good moment, phase): the send budget (1 000 ms) spent while
        // flushing; the total (10 000 ms) when connect and handshake took 9 950 ms of it.
        for (start, last, phase) in [(10, 1_009, Phase::Send), (9_950, 9_999, Phase::Total)] {
            let mut d = Deadlines::new(BUDGETS, Millis(0));
            let mut ex = Exchange::new(&req).unwrap();
            ex.start(&mut d, Millis(start));
            send_all(&mut ex);
            assert_eq!(ex.poll_timeout(), Some((Millis(last + 1), phase)));
            assert_eq!(ex.remaining(Millis(last)), Some(1));
            ex.handle_timeout(Millis(last)).unwrap();
            assert_eq!(ex.handle_timeout(Millis(last + 1)), Err(Error::Timeout { phase }));
            assert_eq!((ex.close_reason(), ex.poll_timeout()), (Some(CloseReason::Error), None));
        }
    }

    #[test]
    fn transport_errors_are_timeouts_only_when_time_is_up() {
        let req = Request::post("h", "/", Body::Json(b"{}"));
        let io_error = |now: u64, timed_out: bool, start: u64| {
            let mut d = Deadlines::new(BUDGETS, Millis(0));
            let mut ex = Exchange::new(&req).unwrap();
            ex.start(&mut d, Millis(start));
            send_all(&mut ex);
            ex.handle_flushed(Millis(start));
            let r = ex.handle_io_error(Millis(now), timed_out);
            assert_eq!(ex.close_reason(), Some(CloseReason::Error));
            r
        };
        // A reset with time left: an I/O error in the phase it happened in.
        assert_eq!(io_error(20, false, 10), Ok(Phase::FirstByte));
        // Any error once the deadline passed: the timeout.
        assert_eq!(
            io_error(210, false, 10),
            Err(Error::Timeout {
                phase: Phase::FirstByte
            })
        );
        // The transport's own timeout (set from remaining()) just before the clock says so.
        assert_eq!(
            io_error(209, true, 10),
            Err(Error::Timeout {
                phase: Phase::FirstByte
            })
        );
        // ...naming the total when the total's deadline was the next one.
        assert_eq!(
            io_error(9_990, true, 9_900),
            Err(Error::Timeout { phase: Phase::Total })
        );
    }

    #[test]
    fn without_a_clock_nothing_times_out() {
        let req = Request::new("GET", "h", "/");
        let mut ex = Exchange::new(&req).unwrap();
        assert_eq!(ex.poll_timeout(), None);
        assert_eq!(ex.handle_timeout(Millis(u64::MAX)), Ok(()));
        send_all(&mut ex);
        let (status, _, _) = recv(&mut ex, b"HTTP/1.1 204 No Content\r\n\r\n", 3).unwrap();
        assert_eq!((status, ex.close_reason()), (204, None));
    }

    #[test]
    fn close_delimited_http10() {
        let (got, close) = answer(&Request::new("GET", "h", "/"), b"HTTP/1.0 200 OK\r\n\r\nall of it", 3);
        let (status, body, _) = got.unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"all of it"[..]));
        assert_eq!(close, Some(CloseReason::CloseDelimited));
    }

    #[test]
    fn truncated_body_is_an_error_not_a_short_success() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        let (got, close) = answer(&Request::new("GET", "h", "/"), resp, 4);
        let truncated = BodyError::Truncated {
            received: 3,
            expected: Some(10),
        };
        assert_eq!(got.unwrap_err(), Error::Body(truncated));
        assert_eq!(close, Some(CloseReason::Error));
    }

    #[test]
    fn closed_before_head() {
        let (got, _) = answer(&Request::new("GET", "h", "/"), b"HTTP/1.1 200", 100);
        assert_eq!(
            got.unwrap_err(),
            Error::Head(HeadError::ClosedBeforeHead { received: 12 })
        );
    }

    #[test]
    fn head_request_has_no_body_and_keeps_connection() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
        let (got, close) = answer(&Request::new("HEAD", "h", "/"), resp, 5);
        let (status, body, left) = got.unwrap();
        assert_eq!((status, body.len(), left), (200, 0, 0));
        assert_eq!(close, None);
    }

    #[test]
    fn early_response_while_sending_closes_connection() {
        let req = Request::post("h", "/", Body::Json(&[b'x'; 300]));
        let mut ex = Exchange::new(&req).unwrap();
        let mut buf = [0u8; 64];
        ex.poll_output(&mut buf).unwrap();
        let (status, _, _) = recv(&mut ex, b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n", 100).unwrap();
        assert_eq!(status, 413);
        assert_eq!(ex.close_reason(), Some(CloseReason::Incomplete));
    }

    #[test]
    fn request_close_is_reported() {
        let mut req = Request::new("GET", "h", "/");
        req.connection = Connection::Close;
        let (got, close) = answer(&req, b"HTTP/1.1 204 No Content\r\n\r\n", 100);
        got.unwrap();
        assert_eq!(close, Some(CloseReason::RequestedClose));
    }
}

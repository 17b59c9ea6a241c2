//! One request/response exchange on an open connection: encode, then read the head, then the body.

use httparse::Header;

use crate::body::BodyDecoder;
use crate::deadline::Phase;
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
#[derive(Debug, Clone)]
pub struct Exchange<'r> {
    encoder: Encoder<'r>,
    head: HeadReader,
    state: State,
    facts: RequestFacts,
    framing: Option<Framing>,
    status: u16,
    head_seen: usize,
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

    /// The phase the exchange is in, for [`crate::Deadlines`].
    pub const fn phase(&self) -> Phase {
        match self.state {
            State::Exchanging if !self.encoder.is_done() => Phase::Send,
            State::Exchanging if self.head_seen == 0 => Phase::FirstByte,
            _ => Phase::Body,
        }
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

    /// Decodes body bytes from `input` into `out`; returns `(consumed, produced)`. Bytes after the end
    /// of the body stay unconsumed. `(0, 0)` once done.
    pub fn read_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), Error> {
        match &mut self.state {
            State::Body(d) => match d.decode(input, out) {
                Ok(r) => {
                    if d.is_done() {
                        self.state = State::Done;
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

    /// `None` when the connection may carry another request; otherwise why it must be closed.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.state {
            State::Failed => Some(CloseReason::Error),
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

    /// Feeds `resp` in `step`-byte pieces; returns (status, body, close reason) or the error.
    fn recv(ex: &mut Exchange<'_>, resp: &[u8], step: usize) -> Result<(u16, Vec<u8>, usize), Error> {
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
            assert_eq!(ex.phase(), Phase::FirstByte);
            let (status, body, left) = recv(&mut ex, resp, step).unwrap();
            assert_eq!((status, body.as_slice(), left), (200, &b"hello"[..], 4), "step {step}");
            assert_eq!(ex.close_reason(), None);
        }
    }

    #[test]
    fn close_delimited_http10() {
        let req = Request::new("GET", "h", "/");
        let mut ex = Exchange::new(&req).unwrap();
        send_all(&mut ex);
        let (status, body, _) = recv(&mut ex, b"HTTP/1.0 200 OK\r\n\r\nall of it", 3).unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"all of it"[..]));
        assert_eq!(ex.close_reason(), Some(CloseReason::CloseDelimited));
    }

    #[test]
    fn truncated_body_is_an_error_not_a_short_success() {
        let req = Request::new("GET", "h", "/");
        let mut ex = Exchange::new(&req).unwrap();
        send_all(&mut ex);
        let e = recv(&mut ex, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 4).unwrap_err();
        assert_eq!(
            e,
            Error::Body(BodyError::Truncated {
                received: 3,
                expected: Some(10)
            })
        );
        assert_eq!(ex.close_reason(), Some(CloseReason::Error));
    }

    #[test]
    fn closed_before_head() {
        let req = Request::new("GET", "h", "/");
        let mut ex = Exchange::new(&req).unwrap();
        send_all(&mut ex);
        let e = recv(&mut ex, b"HTTP/1.1 200", 100).unwrap_err();
        assert_eq!(e, Error::Head(HeadError::ClosedBeforeHead { received: 12 }));
    }

    #[test]
    fn head_request_has_no_body_and_keeps_connection() {
        let req = Request::new("HEAD", "h", "/");
        let mut ex = Exchange::new(&req).unwrap();
        send_all(&mut ex);
        let (status, body, left) = recv(&mut ex, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 5).unwrap();
        assert_eq!((status, body.len(), left), (200, 0, 0));
        assert_eq!(ex.close_reason(), None);
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
        let mut ex = Exchange::new(&req).unwrap();
        send_all(&mut ex);
        recv(&mut ex, b"HTTP/1.1 204 No Content\r\n\r\n", 100).unwrap();
        assert_eq!(ex.close_reason(), Some(CloseReason::RequestedClose));
    }
}

//! Several TCP connections, and questions to the host, over the one UART: a small framed protocol
//! a host relay (the workspace's `tlspost-harness` crate) answers. QEMU's `-serial tcp:` carries a
//! single byte stream per run; the frames let one run open, use and close as many connections as
//! it likes, one after the other or interleaved.
//!
//! Every frame is `kind: u8, id: u8, length: u16 (big-endian), payload[length]`; the kinds are
//! [`crate::kind`]'s:
//!
//! | kind | way | payload |
//! |---|---|---|
//! | `Q` | device → host | a question (`job`: the next job); answered by `A` |
//! | `A` | host → device | the answer (empty: nothing, e.g. no more jobs) |
//! | `O` | device → host | open connection `id` to `HOST:PORT`; answered by `o` |
//! | `o` | host → device | empty: connected; otherwise why not, in words |
//! | `D` | device → host | bytes to send on connection `id` |
//! | `d` | host → device | bytes received on connection `id` |
//! | `X` | device → host | close connection `id` |
//! | `x` | host → device | connection `id` ended (empty: the peer closed; otherwise why) |

use embedded_io::{ErrorType, Read, Write};

use crate::UartLink;
use crate::kind::{ANSWER, ASK, CLOSE, ENDED, OPEN, OPENED, RECEIVED, SEND};

/// Why the host's relay did not do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayError {
    /// The host could not open the connection (its reason is in the relay's log).
    OpenFailed,
    /// The host's answer is longer than the buffer given for it.
    AnswerTooLong {
        /// The answer's length.
        length: usize,
    },
}

/// The device's end of the relay: the UART, and where the frame being read stands.
pub struct Relay {
    link: UartLink,
    /// The frame being read: kind, connection and payload bytes still unread.
    kind: u8,
    id: u8,
    left: usize,
}

impl Relay {
    /// The UART as the relay's link (FIFOs enabled).
    pub fn new() -> Self {
        Relay {
            link: UartLink::new(),
            kind: 0,
            id: 0,
            left: 0,
        }
    }

    /// Asks the host `question`; its answer is written to `answer`, which it returns shortened.
    pub fn ask<'b>(&mut self, question: &[u8], answer: &'b mut [u8]) -> Result<&'b mut [u8], RelayError> {
        self.send(ASK, 0, question);
        let length = self.reply(ANSWER, 0);
        if length > answer.len() {
            self.skip();
            return Err(RelayError::AnswerTooLong { length });
        }
        let (got, _) = answer.split_at_mut(length);
        self.fill(got);
        Ok(got)
    }

    /// Opens connection `id` to `target` (`HOST:PORT`, resolved by the host).
    pub fn open(&mut self, id: u8, target: &str) -> Result<Channel<'_>, RelayError> {
        self.send(OPEN, id, target.as_bytes());
        let length = self.reply(OPENED, id);
        self.skip();
        if length != 0 {
            return Err(RelayError::OpenFailed);
        }
        Ok(Channel {
            relay: self,
            id,
            ended: false,
        })
    }

    /// Writes one frame (a payload over 65,535 bytes goes as several).
    fn send(&mut self, kind: u8, id: u8, payload: &[u8]) {
        let mut chunks = payload.chunks(usize::from(u16::MAX)).peekable();
        if chunks.peek().is_none() {
            self.header(kind, id, 0);
        }
        for chunk in chunks {
            self.header(kind, id, chunk.len());
            let _ = self.link.write_all(chunk);
        }
    }

    fn header(&mut self, kind: u8, id: u8, length: usize) {
        let [hi, lo] = u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes();
        let _ = self.link.write_all(&[kind, id, hi, lo]);
    }

    /// Reads frames until one of `kind` for `id` begins (other frames, e.g. data still arriving
    /// for a closed connection, are skipped); returns its payload's length, left to read.
    fn reply(&mut self, kind: u8, id: u8) -> usize {
        loop {
            self.next();
            if self.kind == kind && self.id == id {
                return self.left;
            }
        }
    }

    /// Skips the rest of the current frame and reads the next one's header.
    fn next(&mut self) {
        self.skip();
        let mut h = [0u8; 4];
        self.fill(&mut h);
        let [kind, id, hi, lo] = h;
        self.kind = kind;
        self.id = id;
        self.left = usize::from(u16::from_be_bytes([hi, lo]));
    }

    fn skip(&mut self) {
        let mut sink = [0u8; 64];
        while self.left > 0 {
            let n = self.left.min(sink.len());
            self.left -= n;
            self.fill_raw(&mut sink[..n]);
        }
    }

    /// Reads exactly `buf.len()` payload bytes of the current frame.
    fn fill(&mut self, buf: &mut [u8]) {
        self.left -= buf.len().min(self.left);
        self.fill_raw(buf);
    }

    fn fill_raw(&mut self, mut buf: &mut [u8]) {
        while !buf.is_empty() {
            let Ok(n) = self.link.read(buf);
            buf = &mut buf[n..];
        }
    }
}

impl Default for Relay {
    fn default() -> Self {
        Self::new()
    }
}

/// One open connection: an `embedded_io::{Read, Write}` byte stream. Reading returns 0 once the
/// host says the connection ended; dropping it closes the connection.
pub struct Channel<'r> {
    relay: &'r mut Relay,
    id: u8,
    ended: bool,
}

impl Channel<'_> {
    /// The connection's id.
    pub fn id(&self) -> u8 {
        self.id
    }
}

impl ErrorType for Channel<'_> {
    type Error = core::convert::Infallible;
}

impl Read for Channel<'_> {
    /// Blocks until data for this connection arrives (or it ends), then takes what one frame holds.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let r = &mut *self.relay;
        while !self.ended && !(r.kind == RECEIVED && r.id == self.id && r.left > 0) {
            r.next();
            self.ended = r.kind == ENDED && r.id == self.id;
        }
        if self.ended {
            return Ok(0);
        }
        let n = buf.len().min(r.left);
        let got = r.link.read(&mut buf[..n])?;
        r.left -= got;
        Ok(got)
    }
}

impl Write for Channel<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if !self.ended {
            self.relay.send(SEND, self.id, buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl Drop for Channel<'_> {
    fn drop(&mut self) {
        self.relay.send(CLOSE, self.id, &[]);
    }
}

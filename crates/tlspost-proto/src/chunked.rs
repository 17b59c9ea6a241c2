//! The chunked transfer coding decoder (RFC 9112 §7.1): sizes checked for 64-bit overflow, extensions
//! validated and skipped, trailers validated and skipped, bytes after the final CRLF left unconsumed.

use core::fmt;

use crate::syntax::is_tchar;

/// Longest chunk extension accepted per chunk line, in bytes.
pub const MAX_EXTENSION: usize = 4096;
/// Longest trailer section accepted, in bytes.
pub const MAX_TRAILERS: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits; `digits` counts them.
    Size {
        digits: u8,
    },
    /// Whitespace after the size.
    SizeWs,
    /// Inside chunk extensions.
    Ext,
    /// Inside a quoted extension value.
    ExtQuoted,
    /// After a backslash in a quoted value.
    ExtEscape,
    /// CR seen at the end of the size line.
    SizeLf,
    /// Chunk data; `remaining` bytes left.
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// Inside a trailer field.
    Trailer {
        colon: bool,
    },
    TrailerLf,
    EndLf,
    Done,
}

/// Decodes a chunked body into caller slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    ext_len: usize,
    trailer_len: usize,
    received: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub const fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            size: 0,
            ext_len: 0,
            trailer_len: 0,
            received: 0,
        }
    }

    /// Whether the last chunk and the trailers have been read.
    pub const fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Body (data) bytes produced so far.
    pub const fn received(&self) -> u64 {
        self.received
    }

    /// The error for a connection that ended now: always `Truncated` unless done.
    pub fn on_eof(&self) -> Result<(), BodyError> {
        match self.state {
            State::Done => Ok(()),
            State::Data => Err(BodyError::Truncated {
                received: self.received,
                expected: Some(self.received.saturating_add(self.size)),
            }),
            _ => Err(BodyError::Truncated {
                received: self.received,
                expected: None,
            }),
        }
    }

    /// Decodes from `input` into `out`; returns `(consumed, produced)`. Stops when `out` is full in the
    /// middle of data, or at the end of the body (the rest of `input` is left unconsumed).
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), BodyError> {
        let mut i = 0usize;
        let mut o = 0usize;
        while let Some(&b) = input.get(i) {
            match self.state {
                State::Done => break,
                State::Data => {
                    let src = input.get(i..).unwrap_or_default();
                    let dst = out.get_mut(o..).unwrap_or_default();
                    let n = usize::try_from(self.size)
                        .unwrap_or(usize::MAX)
                        .min(src.len())
                        .min(dst.len());
                    if n == 0 {
                        break; // output full
                    }
                    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
                        d.copy_from_slice(s);
                    }
                    i = i.saturating_add(n);
                    o = o.saturating_add(n);
                    self.size = self.size.saturating_sub(n as u64);
                    self.received = self.received.saturating_add(n as u64);
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                _ => self.step(b)?,
            }
            i = i.saturating_add(1);
        }
        Ok((i, o))
    }

    /// One byte of framing (everything except chunk data).
    fn step(&mut self, b: u8) -> Result<(), BodyError> {
        self.state = match self.state {
            State::Size { digits } => match hex(b) {
                Some(d) => {
                    if self.size > u64::MAX >> 4 {
                        return Err(BodyError::ChunkSizeOverflow);
                    }
                    self.size = (self.size << 4) | u64::from(d);
                    State::Size {
                        digits: digits.saturating_add(1),
                    }
                }
                None if digits == 0 => return Err(BodyError::InvalidChunkSize),
                None => match b {
                    b' ' | b'\t' => State::SizeWs,
                    b';' => self.ext(b)?,
                    b'\r' => State::SizeLf,
                    _ => return Err(BodyError::InvalidChunkSize),
                },
            },
            State::SizeWs => match b {
                b' ' | b'\t' => State::SizeWs,
                b';' => self.ext(b)?,
                b'\r' => State::SizeLf,
                _ => return Err(BodyError::InvalidChunkSize),
            },
            State::Ext => match b {
                b'\r' => State::SizeLf,
                b'"' => self.ext(b).map(|_| State::ExtQuoted)?,
                b if is_tchar(b) || matches!(b, b';' | b'=' | b' ' | b'\t') => self.ext(b)?,
                _ => return Err(BodyError::InvalidChunkExtension),
            },
            State::ExtQuoted => match b {
                b'"' => self.ext(b)?,
                b'\\' => self.ext(b).map(|_| State::ExtEscape)?,
                b if is_ctl(b) => return Err(BodyError::InvalidChunkExtension),
                _ => self.ext(b).map(|_| State::ExtQuoted)?,
            },
            State::ExtEscape => match b {
                b if is_ctl(b) => return Err(BodyError::InvalidChunkExtension),
                _ => self.ext(b).map(|_| State::ExtQuoted)?,
            },
            State::SizeLf => match b {
                b'\n' => {
                    self.ext_len = 0;
                    if self.size == 0 {
                        State::TrailerStart
                    } else {
                        State::Data
                    }
                }
                _ if self.ext_len > 0 => return Err(BodyError::InvalidChunkExtension),
                _ => return Err(BodyError::InvalidChunkSize),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(BodyError::MissingChunkCrlf),
            },
            State::DataLf => match b {
                b'\n' => State::Size { digits: 0 },
                _ => return Err(BodyError::MissingChunkCrlf),
            },
            State::TrailerStart => match b {
                b'\r' => State::EndLf,
                b if is_tchar(b) => self.trailer(State::Trailer { colon: false })?,
                _ => return Err(BodyError::InvalidTrailer),
            },
            State::Trailer { colon: false } => match b {
                b':' => self.trailer(State::Trailer { colon: true })?,
                b if is_tchar(b) => self.trailer(State::Trailer { colon: false })?,
                _ => return Err(BodyError::InvalidTrailer),
            },
            State::Trailer { colon: true } => match b {
                b'\r' => self.trailer(State::TrailerLf)?,
                b if is_ctl(b) => return Err(BodyError::InvalidTrailer),
                _ => self.trailer(State::Trailer { colon: true })?,
            },
            State::TrailerLf => match b {
                b'\n' => self.trailer(State::TrailerStart)?,
                _ => return Err(BodyError::InvalidTrailer),
            },
            State::EndLf => match b {
                b'\n' => State::Done,
                _ => return Err(BodyError::MissingChunkCrlf),
            },
            State::Data | State::Done => self.state,
        };
        Ok(())
    }

    /// Counts one extension byte and stays in (or enters) the extension state.
    fn ext(&mut self, _b: u8) -> Result<State, BodyError> {
        self.ext_len = self.ext_len.saturating_add(1);
        if self.ext_len > MAX_EXTENSION {
            return Err(BodyError::ChunkExtensionTooLong);
        }
        Ok(State::Ext)
    }

    fn trailer(&mut self, next: State) -> Result<State, BodyError> {
        self.trailer_len = self.trailer_len.saturating_add(1);
        if self.trailer_len > MAX_TRAILERS {
            return Err(BodyError::TrailersTooLarge);
        }
        Ok(next)
    }
}

/// Control bytes other than HTAB.
const fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

const fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(b.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(b.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

/// Why a response body could not be decoded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// The connection ended before the framing was satisfied.
    Truncated {
        /// Body bytes received.
        received: u64,
        /// Body bytes expected, when known (Content-Length, or the end of the current chunk).
        expected: Option<u64>,
    },
    /// A chunk size line that is not hexadecimal.
    InvalidChunkSize,
    /// A chunk size that does not fit in 64 bits.
    ChunkSizeOverflow,
    /// A chunk extension with invalid bytes (a bare CR, control bytes…).
    InvalidChunkExtension,
    /// A chunk extension longer than [`crate::chunked::MAX_EXTENSION`].
    ChunkExtensionTooLong,
    /// Chunk data not followed by CRLF.
    MissingChunkCrlf,
    /// A trailer field that is not `name: value`.
    InvalidTrailer,
    /// Trailers longer than [`crate::chunked::MAX_TRAILERS`].
    TrailersTooLarge,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BodyError::Truncated {
                received,
                expected: Some(e),
            } => write!(
                f,
                "response body truncated: the connection ended after {received} of {e} bytes; do not use the \
                 partial body (retry if the request is idempotent)"
            ),
            BodyError::Truncated {
                received,
                expected: None,
            } => write!(
                f,
                "response body truncated: the connection ended after {received} bytes, before the end of the \
                 chunked body; do not use the partial body"
            ),
            BodyError::InvalidChunkSize => f.write_str("malformed chunked body: a chunk size is not hexadecimal"),
            BodyError::ChunkSizeOverflow => f.write_str("malformed chunked body: a chunk size overflows 64 bits"),
            BodyError::InvalidChunkExtension => {
                f.write_str("malformed chunked body: a chunk extension holds invalid bytes")
            }
            BodyError::ChunkExtensionTooLong => f.write_str("malformed chunked body: a chunk extension is too long"),
            BodyError::MissingChunkCrlf => f.write_str("malformed chunked body: chunk data is not followed by CRLF"),
            BodyError::InvalidTrailer => f.write_str("malformed chunked body: a trailer field is invalid"),
            BodyError::TrailersTooLarge => f.write_str("malformed chunked body: trailer fields are too large"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BodyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Decodes `input` fed `step` bytes at a time into `out_step`-byte outputs.
    fn run(input: &[u8], step: usize, out_step: usize) -> Result<(Vec<u8>, usize), BodyError> {
        let mut d = ChunkedDecoder::new();
        let mut body = Vec::new();
        let mut pos = 0;
        let mut buf = vec![0u8; out_step];
        let mut pending: Vec<u8> = Vec::new();
        while !d.is_done() {
            let take = step.min(input.len() - pos);
            pending.extend_from_slice(&input[pos..pos + take]);
            pos += take;
            let (c, p) = d.decode(&pending, &mut buf)?;
            body.extend_from_slice(&buf[..p]);
            pending.drain(..c);
            if take == 0 && c == 0 && p == 0 {
                d.on_eof()?;
                break;
            }
        }
        Ok((body, input.len() - pos + pending.len()))
    }

    const BODY: &[u8] =
        b"4\r\nWiki\r\n6;name=\"va\\\"l\"; x\r\npedia \r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n";

    #[test]
    fn whole_byte_at_a_time_and_trailing_data() {
        for (step, out) in [(BODY.len(), 1024), (1, 1024), (1, 1), (3, 2), (7, 5)] {
            let (body, left) = run(BODY, step, out).unwrap();
            assert_eq!(body, b"Wikipedia  in\r\n\r\nchunks.", "step {step} out {out}");
            assert_eq!(left, 0);
        }
        let mut with_tail = BODY.to_vec();
        with_tail.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let mut d = ChunkedDecoder::new();
        let mut out = [0u8; 64];
        let (c, p) = d.decode(&with_tail, &mut out).unwrap();
        assert!(d.is_done());
        assert_eq!((c, p), (BODY.len(), 24));
        assert_eq!(&with_tail[c..], b"HTTP/1.1 200 OK\r\n");
    }

    #[test]
    fn errors() {
        let cases: &[(&[u8], BodyError)] = &[
            (b"x\r\n", BodyError::InvalidChunkSize),
            (b"\r\n", BodyError::InvalidChunkSize),
            (b" 5\r\n", BodyError::InvalidChunkSize),
            (b"0x5\r\n", BodyError::InvalidChunkSize),
            (b"5\n", BodyError::InvalidChunkSize),
            (b"10000000000000000\r\n", BodyError::ChunkSizeOverflow),
            (b"1;a\rb\r\n", BodyError::InvalidChunkExtension),
            (b"1;a\x01\r\n", BodyError::InvalidChunkExtension),
            (b"1;a=\"\r\"\r\n", BodyError::InvalidChunkExtension),
            (b"1\r\nab\r\n", BodyError::MissingChunkCrlf),
            (b"1\r\na\n", BodyError::MissingChunkCrlf),
            (b"0\r\nBad Trailer\r\n\r\n", BodyError::InvalidTrailer),
            (b"0\r\nNoColon\r\n\r\n", BodyError::InvalidTrailer),
            (b"0\r\nX: a\x00\r\n\r\n", BodyError::InvalidTrailer),
            (b"0\r\n\rx", BodyError::MissingChunkCrlf),
        ];
        for (input, err) in cases {
            let mut d = ChunkedDecoder::new();
            let mut out = [0u8; 64];
            assert_eq!(
                d.decode(input, &mut out),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut long = b"1;".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_EXTENSION + 1));
        assert_eq!(
            ChunkedDecoder::new().decode(&long, &mut [0; 4]),
            Err(BodyError::ChunkExtensionTooLong)
        );
        let mut trailers = b"0\r\n".to_vec();
        for _ in 0..1000 {
            trailers.extend_from_slice(b"X-Pad: 0123456789\r\n");
        }
        assert_eq!(
            ChunkedDecoder::new().decode(&trailers, &mut [0; 4]),
            Err(BodyError::TrailersTooLarge)
        );
    }

    #[test]
    fn max_size_is_accepted_and_truncation_reports_expected() {
        // Each input is taken whole; the end then comes early: what was received of what.
        let cases: &[(&[u8], u64, Option<u64>)] = &[
            (b"ffffffffffffffff\r\nab", 2, Some(u64::MAX)),
            (b"3\r\nabc\r\n", 3, None),
            (b"3\r\nab", 2, Some(3)),
        ];
        for &(input, received, expected) in cases {
            let mut d = ChunkedDecoder::new();
            let (consumed, _) = d.decode(input, &mut [0; 8]).unwrap();
            assert_eq!(consumed, input.len(), "{input:?}");
            assert_eq!(
                d.on_eof(),
                Err(BodyError::Truncated { received, expected }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn full_output_stops_in_data_without_consuming() {
        let mut d = ChunkedDecoder::new();
        let mut out = [0u8; 0];
        assert_eq!(d.decode(b"3\r\nabc\r\n0\r\n\r\n", &mut out), Ok((3, 0)));
        assert!(!d.is_done());
    }
}

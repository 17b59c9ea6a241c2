//! Body decoders for every framing: Content-Length, chunked and close-delimited, with one interface.

use crate::chunked::BodyError;
use crate::chunked::ChunkedDecoder;
use crate::framing::BodyFraming;

/// Decodes one response body into caller slices, whatever its framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyDecoder {
    /// No body: done from the start.
    Empty,
    /// A body of known length.
    Length {
        /// Bytes still to come.
        remaining: u64,
        /// Bytes produced so far.
        received: u64,
    },
    /// A chunked body.
    Chunked(ChunkedDecoder),
    /// A body that ends when the connection closes.
    Close {
        /// Bytes produced so far.
        received: u64,
        /// Whether the close has been seen.
        closed: bool,
    },
}

impl BodyDecoder {
    /// The decoder for a framing decision.
    pub const fn new(framing: BodyFraming) -> Self {
        match framing {
            BodyFraming::None | BodyFraming::Length(0) => BodyDecoder::Empty,
            BodyFraming::Length(n) => BodyDecoder::Length {
                remaining: n,
                received: 0,
            },
            BodyFraming::Chunked => BodyDecoder::Chunked(ChunkedDecoder::new()),
            BodyFraming::Close => BodyDecoder::Close {
                received: 0,
                closed: false,
            },
        }
    }

    /// Decodes from `input` into `out`; returns `(consumed, produced)`. Bytes past the end of the body
    /// are never consumed.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), BodyError> {
        match self {
            BodyDecoder::Empty => Ok((0, 0)),
            BodyDecoder::Chunked(c) => c.decode(input, out),
            BodyDecoder::Length { remaining, received } => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len())
                    .min(out.len());
                copy(input, out, n);
                *remaining = remaining.saturating_sub(n as u64);
                *received = received.saturating_add(n as u64);
                Ok((n, n))
            }
            BodyDecoder::Close { received, .. } => {
                let n = input.len().min(out.len());
                copy(input, out, n);
                *received = received.saturating_add(n as u64);
                Ok((n, n))
            }
        }
    }

    /// Whether the whole body has been decoded.
    pub const fn is_done(&self) -> bool {
        match self {
            BodyDecoder::Empty => true,
            BodyDecoder::Length { remaining, .. } => *remaining == 0,
            BodyDecoder::Chunked(c) => c.is_done(),
            BodyDecoder::Close { closed, .. } => *closed,
        }
    }

    /// Body bytes produced so far.
    pub const fn received(&self) -> u64 {
        match self {
            BodyDecoder::Empty => 0,
            BodyDecoder::Length { received, .. } | BodyDecoder::Close { received, .. } => *received,
            BodyDecoder::Chunked(c) => c.received(),
        }
    }

    /// The connection ended: fine for a close-delimited body or a finished one, `Truncated` otherwise.
    pub fn on_eof(&mut self) -> Result<(), BodyError> {
        match self {
            BodyDecoder::Empty => Ok(()),
            BodyDecoder::Length { remaining: 0, .. } => Ok(()),
            BodyDecoder::Length { remaining, received } => Err(BodyError::Truncated {
                received: *received,
                expected: Some(received.saturating_add(*remaining)),
            }),
            BodyDecoder::Chunked(c) => c.on_eof(),
            BodyDecoder::Close { closed, .. } => {
                *closed = true;
                Ok(())
            }
        }
    }
}

fn copy(input: &[u8], out: &mut [u8], n: usize) {
    if let (Some(d), Some(s)) = (out.get_mut(..n), input.get(..n)) {
        d.copy_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_whole_bytewise_and_trailing() {
        let input = b"hello worldEXTRA";
        let mut d = BodyDecoder::new(BodyFraming::Length(11));
        let mut out = [0u8; 64];
        assert_eq!(d.decode(input, &mut out), Ok((11, 11)));
        assert!(d.is_done());
        assert_eq!(&out[..11], b"hello world");
        assert_eq!(d.decode(&input[11..], &mut out), Ok((0, 0)));

        let mut d = BodyDecoder::new(BodyFraming::Length(11));
        let mut got = std::vec::Vec::new();
        for b in input.iter() {
            let mut o = [0u8; 1];
            let (c, p) = d.decode(core::slice::from_ref(b), &mut o).unwrap();
            assert_eq!(c, p);
            got.extend_from_slice(&o[..p]);
        }
        assert_eq!(got, b"hello world");
    }

    #[test]
    fn length_truncated() {
        let mut d = BodyDecoder::new(BodyFraming::Length(10));
        d.decode(b"abc", &mut [0; 8]).unwrap();
        assert_eq!(
            d.on_eof(),
            Err(BodyError::Truncated {
                received: 3,
                expected: Some(10)
            })
        );
    }

    #[test]
    fn close_delimited_ends_at_eof() {
        let mut d = BodyDecoder::new(BodyFraming::Close);
        let mut out = [0u8; 4];
        assert_eq!(d.decode(b"abcdef", &mut out), Ok((4, 4)));
        assert!(!d.is_done());
        assert_eq!(d.decode(b"ef", &mut out), Ok((2, 2)));
        assert_eq!(d.on_eof(), Ok(()));
        assert!(d.is_done());
        assert_eq!(d.received(), 6);
    }

    #[test]
    fn empty_is_done_and_consumes_nothing() {
        let mut d = BodyDecoder::new(BodyFraming::None);
        assert!(d.is_done());
        assert_eq!(d.decode(b"HTTP/1.1", &mut [0; 8]), Ok((0, 0)));
        assert_eq!(d.on_eof(), Ok(()));
    }
}

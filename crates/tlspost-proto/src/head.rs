//! Response head reading, fed bytes in pieces of any size.
//!
//! The caller accumulates received bytes in its own buffer and passes the whole unconsumed part on
//! every call. The reader remembers how far it has already looked for the blank line that ends the
//! head, so each byte is scanned once; `httparse` runs only once the head is complete.

use core::fmt;

use httparse::Header;

/// At most this many 1xx interim responses are skipped before giving up.
pub const MAX_INTERIM: u8 = 16;

/// A parsed response head, borrowing the caller's buffer and header array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'h, 'b> {
    /// The minor HTTP version: 0 or 1.
    pub version: u8,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: &'b str,
    /// The header fields, in the order received.
    pub headers: &'h [Header<'b>],
    /// Length of the head in bytes; the body starts here.
    pub len: usize,
}

impl<'b> ResponseHead<'_, 'b> {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        crate::syntax::header(self.headers, name)
    }
}

/// What a read of the head found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadStatus<'h, 'b> {
    /// The head is not complete yet: feed more bytes. Not an error.
    Partial,
    /// A 1xx interim response of `len` bytes (e.g. 100 Continue, 103 Early Hints) was skipped: drop
    /// those bytes from the front of the buffer and call again.
    Interim {
        /// Its status code.
        status: u16,
        /// Its length in bytes.
        len: usize,
    },
    /// The final response head.
    Complete(ResponseHead<'h, 'b>),
}

/// Incremental response head reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadReader {
    scanned: usize,
    limit: usize,
    interim: u8,
}

impl HeadReader {
    /// A reader for heads of at most `limit` bytes (normally the size of the caller's buffer).
    pub const fn new(limit: usize) -> Self {
        HeadReader {
            scanned: 0,
            limit,
            interim: 0,
        }
    }

    /// Looks for a complete head at the start of `buf` (all unconsumed bytes received so far).
    pub fn read<'h, 'b>(
        &mut self,
        buf: &'b [u8],
        headers: &'h mut [Header<'b>],
    ) -> Result<HeadStatus<'h, 'b>, HeadError> {
        check_prefix(buf)?;
        let Some(end) = self.find_end(buf) else {
            if buf.len() >= self.limit {
                return Err(HeadError::HeadTooLarge { limit: self.limit });
            }
            return Ok(HeadStatus::Partial);
        };
        if end > self.limit {
            return Err(HeadError::HeadTooLarge { limit: self.limit });
        }
        let head = buf.get(..end).unwrap_or_default();
        let limit = headers.len();
        let mut resp = httparse::Response::new(headers);
        match resp.parse(head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(HeadError::Malformed {
                    what: Malformed::NewLine,
                });
            }
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders { limit }),
            Err(e) => return Err(HeadError::Malformed { what: malformed(e) }),
        }
        let status = resp.code.unwrap_or(0);
        let version = resp.version.unwrap_or(1);
        let reason = resp.reason.unwrap_or("");
        self.scanned = 0;
        match status {
            101 => Err(HeadError::UnexpectedSwitchingProtocols),
            100..=199 => {
                self.interim = self.interim.saturating_add(1);
                if self.interim > MAX_INTERIM {
                    return Err(HeadError::TooManyInterim);
                }
                Ok(HeadStatus::Interim { status, len: end })
            }
            _ => Ok(HeadStatus::Complete(ResponseHead {
                version,
                status,
                reason,
                headers: resp.headers,
                len: end,
            })),
        }
    }

    /// The error for a connection that closed while `received` bytes of head were buffered.
    pub const fn closed(&self, received: usize) -> HeadError {
        HeadError::ClosedBeforeHead { received }
    }

    /// The end of the head (index after the blank line), scanning only bytes not scanned before.
    fn find_end(&mut self, buf: &[u8]) -> Option<usize> {
        let start = self.scanned.saturating_sub(2).min(buf.len());
        let rest = buf.get(start..)?;
        for (i, &b) in rest.iter().enumerate() {
            if b != b'\n' {
                continue;
            }
            let at = start.saturating_add(i);
            match (buf.get(at.saturating_add(1)), buf.get(at.saturating_add(2))) {
                (Some(b'\n'), _) => return Some(at.saturating_add(2)),
                (Some(b'\r'), Some(b'\n')) => return Some(at.saturating_add(3)),
                _ => {}
            }
        }
        self.scanned = buf.len();
        None
    }
}

/// Fails early when the bytes cannot be the start of an HTTP/1.x response.
fn check_prefix(buf: &[u8]) -> Result<(), HeadError> {
    const PREFIX: &[u8] = b"HTTP/1.";
    let n = buf.len().min(PREFIX.len());
    if buf.get(..n) == PREFIX.get(..n) {
        return Ok(());
    }
    let mut first = [0u8; 8];
    let len = buf.len().min(first.len());
    if let (Some(d), Some(s)) = (first.get_mut(..len), buf.get(..len)) {
        d.copy_from_slice(s);
    }
    Err(HeadError::NotHttp { first, len: len as u8 })
}

fn malformed(e: httparse::Error) -> Malformed {
    match e {
        httparse::Error::HeaderName => Malformed::HeaderName,
        httparse::Error::HeaderValue => Malformed::HeaderValue,
        httparse::Error::NewLine => Malformed::NewLine,
        httparse::Error::Status => Malformed::Status,
        httparse::Error::Version => Malformed::Version,
        _ => Malformed::Token,
    }
}

/// Why a response head could not be read, or its framing not decided.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The head did not end within the caller's buffer.
    HeadTooLarge {
        /// The buffer size that was exceeded.
        limit: usize,
    },
    /// More header fields than the caller's header array holds.
    TooManyHeaders {
        /// The number of header slots given.
        limit: usize,
    },
    /// The bytes do not start like an HTTP/1.x response.
    NotHttp {
        /// The first bytes received (up to 8), zero-padded.
        first: [u8; 8],
        /// How many of `first` are real.
        len: u8,
    },
    /// The head is not valid HTTP/1.x syntax.
    Malformed {
        /// What httparse found wrong.
        what: Malformed,
    },
    /// A 101 Switching Protocols answer to a request that asked for no upgrade.
    UnexpectedSwitchingProtocols,
    /// More than [`crate::head::MAX_INTERIM`] 1xx interim responses in a row.
    TooManyInterim,
    /// The connection closed before a complete response head arrived.
    ClosedBeforeHead {
        /// Bytes of the head received before the close.
        received: usize,
    },
    /// A `Content-Length` that is not a plain decimal number (`+1`, inner spaces, overflow…).
    InvalidContentLength,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// A transfer coding other than `chunked` (which was never offered), or `chunked` twice or not last.
    UnsupportedTransferCoding,
    /// `Transfer-Encoding` in an HTTP/1.0 response, which RFC 9112 calls faulty framing.
    TransferEncodingInHttp10,
}

/// What was malformed in a response head.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A header name with invalid bytes.
    HeaderName,
    /// A header value with invalid bytes.
    HeaderValue,
    /// A bad line ending.
    NewLine,
    /// A bad status code.
    Status,
    /// A bad token (e.g. in the reason phrase).
    Token,
    /// A bad or unsupported HTTP version.
    Version,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Malformed::HeaderName => "a header name",
            Malformed::HeaderValue => "a header value",
            Malformed::NewLine => "a line ending",
            Malformed::Status => "the status code",
            Malformed::Token => "a token",
            Malformed::Version => "the HTTP version",
        })
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HeadError::HeadTooLarge { limit } => write!(
                f,
                "response head larger than the {limit}-byte buffer; give a larger head buffer or ask the server \
                 for fewer headers"
            ),
            HeadError::TooManyHeaders { limit } => write!(
                f,
                "response has more than {limit} header fields; give a larger header array"
            ),
            HeadError::NotHttp { first, len } => {
                f.write_str("the server's answer is not HTTP/1.x; it starts with \"")?;
                for &b in first.iter().take(usize::from(len)) {
                    if b.is_ascii_graphic() || b == b' ' {
                        write!(f, "{}", char::from(b))?;
                    } else {
                        write!(f, "\\x{b:02x}")?;
                    }
                }
                f.write_str("\"; check the port and the scheme (http vs https)")
            }
            HeadError::Malformed { what } => write!(
                f,
                "malformed response head: {what} is invalid; the server (or something in between) is broken"
            ),
            HeadError::UnexpectedSwitchingProtocols => {
                f.write_str("the server answered 101 Switching Protocols although no upgrade was asked for")
            }
            HeadError::TooManyInterim => {
                f.write_str("the server sent too many 1xx interim responses without a final one")
            }
            HeadError::ClosedBeforeHead { received: 0 } => f.write_str(
                "the connection closed before any response byte arrived; the server or an edge dropped the \
                 request (the server's log, or a capture of the request as sent, says why)",
            ),
            HeadError::ClosedBeforeHead { received } => write!(
                f,
                "the connection closed after {received} bytes of the response head; the response is incomplete"
            ),
            HeadError::InvalidContentLength => f.write_str(
                "the response's Content-Length is not a plain decimal number; the body length cannot be trusted",
            ),
            HeadError::ConflictingContentLength => f.write_str(
                "the response has several Content-Length values that differ; the body length cannot be trusted",
            ),
            HeadError::UnsupportedTransferCoding => f.write_str(
                "the response uses a transfer coding other than a single final `chunked`, which this client \
                 never offered; the server must not compress or re-code the transfer",
            ),
            HeadError::TransferEncodingInHttp10 => f.write_str(
                "an HTTP/1.0 response carries Transfer-Encoding, which makes its framing faulty (RFC 9112 §6.1)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HeadError {}

#[cfg(test)]
mod tests {
    use super::*;

    const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

    #[test]
    fn whole_head_at_once_leaves_the_body() {
        let mut r = HeadReader::new(1024);
        let mut h = [httparse::EMPTY_HEADER; 8];
        match r.read(RESP, &mut h).unwrap() {
            HeadStatus::Complete(head) => {
                assert_eq!((head.status, head.version, head.reason), (200, 1, "OK"));
                assert_eq!(head.header("content-length"), Some(&b"2"[..]));
                assert_eq!(&RESP[head.len..], b"{}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_proper_prefix_is_partial() {
        let head_len = RESP.len() - 2;
        for n in 0..head_len {
            let mut r = HeadReader::new(1024);
            let mut h = [httparse::EMPTY_HEADER; 8];
            assert_eq!(r.read(&RESP[..n], &mut h), Ok(HeadStatus::Partial), "prefix {n}");
        }
    }

    #[test]
    fn byte_at_a_time_with_one_reader() {
        let mut r = HeadReader::new(1024);
        for n in 0..RESP.len() {
            let mut h = [httparse::EMPTY_HEADER; 8];
            match r.read(&RESP[..=n], &mut h).unwrap() {
                HeadStatus::Partial => assert!(n < RESP.len() - 3),
                HeadStatus::Complete(head) => {
                    assert_eq!(n, RESP.len() - 3);
                    assert_eq!(head.len, RESP.len() - 2);
                    return;
                }
                other => panic!("{other:?}"),
            }
        }
        panic!("never complete");
    }

    #[test]
    fn interim_responses_are_skipped() {
        let data =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\n\r\n";
        let mut r = HeadReader::new(1024);
        let mut off = 0;
        let mut seen = std::vec::Vec::new();
        loop {
            let mut h = [httparse::EMPTY_HEADER; 8];
            match r.read(&data[off..], &mut h).unwrap() {
                HeadStatus::Interim { status, len } => {
                    seen.push(status);
                    off += len;
                }
                HeadStatus::Complete(head) => {
                    assert_eq!(head.status, 201);
                    break;
                }
                HeadStatus::Partial => panic!("partial"),
            }
        }
        assert_eq!(seen, [100, 103]);
    }

    #[test]
    fn limits_and_garbage() {
        let mut h = [httparse::EMPTY_HEADER; 1];
        assert_eq!(
            HeadReader::new(1024).read(RESP, &mut h),
            Err(HeadError::TooManyHeaders { limit: 1 })
        );
        let mut h = [httparse::EMPTY_HEADER; 8];
        assert_eq!(
            HeadReader::new(20).read(&RESP[..30], &mut h),
            Err(HeadError::HeadTooLarge { limit: 20 })
        );
        assert_eq!(
            HeadReader::new(20).read(RESP, &mut h),
            Err(HeadError::HeadTooLarge { limit: 20 })
        );
        let e = HeadReader::new(64).read(b"SSH-2.0-OpenSSH\r\n", &mut h).unwrap_err();
        assert!(matches!(e, HeadError::NotHttp { len: 8, .. }));
        assert!(std::format!("{e}").contains("SSH-2.0-"));
        assert!(matches!(
            HeadReader::new(64).read(b"\x15\x03\x03", &mut h),
            Err(HeadError::NotHttp { len: 3, .. })
        ));
        assert_eq!(
            HeadReader::new(64).read(b"HTTP/1.1 abc OK\r\n\r\n", &mut h),
            Err(HeadError::Malformed {
                what: Malformed::Status
            })
        );
        assert_eq!(
            HeadReader::new(64).read(b"HTTP/1.1 101 Switching\r\n\r\n", &mut h),
            Err(HeadError::UnexpectedSwitchingProtocols)
        );
    }

    #[test]
    fn bare_lf_head_is_accepted() {
        let mut h = [httparse::EMPTY_HEADER; 8];
        let data = b"HTTP/1.0 200 OK\nContent-Length: 1\n\nx";
        match HeadReader::new(64).read(data, &mut h).unwrap() {
            HeadStatus::Complete(head) => assert_eq!((head.version, head.len), (0, data.len() - 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn endless_interim_is_refused() {
        let mut r = HeadReader::new(64);
        let one = b"HTTP/1.1 100 Continue\r\n\r\n";
        for _ in 0..MAX_INTERIM {
            let mut h = [httparse::EMPTY_HEADER; 4];
            assert!(matches!(r.read(one, &mut h), Ok(HeadStatus::Interim { .. })));
        }
        let mut h = [httparse::EMPTY_HEADER; 4];
        assert_eq!(r.read(one, &mut h), Err(HeadError::TooManyInterim));
    }
}

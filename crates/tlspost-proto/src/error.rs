//! Error types, one small enum per layer. Each `Display` says what failed and what to do about it.

use core::fmt;

use crate::deadline::Phase;
use crate::syntax::ByteName;

/// The part of a request that an [`EncodeError`] is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The method on the request line.
    Method,
    /// The host name (used for `Host`).
    Host,
    /// The request target (path and query).
    Target,
    /// The name of caller header number `index` (0-based).
    HeaderName {
        /// Index into [`Request::headers`](crate::Request::headers).
        index: usize,
    },
    /// The value of caller header number `index` (0-based).
    HeaderValue {
        /// Index into [`Request::headers`](crate::Request::headers).
        index: usize,
    },
    /// [`Request::user_agent`](crate::Request::user_agent).
    UserAgent,
    /// The content type of a [`Body::Bytes`](crate::Body::Bytes).
    ContentType,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Field::Method => f.write_str("the method"),
            Field::Host => f.write_str("the host"),
            Field::Target => f.write_str("the request target (path and query)"),
            Field::HeaderName { index } => write!(f, "the name of header #{index}"),
            Field::HeaderValue { index } => write!(f, "the value of header #{index}"),
            Field::UserAgent => f.write_str("the User-Agent"),
            Field::ContentType => f.write_str("the body's content type"),
        }
    }
}

/// Why a request could not be encoded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer cannot hold the next indivisible piece; nothing was written.
    InsufficientSize {
        /// Bytes the buffer must be able to take.
        required: usize,
    },
    /// A byte that would allow header injection or break the request line.
    InvalidByte {
        /// Where the byte is.
        field: Field,
        /// The byte.
        byte: u8,
        /// Its position within the field.
        position: usize,
    },
    /// A field that must not be empty is empty.
    Empty {
        /// Which field.
        field: Field,
    },
    /// A caller header that the encoder owns because it decides the framing.
    ReservedHeader {
        /// Index into the caller's headers.
        index: usize,
    },
    /// `encode_head` was called after output had already started.
    AlreadyStarted,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::InsufficientSize { required } => write!(
                f,
                "output buffer too small: the next piece of the request needs {required} bytes; \
                 give a larger buffer (nothing was written)"
            ),
            EncodeError::InvalidByte { field, byte, position } => write!(
                f,
                "{field} holds the byte {} at position {position}, which is not allowed there \
                 (it could inject headers or split the request); remove or percent-encode it",
                ByteName(byte)
            ),
            EncodeError::Empty { field } => write!(f, "{field} is empty; it must have a value"),
            EncodeError::ReservedHeader { index } => write!(
                f,
                "header #{index} is Content-Length or Transfer-Encoding, which the encoder sets itself from the \
                 body; remove it"
            ),
            EncodeError::AlreadyStarted => {
                f.write_str("the request head was already partly written; it can only be continued where it stopped")
            }
        }
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

/// Any error of one exchange.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Encoding the request failed.
    Encode(EncodeError),
    /// Reading the response head failed.
    Head(HeadError),
    /// Reading the response body failed.
    Body(BodyError),
    /// A phase's deadline (or the total) passed.
    Timeout {
        /// The phase whose budget ran out.
        phase: Phase,
    },
    /// A method was called in a state where it makes no sense (e.g. `read_body` before the head).
    WrongState,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Encode(e) => e.fmt(f),
            Error::Head(e) => e.fmt(f),
            Error::Body(e) => e.fmt(f),
            Error::Timeout { phase } => write!(
                f,
                "timed out during {phase}; raise that phase's budget if the server is just slow"
            ),
            Error::WrongState => f.write_str("exchange method called in the wrong state (a bug in the driver)"),
        }
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}
impl From<HeadError> for Error {
    fn from(e: HeadError) -> Self {
        Error::Head(e)
    }
}
impl From<BodyError> for Error {
    fn from(e: BodyError) -> Self {
        Error::Body(e)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}
#[cfg(feature = "std")]
impl std::error::Error for HeadError {}
#[cfg(feature = "std")]
impl std::error::Error for BodyError {}
#[cfg(feature = "std")]
impl std::error::Error for Error {}

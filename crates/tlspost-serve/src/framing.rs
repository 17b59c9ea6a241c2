//! HTTP/1.x request framing on the raw byte stream: where the head ends, how long the body is,
//! where the next pipelined request starts. Nothing is normalised; the caller keeps the bytes.

/// A parsed request head (owned copies; the raw bytes stay with the caller).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// Method as sent.
    pub method: String,
    /// Request target as sent.
    pub target: String,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Header fields in arrival order, values as bytes lossily decoded.
    pub headers: Vec<(String, String)>,
    /// Length of the head in bytes, including the blank line.
    pub len: usize,
}

impl Head {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection stays open after this request: not when the client asked to close
    /// it, nor after a request framed by both Transfer-Encoding and Content-Length, which the
    /// server must close (RFC 9112 §6.1: a proxy may have framed it by the other header).
    pub fn keep_alive(&self) -> bool {
        let has = |name: &str| self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if has("transfer-encoding") && has("content-length") {
            return false;
        }
        let mut tokens = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim);
        if self.minor == 0 {
            tokens.any(|t| t.eq_ignore_ascii_case("keep-alive"))
        } else {
            !tokens.any(|t| t.eq_ignore_ascii_case("close"))
        }
    }
}

/// Where the head ends: the index just past the blank line (CRLF CRLF, or bare LF endings).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf.get(i..).and_then(|b| b.iter().position(|&c| c == b'\n')) {
        let nl = i + off;
        // An empty line: "\n\n" or "\n\r\n".
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        // A head that starts with an empty line ends right there.
        if nl == 0 || (nl == 1 && buf.first() == Some(&b'\r')) {
            return Some(nl + 1);
        }
        i = nl + 1;
    }
    None
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// A fixed length (0 for no body).
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// Why a request cannot be framed: the server answers 400 and closes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The head does not parse as HTTP/1.x.
    BadHead(String),
    /// Content-Length is not a number or its copies differ.
    BadContentLength(String),
    /// Transfer-Encoding whose last coding is not chunked.
    UnknownTransferEncoding(String),
    /// A chunk size line is not hex or a chunk is not followed by CRLF.
    BadChunk(String),
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::BadHead(e) => write!(f, "the request head does not parse as HTTP/1.x: {e}"),
            FrameError::BadContentLength(v) => write!(
                f,
                "Content-Length `{v}` is not one decimal number: send exactly one Content-Length with the body's byte count"
            ),
            FrameError::UnknownTransferEncoding(v) => write!(
                f,
                "Transfer-Encoding `{v}` does not end in chunked, so the body length is unknown: send `chunked` or a Content-Length"
            ),
            FrameError::BadChunk(e) => write!(f, "the chunked body is malformed: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Parse the head `buf[..end]` (from [`head_end`]).
pub fn parse_head(buf: &[u8]) -> Result<Head, FrameError> {
    // On the stack: a heap vector of 128 slots (4 KB) per request costs more than the parse.
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    let status = httparse::ParserConfig::default()
        .allow_multiple_spaces_in_request_line_delimiters(false)
        .parse_request(&mut req, buf)
        .map_err(|e| FrameError::BadHead(e.to_string()))?;
    let len = match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Err(FrameError::BadHead("incomplete head".into())),
    };
    Ok(Head {
        method: req.method.unwrap_or_default().to_string(),
        target: req.path.unwrap_or_default().to_string(),
        minor: req.version.unwrap_or(1),
        headers: req
            .headers
            .iter()
            .map(|h| (h.name.to_string(), crate::json::lossy(h.value).into_owned()))
            .collect(),
        len,
    })
}

/// The body framing of a request head (RFC 9112 §6.3: Transfer-Encoding wins over Content-Length).
pub fn body_kind(head: &Head) -> Result<BodyKind, FrameError> {
    let te: Vec<&str> = head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
        .map(|(_, v)| v.as_str())
        .collect();
    if !te.is_empty() {
        let joined = te.join(", ");
        let last = joined.rsplit(',').next().unwrap_or("").trim();
        return if last.eq_ignore_ascii_case("chunked") {
            Ok(BodyKind::Chunked)
        } else {
            Err(FrameError::UnknownTransferEncoding(joined))
        };
    }
    let mut len: Option<u64> = None;
    for (_, v) in head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        for part in v.split(',') {
            let p = part.trim();
            let n: u64 = if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse().map_err(|_| FrameError::BadContentLength(v.clone()))?
            } else {
                return Err(FrameError::BadContentLength(v.clone()));
            };
            if len.is_some_and(|l| l != n) {
                return Err(FrameError::BadContentLength(v.clone()));
            }
            len = Some(n);
        }
    }
    Ok(BodyKind::Length(len.unwrap_or(0)))
}

/// Outcome of scanning a chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunked {
    /// More bytes are needed.
    Partial,
    /// The body (with trailers) ends `n` bytes into the slice; `data` bytes of payload.
    Complete {
        /// Length of the chunked encoding including the final CRLF.
        len: usize,
        /// Payload bytes.
        data: u64,
    },
}

/// Scan a chunked body starting at `buf[0]`.
pub fn scan_chunked(buf: &[u8]) -> Result<Chunked, FrameError> {
    let mut pos = 0usize;
    let mut data = 0u64;
    loop {
        let Some(off) = buf.get(pos..).and_then(|b| b.iter().position(|&c| c == b'\n')) else {
            return Ok(Chunked::Partial);
        };
        let line = buf.get(pos..pos + off).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let size_part = line.split(|&c| c == b';').next().unwrap_or_default();
        let size_str = String::from_utf8_lossy(size_part);
        let size_str = size_str.trim_matches(|c| c == ' ' || c == '\t');
        let size = if !size_str.is_empty() && size_str.len() <= 15 {
            u64::from_str_radix(size_str, 16)
                .map_err(|_| FrameError::BadChunk(format!("chunk size `{size_str}` is not hex")))?
        } else {
            return Err(FrameError::BadChunk(format!(
                "chunk size line `{}` is not a hex number",
                String::from_utf8_lossy(line)
            )));
        };
        pos += off + 1;
        if size == 0 {
            // Trailer section: lines until an empty one.
            loop {
                let Some(off) = buf.get(pos..).and_then(|b| b.iter().position(|&c| c == b'\n')) else {
                    return Ok(Chunked::Partial);
                };
                let line = buf.get(pos..pos + off).unwrap_or_default();
                pos += off + 1;
                if line.is_empty() || line == b"\r" {
                    return Ok(Chunked::Complete { len: pos, data });
                }
            }
        }
        let size_usize = usize::try_from(size).map_err(|_| FrameError::BadChunk("chunk too large".into()))?;
        let end = pos.saturating_add(size_usize);
        match buf.get(end..end.saturating_add(2)) {
            None => {
                // Also partial when only "\n" is there yet.
                if buf.len() > end && buf.get(end) == Some(&b'\n') {
                    pos = end + 1;
                    data += size;
                    continue;
                }
                return Ok(Chunked::Partial);
            }
            Some(b"\r\n") => pos = end + 2,
            Some([b'\n', _]) => pos = end + 1,
            Some(_) => {
                return Err(FrameError::BadChunk(format!(
                    "a {size}-byte chunk is not followed by CRLF"
                )));
            }
        }
        data += size;
    }
}

/// The version as recorded: `HTTP/1.0` for minor version 0, else `HTTP/1.1`.
pub(crate) fn http_version(minor: u8) -> String {
    if minor == 0 { "HTTP/1.0" } else { "HTTP/1.1" }.into()
}

/// How much of a request head has arrived in `buf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadProgress {
    /// More bytes are needed.
    Partial,
    /// The head ends at this index (from [`head_end`]), within the limit.
    Complete(usize),
    /// More than the limit arrived without the head ending within it.
    TooLarge,
}

/// Whether `buf` starts as a TLS handshake record does (content type 22, then version 3.x), as
/// a ClientHello sent to a plain HTTP port does; no request line starts so.
pub(crate) fn looks_like_tls(buf: &[u8]) -> bool {
    matches!(buf, [0x16, 0x03, ..])
}

/// Where a head ends in `buf`, if it ends within `max_head` bytes.
pub(crate) fn head_progress(buf: &[u8], max_head: usize) -> HeadProgress {
    if let Some(e) = head_end(buf) {
        if e <= max_head {
            return HeadProgress::Complete(e);
        }
    }
    if buf.len() > max_head {
        HeadProgress::TooLarge
    } else {
        HeadProgress::Partial
    }
}

/// How much of a request body has arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyProgress {
    /// More bytes are needed.
    Partial,
    /// The body ends `len` bytes in, with `data` bytes of payload.
    Complete {
        /// Length of the body as sent (for chunked: the encoding with trailers).
        len: usize,
        /// Payload bytes.
        data: u64,
    },
    /// The body is larger than the limit (a Content-Length over it, or over 64 KiB of chunked
    /// framing more than the limit without the end).
    TooLarge,
}

/// Whether the body of `kind`, whose bytes so far are `body` (everything after the head), is
/// complete within `max_body` bytes.
pub(crate) fn body_progress(kind: BodyKind, body: &[u8], max_body: u64) -> Result<BodyProgress, FrameError> {
    let have = body.len() as u64;
    Ok(match kind {
        BodyKind::Length(n) if n > max_body => BodyProgress::TooLarge,
        BodyKind::Length(n) if have >= n => BodyProgress::Complete {
            len: n as usize,
            data: n,
        },
        BodyKind::Length(_) => BodyProgress::Partial,
        BodyKind::Chunked => match scan_chunked(body)? {
            Chunked::Complete { len, data } => BodyProgress::Complete { len, data },
            Chunked::Partial if have <= max_body + 64 * 1024 => BodyProgress::Partial,
            Chunked::Partial => BodyProgress::TooLarge,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_crlf_and_bare_lf() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: a\n\nBODY"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
    }

    #[test]
    fn framing_rules() {
        let h = parse_head(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert_eq!(body_kind(&h), Ok(BodyKind::Chunked));
        assert!(!h.keep_alive(), "closed after the response (RFC 9112 §6.1)");
        let h = parse_head(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").unwrap();
        assert!(body_kind(&h).is_err());
        let h = parse_head(b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(h.keep_alive());
        assert_eq!(body_kind(&h), Ok(BodyKind::Length(0)));
    }

    #[test]
    fn chunked_scanning() {
        let b = b"5\r\nhello\r\n0\r\n\r\nNEXT";
        assert_eq!(scan_chunked(b), Ok(Chunked::Complete { len: 15, data: 5 }));
        for i in 0..15 {
            assert_eq!(scan_chunked(&b[..i]), Ok(Chunked::Partial), "prefix {i}");
        }
        assert!(scan_chunked(b"zz\r\n").is_err());
        assert_eq!(
            scan_chunked(b"3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"),
            Ok(Chunked::Complete { len: 27, data: 3 })
        );
    }

    #[test]
    fn progress_within_limits() {
        let req = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(head_progress(req, 1024), HeadProgress::Complete(38));
        assert_eq!(head_progress(&req[..20], 1024), HeadProgress::Partial);
        assert_eq!(head_progress(req, 37), HeadProgress::TooLarge);
        assert_eq!(head_progress(&req[..20], 19), HeadProgress::TooLarge);
        let len3 = BodyKind::Length(3);
        assert_eq!(body_progress(len3, b"ab", 10), Ok(BodyProgress::Partial));
        assert_eq!(
            body_progress(len3, b"abcNEXT", 10),
            Ok(BodyProgress::Complete { len: 3, data: 3 })
        );
        assert_eq!(body_progress(len3, b"", 2), Ok(BodyProgress::TooLarge));
        let ch = BodyKind::Chunked;
        assert_eq!(
            body_progress(ch, b"3\r\nabc\r\n0\r\n\r\n", 1),
            Ok(BodyProgress::Complete { len: 13, data: 3 })
        );
        assert_eq!(body_progress(ch, b"3\r\nab", 1), Ok(BodyProgress::Partial));
        assert!(body_progress(ch, b"zz\r\n", 1).is_err());
    }
}

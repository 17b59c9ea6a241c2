//! Response body framing (RFC 9112 §6.3), decided by one pure function, and connection reuse.

use core::fmt;

use httparse::Header;

use crate::head::HeadError;
use crate::syntax::{list, trim_ows};

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (HEAD request, 1xx, 204, 304, or `Content-Length: 0`).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// The body ends when the server closes the connection.
    Close,
}

/// Why the connection must not be reused after this exchange.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The request said `Connection: close`.
    RequestedClose,
    /// The response said `Connection: close`.
    ServerClose,
    /// An HTTP/1.0 response without `Connection: keep-alive`.
    Http10,
    /// The body has no length and ends at connection close.
    CloseDelimited,
    /// Both `Transfer-Encoding` and `Content-Length`: the message is ambiguous (a request-smuggling
    /// signature), so nothing more is read from this connection.
    AmbiguousFraming,
    /// The exchange failed or timed out; the connection's state is unknown.
    Error,
    /// The exchange was abandoned before the response was read to its end.
    Incomplete,
    /// The server sent bytes after the end of the response, which no request asked for.
    TrailingBytes,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::RequestedClose => "the request asked to close (Connection: close)",
            CloseReason::ServerClose => "the server asked to close (Connection: close)",
            CloseReason::Http10 => "HTTP/1.0 response without keep-alive",
            CloseReason::CloseDelimited => "the body was delimited by closing the connection",
            CloseReason::AmbiguousFraming => {
                "the response had both Transfer-Encoding and Content-Length (ambiguous framing)"
            }
            CloseReason::Error => "the exchange failed",
            CloseReason::Incomplete => "the response was not read to its end",
            CloseReason::TrailingBytes => "the server sent bytes after the end of the response",
        })
    }
}

/// The framing of one response: how its body ends and whether the connection may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// How the body is delimited.
    pub body: BodyFraming,
    /// `Some` when the connection must be closed after the body.
    pub close: Option<CloseReason>,
}

/// What the framing decision needs to know about the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestFacts {
    /// The request was `HEAD`: the response has no body whatever its headers say.
    pub head: bool,
    /// The request carried `Connection: close`.
    pub close: bool,
}

/// Decides the body framing of a response (RFC 9112 §6.3) and whether the connection stays usable.
///
/// `version` is the minor version (0 for HTTP/1.0, 1 for HTTP/1.1).
pub fn response_framing(
    req: RequestFacts,
    version: u8,
    status: u16,
    headers: &[Header<'_>],
) -> Result<Framing, HeadError> {
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut te = None::<Header<'_>>;
    let mut cl_present = false;
    for h in headers {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in list(h.value) {
                conn_close |= token.eq_ignore_ascii_case(b"close");
                conn_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            te = Some(*h);
        } else if h.name.eq_ignore_ascii_case("content-length") {
            cl_present = true;
        }
    }
    let mut close = if req.close {
        Some(CloseReason::RequestedClose)
    } else if conn_close {
        Some(CloseReason::ServerClose)
    } else if version == 0 && !conn_keep_alive {
        Some(CloseReason::Http10)
    } else {
        None
    };
    let no_body = req.head || (100..200).contains(&status) || status == 204 || status == 304;
    let body = if no_body {
        BodyFraming::None
    } else if te.is_some() {
        if version == 0 {
            return Err(HeadError::TransferEncodingInHttp10);
        }
        check_transfer_coding(headers)?;
        if cl_present {
            close = Some(CloseReason::AmbiguousFraming);
        }
        BodyFraming::Chunked
    } else if cl_present {
        match content_length(headers)? {
            0 => BodyFraming::None,
            n => BodyFraming::Length(n),
        }
    } else {
        close = Some(CloseReason::CloseDelimited);
        BodyFraming::Close
    };
    Ok(Framing { body, close })
}

/// The single `Content-Length` of `headers`: every value (across fields and list elements) must be a
/// plain decimal number, and all must be equal.
pub fn content_length(headers: &[Header<'_>]) -> Result<u64, HeadError> {
    let mut found = None;
    // Plain loops rather than syntax::header_values: the iterator would be one more function in
    // a device's firmware.
    for h in headers.iter().filter(|h| h.name.eq_ignore_ascii_case("content-length")) {
        let mut any = false;
        for v in h.value.split(|&b| b == b',') {
            let v = trim_ows(v);
            let n = parse_decimal(v).ok_or(HeadError::InvalidContentLength)?;
            match found {
                Some(prev) if prev != n => return Err(HeadError::ConflictingContentLength),
                _ => found = Some(n),
            }
            any = true;
        }
        if !any {
            return Err(HeadError::InvalidContentLength);
        }
    }
    found.ok_or(HeadError::InvalidContentLength)
}

/// `1*DIGIT` without sign or spaces, fitting in u64.
pub fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b.wrapping_sub(b'0')))?;
    }
    Some(n)
}

/// Exactly one `chunked`, last, and no other coding (this client never offers any other).
fn check_transfer_coding(headers: &[Header<'_>]) -> Result<(), HeadError> {
    let mut chunked = 0u32;
    let mut after_chunked = false;
    for h in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
    {
        for coding in list(h.value) {
            if chunked > 0 {
                after_chunked = true;
            }
            if coding.eq_ignore_ascii_case(b"chunked") {
                chunked = chunked.saturating_add(1);
            } else {
                return Err(HeadError::UnsupportedTransferCoding);
            }
        }
    }
    if chunked != 1 || after_chunked {
        return Err(HeadError::UnsupportedTransferCoding);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use BodyFraming::*;

    fn h<'a>(name: &'a str, value: &'a str) -> Header<'a> {
        Header {
            name,
            value: value.as_bytes(),
        }
    }

    const GET: RequestFacts = RequestFacts {
        head: false,
        close: false,
    };
    const HEAD: RequestFacts = RequestFacts {
        head: true,
        close: false,
    };

    type Expected = Result<Framing, HeadError>;

    fn ok(body: BodyFraming, close: Option<CloseReason>) -> Expected {
        Ok(Framing { body, close })
    }

    fn check(req: RequestFacts, version: u8, status: u16, headers: &[(&str, &str)], expected: &Expected) {
        let hs: std::vec::Vec<Header<'_>> = headers.iter().map(|(n, v)| h(n, v)).collect();
        assert_eq!(
            response_framing(req, version, status, &hs),
            *expected,
            "HTTP/1.{version} {status} {headers:?}"
        );
    }

    #[test]
    fn framing_table() {
        type Row<'a> = (RequestFacts, u8, u16, &'a [(&'a str, &'a str)], Expected);
        let rows: &[Row<'_>] = &[
            (GET, 1, 200, &[("Content-Length", "5")], ok(Length(5), Option::None)),
            (GET, 1, 200, &[("content-length", "0")], ok(None, Option::None)),
            (HEAD, 1, 200, &[("Content-Length", "500")], ok(None, Option::None)),
            (GET, 1, 204, &[("Content-Length", "5")], ok(None, Option::None)),
            (GET, 1, 304, &[("Transfer-Encoding", "chunked")], ok(None, Option::None)),
            (GET, 1, 103, &[], ok(None, Option::None)),
            (
                GET,
                1,
                200,
                &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
                ok(Chunked, Some(CloseReason::AmbiguousFraming)),
            ),
            (
                GET,
                1,
                200,
                &[("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
                Err(HeadError::UnsupportedTransferCoding),
            ),
            (
                GET,
                0,
                200,
                &[("Transfer-Encoding", "chunked")],
                Err(HeadError::TransferEncodingInHttp10),
            ),
            (
                GET,
                1,
                200,
                &[("Content-Length", "5"), ("Content-Length", "5")],
                ok(Length(5), Option::None),
            ),
            (
                GET,
                1,
                200,
                &[("Content-Length", "5"), ("Content-Length", "6")],
                Err(HeadError::ConflictingContentLength),
            ),
            (GET, 1, 200, &[], ok(Close, Some(CloseReason::CloseDelimited))),
            (
                GET,
                0,
                200,
                &[("Content-Length", "2")],
                ok(Length(2), Some(CloseReason::Http10)),
            ),
            (
                GET,
                0,
                200,
                &[("Content-Length", "2"), ("Connection", "Keep-Alive")],
                ok(Length(2), Option::None),
            ),
            (
                GET,
                1,
                200,
                &[("Content-Length", "2"), ("Connection", "foo, close")],
                ok(Length(2), Some(CloseReason::ServerClose)),
            ),
            (
                RequestFacts {
                    head: false,
                    close: true,
                },
                1,
                200,
                &[("Content-Length", "2")],
                ok(Length(2), Some(CloseReason::RequestedClose)),
            ),
        ];
        for (req, version, status, headers, expected) in rows {
            check(*req, *version, *status, headers, expected);
        }
    }

    /// One header on a GET's HTTP/1.1 200: its value and the framing it gives.
    #[test]
    fn one_header_values() {
        let unsupported = Err(HeadError::UnsupportedTransferCoding);
        let invalid = Err(HeadError::InvalidContentLength);
        let rows: &[(&str, &str, Expected)] = &[
            ("Transfer-Encoding", "chunked", ok(Chunked, Option::None)),
            ("Transfer-Encoding", "CHUNKED", ok(Chunked, Option::None)),
            ("Transfer-Encoding", "gzip, chunked", unsupported),
            ("Transfer-Encoding", "chunked, gzip", unsupported),
            ("Transfer-Encoding", "", unsupported),
            ("Content-Length", "5, 5", ok(Length(5), Option::None)),
            ("Content-Length", "5,6", Err(HeadError::ConflictingContentLength)),
            ("Content-Length", "+1", invalid),
            ("Content-Length", "-1", invalid),
            ("Content-Length", "1 2", invalid),
            ("Content-Length", "0x10", invalid),
            ("Content-Length", "", invalid),
            ("Content-Length", "18446744073709551616", invalid),
            (
                "Content-Length",
                "18446744073709551615",
                ok(Length(u64::MAX), Option::None),
            ),
        ];
        for (name, value, expected) in rows {
            check(GET, 1, 200, &[(name, value)], expected);
        }
    }
}

//! Request encoding into caller-owned buffers.
//!
//! [`Encoder::new`] validates the whole request first, so an invalid request writes nothing. Output then
//! comes out through [`Encoder::poll_output`] into buffers of any size — the encoder remembers where it
//! stopped, down to the byte, so 64 bytes at a time (or one) works. [`Encoder::encode_head`] instead writes
//! the whole head at once, and treats it as indivisible: a buffer too small gets
//! [`EncodeError::InsufficientSize`] with the size required, and is left untouched.
//!
//! Head layout: request line, `Host`, `User-Agent`, `Accept-Encoding: identity`, `Connection`,
//! `Content-Type`, `Content-Length`, then the caller's headers, then the body. A caller header named
//! `Host`, `User-Agent`, `Accept-Encoding`, `Connection` or `Content-Type` replaces the encoder's own;
//! [`Request::omit`] leaves out `User-Agent`, `Accept-Encoding`, `Connection` or `Content-Type`.

use core::fmt;

use crate::request::{Body, Connection, Request, Version};
use crate::syntax::{self, byte_name};

/// Which slot of the head a piece fills.
const SLOT_REQUEST_LINE: usize = 0;
const SLOT_HOST: usize = 1;
const SLOT_USER_AGENT: usize = 2;
const SLOT_ACCEPT_ENCODING: usize = 3;
const SLOT_CONNECTION: usize = 4;
const SLOT_CONTENT_TYPE: usize = 5;
const SLOT_CONTENT_LENGTH: usize = 6;
/// Caller headers start at this slot; the final CRLF follows them.
const SLOT_CALLER: usize = 7;

const PARTS: usize = 5;
type Parts<'p> = [&'p [u8]; PARTS];
const NO_PARTS: Parts<'static> = [&[]; PARTS];

/// Streams one request's bytes (head, then body) into caller buffers.
#[derive(Debug, Clone)]
pub struct Encoder<'a> {
    req: Request<'a>,
    /// `:port` when the port is not the scheme's default, else empty.
    port: [u8; 6],
    port_len: u8,
    content_length: [u8; 20],
    content_length_len: u8,
    /// Bit per default slot that the caller's headers replace or [`Request::omit`] leaves out.
    replaced: u8,
    piece: usize,
    offset: usize,
    body_offset: usize,
    written: u64,
    head_len: usize,
}

impl<'a> Encoder<'a> {
    /// Validates `req` and prepares to encode it. Nothing is written on error.
    pub fn new(req: &Request<'a>) -> Result<Self, EncodeError> {
        validate(req)?;
        let mut enc = Encoder {
            req: *req,
            port: [0; 6],
            port_len: 0,
            content_length: [0; 20],
            content_length_len: 0,
            replaced: 0,
            piece: 0,
            offset: 0,
            body_offset: 0,
            written: 0,
            head_len: 0,
        };
        if req.port() != req.scheme.default_port() {
            enc.port[0] = b':';
            let (_, digits) = enc.port.split_at_mut(1);
            let n = format_u64(u64::from(req.port()), digits);
            enc.port_len = u8::try_from(n.saturating_add(1)).unwrap_or(0);
        }
        let body_len = req.body.data().len();
        if body_len > 0 || req.body != Body::None || method_expects_body(req.method) {
            let n = format_u64(body_len as u64, &mut enc.content_length);
            enc.content_length_len = u8::try_from(n).unwrap_or(0);
        }
        for h in req.headers {
            let slot = if h.name.eq_ignore_ascii_case("host") {
                SLOT_HOST
            } else if h.name.eq_ignore_ascii_case("user-agent") {
                SLOT_USER_AGENT
            } else if h.name.eq_ignore_ascii_case("accept-encoding") {
                SLOT_ACCEPT_ENCODING
            } else if h.name.eq_ignore_ascii_case("connection") {
                SLOT_CONNECTION
            } else if h.name.eq_ignore_ascii_case("content-type") {
                SLOT_CONTENT_TYPE
            } else {
                continue;
            };
            enc.replaced |= 1 << slot;
        }
        let omit = req.omit;
        for (left_out, slot) in [
            (omit.user_agent, SLOT_USER_AGENT),
            (omit.accept_encoding, SLOT_ACCEPT_ENCODING),
            (omit.connection, SLOT_CONNECTION),
            (omit.content_type, SLOT_CONTENT_TYPE),
        ] {
            if left_out {
                enc.replaced |= 1 << slot;
            }
        }
        if enc.replaced & (1 << SLOT_USER_AGENT) == 0 {
            check_value(req.user_agent.as_bytes(), Field::UserAgent)?;
            if req.user_agent.trim().is_empty() {
                return Err(EncodeError::Empty {
                    field: Field::UserAgent,
                });
            }
        }
        let mut head_len = 0usize;
        for i in 0..enc.pieces() {
            head_len = head_len.saturating_add(enc.parts(i).iter().map(|p| p.len()).sum());
        }
        enc.head_len = head_len;
        Ok(enc)
    }

    /// The request being encoded.
    pub const fn request(&self) -> &Request<'a> {
        &self.req
    }

    /// Length of the head (request line, headers, blank line) in bytes.
    pub const fn head_len(&self) -> usize {
        self.head_len
    }

    /// Length of head plus body.
    pub const fn total_len(&self) -> usize {
        self.head_len.saturating_add(self.req.body.data().len())
    }

    /// Bytes produced so far. Zero means the request may still be retried on a new connection.
    pub const fn written(&self) -> u64 {
        self.written
    }

    /// Whether the whole head has been produced.
    pub const fn head_done(&self) -> bool {
        self.piece >= self.pieces()
    }

    /// Whether head and body have been produced.
    pub const fn is_done(&self) -> bool {
        self.head_done() && self.body_offset >= self.req.body.data().len()
    }

    /// The part of the body not produced yet. A driver may write it straight from here and then call
    /// [`Encoder::advance_body`], instead of copying it through [`Encoder::poll_output`].
    pub fn remaining_body(&self) -> &'a [u8] {
        if !self.head_done() {
            return self.req.body.data();
        }
        self.req.body.data().get(self.body_offset..).unwrap_or_default()
    }

    /// Marks `n` body bytes from [`Encoder::remaining_body`] as written. Only counts once the head is done.
    pub fn advance_body(&mut self, n: usize) {
        if self.head_done() {
            let n = n.min(self.remaining_body().len());
            self.body_offset = self.body_offset.saturating_add(n);
            self.written = self.written.saturating_add(n as u64);
        }
    }

    /// Writes the whole head into `out` at once, or nothing: `InsufficientSize { required }` when it does
    /// not fit. Only at the start; the body then follows through [`Encoder::poll_output`] or
    /// [`Encoder::remaining_body`].
    pub fn encode_head(&mut self, out: &mut [u8]) -> Result<usize, EncodeError> {
        if self.piece != 0 || self.offset != 0 {
            return Err(EncodeError::AlreadyStarted);
        }
        if out.len() < self.head_len {
            return Err(EncodeError::InsufficientSize {
                required: self.head_len,
            });
        }
        let mut n = 0;
        while !self.head_done() {
            let Some(dst) = out.get_mut(n..) else { break };
            let k = self.step_head(dst);
            n = n.saturating_add(k);
        }
        Ok(n)
    }

    /// Writes as many of the remaining bytes as fit into `out` and returns how many. `Ok(0)` once done;
    /// an empty `out` before then is `InsufficientSize { required: 1 }`.
    pub fn poll_output(&mut self, out: &mut [u8]) -> Result<usize, EncodeError> {
        if self.is_done() {
            return Ok(0);
        }
        if out.is_empty() {
            return Err(EncodeError::InsufficientSize { required: 1 });
        }
        let mut n = 0usize;
        while !self.head_done() {
            let Some(dst) = out.get_mut(n..) else { break };
            if dst.is_empty() {
                break;
            }
            n = n.saturating_add(self.step_head(dst));
        }
        if self.head_done() {
            if let Some(dst) = out.get_mut(n..) {
                let src = self.remaining_body();
                let k = src.len().min(dst.len());
                if let (Some(d), Some(s)) = (dst.get_mut(..k), src.get(..k)) {
                    d.copy_from_slice(s);
                }
                self.advance_body(k);
                n = n.saturating_add(k);
            }
        }
        Ok(n)
    }

    /// Copies from the current head piece into `dst`, advancing; returns bytes copied.
    fn step_head(&mut self, dst: &mut [u8]) -> usize {
        let parts = self.parts(self.piece);
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let k = copy_parts(&parts, self.offset, dst);
        self.offset = self.offset.saturating_add(k);
        self.written = self.written.saturating_add(k as u64);
        if self.offset >= len {
            self.piece = self.piece.saturating_add(1);
            self.offset = 0;
        }
        k
    }

    const fn pieces(&self) -> usize {
        // Slots, caller headers, final CRLF.
        SLOT_CALLER.saturating_add(self.req.headers.len()).saturating_add(1)
    }

    fn parts(&self, piece: usize) -> Parts<'_> {
        let r = &self.req;
        let replaced = |slot: usize| self.replaced & (1 << slot) != 0;
        match piece {
            SLOT_REQUEST_LINE => [
                r.method.as_bytes(),
                b" ",
                r.target.as_bytes(),
                match r.version {
                    Version::Http11 => b" HTTP/1.1\r\n",
                    Version::Http10 => b" HTTP/1.0\r\n",
                },
                &[],
            ],
            SLOT_HOST if !replaced(SLOT_HOST) => {
                let v6 = r.host.contains(':');
                [
                    if v6 { b"Host: [" } else { b"Host: " },
                    r.host.as_bytes(),
                    if v6 { b"]" } else { &[] },
                    self.port.get(..usize::from(self.port_len)).unwrap_or_default(),
                    b"\r\n",
                ]
            }
            SLOT_USER_AGENT if !replaced(SLOT_USER_AGENT) => {
                [b"User-Agent: ", r.user_agent.as_bytes(), b"\r\n", &[], &[]]
            }
            SLOT_ACCEPT_ENCODING if !replaced(SLOT_ACCEPT_ENCODING) => {
                [b"Accept-Encoding: identity\r\n", &[], &[], &[], &[]]
            }
            SLOT_CONNECTION if !replaced(SLOT_CONNECTION) => [
                match r.connection {
                    Connection::KeepAlive => b"Connection: keep-alive\r\n",
                    Connection::Close => b"Connection: close\r\n",
                },
                &[],
                &[],
                &[],
                &[],
            ],
            SLOT_CONTENT_TYPE if !replaced(SLOT_CONTENT_TYPE) => match r.body.content_type() {
                Some(ct) => [b"Content-Type: ", ct.as_bytes(), b"\r\n", &[], &[]],
                None => NO_PARTS,
            },
            SLOT_CONTENT_LENGTH if self.content_length_len > 0 => [
                b"Content-Length: ",
                self.content_length
                    .get(..usize::from(self.content_length_len))
                    .unwrap_or_default(),
                b"\r\n",
                &[],
                &[],
            ],
            p if p >= SLOT_CALLER => match r.headers.get(p.saturating_sub(SLOT_CALLER)) {
                // An empty value is written `Name:`, as curl writes `-H "Name;"`, with no trailing space.
                Some(h) => [
                    h.name.as_bytes(),
                    if h.value.is_empty() { b":" } else { b": " },
                    h.value,
                    b"\r\n",
                    &[],
                ],
                None if p == self.pieces().saturating_sub(1) => [b"\r\n", &[], &[], &[], &[]],
                None => NO_PARTS,
            },
            _ => NO_PARTS,
        }
    }
}

/// Copies `parts` (skipping the first `skip` bytes) into `dst`; returns bytes copied.
fn copy_parts(parts: &[&[u8]], mut skip: usize, dst: &mut [u8]) -> usize {
    let mut n = 0usize;
    for part in parts {
        let Some(src) = part.get(skip..) else {
            skip = skip.saturating_sub(part.len());
            continue;
        };
        skip = 0;
        let Some(d) = dst.get_mut(n..) else { break };
        let k = src.len().min(d.len());
        if let (Some(d), Some(s)) = (d.get_mut(..k), src.get(..k)) {
            d.copy_from_slice(s);
        }
        n = n.saturating_add(k);
        if k < src.len() {
            break;
        }
    }
    n
}

/// Writes `v` in decimal at the start of `out`; returns the digit count (0 if `out` is too small).
fn format_u64(mut v: u64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i = i.saturating_sub(1);
        if let Some(slot) = tmp.get_mut(i) {
            *slot = b'0'.saturating_add((v % 10) as u8);
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    let digits = tmp.get(i..).unwrap_or_default();
    match out.get_mut(..digits.len()) {
        Some(dst) => {
            dst.copy_from_slice(digits);
            digits.len()
        }
        None => 0,
    }
}

/// Methods whose requests carry content, so `Content-Length: 0` is sent even without a body.
fn method_expects_body(method: &str) -> bool {
    ["POST", "PUT", "PATCH"].iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// Checks that every byte of `field` passes `ok`, and (when `non_empty`) that there is one.
fn check_bytes(s: &[u8], field: Field, non_empty: bool, ok: impl Fn(u8) -> bool) -> Result<(), EncodeError> {
    if non_empty && s.is_empty() {
        return Err(EncodeError::Empty { field });
    }
    match syntax::first_invalid(s, ok) {
        Some((position, byte)) => Err(EncodeError::InvalidByte { field, byte, position }),
        None => Ok(()),
    }
}

fn check_token(s: &[u8], field: Field) -> Result<(), EncodeError> {
    check_bytes(s, field, true, syntax::is_tchar)
}

/// Field values: visible bytes, space, tab and obs-text; no CR, LF, NUL or other controls.
fn check_value(s: &[u8], field: Field) -> Result<(), EncodeError> {
    check_bytes(s, field, false, syntax::is_value_byte)
}

fn validate(req: &Request<'_>) -> Result<(), EncodeError> {
    check_token(req.method.as_bytes(), Field::Method)?;
    // Request target: visible ASCII only (no spaces, no controls, no raw non-ASCII).
    check_bytes(req.target.as_bytes(), Field::Target, true, |b| b.is_ascii_graphic())?;
    // Host: reg-name, IPv4 or IPv6 (without brackets) characters.
    check_bytes(req.host.as_bytes(), Field::Host, true, |b| {
        b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:".contains(&b)
    })?;
    if let Body::Bytes { content_type, .. } = req.body {
        check_bytes(content_type.as_bytes(), Field::ContentType, true, |b| {
            b.is_ascii_graphic() || b == b' '
        })?;
    }
    for (index, h) in req.headers.iter().enumerate() {
        check_token(h.name.as_bytes(), Field::HeaderName { index })?;
        check_value(h.value, Field::HeaderValue { index })?;
        if h.name.eq_ignore_ascii_case("content-length") || h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(EncodeError::ReservedHeader { index });
        }
        if h.name.eq_ignore_ascii_case("user-agent") && h.value.iter().all(|b| *b == b' ' || *b == b'\t') {
            return Err(EncodeError::Empty {
                field: Field::HeaderValue { index },
            });
        }
    }
    Ok(())
}

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
                "{field} holds the byte 0x{byte:02x}{} at position {position}, which is not allowed there \
                 (it could inject headers or split the request); remove or percent-encode it",
                byte_name(byte)
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

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Header, Scheme};
    use std::vec::Vec;

    fn all(enc: &mut Encoder<'_>, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        while !enc.is_done() {
            let n = enc.poll_output(&mut buf[..step]).unwrap();
            assert!(n > 0 && n <= step);
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(enc.poll_output(&mut buf).unwrap(), 0);
        out
    }

    #[test]
    fn json_post_has_exact_head() {
        let req = Request::post("api.example.com", "/oauth/token", Body::Json(br#"{"a":1}"#));
        let mut enc = Encoder::new(&req).unwrap();
        let out = all(&mut enc, 256);
        let expected = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: tlspost/{}\r\n\
             Accept-Encoding: identity\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n\
             Content-Length: 7\r\n\r\n{{\"a\":1}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
        assert_eq!(enc.written(), expected.len() as u64);
        assert_eq!(enc.total_len(), expected.len());
    }

    #[test]
    fn every_step_size_gives_the_same_bytes() {
        let long = "v".repeat(150);
        let hdrs = [Header::new("Authorization", "Bearer abc"), Header::new("X-Long", &long)];
        let mut req = Request::post("h.example", "/p?q=1", Body::Form(b"a=1&b=2"));
        req.headers = &hdrs;
        let reference = all(&mut Encoder::new(&req).unwrap(), 256);
        for step in 1..=80 {
            assert_eq!(all(&mut Encoder::new(&req).unwrap(), step), reference, "step {step}");
        }
    }

    #[test]
    fn port_appears_only_when_not_default() {
        let mut req = Request::new("GET", "h", "/");
        req.port = Some(443);
        let out = all(&mut Encoder::new(&req).unwrap(), 64);
        assert!(out.windows(9).any(|w| w == b"Host: h\r\n"));
        req.port = Some(8443);
        let out = all(&mut Encoder::new(&req).unwrap(), 64);
        assert!(out.windows(14).any(|w| w == b"Host: h:8443\r\n"));
        req.scheme = Scheme::Http;
        req.port = Some(80);
        let out = all(&mut Encoder::new(&req).unwrap(), 64);
        assert!(out.windows(9).any(|w| w == b"Host: h\r\n"));
        req.host = "::1";
        req.port = Some(8080);
        let out = all(&mut Encoder::new(&req).unwrap(), 64);
        assert!(
            out.windows(18).any(|w| w == b"Host: [::1]:8080\r\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn get_without_body_has_no_length_post_without_body_has_zero() {
        let out = all(&mut Encoder::new(&Request::new("GET", "h", "/")).unwrap(), 64);
        assert!(!out.windows(15).any(|w| w.eq_ignore_ascii_case(b"content-length:")));
        let out = all(&mut Encoder::new(&Request::post("h", "/", Body::None)).unwrap(), 64);
        assert!(out.windows(19).any(|w| w == b"Content-Length: 0\r\n"));
        assert!(!out.windows(13).any(|w| w == b"Content-Type:"));
    }

    #[test]
    fn caller_headers_replace_defaults() {
        let hdrs = [
            Header::new("user-agent", "MyDevice/2.1"),
            Header::new("Accept-encoding", "*"),
            Header::new("Content-Type", "application/vnd.api+json"),
        ];
        let mut req = Request::post("h", "/", Body::Json(b"{}"));
        req.headers = &hdrs;
        req.version = Version::Http10;
        let out = String::from_utf8(all(&mut Encoder::new(&req).unwrap(), 64)).unwrap();
        assert!(out.starts_with("POST / HTTP/1.0\r\n"));
        assert_eq!(out.matches("ser-Agent").count() + out.matches("ser-agent").count(), 1);
        assert!(!out.contains("identity"));
        assert!(!out.contains("application/json"));
        assert!(out.contains("Accept-encoding: *\r\n"));
    }

    #[test]
    fn omitted_defaults_are_left_out_but_framing_and_host_stay() {
        use crate::request::{NotOmittable, Omit};
        let mut omit = Omit::NONE;
        for name in ["content-type", "User-Agent", "ACCEPT-ENCODING", "Connection"] {
            assert_eq!(omit.field(name), Ok(true), "{name}");
        }
        assert_eq!(omit.field("X-Other"), Ok(false));
        assert_eq!(omit.field("host"), Err(NotOmittable::Host));
        assert_eq!(omit.field("Content-Length"), Err(NotOmittable::Framing));
        assert_eq!(omit.field("transfer-encoding"), Err(NotOmittable::Framing));
        // The Arduino HTTPClient request: its own User-Agent, no Content-Type.
        let hdrs = [Header::new("User-Agent", "ESP32HTTPClient"), Header::new("X-Empty", "")];
        let mut req = Request::post("h", "/", Body::Form(b"{}"));
        req.headers = &hdrs;
        req.omit = Omit {
            content_type: true,
            user_agent: true,
            ..Omit::NONE
        };
        let out = String::from_utf8(all(&mut Encoder::new(&req).unwrap(), 7)).unwrap();
        assert_eq!(
            out,
            "POST / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\
             Content-Length: 2\r\nUser-Agent: ESP32HTTPClient\r\nX-Empty:\r\n\r\n{}"
        );
        // Everything removable gone, and an empty default User-Agent no longer matters.
        req.headers = &[];
        req.user_agent = "";
        req.omit = omit;
        let mut enc = Encoder::new(&req).unwrap();
        let out = String::from_utf8(all(&mut enc, 64)).unwrap();
        assert_eq!(out, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}");
        assert_eq!(enc.total_len(), out.len());
    }

    #[test]
    fn control_bytes_are_refused_naming_the_field() {
        let mut req = Request::new("GET", "h", "/");
        let injected = [Header::new("X-Ok", "fine"), Header::new("X-Evil", "a\r\nInjected: 1")];
        let spaced = [Header::new("X Space", "v")];
        for (headers, field, byte) in [
            (&injected[..], Field::HeaderValue { index: 1 }, b'\r'),
            (&spaced[..], Field::HeaderName { index: 0 }, b' '),
        ] {
            req.headers = headers;
            let position = 1;
            assert_eq!(
                Encoder::new(&req).unwrap_err(),
                EncodeError::InvalidByte { field, byte, position }
            );
        }
        // Which field an invalid byte is reported in (`None`: no such error).
        let invalid_in = |req: &Request<'_>| match Encoder::new(req) {
            Err(EncodeError::InvalidByte { field, .. }) => Some(field),
            _ => None,
        };
        req.headers = &[];
        req.target = "/a b";
        assert_eq!(invalid_in(&req), Some(Field::Target));
        req.target = "/";
        req.method = "GE\0T";
        assert_eq!(invalid_in(&req), Some(Field::Method));
        req.method = "GET";
        req.host = "h\r\nX: y";
        assert_eq!(invalid_in(&req), Some(Field::Host));
        req.host = "h";
        req.user_agent = "";
        assert_eq!(
            Encoder::new(&req).unwrap_err(),
            EncodeError::Empty {
                field: Field::UserAgent
            }
        );
        let te = [Header::new("Transfer-Encoding", "chunked")];
        req.user_agent = "x";
        req.headers = &te;
        assert_eq!(
            Encoder::new(&req).unwrap_err(),
            EncodeError::ReservedHeader { index: 0 }
        );
    }

    #[test]
    fn encode_head_is_all_or_nothing() {
        let req = Request::post("h", "/", Body::Json(b"{}"));
        let mut enc = Encoder::new(&req).unwrap();
        let mut small = [0xAAu8; 32];
        let need = enc.head_len();
        assert_eq!(
            enc.encode_head(&mut small),
            Err(EncodeError::InsufficientSize { required: need })
        );
        assert!(small.iter().all(|&b| b == 0xAA), "buffer must be untouched");
        let mut big = [0u8; 512];
        assert_eq!(enc.encode_head(&mut big), Ok(need));
        assert!(big[..need].ends_with(b"\r\n\r\n"));
        assert_eq!(enc.remaining_body(), b"{}");
        enc.advance_body(2);
        assert!(enc.is_done());
        assert_eq!(enc.poll_output(&mut []), Ok(0));
    }

    #[test]
    fn empty_output_buffer_is_insufficient() {
        let req = Request::new("GET", "h", "/");
        let mut enc = Encoder::new(&req).unwrap();
        assert_eq!(
            enc.poll_output(&mut []),
            Err(EncodeError::InsufficientSize { required: 1 })
        );
        assert_eq!(enc.written(), 0);
    }

    #[test]
    fn format_numbers() {
        let mut b = [0u8; 20];
        for v in [0u64, 7, 10, 65535, u64::MAX] {
            let n = format_u64(v, &mut b);
            assert_eq!(std::str::from_utf8(&b[..n]).unwrap(), v.to_string());
        }
    }
}

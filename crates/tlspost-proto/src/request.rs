//! What to send: method, target, headers and body, borrowed from the caller.

/// The URL scheme, which decides the default port (and, for the driver, whether TLS is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, default port 80.
    Http,
    /// HTTP over TLS, default port 443.
    Https,
}

impl Scheme {
    /// The port used when a URL names none: 80 or 443.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `"http"` or `"https"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The HTTP version written on the request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// `HTTP/1.0`: what hand-written device requests often use; no chunked bodies, no keep-alive by default.
    Http10,
    /// `HTTP/1.1` (the default).
    #[default]
    Http11,
}

/// Whether to ask the server to keep the connection open after this exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connection {
    /// `Connection: keep-alive` (the default).
    #[default]
    KeepAlive,
    /// `Connection: close`: the connection is not reused.
    Close,
}

/// One caller-supplied header field. The value is bytes because HTTP allows opaque octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name; must be an RFC 9110 token.
    pub name: &'a str,
    /// The field value; CR, LF, NUL and other control bytes (except HTAB) are refused.
    pub value: &'a [u8],
}

impl<'a> Header<'a> {
    /// A header from a name and a text value.
    pub const fn new(name: &'a str, value: &'a str) -> Self {
        Header {
            name,
            value: value.as_bytes(),
        }
    }
}

/// The request body, which also decides `Content-Type` and `Content-Length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Body<'a> {
    /// No body: no `Content-Type`; `Content-Length: 0` only for methods that normally carry a body.
    #[default]
    None,
    /// A JSON document: `Content-Type: application/json`.
    Json(&'a [u8]),
    /// A URL-encoded form: `Content-Type: application/x-www-form-urlencoded`.
    Form(&'a [u8]),
    /// Bytes with an explicit content type.
    Bytes {
        /// The `Content-Type` value to send.
        content_type: &'a str,
        /// The body bytes.
        data: &'a [u8],
    },
}

impl<'a> Body<'a> {
    /// The body bytes (empty for [`Body::None`]).
    pub const fn data(&self) -> &'a [u8] {
        match *self {
            Body::None => &[],
            Body::Json(d) | Body::Form(d) => d,
            Body::Bytes { data, .. } => data,
        }
    }

    /// The content type this body kind implies, if any.
    pub const fn content_type(&self) -> Option<&'a str> {
        match *self {
            Body::None => None,
            Body::Json(_) => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
            Body::Bytes { content_type, .. } => Some(content_type),
        }
    }
}

/// A complete request, borrowed from the caller. Build it with [`Request::new`] or [`Request::post`],
/// then adjust the public fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, e.g. `"POST"`; must be a token.
    pub method: &'a str,
    /// The scheme; decides whether `:port` appears in `Host`.
    pub scheme: Scheme,
    /// The host name or IP address (IPv6 without brackets).
    pub host: &'a str,
    /// The port; `None` means the scheme's default.
    pub port: Option<u16>,
    /// The path and query, starting with `/` (or `*` for `OPTIONS`).
    pub target: &'a str,
    /// Headers added after the ones the encoder writes. A caller `User-Agent`, `Content-Type`,
    /// `Accept-Encoding`, `Connection` or `Host` replaces the encoder's own.
    pub headers: &'a [Header<'a>],
    /// Automatic headers to leave out (default: none).
    pub omit: Omit,
    /// The body.
    pub body: Body<'a>,
    /// The HTTP version.
    pub version: Version,
    /// Keep-alive or close.
    pub connection: Connection,
    /// The `User-Agent` to send when the headers hold none; never empty.
    pub user_agent: &'a str,
}

/// Automatic header fields the encoder leaves out of the head, as curl does for `-H "Name:"`.
///
/// Only fields a request can do without: `Host` (every HTTP/1.1 request must carry it, RFC 9112
/// §3.2) and the body's framing (`Content-Length`) cannot be left out. A caller header of the same
/// name is still sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Omit {
    /// Send no `User-Agent` (unless a caller header gives one).
    pub user_agent: bool,
    /// Send no `Accept-Encoding` (without it, a server may pick any content coding).
    pub accept_encoding: bool,
    /// Send no `Connection` (HTTP/1.1 then means keep-alive, HTTP/1.0 close).
    pub connection: bool,
    /// Send no `Content-Type` even with a body.
    pub content_type: bool,
}

/// Why a header field cannot be left out of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotOmittable {
    /// `Host`: every HTTP/1.1 request must carry it (RFC 9112 §3.2).
    Host,
    /// `Content-Length` or `Transfer-Encoding`: they say where the body ends (RFC 9112 §6).
    Framing,
}

impl core::fmt::Display for NotOmittable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NotOmittable::Host => f.write_str(
                "Host cannot be left out: every HTTP/1.1 request must carry it (RFC 9112 §3.2), and servers \
                 answer 400 without it",
            ),
            NotOmittable::Framing => f.write_str(
                "Content-Length and Transfer-Encoding cannot be left out or given: they frame the body, so \
                 they always follow the body actually sent (RFC 9112 §6)",
            ),
        }
    }
}

impl Omit {
    /// Leave nothing out.
    pub const NONE: Omit = Omit {
        user_agent: false,
        accept_encoding: false,
        connection: false,
        content_type: false,
    };

    /// Leaves out the automatic field called `name` (ASCII case-insensitive). `Ok(true)`: it will
    /// be left out; `Ok(false)`: the encoder writes no field of that name, so there is nothing to
    /// leave out; `Err`: the request cannot do without it.
    pub fn field(&mut self, name: &str) -> Result<bool, NotOmittable> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        let flag = if is("host") {
            return Err(NotOmittable::Host);
        } else if is("content-length") || is("transfer-encoding") {
            return Err(NotOmittable::Framing);
        } else if is("user-agent") {
            &mut self.user_agent
        } else if is("accept-encoding") {
            &mut self.accept_encoding
        } else if is("connection") {
            &mut self.connection
        } else if is("content-type") {
            &mut self.content_type
        } else {
            return Ok(false);
        };
        *flag = true;
        Ok(true)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NotOmittable {}

/// The `User-Agent` tlspost sends by default: `tlspost/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("tlspost/", env!("CARGO_PKG_VERSION"));

impl<'a> Request<'a> {
    /// A request with no body over HTTPS to the default port.
    pub const fn new(method: &'a str, host: &'a str, target: &'a str) -> Self {
        Request {
            method,
            scheme: Scheme::Https,
            host,
            port: None,
            target,
            headers: &[],
            omit: Omit::NONE,
            body: Body::None,
            version: Version::Http11,
            connection: Connection::KeepAlive,
            user_agent: DEFAULT_USER_AGENT,
        }
    }

    /// A `POST` with the given body over HTTPS to the default port.
    pub const fn post(host: &'a str, target: &'a str, body: Body<'a>) -> Self {
        let mut r = Request::new("POST", host, target);
        r.body = body;
        r
    }

    /// The effective port: the explicit one or the scheme's default.
    pub const fn port(&self) -> u16 {
        match self.port {
            Some(p) => p,
            None => self.scheme.default_port(),
        }
    }

    /// Whether this is a `HEAD` request (its response has no body).
    pub fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }

    /// The first caller header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
}

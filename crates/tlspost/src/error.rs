//! The host client's errors: one variant per thing a person would fix differently.

use std::fmt;
use std::net::SocketAddr;

use tlspost_proto::Phase;
use tlspost_proto::redirect::RedirectError;
use tlspost_proto::secrets;
use tlspost_proto::url::UrlError;

pub use crate::probe::ConnectFailure;
use crate::probe::{HandshakeError, TlsFailure};

/// Why a URL cannot be used.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    /// The core's URL parser refused it.
    Syntax(UrlError),
    /// Its host is neither a DNS name nor an IP address TLS can use as the server's name.
    NotATlsName,
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlProblem::Syntax(e) => e.fmt(f),
            UrlProblem::NotATlsName => f.write_str("the host is not a valid DNS name or IP address for TLS"),
        }
    }
}

/// Why a redirect was not followed: the core's [`RedirectError`], owned.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectRefusal {
    /// A 301/302/303 would change the method to GET and drop the body.
    MethodWouldChange {
        /// The method of the request redirected.
        from: String,
    },
    /// The redirect goes from `https` to `http`.
    Downgrade,
    /// The redirect goes to another host or port.
    OtherHost {
        /// The new host.
        host: String,
        /// The new effective port.
        port: u16,
    },
    /// The policy's number of redirects was already followed.
    TooManyHops {
        /// The policy's limit.
        max: u8,
    },
    /// A redirect status without a `Location` header.
    MissingLocation,
    /// The `Location` value could not be used.
    BadLocation(UrlError),
    /// A refusal of a newer core this client does not know, with the core's message.
    Other(String),
}

impl RedirectRefusal {
    /// The core's refusal, owned.
    pub fn from_core(e: &RedirectError<'_>) -> RedirectRefusal {
        match *e {
            RedirectError::MethodWouldChange { from, .. } => {
                RedirectRefusal::MethodWouldChange { from: from.to_string() }
            }
            RedirectError::Downgrade { .. } => RedirectRefusal::Downgrade,
            RedirectError::OtherHost { host, port } => RedirectRefusal::OtherHost {
                host: host.to_string(),
                port,
            },
            RedirectError::TooManyHops { max } => RedirectRefusal::TooManyHops { max },
            RedirectError::MissingLocation { .. } => RedirectRefusal::MissingLocation,
            RedirectError::BadLocation(e) => RedirectRefusal::BadLocation(e),
            _ => RedirectRefusal::Other(e.to_string()),
        }
    }

    /// The core's refusal, borrowed back, for a response of `status` (its message is the core's).
    pub fn as_core(&self, status: u16) -> Option<RedirectError<'_>> {
        Some(match self {
            RedirectRefusal::MethodWouldChange { from } => RedirectError::MethodWouldChange { status, from },
            RedirectRefusal::Downgrade => RedirectError::Downgrade { status },
            RedirectRefusal::OtherHost { host, port } => RedirectError::OtherHost { host, port: *port },
            RedirectRefusal::TooManyHops { max } => RedirectError::TooManyHops { max: *max },
            RedirectRefusal::MissingLocation => RedirectError::MissingLocation { status },
            RedirectRefusal::BadLocation(e) => RedirectError::BadLocation(*e),
            RedirectRefusal::Other(_) => return None,
        })
    }
}

/// Any failure of a request made by [`crate::Client`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The URL cannot be used.
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: UrlProblem,
    },
    /// The client setup is unusable (e.g. a CA file without certificates).
    Config(String),
    /// The host name did not resolve.
    Dns {
        /// The host.
        host: String,
        /// The resolver's message.
        detail: String,
    },
    /// TCP connect failed on every address.
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// How it failed.
        failure: ConnectFailure,
        /// The OS message.
        detail: String,
    },
    /// The TLS handshake failed.
    Tls {
        /// The server's host name.
        host: String,
        /// Why, with the chain the server sent (the probe's record of the failed handshake).
        error: Box<HandshakeError>,
    },
    /// A phase's budget ran out.
    Timeout {
        /// The phase.
        phase: Phase,
        /// The budget that ran out, in milliseconds.
        budget_ms: Option<u64>,
    },
    /// The connection failed mid-exchange.
    Io {
        /// The phase.
        phase: Phase,
        /// The OS message.
        detail: String,
        /// Request bytes written before it (non-zero: the server may have acted on the request).
        request_written: u64,
    },
    /// The core refused the request or the response (malformed head, truncated body, ...).
    Http {
        /// The core's error.
        error: tlspost_proto::Error,
        /// Request bytes written before it.
        request_written: u64,
    },
    /// A redirect was not followed.
    Redirect {
        /// The 3xx status.
        status: u16,
        /// Why.
        reason: RedirectRefusal,
    },
    /// The response body is larger than the client's limit; it was not read further.
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The request cannot be sent as given (a byte that would inject a header or split the request
    /// line, an empty or reserved field); found before any connection was made.
    InvalidRequest(tlspost_proto::EncodeError),
    /// The body sink refused the response body (e.g. a full disk or a closed pipe).
    Sink {
        /// The sink's error message.
        detail: String,
    },
}

/// What kind of failure an [`Error`] is, with the facts that tell the fixes apart: what a program
/// matches on for an exit code, a retry or advice of its own.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The request or the client's setup cannot be used as given (a URL, a header, a CA file);
    /// nothing was sent.
    Usage,
    /// The host name did not resolve.
    Dns,
    /// No TCP connection could be opened.
    Connect(ConnectFailure),
    /// The server's certificate was refused (unknown issuer, incomplete chain, name, dates).
    TlsCertificate,
    /// The TLS handshake failed otherwise (an alert, no common protocol version).
    TlsHandshake,
    /// A phase's budget ran out.
    Timeout(Phase),
    /// The exchange broke: the connection was lost, or the response is malformed or truncated.
    Protocol,
    /// A redirect was not followed.
    Redirect,
    /// The response body is larger than the client's limit.
    TooLarge,
    /// The body sink refused the response body.
    Output,
}

impl ErrorClass {
    /// The class's stable name: `usage`, `dns`, `connect`, `tls-certificate`, `tls-handshake`,
    /// `timeout`, `http` (for [`ErrorClass::Protocol`]), `redirect`, `too-large` or `output`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorClass::Usage => "usage",
            ErrorClass::Dns => "dns",
            ErrorClass::Connect(_) => "connect",
            ErrorClass::TlsCertificate => "tls-certificate",
            ErrorClass::TlsHandshake => "tls-handshake",
            ErrorClass::Timeout(_) => "timeout",
            ErrorClass::Protocol => "http",
            ErrorClass::Redirect => "redirect",
            ErrorClass::TooLarge => "too-large",
            ErrorClass::Output => "output",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Error {
    /// What kind of failure this is.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Url { .. } | Error::Config(_) | Error::InvalidRequest(_) => ErrorClass::Usage,
            Error::Dns { .. } => ErrorClass::Dns,
            Error::Connect { failure, .. } => ErrorClass::Connect(*failure),
            Error::Tls { error, .. } if error.is_certificate() => ErrorClass::TlsCertificate,
            Error::Tls { .. } => ErrorClass::TlsHandshake,
            Error::Timeout { phase, .. } => ErrorClass::Timeout(*phase),
            Error::Io { .. } | Error::Http { .. } => ErrorClass::Protocol,
            Error::BodyTooLarge { .. } => ErrorClass::TooLarge,
            Error::Sink { .. } => ErrorClass::Output,
            Error::Redirect { .. } => ErrorClass::Redirect,
        }
    }

    /// Whether sending the request again cannot make a difference (a configuration or trust problem).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Error::Url { .. }
                | Error::Config(_)
                | Error::Tls { .. }
                | Error::Redirect { .. }
                | Error::BodyTooLarge { .. }
                | Error::InvalidRequest(_)
                | Error::Sink { .. }
        )
    }

    /// Request bytes that reached the connection before the failure.
    pub fn request_written(&self) -> u64 {
        match self {
            Error::Io { request_written, .. } | Error::Http { request_written, .. } => *request_written,
            _ => 0,
        }
    }
}

/// A URL as given, with its secrets (user information, `?access_token=…`) masked.
fn masked_url(url: &str) -> String {
    crate::trace::masked(url, secrets::url(url.as_bytes()))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url { url, reason } => write!(f, "cannot use URL {:?}: {reason}", masked_url(url)),
            Error::Config(m) => f.write_str(m),
            Error::Dns { host, detail } => write!(
                f,
                "cannot resolve host {host:?} ({detail}): check the spelling and DNS, or map the name to a \
                 known address"
            ),
            Error::Connect { addr, failure, detail } => match failure {
                ConnectFailure::Refused => write!(
                    f,
                    "connection to {addr} refused: nothing listens on that port; check the port and that the server runs"
                ),
                ConnectFailure::TimedOut => write!(
                    f,
                    "connecting to {addr} timed out: a firewall drops the packets or the host is down; raise \
                     the connect budget only if the network is just slow"
                ),
                ConnectFailure::Unreachable => {
                    write!(
                        f,
                        "{addr} is unreachable ({detail}): check the network route and the address"
                    )
                }
                ConnectFailure::Other => write!(f, "cannot connect to {addr}: {detail}"),
            },
            Error::Tls { host, error } => {
                write!(f, "TLS with {host}: {error}")?;
                match error.failure {
                    TlsFailure::Alert(a) => write!(f, "; {}", a.meaning()),
                    _ => Ok(()),
                }
            }
            Error::Timeout { phase, budget_ms } => {
                write!(f, "timed out during {phase}")?;
                if let Some(ms) = budget_ms {
                    write!(f, " (budget {ms} ms)")?;
                }
                f.write_str("; raise that budget only if the server is known to be that slow")
            }
            Error::Io {
                phase,
                detail,
                request_written,
            } => {
                write!(f, "the connection failed during {phase}: {detail}")?;
                if *request_written > 0 {
                    write!(
                        f,
                        " ({request_written} request byte(s) were sent, so the server may have acted on it; a POST \
                         is not re-sent automatically)"
                    )?;
                }
                Ok(())
            }
            Error::Http { error, request_written } => {
                write!(f, "{error}")?;
                if *request_written > 0
                    && matches!(error, tlspost_proto::Error::Body(_) | tlspost_proto::Error::Head(_))
                {
                    f.write_str(" (the request was sent; a POST is not re-sent automatically)")?;
                }
                Ok(())
            }
            Error::Redirect { status, reason } => match (reason.as_core(*status), reason) {
                (Some(core), _) => write!(f, "redirect {status} not followed: {core}"),
                (None, RedirectRefusal::Other(m)) => write!(f, "redirect {status} not followed: {m}"),
                (None, _) => write!(f, "redirect {status} not followed"),
            },
            Error::BodyTooLarge { limit } => write!(
                f,
                "the response body is larger than the limit of {limit} bytes; it was not read further"
            ),
            Error::InvalidRequest(e) => write!(f, "the request was not sent: {e}"),
            Error::Sink { detail } => write!(f, "writing the response body failed: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

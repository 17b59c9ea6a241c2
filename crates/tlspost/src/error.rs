//! The host client's errors: one variant per thing a person would fix differently.

use std::fmt;
use std::net::SocketAddr;

use tlspost_proto::Phase;
use tlspost_proto::escape::Escaped;
use tlspost_proto::secrets;

use crate::certinfo::CertInfo;
pub use crate::probe::ConnectFailure;

/// Why TLS failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The chain does not lead to a trusted root.
    UnknownIssuer {
        /// The certificates the server sent, leaf first.
        chain: Vec<CertInfo>,
    },
    /// The server sent only its own certificate, without the intermediate that links it to a root.
    IncompleteChain {
        /// The leaf it sent.
        leaf: Option<Box<CertInfo>>,
    },
    /// The certificate is not valid for the host name asked for.
    NotValidForName {
        /// The name the client asked for (and sent as SNI).
        expected: String,
        /// The names the certificate holds.
        names: Vec<String>,
    },
    /// The certificate has expired.
    Expired {
        /// Subject of the leaf.
        subject: String,
        /// End of its validity (UTC).
        not_after: String,
        /// The current time (UTC).
        now: String,
    },
    /// The certificate is not valid yet.
    NotYetValid {
        /// Subject of the leaf.
        subject: String,
        /// Start of its validity (UTC).
        not_before: String,
        /// The current time (UTC).
        now: String,
    },
    /// The server ended the handshake with an alert.
    Alert {
        /// The alert's name, e.g. `unrecognized_name`.
        alert: String,
        /// What it usually means and what to do.
        hint: &'static str,
    },
    /// No protocol version in common.
    ProtocolVersion,
    /// Anything else rustls reported.
    Other(String),
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
        reason: String,
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
        /// Why.
        error: Box<TlsError>,
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
        /// Why, and what to do.
        reason: String,
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

impl TlsError {
    /// Whether the server refused the certificate it was shown rather than the handshake: an unknown
    /// issuer, an incomplete chain, a name it does not hold, dates.
    pub fn is_certificate(&self) -> bool {
        !matches!(
            self,
            TlsError::Alert { .. } | TlsError::ProtocolVersion | TlsError::Other(_)
        )
    }

    /// Whether the server ended the handshake with `unrecognized_name`: it does not serve the name
    /// sent as SNI, or wants one and got none (an IP address in the URL).
    pub fn is_unrecognized_name(&self) -> bool {
        matches!(self, TlsError::Alert { alert, .. } if is_unrecognized_name(alert))
    }
}

fn is_unrecognized_name(alert: &str) -> bool {
    matches!(alert, "unrecognized_name" | "UnrecognisedName" | "UnrecognizedName")
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

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no names".to_string()
    } else {
        names.iter().map(|n| esc(n).to_string()).collect::<Vec<_>>().join(", ")
    }
}

/// Text from the network (a certificate's names, a TLS library's message) safe for a terminal.
fn esc(s: &str) -> Escaped<'_> {
    Escaped(s.as_bytes())
}

/// A URL as given, with its secrets (user information, `?access_token=…`) masked.
fn masked_url(url: &str) -> String {
    crate::trace::masked(url, secrets::url(url.as_bytes()))
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::UnknownIssuer { chain } => {
                f.write_str("the server's certificate chain does not lead to a trusted root (unknown issuer).")?;
                for (i, c) in chain.iter().enumerate() {
                    write!(
                        f,
                        "\n  #{i} subject: {}\n     issuer:  {}",
                        esc(&c.subject),
                        esc(&c.issuer)
                    )?;
                }
                if let Some(last) = chain.last() {
                    write!(
                        f,
                        "\n  Trust the root that issued \"{}\", or check that the pinned roots are the right ones; \
                         never pin the leaf or an intermediate",
                        esc(&last.issuer)
                    )?;
                }
                Ok(())
            }
            TlsError::IncompleteChain { leaf } => {
                f.write_str(
                    "the server sent only its own certificate, without the intermediate that links it to a root",
                )?;
                if let Some(l) = leaf {
                    write!(f, " (leaf {}, issued by {})", esc(&l.subject), esc(&l.issuer))?;
                }
                f.write_str(
                    ": fix the server to send the full chain (e.g. nginx ssl_certificate must hold leaf then intermediates)",
                )
            }
            TlsError::NotValidForName { expected, names } => write!(
                f,
                "the certificate is not valid for \"{}\"; it holds: {}. Use a URL with one of those names \
                 (mapping that name to the server's address if DNS does not), or fix the server's certificate",
                esc(expected),
                list(names)
            ),
            TlsError::Expired {
                subject,
                not_after,
                now,
            } => write!(
                f,
                "the certificate for {} expired at {not_after} UTC (now {now} UTC): the server must renew it; \
                 if the date here is wrong, fix this machine's clock (a device without a clock must set it before TLS)",
                esc(subject)
            ),
            TlsError::NotYetValid {
                subject,
                not_before,
                now,
            } => write!(
                f,
                "the certificate for {} is not valid before {not_before} UTC (now {now} UTC): check this \
                 machine's clock (a device that has not set its time sees 1970)",
                esc(subject)
            ),
            TlsError::Alert { alert, hint } => {
                write!(f, "the server refused the handshake with alert {}: {hint}", esc(alert))
            }
            TlsError::ProtocolVersion => f.write_str(
                "no TLS version in common with the server (this client speaks TLS 1.2 and 1.3): the server is too old \
                 or restricted to versions this client will not use",
            ),
            TlsError::Other(m) => write!(f, "TLS failed: {}", esc(m)),
        }
    }
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
            Error::Tls { host, error } => write!(f, "TLS with {host}: {error}"),
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
            Error::Redirect { status, reason } => write!(f, "redirect {status} not followed: {reason}"),
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
impl std::error::Error for TlsError {}

/// The hint for a TLS alert received from the server.
pub fn alert_hint(alert: &str) -> &'static str {
    match alert {
        a if is_unrecognized_name(a) => {
            "the server does not serve this name: it needs SNI (connect by host name, not by IP address, \
             mapping the name to the address if DNS does not) or the name is wrong"
        }
        "handshake_failure" | "HandshakeFailure" => {
            "no cipher suite, group or signature scheme in common, or the server requires SNI or a client certificate"
        }
        "protocol_version" | "ProtocolVersion" => "no TLS version in common with the server",
        "certificate_required" | "CertificateRequired" => "the server requires a client certificate (mutual TLS)",
        "bad_certificate" | "BadCertificate" | "unknown_ca" | "UnknownCA" => {
            "the server refused a certificate: it expects a client certificate it trusts"
        }
        "internal_error" | "InternalError" => "the server failed internally; look at its logs",
        _ => "look at the server's TLS configuration and logs",
    }
}

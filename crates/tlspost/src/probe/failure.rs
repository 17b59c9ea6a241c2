//! Why a handshake failed, as typed causes with their facts.

use std::fmt;
use std::io;
use std::time::Duration;

use tlspost_proto::date::Style;
use tlspost_proto::escape::Escaped;

use super::Alert;
use crate::certinfo::{CertInfo, utc};

/// Why the server's certificate was refused (only when the handshake verifies).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertProblem {
    /// The chain does not lead to a trusted root.
    UnknownIssuer,
    /// The server sent only its own certificate (not self-signed), without the intermediate that
    /// links it to a root.
    IncompleteChain,
    /// The certificate is not valid for the name asked for.
    NameMismatch {
        /// The name asked for (and sent as SNI when it is a DNS name).
        expected: String,
        /// The DNS names and IP addresses the certificate holds (terminal-safe).
        names: Vec<String>,
    },
    /// The certificate has expired.
    Expired {
        /// End of its validity, Unix seconds.
        not_after: i64,
        /// The time it was checked at, Unix seconds.
        now: i64,
    },
    /// The certificate is not valid yet.
    NotYetValid {
        /// Start of its validity, Unix seconds.
        not_before: i64,
        /// The time it was checked at, Unix seconds.
        now: i64,
    },
    /// The certificate was revoked.
    Revoked,
    /// A signature on the chain does not verify.
    BadSignature,
    /// A signature on the chain uses an algorithm this client does not support.
    UnsupportedSignature,
    /// A certificate on the chain does not allow server authentication (extended key usage).
    NotForServerAuth,
    /// Anything else the verifier reported.
    Other(String),
}

/// Why a TLS handshake failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsFailure {
    /// The server name is neither a DNS name nor an IP address.
    InvalidName,
    /// No progress within the handshake's time limit.
    TimedOut,
    /// The server ended the handshake with an alert.
    Alert(Alert),
    /// The server's certificate was refused.
    Certificate(CertProblem),
    /// No TLS version in common (this client speaks TLS 1.2 and 1.3).
    ProtocolVersion,
    /// The server closed (or reset) the connection during the handshake, without an alert.
    Closed {
        /// Whether it was a reset rather than an orderly close.
        reset: bool,
    },
    /// The server answered with something that is not TLS (e.g. plain HTTP on this port).
    NotTls,
    /// The socket failed otherwise.
    Io {
        /// The OS error kind.
        kind: io::ErrorKind,
        /// The OS message.
        detail: String,
    },
    /// Anything else the TLS library reported.
    Other(String),
}

/// A failed handshake: why, with what the server had sent by then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeError {
    /// Why it failed.
    pub failure: TlsFailure,
    /// The certificates the server sent, DER, in its order (empty when it sent none).
    pub chain: Vec<Vec<u8>>,
    /// The name sent as SNI (`None` for an IP address: no SNI is sent).
    pub sni: Option<String>,
    /// How long the handshake ran before failing.
    pub took: Duration,
}

impl HandshakeError {
    /// The served chain, parsed (certificates that do not parse are left out).
    pub fn certs(&self) -> Vec<CertInfo> {
        CertInfo::from_chain(&self.chain)
    }

    /// Whether the failure is about the certificate (as opposed to the handshake itself).
    pub fn is_certificate(&self) -> bool {
        matches!(self.failure, TlsFailure::Certificate(_))
    }
}

impl TlsFailure {
    /// The failure a rustls error means; `chain` is what the server sent, `name` what was asked for.
    pub(crate) fn from_rustls(e: &rustls::Error, chain: &[Vec<u8>], name: &str) -> TlsFailure {
        use rustls::Error as E;
        match e {
            E::InvalidCertificate(c) => TlsFailure::Certificate(CertProblem::from_rustls(c, chain, name)),
            E::AlertReceived(a) => match Alert::from(*a) {
                Alert::ProtocolVersion => TlsFailure::ProtocolVersion,
                alert => TlsFailure::Alert(alert),
            },
            E::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
                | rustls::PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | rustls::PeerIncompatible::SupportedVersionsExtensionRequired
                | rustls::PeerIncompatible::Tls12NotOffered
                | rustls::PeerIncompatible::Tls12NotOfferedOrEnabled,
            ) => TlsFailure::ProtocolVersion,
            E::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType | rustls::InvalidMessage::UnknownProtocolVersion,
            ) => TlsFailure::NotTls,
            other => TlsFailure::Other(other.to_string()),
        }
    }

    /// The failure an I/O error during the handshake means.
    pub(crate) fn from_io(e: &io::Error) -> TlsFailure {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => TlsFailure::Closed { reset: false },
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
                TlsFailure::Closed { reset: true }
            }
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TlsFailure::TimedOut,
            kind => TlsFailure::Io {
                kind,
                detail: e.to_string(),
            },
        }
    }
}

impl CertProblem {
    fn from_rustls(c: &rustls::CertificateError, chain: &[Vec<u8>], name: &str) -> CertProblem {
        use rustls::CertificateError as C;
        let leaf = chain.first().and_then(|d| CertInfo::from_der(d));
        let secs = |t: &rustls::pki_types::UnixTime| i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
        match c {
            C::UnknownIssuer if chain.len() == 1 && !leaf.as_ref().is_some_and(|l| l.self_signed) => {
                CertProblem::IncompleteChain
            }
            C::UnknownIssuer => CertProblem::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => CertProblem::NameMismatch {
                expected: name.to_string(),
                names: leaf.map(|l| l.sans).unwrap_or_default(),
            },
            // The webpki verifier reports validity with its dates (the unit variants come from
            // other verifiers, and say too little to be typed: they fall to Other).
            C::ExpiredContext { time, not_after } => CertProblem::Expired {
                not_after: secs(not_after),
                now: secs(time),
            },
            C::NotValidYetContext { time, not_before } => CertProblem::NotYetValid {
                not_before: secs(not_before),
                now: secs(time),
            },
            C::Revoked => CertProblem::Revoked,
            C::BadSignature => CertProblem::BadSignature,
            C::UnsupportedSignatureAlgorithmContext { .. }
            | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => CertProblem::UnsupportedSignature,
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => CertProblem::NotForServerAuth,
            other => CertProblem::Other(other.to_string()),
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no names".to_string()
    } else {
        names.join(", ")
    }
}

impl fmt::Display for CertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertProblem::UnknownIssuer => f.write_str(
                "the certificate chain does not lead to a trusted root (unknown issuer): trust the root that \
                 issued the top of the chain, never the leaf or an intermediate",
            ),
            CertProblem::IncompleteChain => f.write_str(
                "the server sent only its own certificate, without the intermediate that links it to a root: the \
                 server must send the full chain (e.g. nginx's ssl_certificate file holds the leaf, then each \
                 intermediate)",
            ),
            CertProblem::NameMismatch { expected, names } => write!(
                f,
                "the certificate is not valid for \"{}\"; it holds: {}. Ask for one of those names, or fix the \
                 server's certificate",
                Escaped(expected.as_bytes()),
                list(names)
            ),
            CertProblem::Expired { not_after, now } => write!(
                f,
                "the certificate expired at {} UTC (now {} UTC): the server must renew it; if the date here is \
                 wrong, fix this machine's clock",
                utc(*not_after, Style::Spaced),
                utc(*now, Style::Spaced)
            ),
            CertProblem::NotYetValid { not_before, now } => write!(
                f,
                "the certificate is not valid before {} UTC (now {} UTC): check this machine's clock (a device \
                 that has not set its time sees 1970)",
                utc(*not_before, Style::Spaced),
                utc(*now, Style::Spaced)
            ),
            CertProblem::Revoked => f.write_str("the certificate was revoked: the server needs a new one"),
            CertProblem::BadSignature => f.write_str("a signature on the certificate chain does not verify"),
            CertProblem::UnsupportedSignature => {
                f.write_str("a signature on the certificate chain uses an algorithm this client does not support")
            }
            CertProblem::NotForServerAuth => {
                f.write_str("a certificate on the chain does not allow server authentication (extended key usage)")
            }
            CertProblem::Other(m) => write!(f, "the certificate was refused: {}", Escaped(m.as_bytes())),
        }
    }
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::InvalidName => f.write_str("the name is not a valid DNS name or IP address for TLS"),
            TlsFailure::TimedOut => f.write_str("the handshake did not complete in time"),
            TlsFailure::Alert(a) => write!(f, "the server refused the handshake with alert {a}"),
            TlsFailure::Certificate(p) => p.fmt(f),
            TlsFailure::ProtocolVersion => f.write_str(
                "no TLS version in common with the server (this client speaks TLS 1.2 and 1.3): the server is too \
                 old or restricted to versions this client will not use",
            ),
            TlsFailure::Closed { reset } => write!(
                f,
                "the server {} the connection during the handshake: it may require SNI, or not speak TLS on \
                 this port",
                if *reset { "reset" } else { "closed" }
            ),
            TlsFailure::NotTls => f.write_str(
                "the server answered with something that is not TLS: the port may serve plain HTTP or another \
                 protocol",
            ),
            TlsFailure::Io { detail, .. } => write!(f, "the connection failed during the handshake: {detail}"),
            TlsFailure::Other(m) => write!(f, "TLS failed: {}", Escaped(m.as_bytes())),
        }
    }
}

/// The failure, then what the server had sent that tells the fixes apart: for an unknown issuer
/// each certificate's subject and issuer (the root to trust issued the last), for an incomplete
/// chain or dates the leaf.
impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.failure.fmt(f)?;
        if self.sni.is_none() && matches!(self.failure, TlsFailure::Alert(_) | TlsFailure::Closed { .. }) {
            f.write_str(" (no SNI was sent: the name is an IP address)")?;
        }
        let TlsFailure::Certificate(problem) = &self.failure else {
            return Ok(());
        };
        let certs = self.certs();
        let esc = |s: &str| Escaped(s.as_bytes()).to_string();
        match (problem, certs.first()) {
            (CertProblem::UnknownIssuer, _) => {
                f.write_str("; the server sent:")?;
                for (i, c) in certs.iter().enumerate() {
                    write!(
                        f,
                        "\n  #{i} subject: {}\n     issuer:  {}",
                        esc(&c.subject),
                        esc(&c.issuer)
                    )?;
                }
                if let Some(top) = certs.last() {
                    write!(
                        f,
                        "\n  the root to trust is the one that issued \"{}\"",
                        esc(&top.issuer)
                    )?;
                }
                Ok(())
            }
            (
                CertProblem::IncompleteChain | CertProblem::Expired { .. } | CertProblem::NotYetValid { .. },
                Some(leaf),
            ) => write!(f, " (leaf {}, issued by {})", esc(&leaf.subject), esc(&leaf.issuer)),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for TlsFailure {}
impl std::error::Error for HandshakeError {}

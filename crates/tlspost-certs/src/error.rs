//! The errors of `tlspost-certs`: each says what failed and what to do about it.

use std::fmt;
use std::path::PathBuf;

use tlspost::probe::{Alert, TlsFailure};

/// What went wrong while fetching, reading, analysing or emitting certificates.
#[derive(Debug)]
#[non_exhaustive]
pub enum CertsError {
    /// A `HOST[:PORT]` target or a `HOST:PORT:ADDR` override could not be understood.
    BadTarget {
        /// The argument as given.
        given: String,
        /// Why it was rejected.
        why: &'static str,
    },
    /// The host name did not resolve to any address.
    Resolve {
        /// The name looked up.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// No TCP connection could be made to any address of the host.
    Unreachable {
        /// `host:port` as asked.
        target: String,
        /// Every address tried with its error.
        tried: Vec<(std::net::SocketAddr, std::io::Error)>,
    },
    /// The TLS handshake failed.
    Handshake {
        /// `host:port` as asked.
        target: String,
        /// The SNI name sent, or `None` when none was sent (an IP address).
        sni: Option<String>,
        /// Why, typed (an alert, a closed connection, no TLS on the port, ...).
        failure: tlspost::probe::TlsFailure,
    },
    /// The server completed a handshake without sending any certificate.
    NoCertificates {
        /// `host:port` as asked.
        target: String,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file holds no certificate, or a PEM block is broken.
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A certificate's DER could not be parsed.
    BadCertificate {
        /// Where it came from (file or `host:port`) and its position, from 1.
        origin: String,
        /// The parser's message.
        why: String,
    },
    /// No root verifies the chain, so there is nothing to recommend or emit.
    NoTrustedRoot {
        /// What the server sends and what is missing, in words.
        explanation: String,
    },
    /// DER holds one certificate, and more roots were given to emit.
    DerHoldsOne {
        /// How many roots were given.
        roots: usize,
    },
    /// The name for an emitted C array is not a C identifier.
    NotAnIdentifier {
        /// The name given.
        name: String,
    },
    /// The output format cannot hold what was asked.
    Format {
        /// What is wrong and what to do.
        why: String,
    },
}

impl fmt::Display for CertsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadTarget { given, why } if given.is_empty() => write!(f, "nothing to do: {why}"),
            Self::BadTarget { given, why } => write!(f, "cannot use {given:?}: {why}"),
            Self::Resolve { host, source } => write!(
                f,
                "cannot resolve {host}: {source}; check the name, or give its address"
            ),
            Self::Unreachable { target, tried } => {
                write!(f, "cannot connect to {target}:")?;
                for (addr, e) in tried {
                    write!(f, " {addr}: {e};")?;
                }
                write!(f, " check the port, a firewall, or the address given")
            }
            Self::Handshake { target, sni, failure } => {
                write!(f, "TLS handshake with {target} failed: {failure}")?;
                match (sni, self.sni_refused()) {
                    (None, _) => write!(
                        f,
                        "; no SNI was sent (the name is an IP address): servers behind CDNs need it"
                    ),
                    (Some(name), true) => write!(
                        f,
                        "; the server refused the SNI name {name:?}: it does not serve that name or it does not support SNI"
                    ),
                    (Some(_), false) => Ok(()),
                }
            }
            Self::NoCertificates { target } => write!(
                f,
                "{target} completed a handshake without a certificate (raw public key or PSK?): there is no chain to pin"
            ),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Pem { path, why } => write!(f, "{}: {why}", path.display()),
            Self::BadCertificate { origin, why } => {
                write!(f, "certificate {origin} cannot be parsed: {why}")
            }
            Self::NoTrustedRoot { explanation } => write!(
                f,
                "{explanation}. Add the root to the candidate roots (for a private CA), or fix the server's chain \
                 (send the leaf, then each intermediate up to the root)."
            ),
            Self::DerHoldsOne { roots } => write!(
                f,
                "der holds one certificate but {roots} roots are chosen: emit one of them, or use pem"
            ),
            Self::NotAnIdentifier { name } => write!(
                f,
                "{name:?} is not a C identifier (letters, digits, _; not starting with a digit)"
            ),
            Self::Format { why } => f.write_str(why),
        }
    }
}

impl CertsError {
    /// Whether the server refused the handshake in a way that says it does not serve the SNI name
    /// sent (an `unrecognized_name`, `handshake_failure` or `internal_error` alert).
    pub fn sni_refused(&self) -> bool {
        matches!(
            self,
            Self::Handshake {
                sni: Some(_),
                failure: TlsFailure::Alert(Alert::UnrecognizedName | Alert::HandshakeFailure | Alert::InternalError),
                ..
            }
        )
    }

    /// Whether the command line or an input is at fault (a target, a file, a format), rather than
    /// a server or the chain it sends.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Self::BadTarget { .. }
                | Self::Io { .. }
                | Self::Pem { .. }
                | Self::Format { .. }
                | Self::DerHoldsOne { .. }
                | Self::NotAnIdentifier { .. }
        )
    }
}

impl std::error::Error for CertsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Resolve { source, .. } | Self::Io { source, .. } => Some(source),
            Self::Handshake { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

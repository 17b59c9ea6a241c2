//! What [`crate::post`] hands back: a response ([`Report`]) or the failure that ended it ([`Failed`]).

use core::fmt;

use tlspost::driver::DriverError;
use tlspost_device::embedded_tls::TlsError;
use tlspost_device::{ConnectError, VerifyError};
use tlspost_proto::Phase;
use tlspost_proto::retry::GiveUpReason;

/// Milliseconds spent in each phase of the last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    /// DNS and TCP connect.
    pub connect: u64,
    /// The TLS handshake, certificate checks included.
    pub tls: u64,
    /// Writing the request.
    pub send: u64,
    /// From the request written to the first response byte (the server's think time).
    pub first_byte: u64,
    /// The rest of the response.
    pub body: u64,
    /// From the start of the connect to the end of the response.
    pub total: u64,
}

impl fmt::Display for Timings {
    /// `connect 12, tls 1480, send 3, first-byte 40, body 1, total 1536` (milliseconds).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}, {} {}, {} {}, {} {}, {} {}, {} {}",
            Phase::Connect.name(),
            self.connect,
            Phase::Handshake.name(),
            self.tls,
            Phase::Send.name(),
            self.send,
            Phase::FirstByte.name(),
            self.first_byte,
            Phase::Body.name(),
            self.body,
            Phase::Total.name(),
            self.total
        )
    }
}

/// A complete response: the exchange ran to its end (whatever the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The final status code.
    pub status: u16,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// The last attempt's timings.
    pub timings: Timings,
    /// Request bytes written in the last attempt.
    pub request_written: u64,
    /// Decoded response body bytes.
    pub body_len: u64,
    /// Of those, how many were kept (and printed).
    pub kept: usize,
    /// The status is one that a retry might fix (408, 429, 502, 503, 504) but it was not retried
    /// (again): why.
    pub not_retried: Option<GiveUpReason>,
}

/// Why an attempt failed before a complete response.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error<N> {
    /// The pinned roots do not parse (a build problem: never retried).
    Roots(VerifyError),
    /// No TCP connection (DNS, refused, unreachable, no link): the board's reason.
    Connect(N),
    /// The TLS handshake failed or the server was refused (a refusal is never retried).
    Tls(ConnectError),
    /// The HTTP exchange failed.
    Exchange(DriverError<TlsError>),
}

impl<N: fmt::Display> fmt::Display for Error<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Roots(e) => write!(f, "the pinned roots are unusable: {e}"),
            Error::Connect(e) => write!(f, "no connection: {e}"),
            Error::Tls(e) => fmt::Display::fmt(e, f),
            Error::Exchange(e) => write!(f, "the HTTP exchange failed: {e}"),
        }
    }
}

/// The failure [`crate::post`] ended with: the last attempt's error, how many attempts were made,
/// and why no further one was.
#[derive(Debug)]
pub struct Failed<N> {
    /// The last attempt's error.
    pub error: Error<N>,
    /// Attempts made.
    pub attempts: u32,
    /// Why the retry policy stopped; `None` when the error is one no retry can fix (a refused
    /// certificate, unusable roots, a request that does not encode).
    pub gave_up: Option<GiveUpReason>,
}

impl<N: fmt::Display> fmt::Display for Failed<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (attempts: {})", self.error, self.attempts)?;
        match &self.gave_up {
            Some(why) => write!(f, "; {why}"),
            None => f.write_str("; not retried: trying again cannot change this"),
        }
    }
}

//! The error of one exchange: [`Error`] gathers each layer's own error, which lives with the
//! module that raises it ([`EncodeError`] in `encode`, [`HeadError`] in `head`, [`BodyError`] in
//! `chunked`), so this module only looks down at them. Each `Display` says what failed and what to
//! do about it.

use core::fmt;

pub use crate::chunked::BodyError;
use crate::deadline::Phase;
pub use crate::encode::{EncodeError, Field};
pub use crate::head::{HeadError, Malformed};

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
impl std::error::Error for Error {}

//! Which roots to trust: [`crate::probe`]'s [`Trust`], where the client and the probes take it from.

use crate::error::Error;
pub use crate::probe::{Trust, TrustError};

impl From<TrustError> for Error {
    fn from(e: TrustError) -> Error {
        Error::Config(e.to_string())
    }
}

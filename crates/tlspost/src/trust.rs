//! Which roots to trust: [`crate::probe`]'s [`Trust`], where the client and the probes take it from.

use std::sync::Arc;

use rustls::ClientConfig;

use crate::error::Error;
use crate::probe::TlsSetup;
pub use crate::probe::{Trust, TrustError};

impl From<TrustError> for Error {
    fn from(e: TrustError) -> Error {
        Error::Config(e.to_string())
    }
}

/// Bridge while the client moves onto [`TlsSetup`]: the setup, under its old name.
pub type SeenChain = TlsSetup;

/// Bridge while the client moves onto [`TlsSetup::verifying`]: its configuration and the setup.
pub(crate) fn client_config(trust: &Trust) -> Result<(Arc<ClientConfig>, SeenChain), Error> {
    let setup = TlsSetup::verifying(trust, &[b"http/1.1"])?;
    Ok((setup.config(), setup))
}

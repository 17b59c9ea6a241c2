//! The embedded-tls `CryptoProvider` that plugs in [`PinnedVerifier`] and the caller's RNG.

use embedded_tls::{CryptoProvider, CryptoRngCore, TlsCipherSuite, TlsError, TlsVerifier};

use crate::verifier::PinnedVerifier;

/// A `CryptoProvider` for embedded-tls: the caller's random number generator plus a
/// [`PinnedVerifier`]. Pass it as `&mut provider` to `TlsContext::new` so that
/// [`DeviceProvider::last_error`] can be read after a refused handshake.
pub struct DeviceProvider<'r, CipherSuite: TlsCipherSuite, Rng> {
    rng: Rng,
    verifier: PinnedVerifier<'r, CipherSuite>,
}

impl<'r, CipherSuite: TlsCipherSuite, Rng: CryptoRngCore> DeviceProvider<'r, CipherSuite, Rng> {
    /// A provider with the given RNG (a hardware TRNG on the device) and verifier.
    pub fn new(rng: Rng, verifier: PinnedVerifier<'r, CipherSuite>) -> Self {
        Self { rng, verifier }
    }

    /// The verifier, e.g. to update its time after SNTP.
    pub fn verifier_mut(&mut self) -> &mut PinnedVerifier<'r, CipherSuite> {
        &mut self.verifier
    }

    /// Why the last handshake's certificate was refused, if it was.
    pub fn last_error(&self) -> Option<crate::VerifyError> {
        self.verifier.last_error()
    }
}

impl<CipherSuite: TlsCipherSuite, Rng: CryptoRngCore> CryptoProvider for DeviceProvider<'_, CipherSuite, Rng> {
    type CipherSuite = CipherSuite;
    type Signature = p256::ecdsa::DerSignature;

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Self::CipherSuite>, TlsError> {
        Ok(&mut self.verifier)
    }
}

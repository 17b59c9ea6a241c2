//! rustls' `ServerCertVerifier` on this crate's checks: the same path to a pinned root, SAN match,
//! validity and ECDSA signatures as [`crate::PinnedVerifier`], with the precise [`VerifyError`]
//! kept for the caller.

use core::fmt;

use alloc::sync::Arc;
use pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

use crate::VerifyError;
use crate::spki;
use crate::verifier::{self, MAX_CHAIN};

/// The refusal of the last handshake, shared between the verifier (inside rustls' configuration)
/// and the connection that reports it.
pub(crate) type Refusal = Arc<spin::Mutex<Option<VerifyError>>>;

/// Pinned roots checked by [`crate::verifier`]'s one chain check; the time is rustls' (the
/// configuration's clock, set by the caller from the device clock).
pub(crate) struct RustlsVerifier {
    roots: &'static [&'static [u8]],
    refusal: Refusal,
}

impl RustlsVerifier {
    pub(crate) fn new(roots: &'static [&'static [u8]], refusal: Refusal) -> Self {
        Self { roots, refusal }
    }

    fn refuse(&self, e: VerifyError) -> Error {
        *self.refusal.lock() = Some(e);
        Error::InvalidCertificate(match e {
            VerifyError::UnknownIssuer => CertificateError::UnknownIssuer,
            VerifyError::NotValidForName | VerifyError::WildcardTooBroad => CertificateError::NotValidForName,
            VerifyError::Expired { .. } => CertificateError::Expired,
            VerifyError::NotYetValid { .. } => CertificateError::NotValidYet,
            VerifyError::BadSignature => CertificateError::BadSignature,
            VerifyError::BadEncoding { .. } | VerifyError::Malformed => CertificateError::BadEncoding,
            _ => CertificateError::ApplicationVerificationFailure,
        })
    }

    fn signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> Result<HandshakeSignatureValid, Error> {
        let leaf = spki::leaf_key(cert.as_ref()).ok_or(VerifyError::BadEncoding { position: 0 });
        let checked = leaf.and_then(|leaf| {
            verifier::handshake_signature(&leaf, u16::from(dss.scheme), tls13, message, dss.signature())
        });
        checked
            .map(|()| HandshakeSignatureValid::assertion())
            .map_err(|e| self.refuse(e))
    }
}

impl fmt::Debug for RustlsVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RustlsVerifier({} pinned roots)", self.roots.len())
    }
}

impl ServerCertVerifier for RustlsVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        *self.refusal.lock() = None;
        let mut ders = heapless::Vec::<CertificateDer<'_>, MAX_CHAIN>::new();
        let all = core::iter::once(end_entity).chain(intermediates);
        for der in all {
            ders.push(CertificateDer::from(der.as_ref()))
                .map_err(|_| self.refuse(VerifyError::PathTooComplex))?;
        }
        verifier::check_served(self.roots, now.as_secs(), server_name, &ders)
            .map(|_| ServerCertVerified::assertion())
            .map_err(|e| self.refuse(e))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.signature(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.signature(message, cert, dss, true)
    }

    /// ECDSA is what is verified. The RSA schemes are offered as well, as the embedded-tls path
    /// does: an RSA-only server then presents its certificate and is refused with
    /// [`VerifyError::UnsupportedKey`] instead of ending the handshake with an anonymous alert.
    fn supported_verify_schemes(&self) -> alloc::vec::Vec<SignatureScheme> {
        alloc::vec![
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PKCS1_SHA384,
        ]
    }
}

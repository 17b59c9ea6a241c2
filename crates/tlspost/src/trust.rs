//! Which roots to trust, and the rustls client configuration built from them.
//!
//! Pinned roots are the only anchors when given; otherwise Mozilla's roots; the system's bundle on
//! request. Accepting any certificate exists for debugging only and must be asked for by name.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;

/// Where trust comes from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Trust {
    /// Mozilla's root program (the `webpki-root-certs` crate), as browsers trust.
    #[default]
    Mozilla,
    /// Only these roots (DER). What a device should do: pin roots, never leaves or intermediates.
    Pinned(Vec<CertificateDer<'static>>),
    /// The system's bundle (`SSL_CERT_FILE`, else the Debian/Fedora/Alpine bundle paths).
    System,
    /// Accept any certificate. Debugging only: anyone on the path can read and change the traffic.
    InsecureAcceptAnyCertificate,
}

impl Trust {
    /// Pinned roots from PEM text (one or more `CERTIFICATE` blocks).
    pub fn pinned_pem(pem: &[u8]) -> Result<Trust, Error> {
        let certs = pem_certs(pem, "the PEM text")?;
        Ok(Trust::Pinned(certs))
    }

    /// Pinned roots from PEM files (each may hold several certificates).
    pub fn pinned_files<P: AsRef<Path>>(paths: &[P]) -> Result<Trust, Error> {
        let mut all = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let data =
                std::fs::read(p).map_err(|e| Error::Config(format!("cannot read CA file {}: {e}", p.display())))?;
            all.extend(pem_certs(&data, &p.display().to_string())?);
        }
        Ok(Trust::Pinned(all))
    }
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut out = Vec::new();
    for c in CertificateDer::pem_slice_iter(pem) {
        out.push(c.map_err(|e| Error::Config(format!("{what}: bad PEM certificate: {e}")))?);
    }
    if out.is_empty() {
        return Err(Error::Config(format!(
            "{what} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)"
        )));
    }
    Ok(out)
}

const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

fn roots(trust: &Trust) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    let (certs, what): (Vec<CertificateDer<'static>>, String) = match trust {
        Trust::Mozilla => (
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec(),
            "Mozilla roots".into(),
        ),
        Trust::Pinned(c) => (c.clone(), "pinned roots".into()),
        Trust::System => {
            let path = std::env::var_os("SSL_CERT_FILE")
                .map(std::path::PathBuf::from)
                .or_else(|| SYSTEM_BUNDLES.iter().map(std::path::PathBuf::from).find(|p| p.exists()))
                .ok_or_else(|| {
                    Error::Config(
                        "no system CA bundle found (install ca-certificates or set SSL_CERT_FILE)".to_string(),
                    )
                })?;
            let data =
                std::fs::read(&path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
            let what = path.display().to_string();
            (pem_certs(&data, &what)?, what)
        }
        Trust::InsecureAcceptAnyCertificate => return Ok(store),
    };
    let (added, _ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(Error::Config(format!(
            "none of the {what} is a usable trust anchor (is it a certificate?)"
        )));
    }
    Ok(store)
}

/// The certificates the server sent in the last handshake, kept even when verification fails.
pub type SeenChain = Arc<Mutex<Vec<CertificateDer<'static>>>>;

/// Verifies with webpki (or not at all, when insecure) and remembers what the server sent.
#[derive(Debug)]
pub(crate) struct Recording {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    pub(crate) seen: SeenChain,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.clear();
            seen.push(end_entity.clone().into_owned());
            seen.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        match &self.inner {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Builds the client configuration: ring, TLS 1.2 and 1.3, ALPN `http/1.1`, in-memory session
/// resumption (tickets and IDs). Returns the configuration and the handle on the seen chain.
pub(crate) fn client_config(trust: &Trust) -> Result<(Arc<ClientConfig>, SeenChain), Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = match trust {
        Trust::InsecureAcceptAnyCertificate => None,
        t => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots(t)?), provider.clone())
                .build()
                .map_err(|e| Error::Config(format!("cannot build the certificate verifier: {e}")))?,
        ),
    };
    let seen: SeenChain = Arc::default();
    let verifier = Arc::new(Recording {
        inner,
        provider: provider.clone(),
        seen: seen.clone(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), seen))
}

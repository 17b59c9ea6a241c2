//! Which roots to trust.
//!
//! Pinned roots are the only anchors when given; otherwise Mozilla's roots; the system's bundle on
//! request. Accepting any certificate exists for debugging only and must be asked for by name.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

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
    pub fn pinned_pem(pem: &[u8]) -> Result<Trust, TrustError> {
        let certs = pem_certs(pem, "the PEM text")?;
        Ok(Trust::Pinned(certs))
    }

    /// Pinned roots from PEM files (each may hold several certificates).
    pub fn pinned_files<P: AsRef<Path>>(paths: &[P]) -> Result<Trust, TrustError> {
        let mut all = Vec::new();
        for p in paths {
            all.extend(file_certs(p.as_ref())?);
        }
        Ok(Trust::Pinned(all))
    }
}

/// Why the trust anchors cannot be used.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustError {
    /// No system CA bundle exists at the usual paths and `SSL_CERT_FILE` is not set.
    NoSystemBundle,
    /// A CA file cannot be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The OS message.
        detail: String,
    },
    /// A PEM block is broken.
    BadPem {
        /// The file or text.
        what: String,
        /// The parser's message.
        detail: String,
    },
    /// The file or text holds no `CERTIFICATE` block.
    NoCertificate {
        /// The file or text.
        what: String,
    },
    /// None of the certificates is a usable trust anchor.
    NoUsableAnchor {
        /// Which roots.
        what: String,
    },
    /// The TLS library refused the setup.
    Verifier(String),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::NoSystemBundle => {
                f.write_str("no system CA bundle found (install ca-certificates or set SSL_CERT_FILE)")
            }
            TrustError::Read { path, detail } => write!(f, "cannot read CA file {}: {detail}", path.display()),
            TrustError::BadPem { what, detail } => write!(f, "{what}: bad PEM certificate: {detail}"),
            TrustError::NoCertificate { what } => write!(
                f,
                "{what} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)"
            ),
            TrustError::NoUsableAnchor { what } => {
                write!(f, "none of the {what} is a usable trust anchor (is it a certificate?)")
            }
            TrustError::Verifier(m) => write!(f, "cannot set up TLS: {m}"),
        }
    }
}

impl std::error::Error for TrustError {}

fn file_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let data = std::fs::read(path).map_err(|e| TrustError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    pem_certs(&data, &path.display().to_string())
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let out = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TrustError::BadPem {
            what: what.to_string(),
            detail: e.to_string(),
        })?;
    if out.is_empty() {
        return Err(TrustError::NoCertificate { what: what.to_string() });
    }
    Ok(out)
}

const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// The root store `trust` means (empty for [`Trust::InsecureAcceptAnyCertificate`]).
pub(super) fn roots(trust: &Trust) -> Result<RootCertStore, TrustError> {
    let mut store = RootCertStore::empty();
    let (certs, what): (Vec<CertificateDer<'static>>, String) = match trust {
        Trust::Mozilla => (
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec(),
            "Mozilla roots".into(),
        ),
        Trust::Pinned(c) => (c.clone(), "pinned roots".into()),
        Trust::System => {
            let path = std::env::var_os("SSL_CERT_FILE")
                .map(PathBuf::from)
                .or_else(|| SYSTEM_BUNDLES.iter().map(PathBuf::from).find(|p| p.exists()))
                .ok_or(TrustError::NoSystemBundle)?;
            (file_certs(&path)?, path.display().to_string())
        }
        Trust::InsecureAcceptAnyCertificate => return Ok(store),
    };
    let (added, _ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TrustError::NoUsableAnchor { what });
    }
    Ok(store)
}

//! Candidate trust anchors: Mozilla's root store plus roots from files.

use std::path::Path;

use crate::{CertInfo, CertsError};

/// Where a candidate root came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootSource {
    /// Mozilla's root store as shipped in `webpki-root-certs`.
    Mozilla,
    /// A file of candidate (or pinned) roots, by its path as given.
    File(String),
}

impl std::fmt::Display for RootSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Mozilla => f.write_str("Mozilla root store"),
            Self::File(p) => write!(f, "{p}"),
        }
    }
}

/// A candidate root with its origin.
#[derive(Clone, Debug)]
pub struct Root {
    /// The root certificate.
    pub cert: CertInfo,
    /// Where it came from.
    pub source: RootSource,
}

/// The set of roots that paths may end at.
#[derive(Clone, Debug, Default)]
pub struct RootStore {
    /// The roots; a certificate appears once even when given twice.
    pub roots: Vec<Root>,
}

impl RootStore {
    /// An empty store.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Mozilla's roots.
    pub fn mozilla() -> Self {
        let mut store = Self::empty();
        for (i, der) in webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().enumerate() {
            // The shipped store parses (a unit test checks it); skip rather than fail if one ever does not.
            if let Ok(cert) = CertInfo::parse(der.as_ref(), &format!("Mozilla root #{}", i + 1)) {
                store.push(Root {
                    cert,
                    source: RootSource::Mozilla,
                });
            }
        }
        store
    }

    /// Adds every certificate of a PEM or DER file.
    pub fn add_file(&mut self, path: &Path) -> Result<usize, CertsError> {
        let ders = crate::pem::read_certs(path)?;
        let name = path.display().to_string();
        let n = ders.len();
        for (i, der) in ders.iter().enumerate() {
            let cert = CertInfo::parse(der, &format!("{name} #{}", i + 1))?;
            self.push(Root {
                cert,
                source: RootSource::File(name.clone()),
            });
        }
        Ok(n)
    }

    /// Adds one root unless the same certificate is already there.
    pub fn push(&mut self, root: Root) {
        if !self.roots.iter().any(|r| r.cert.der == root.cert.der) {
            self.roots.push(root);
        }
    }

    /// Roots whose subject is `issuer_der`.
    pub fn by_subject<'a>(&'a self, issuer_der: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
        self.roots
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.cert.subject_der == issuer_der)
            .map(|(i, _)| i)
    }
}

//! Verification of a served chain against explicit trust anchors, with rustls-webpki.
//!
//! Each candidate root is tried as the *only* trust anchor: if the chain verifies, the path found
//! ends at that root. That yields every root a chain can be pinned to, one path per root.

use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::CertInfo;

/// A successful verification: the served certificates used, leaf first (indices into the chain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Indices into the served chain, leaf (0) first, in path order.
    pub served: Vec<usize>,
}

/// Why a chain does not verify to a root, or a leaf is not valid for a name (webpki's reason, typed).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyFailure {
    /// No certificate was served.
    EmptyChain,
    /// The leaf cannot be parsed as an end-entity certificate.
    LeafUnusable(String),
    /// A root cannot be used as a trust anchor.
    RootUnusable {
        /// The root's subject.
        root: String,
    },
    /// The name is neither a DNS name nor an IP address.
    NotAName(String),
    /// A certificate on the path has expired.
    Expired,
    /// A certificate on the path is not valid yet.
    NotValidYet,
    /// No path to the root (unknown issuer).
    UnknownIssuer,
    /// A signature on the path does not verify.
    BadSignature,
    /// The leaf is not valid for the name.
    NotValidForName,
    /// The first certificate is a CA.
    CaAsLeaf,
    /// A server certificate is used as an issuer.
    LeafAsCa,
    /// A CA's path length constraint is exceeded.
    PathLength,
    /// A CA's name constraints forbid the name.
    NameConstraints,
    /// A certificate on the path does not allow server authentication.
    NotForServerAuth,
    /// Anything else webpki reported.
    Other(String),
}

impl From<&webpki::Error> for VerifyFailure {
    fn from(e: &webpki::Error) -> Self {
        use webpki::Error as E;
        match e {
            E::CertExpired { .. } => Self::Expired,
            E::CertNotValidYet { .. } => Self::NotValidYet,
            E::UnknownIssuer => Self::UnknownIssuer,
            E::InvalidSignatureForPublicKey => Self::BadSignature,
            E::CertNotValidForName(_) => Self::NotValidForName,
            E::CaUsedAsEndEntity => Self::CaAsLeaf,
            E::EndEntityUsedAsCa => Self::LeafAsCa,
            E::PathLenConstraintViolated => Self::PathLength,
            E::NameConstraintViolation => Self::NameConstraints,
            E::RequiredEkuNotFoundContext(_) => Self::NotForServerAuth,
            other => Self::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmptyChain => f.write_str("the chain is empty"),
            Self::LeafUnusable(e) => write!(f, "the leaf cannot be used as an end-entity certificate: {e}"),
            Self::RootUnusable { root } => write!(f, "root {root:?} is not usable"),
            Self::NotAName(name) => write!(f, "{name:?} is not a DNS name or IP address"),
            Self::Expired => f.write_str("a certificate on the path has expired"),
            Self::NotValidYet => f.write_str("a certificate on the path is not valid yet"),
            Self::UnknownIssuer => f.write_str("no path to this root (unknown issuer)"),
            Self::BadSignature => f.write_str("a signature on the path does not verify"),
            Self::NotValidForName => f.write_str("the leaf is not valid for the name"),
            Self::CaAsLeaf => f.write_str("the first certificate is a CA, not a server certificate"),
            Self::LeafAsCa => f.write_str("a server certificate is used as an issuer"),
            Self::PathLength => f.write_str("a CA's path length constraint is exceeded"),
            Self::NameConstraints => f.write_str("a CA's name constraints forbid this name"),
            Self::NotForServerAuth => {
                f.write_str("a certificate on the path does not allow server authentication (EKU)")
            }
            Self::Other(m) => f.write_str(m),
        }
    }
}

fn algs() -> &'static [&'static dyn rustls::pki_types::SignatureVerificationAlgorithm] {
    rustls::crypto::ring::default_provider()
        .signature_verification_algorithms
        .all
}

fn unix(now: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)))
}

/// Verifies `chain` (leaf first, then whatever else was sent) for server authentication at time
/// `now` with `anchors` as the trust anchors. Returns the path or webpki's reason.
pub fn verify_with(chain: &[CertInfo], anchors: &[&CertInfo], now: i64) -> Result<Verified, VerifyFailure> {
    let Some(leaf) = chain.first() else {
        return Err(VerifyFailure::EmptyChain);
    };
    let leaf_der = CertificateDer::from(leaf.der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| VerifyFailure::LeafUnusable(e.to_string()))?;
    let inters: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.der.as_slice()))
        .collect();
    let anchor_ders: Vec<CertificateDer<'_>> = anchors.iter().map(|c| CertificateDer::from(c.der.as_slice())).collect();
    let mut tas = Vec::with_capacity(anchor_ders.len());
    for (der, info) in anchor_ders.iter().zip(anchors) {
        match webpki::anchor_from_trusted_cert(der) {
            Ok(ta) => tas.push(ta),
            Err(_) => {
                return Err(VerifyFailure::RootUnusable {
                    root: info.subject.clone(),
                });
            }
        }
    }
    let path = ee
        .verify_for_usage(
            algs(),
            &tas,
            &inters,
            unix(now),
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| VerifyFailure::from(&e))?;
    let mut served = vec![0];
    for cert in path.intermediate_certificates() {
        let der = cert.der();
        if let Some(i) = chain.iter().position(|c| c.der.as_slice() == der.as_ref()) {
            served.push(i);
        }
    }
    Ok(Verified { served })
}

/// Whether the leaf is valid for `name` (DNS name or IP address), by webpki's rules.
pub fn valid_for_name(leaf: &CertInfo, name: &str) -> Result<(), VerifyFailure> {
    let der = CertificateDer::from(leaf.der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&der).map_err(|e| VerifyFailure::LeafUnusable(e.to_string()))?;
    let sn = ServerName::try_from(name).map_err(|_| VerifyFailure::NotAName(name.to_string()))?;
    ee.verify_is_valid_for_subject_name(&sn)
        .map_err(|e| VerifyFailure::from(&e))
}

//! A certificate's key type and signature algorithm, as a verifier sees them (parsed once, by
//! [`tlspost::certinfo::CertInfo`]).

use tlspost::certinfo::CertInfo;
pub use tlspost::certinfo::{KeyType, SigAlg};

/// One served certificate's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CertKind {
    pub key: KeyType,
    pub signature: SigAlg,
    /// Subject equals issuer: a root, whose own signature no verifier checks.
    pub self_issued: bool,
}

/// The key type and signature algorithm of a DER certificate; `None` if it does not parse.
pub(crate) fn kind(der: &[u8]) -> Option<CertKind> {
    let c = CertInfo::from_der(der)?;
    Some(CertKind {
        key: c.key_type,
        signature: c.sig_alg,
        self_issued: c.subject_der == c.issuer_der,
    })
}

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
pub fn verify_with(chain: &[CertInfo], anchors: &[&CertInfo], now: i64) -> Result<Verified, String> {
    let Some(leaf) = chain.first() else {
        return Err("the chain is empty".into());
    };
    let leaf_der = CertificateDer::from(leaf.der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| format!("the leaf cannot be used as an end-entity certificate: {e}"))?;
    let inters: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.der.as_slice()))
        .collect();
    let anchor_ders: Vec<CertificateDer<'_>> = anchors.iter().map(|c| CertificateDer::from(c.der.as_slice())).collect();
    let mut tas = Vec::with_capacity(anchor_ders.len());
    for (der, info) in anchor_ders.iter().zip(anchors) {
        match webpki::anchor_from_trusted_cert(der) {
            Ok(ta) => tas.push(ta),
            Err(e) => return Err(format!("root {:?} is not usable: {e}", info.subject)),
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
        .map_err(|e| describe(&e))?;
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
pub fn valid_for_name(leaf: &CertInfo, name: &str) -> Result<(), String> {
    let der = CertificateDer::from(leaf.der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&der).map_err(|e| format!("the leaf cannot be parsed: {e}"))?;
    let sn = ServerName::try_from(name).map_err(|_| format!("{name:?} is not a DNS name or IP address"))?;
    ee.verify_is_valid_for_subject_name(&sn).map_err(|e| describe(&e))
}

fn describe(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => "a certificate on the path has expired".into(),
        E::CertNotValidYet { .. } => "a certificate on the path is not valid yet".into(),
        E::UnknownIssuer => "no path to this root (unknown issuer)".into(),
        E::InvalidSignatureForPublicKey => "a signature on the path does not verify".into(),
        E::CertNotValidForName(_) => "the leaf is not valid for the name".into(),
        E::CaUsedAsEndEntity => "the first certificate is a CA, not a server certificate".into(),
        E::EndEntityUsedAsCa => "a server certificate is used as an issuer".into(),
        E::PathLenConstraintViolated => "a CA's path length constraint is exceeded".into(),
        E::NameConstraintViolation => "a CA's name constraints forbid this name".into(),
        E::RequiredEkuNotFoundContext(_) => {
            "a certificate on the path does not allow server authentication (EKU)".into()
        }
        other => format!("{other}"),
    }
}

//! A certificate's key type and signature algorithm, as a verifier sees them.

use std::fmt;

use x509_parser::prelude::{FromDer, X509Certificate};

/// A certificate's public key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA (any size).
    Rsa,
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// ECDSA on P-521.
    EcdsaP521,
    /// Ed25519.
    Ed25519,
    /// Anything else.
    Other,
}

/// A certificate's signature algorithm (the issuer's signature over it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigAlg {
    /// RSA PKCS#1 v1.5 (any hash).
    RsaPkcs1,
    /// RSASSA-PSS.
    RsaPss,
    /// ECDSA with SHA-256.
    EcdsaSha256,
    /// ECDSA with SHA-384.
    EcdsaSha384,
    /// ECDSA with SHA-512.
    EcdsaSha512,
    /// Ed25519.
    Ed25519,
    /// Anything else.
    Other,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Rsa => "RSA",
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::EcdsaP384 => "ECDSA P-384",
            KeyType::EcdsaP521 => "ECDSA P-521",
            KeyType::Ed25519 => "Ed25519",
            KeyType::Other => "another key type",
        })
    }
}

impl fmt::Display for SigAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SigAlg::RsaPkcs1 => "RSA PKCS#1 v1.5",
            SigAlg::RsaPss => "RSASSA-PSS",
            SigAlg::EcdsaSha256 => "ECDSA with SHA-256",
            SigAlg::EcdsaSha384 => "ECDSA with SHA-384",
            SigAlg::EcdsaSha512 => "ECDSA with SHA-512",
            SigAlg::Ed25519 => "Ed25519",
            SigAlg::Other => "another signature algorithm",
        })
    }
}

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
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let spki = &cert.tbs_certificate.subject_pki;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    let key = match (spki.algorithm.algorithm.to_id_string().as_str(), curve.as_deref()) {
        ("1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10", _) => KeyType::Rsa,
        ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => KeyType::EcdsaP256,
        ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => KeyType::EcdsaP384,
        ("1.2.840.10045.2.1", Some("1.3.132.0.35")) => KeyType::EcdsaP521,
        ("1.3.101.112", _) => KeyType::Ed25519,
        _ => KeyType::Other,
    };
    let signature = match cert.signature_algorithm.algorithm.to_id_string().as_str() {
        // sha1/sha256/sha384/sha512 WithRSAEncryption.
        "1.2.840.113549.1.1.5" | "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.12" | "1.2.840.113549.1.1.13" => {
            SigAlg::RsaPkcs1
        }
        "1.2.840.113549.1.1.10" => SigAlg::RsaPss,
        "1.2.840.10045.4.3.2" => SigAlg::EcdsaSha256,
        "1.2.840.10045.4.3.3" => SigAlg::EcdsaSha384,
        "1.2.840.10045.4.3.4" => SigAlg::EcdsaSha512,
        "1.3.101.112" => SigAlg::Ed25519,
        _ => SigAlg::Other,
    };
    Some(CertKind {
        key,
        signature,
        self_issued: cert.tbs_certificate.subject.as_raw() == cert.tbs_certificate.issuer.as_raw(),
    })
}

//! One certificate, parsed once into the facts a person needs: to decide what to trust or pin, to
//! understand a refused handshake, to read a trace.
//!
//! Every string taken from a certificate (subject, issuer, names) comes from whoever made it, and
//! a server sends it: it is made safe for a terminal here, once, as it is read ([`terminal_safe`]),
//! so no report, message or generated comment that quotes it can carry an escape sequence, a bare
//! `\r` or an injected line.

use std::fmt;

use base64::Engine as _;
use tlspost_proto::date::{DateTime, Style};
use x509_parser::prelude::*;

/// The facts of one certificate, owned (no borrow of the DER).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The certificate's DER.
    pub der: Vec<u8>,
    /// The subject as text (`CN=…, O=…`), terminal-safe ([`terminal_safe`]).
    pub subject: String,
    /// The issuer as text, terminal-safe.
    pub issuer: String,
    /// The subject Name's DER, as compared by path building and stored in an ESP-IDF bundle.
    pub subject_der: Vec<u8>,
    /// The issuer Name's DER.
    pub issuer_der: Vec<u8>,
    /// The SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// DNS names and IP addresses from subjectAltName, terminal-safe.
    pub sans: Vec<String>,
    /// Key type and size as text, e.g. `ECDSA P-256` or `RSA 2048` (from [`CertInfo::key_type`]
    /// and [`CertInfo::key_bits`]; an unknown algorithm by its name or OID).
    pub key: String,
    /// The key's algorithm, with its curve for ECDSA.
    pub key_type: KeyType,
    /// The key's size in bits, for RSA.
    pub key_bits: Option<usize>,
    /// Signature algorithm as its registered short name, e.g. `ecdsa-with-SHA256`.
    pub signature: String,
    /// The signature algorithm, typed.
    pub sig_alg: SigAlg,
    /// Serial number as hex.
    pub serial: String,
    /// notBefore as seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter as seconds since the Unix epoch.
    pub not_after: i64,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// SHA-256 of the DER.
    pub sha256: [u8; 32],
    /// SHA-256 of the SubjectPublicKeyInfo (the HPKP-style "SPKI pin").
    pub spki_sha256: [u8; 32],
    /// Subject equals issuer and the certificate's signature verifies with its own key.
    pub self_signed: bool,
}

/// A certificate's public key type.
#[non_exhaustive]
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
    /// Ed448.
    Ed448,
    /// Anything else.
    Other,
}

/// A certificate's signature algorithm (the issuer's signature over it).
#[non_exhaustive]
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
            KeyType::Ed448 => "Ed448",
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

/// A certificate's DER that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadCertificate {
    /// Where it came from (a file or `host:port`) and its position, from 1.
    pub origin: String,
    /// The parser's message.
    pub why: String,
}

impl fmt::Display for BadCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "certificate {} cannot be parsed: {}", self.origin, self.why)
    }
}

impl std::error::Error for BadCertificate {}

impl CertInfo {
    /// Parses a DER certificate; `origin` names it in errors (a file or `host:port #2`).
    pub fn parse(der: &[u8], origin: &str) -> Result<Self, BadCertificate> {
        let bad = |why: String| BadCertificate {
            origin: origin.to_string(),
            why,
        };
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad(format!("{} bytes follow the certificate", rest.len())));
        }
        let tbs = &cert.tbs_certificate;
        let key_type = key_type(&tbs.subject_pki);
        let key_bits = key_bits(&tbs.subject_pki, key_type);
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                match name {
                    GeneralName::DNSName(n) => sans.push(terminal_safe(n)),
                    GeneralName::IPAddress(ip) => sans.push(ip_text(ip)),
                    _ => {}
                }
            }
        }
        let (is_ca, path_len) = match cert.basic_constraints() {
            Ok(Some(bc)) => (bc.value.ca, bc.value.path_len_constraint),
            _ => (false, None),
        };
        let self_issued = tbs.subject.as_raw() == tbs.issuer.as_raw();
        // A signature algorithm ring cannot check (e.g. ECDSA P-521) leaves a self-issued root self-signed.
        let self_signed =
            self_issued && !matches!(cert.verify_signature(None), Err(X509Error::SignatureVerificationError));
        Ok(Self {
            der: der.to_vec(),
            subject: name_text(&tbs.subject),
            issuer: name_text(&tbs.issuer),
            subject_der: tbs.subject.as_raw().to_vec(),
            issuer_der: tbs.issuer.as_raw().to_vec(),
            spki_der: tbs.subject_pki.raw.to_vec(),
            sans,
            key: key_text(&tbs.subject_pki, key_type, key_bits),
            key_type,
            key_bits,
            signature: oid_text(&cert.signature_algorithm.algorithm),
            sig_alg: sig_alg(&cert.signature_algorithm.algorithm),
            serial: tbs.raw_serial_as_string(),
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            is_ca,
            path_len,
            sha256: sha256(der),
            spki_sha256: sha256(tbs.subject_pki.raw),
            self_signed,
        })
    }

    /// A served chain (DER, in the server's order), parsed; certificates that do not parse are
    /// left out.
    pub fn from_chain(chain: &[Vec<u8>]) -> Vec<Self> {
        chain.iter().filter_map(|d| Self::from_der(d)).collect()
    }

    /// Parses a DER certificate a server sent; `None` when it is not one.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        Self::parse(der, "served").ok()
    }

    /// Whole days from `now` (Unix seconds) to notAfter; negative once expired.
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }

    /// notAfter as `YYYY-MM-DD` (UTC).
    pub fn not_after_date(&self) -> String {
        utc(self.not_after, Style::Date)
    }

    /// notBefore as `YYYY-MM-DD` (UTC).
    pub fn not_before_date(&self) -> String {
        utc(self.not_before, Style::Date)
    }

    /// notAfter as `YYYY-MM-DD HH:MM:SS` (UTC).
    pub fn not_after_utc(&self) -> String {
        utc(self.not_after, Style::Spaced)
    }

    /// notBefore as `YYYY-MM-DD HH:MM:SS` (UTC).
    pub fn not_before_utc(&self) -> String {
        utc(self.not_before, Style::Spaced)
    }

    /// SHA-256 fingerprint as colon-separated upper-case hex, as browsers and openssl print it.
    pub fn fingerprint(&self) -> String {
        let hex: Vec<String> = self.sha256.iter().map(|b| format!("{b:02X}")).collect();
        hex.join(":")
    }

    /// The SPKI pin: base64 of the SHA-256 of the SubjectPublicKeyInfo.
    pub fn spki_pin(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.spki_sha256)
    }

    /// The subject's common name, or the whole subject when it has none; terminal-safe.
    pub fn short_name(&self) -> String {
        let Ok((_, cert)) = X509Certificate::from_der(&self.der) else {
            return self.subject.clone();
        };
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok().map(terminal_safe));
        cn.unwrap_or_else(|| self.subject.clone())
    }

    /// Whether `self` was issued by `issuer`: names match and the signature verifies with its key.
    pub fn is_signed_by(&self, issuer: &CertInfo) -> bool {
        if self.issuer_der != issuer.subject_der {
            return false;
        }
        let (Ok((_, child)), Ok((_, parent))) = (
            X509Certificate::from_der(&self.der),
            X509Certificate::from_der(&issuer.der),
        ) else {
            return false;
        };
        !matches!(
            child.verify_signature(Some(parent.public_key())),
            Err(X509Error::SignatureVerificationError)
        )
    }

    /// Same subject and same key: the same CA, whichever certificate carries it.
    pub fn same_ca(&self, other: &CertInfo) -> bool {
        self.subject_der == other.subject_der && self.spki_der == other.spki_der
    }

    /// Whether `name` (a DNS name or IP address) is among the SANs (wildcards one label deep).
    pub fn matches_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.sans.iter().any(|san| {
            let san = san.to_ascii_lowercase();
            match san.strip_prefix("*.") {
                Some(base) => name
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == base),
                None => san == name,
            }
        })
    }
}

impl fmt::Display for CertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "subject: {}; issuer: {}; valid {} to {} UTC",
            self.subject,
            self.issuer,
            self.not_before_utc(),
            self.not_after_utc()
        )?;
        if !self.sans.is_empty() {
            write!(f, "; names: {}", self.sans.join(", "))?;
        }
        Ok(())
    }
}

/// This machine's clock in seconds since the Unix epoch (0 if it reads before 1970).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix seconds as UTC text in `style`.
pub fn utc(unix: i64, style: Style) -> String {
    DateTime::from_unix(unix).show(style).to_string()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn name_text(name: &X509Name<'_>) -> String {
    let text = name.to_string();
    if text.is_empty() {
        "(empty name)".into()
    } else {
        terminal_safe(&text)
    }
}

/// Text from a certificate as it may be printed: printable text as it is, every control
/// character (ESC, CR, LF, NUL, C1), bidirectional override and line separator as an escape
/// (`\x1b`, `\r`, `\n`), by the rule of [`tlspost_proto::escape::Escaped`]. Ordinary names
/// (`CN=api.example.com, O=Example`, `*.example.com`, `José`) are unchanged.
pub fn terminal_safe(text: &str) -> String {
    tlspost_proto::escape::Escaped(text.as_bytes()).to_string()
}

fn oid_text(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    match x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry()) {
        Ok(sn) => sn.to_string(),
        Err(_) => oid.to_id_string(),
    }
}

const RSA: &str = "1.2.840.113549.1.1.1";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// The key's algorithm and curve (RFC 5480 for the ECDSA curves, RFC 8410 for EdDSA).
fn key_type(spki: &SubjectPublicKeyInfo<'_>) -> KeyType {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    match (spki.algorithm.algorithm.to_id_string().as_str(), curve.as_deref()) {
        (RSA | RSA_PSS, _) => KeyType::Rsa,
        (EC_PUBLIC_KEY, Some("1.2.840.10045.3.1.7")) => KeyType::EcdsaP256,
        (EC_PUBLIC_KEY, Some("1.3.132.0.34")) => KeyType::EcdsaP384,
        (EC_PUBLIC_KEY, Some("1.3.132.0.35")) => KeyType::EcdsaP521,
        ("1.3.101.112", _) => KeyType::Ed25519,
        ("1.3.101.113", _) => KeyType::Ed448,
        _ => KeyType::Other,
    }
}

/// An RSA key's modulus size in bits.
fn key_bits(spki: &SubjectPublicKeyInfo<'_>, key_type: KeyType) -> Option<usize> {
    match (key_type, spki.parsed()) {
        (KeyType::Rsa, Ok(k)) => Some(k.key_size()),
        _ => None,
    }
}

fn key_text(spki: &SubjectPublicKeyInfo<'_>, key_type: KeyType, bits: Option<usize>) -> String {
    match (key_type, bits) {
        (KeyType::Rsa, Some(bits)) => format!("RSA {bits}"),
        (KeyType::Other, _) if spki.algorithm.algorithm.to_id_string() == EC_PUBLIC_KEY => {
            match spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()) {
                Some(curve) => format!("ECDSA curve {}", curve.to_id_string()),
                None => "ECDSA".into(),
            }
        }
        (KeyType::Other, _) => oid_text(&spki.algorithm.algorithm),
        (known, _) => known.to_string(),
    }
}

/// The signature algorithm (RFC 4055, RFC 5758, RFC 8410).
fn sig_alg(oid: &x509_parser::der_parser::oid::Oid<'_>) -> SigAlg {
    match oid.to_id_string().as_str() {
        // sha1/sha256/sha384/sha512 WithRSAEncryption.
        "1.2.840.113549.1.1.5" | "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.12" | "1.2.840.113549.1.1.13" => {
            SigAlg::RsaPkcs1
        }
        RSA_PSS => SigAlg::RsaPss,
        "1.2.840.10045.4.3.2" => SigAlg::EcdsaSha256,
        "1.2.840.10045.4.3.3" => SigAlg::EcdsaSha384,
        "1.2.840.10045.4.3.4" => SigAlg::EcdsaSha512,
        "1.3.101.112" => SigAlg::Ed25519,
        _ => SigAlg::Other,
    }
}

fn ip_text(raw: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(raw) {
        std::net::Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(raw) {
        std::net::Ipv6Addr::from(v6).to_string()
    } else {
        format!("IP({} bytes)", raw.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_text_is_terminal_safe() {
        assert_eq!(
            terminal_safe("CN=api.example.com, O=José"),
            "CN=api.example.com, O=José"
        );
        assert_eq!(terminal_safe("evil\x1b[31m\ncn\r\0"), "evil\\x1b[31m\\ncn\\r\\x00");
        assert_eq!(terminal_safe("a\u{202e}b\u{9b}"), "a\\xe2\\x80\\xaeb\\xc2\\x9b");
    }

    #[test]
    fn mozilla_roots_parse() {
        for (i, der) in webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().enumerate() {
            let info = match CertInfo::parse(der.as_ref(), &format!("mozilla #{i}")) {
                Ok(info) => info,
                Err(e) => panic!("{e}"),
            };
            assert!(info.self_signed, "{} is not self-signed", info.subject);
            assert!(info.is_ca, "{} is not a CA", info.subject);
            assert!(info.not_after > info.not_before, "{}", info.subject);
            // Mozilla's roots are RSA (with its size) or ECDSA on a NIST curve, with a known signature.
            match info.key_type {
                KeyType::Rsa => assert_eq!(
                    info.key,
                    format!("RSA {}", info.key_bits.unwrap_or(0)),
                    "{}",
                    info.subject
                ),
                KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => {
                    assert_eq!(info.key, info.key_type.to_string());
                }
                other => panic!("{}: {other:?}", info.subject),
            }
            assert_ne!(info.sig_alg, SigAlg::Other, "{}: {}", info.subject, info.signature);
        }
    }

    #[test]
    fn dates_read_in_utc() {
        let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref();
        let Some(c) = CertInfo::from_der(der) else {
            panic!("the first Mozilla root parses")
        };
        assert_eq!(c.not_after_utc().get(..10), Some(c.not_after_date().as_str()));
        assert_eq!(utc(951_782_400, Style::Spaced), "2000-02-29 00:00:00");
        assert_eq!(utc(-1, Style::Date), "1969-12-31");
        assert!(CertInfo::from_der(b"not a certificate").is_none());
    }
}

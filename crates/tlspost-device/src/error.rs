//! Why a server's certificate was refused, in words a person can act on.

use core::fmt;

/// The public-key type found in a server's end-entity certificate.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on P-256 (secp256r1).
    EcdsaP256,
    /// ECDSA on P-384 (secp384r1).
    EcdsaP384,
    /// RSA (rsaEncryption or RSASSA-PSS).
    Rsa,
    /// Ed25519.
    Ed25519,
    /// Any other algorithm or curve.
    Other,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ECDSA P-256",
            KeyKind::EcdsaP384 => "ECDSA P-384",
            KeyKind::Rsa => "RSA",
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Other => "an unrecognised algorithm",
        }
    }
}

/// Why the device refused the server's certificate (or could not start checking it).
///
/// embedded-tls only lets a verifier answer with its own coarse `TlsError`; the precise reason is
/// kept here and read back with [`crate::PinnedVerifier::last_error`] or returned by
/// [`crate::connect`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// No host name was configured, so the certificate cannot be matched to anything.
    NoServerName,
    /// The configured host name is neither a DNS name nor an IP address.
    InvalidServerName,
    /// No pinned roots were given.
    NoRoots,
    /// A pinned root (by index in the list) could not be parsed as an X.509 certificate.
    BadRoot {
        /// Index of the root in the list given to the verifier.
        index: usize,
    },
    /// More pinned roots than the verifier has room for.
    TooManyRoots {
        /// How many were given.
        given: usize,
        /// The limit ([`crate::MAX_ROOTS`]).
        max: usize,
    },
    /// The server sent an empty Certificate message.
    EmptyChain,
    /// The server sent a raw public key instead of an X.509 certificate.
    RawPublicKey,
    /// A certificate the server sent (by position, 0 = leaf) is not valid DER X.509.
    BadEncoding {
        /// Position in the server's Certificate message.
        position: usize,
    },
    /// No path from the server's certificate leads to a pinned root.
    UnknownIssuer,
    /// The certificate's subjectAltName entries do not cover the host name (the CN is never used).
    NotValidForName,
    /// The host name only matched a wildcard directly under a top-level label (`*.com`).
    WildcardTooBroad,
    /// A certificate on the path had expired at the supplied time.
    Expired {
        /// The time the check was made for (seconds since 1970, UTC).
        now: u64,
        /// The certificate's notAfter (seconds since 1970, UTC).
        not_after: u64,
    },
    /// A certificate on the path is not valid yet at the supplied time.
    NotYetValid {
        /// The time the check was made for (seconds since 1970, UTC).
        now: u64,
        /// The certificate's notBefore (seconds since 1970, UTC).
        not_before: u64,
    },
    /// A signature on the chain, or the server's CertificateVerify, does not verify.
    BadSignature,
    /// A certificate on the path is signed with an algorithm this build cannot verify (RSA).
    UnsupportedSignatureAlgorithm,
    /// The server's own key is of a type this build cannot use.
    UnsupportedKey {
        /// The key type found in the leaf certificate.
        kind: KeyKind,
    },
    /// The server signed the handshake with a scheme that does not fit its key, or that is not
    /// ECDSA P-256/SHA-256 or P-384/SHA-384.
    UnsupportedScheme {
        /// The TLS SignatureScheme code point.
        scheme: u16,
    },
    /// A CA certificate was sent as the server's own certificate.
    CaUsedAsEndEntity,
    /// A certificate without the CA flag (basicConstraints) was used as an issuer.
    EndEntityUsedAsCa,
    /// An issuer's pathLenConstraint is exceeded by the path.
    PathLenConstraintViolated,
    /// The leaf's extendedKeyUsage does not allow TLS server authentication.
    NotForServerAuth,
    /// Path building gave up (too many certificates or candidate paths).
    PathTooComplex,
    /// The server sent CertificateVerify before any Certificate.
    OutOfOrder,
    /// The certificate is structurally invalid in a way not listed above (bad extension, bad
    /// name constraint, bad validity encoding ...).
    Malformed,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VerifyError::NoServerName => f.write_str(
                "no server name configured: set it with TlsConfig::with_server_name (it is also sent as SNI)",
            ),
            VerifyError::InvalidServerName => f.write_str(
                "the configured server name is not a valid DNS name or IP address; fix the host in the URL",
            ),
            VerifyError::NoRoots => {
                f.write_str("no pinned roots: compile in at least one root (see `tlspost certs`)")
            }
            VerifyError::BadRoot { index } => write!(
                f,
                "pinned root #{index} is not a DER X.509 certificate; regenerate it with `tlspost certs --format der`"
            ),
            VerifyError::TooManyRoots { given, max } => write!(
                f,
                "{given} pinned roots given but at most {max} fit; pin fewer roots"
            ),
            VerifyError::EmptyChain => f.write_str(
                "the server sent an empty Certificate message; check the certificate configured on the server",
            ),
            VerifyError::RawPublicKey => f.write_str(
                "the server sent a raw public key instead of an X.509 certificate; this is not supported",
            ),
            VerifyError::BadEncoding { position } => write!(
                f,
                "certificate #{position} sent by the server (0 = leaf) is not valid DER X.509"
            ),
            VerifyError::UnknownIssuer => f.write_str(
                "unknown issuer: no path from the server's certificate reaches a pinned root; run `tlspost certs <host>` and pin the root it recommends",
            ),
            VerifyError::NotValidForName => f.write_str(
                "certificate not valid for this host name: no subjectAltName matches (the CN is not used); check the host in the URL",
            ),
            VerifyError::WildcardTooBroad => f.write_str(
                "the host name only matches a wildcard under a top-level label (like *.com); refused",
            ),
            VerifyError::Expired { now, not_after } => {
                f.write_str("certificate expired: notAfter ")?;
                write_utc(f, not_after)?;
                f.write_str(" is before the device's time ")?;
                write_utc(f, now)?;
                f.write_str("; if the device clock is wrong, set it (SNTP) before connecting")
            }
            VerifyError::NotYetValid { now, not_before } => {
                f.write_str("certificate not valid yet: notBefore ")?;
                write_utc(f, not_before)?;
                f.write_str(" is after the device's time ")?;
                write_utc(f, now)?;
                f.write_str("; the device clock is probably behind: set it (SNTP) before connecting")
            }
            VerifyError::BadSignature => f.write_str(
                "bad signature: a certificate does not verify under its issuer's key (e.g. it claims a pinned root's name but another key signed it), or the server's handshake signature is wrong",
            ),
            VerifyError::UnsupportedSignatureAlgorithm => f.write_str(
                "a certificate on the path is signed with an algorithm this device cannot verify (only ECDSA P-256/P-384 with SHA-256/384); pin a root whose path is all-ECDSA",
            ),
            VerifyError::UnsupportedKey { kind } => write!(
                f,
                "the server's certificate has an {} key; this device verifies ECDSA P-256/P-384 only (RSA needs an allocator): have the server offer an ECDSA certificate",
                kind.name()
            ),
            VerifyError::UnsupportedScheme { scheme } => write!(
                f,
                "the server signed the handshake with scheme 0x{scheme:04x}, which is not ECDSA P-256/SHA-256 or P-384/SHA-384 for its key"
            ),
            VerifyError::CaUsedAsEndEntity => {
                f.write_str("the server presented a CA certificate as its own certificate")
            }
            VerifyError::EndEntityUsedAsCa => f.write_str(
                "a certificate without the CA flag (basicConstraints) was used as an issuer",
            ),
            VerifyError::PathLenConstraintViolated => {
                f.write_str("an issuer's pathLenConstraint is exceeded by the chain")
            }
            VerifyError::NotForServerAuth => f.write_str(
                "the certificate's extendedKeyUsage does not allow TLS server authentication",
            ),
            VerifyError::PathTooComplex => f.write_str(
                "path building gave up: the server sent too many certificates or candidate paths",
            ),
            VerifyError::OutOfOrder => {
                f.write_str("the server sent CertificateVerify before its certificate")
            }
            VerifyError::Malformed => f.write_str(
                "a certificate on the path is malformed (extension, name constraint or validity encoding)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for VerifyError {}

impl From<webpki::Error> for VerifyError {
    #[allow(deprecated)] // the older context-less variants are still produced by some paths
    fn from(e: webpki::Error) -> Self {
        use webpki::Error as E;
        match e {
            E::UnknownIssuer => VerifyError::UnknownIssuer,
            E::CertNotValidForName(_) => VerifyError::NotValidForName,
            E::CertExpired { time, not_after } => VerifyError::Expired {
                now: time.as_secs(),
                not_after: not_after.as_secs(),
            },
            E::CertNotValidYet { time, not_before } => VerifyError::NotYetValid {
                now: time.as_secs(),
                not_before: not_before.as_secs(),
            },
            E::InvalidSignatureForPublicKey | E::SignatureAlgorithmMismatch => VerifyError::BadSignature,
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext(_)
            | E::UnsupportedSignatureAlgorithmForPublicKey
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => VerifyError::UnsupportedSignatureAlgorithm,
            E::CaUsedAsEndEntity => VerifyError::CaUsedAsEndEntity,
            E::EndEntityUsedAsCa => VerifyError::EndEntityUsedAsCa,
            E::PathLenConstraintViolated => VerifyError::PathLenConstraintViolated,
            E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => VerifyError::NotForServerAuth,
            E::MaximumPathBuildCallsExceeded | E::MaximumPathDepthExceeded | E::MaximumSignatureChecksExceeded => {
                VerifyError::PathTooComplex
            }
            _ => VerifyError::Malformed,
        }
    }
}

/// Writes seconds since 1970 as `YYYY-MM-DD hh:mm:ss UTC` (proleptic Gregorian calendar).
fn write_utc(f: &mut fmt::Formatter<'_>, secs: u64) -> fmt::Result {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    write!(
        f,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm, unsigned form.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_utc() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let e = VerifyError::Expired {
            now: 1_704_067_200,
            not_after: 1_704_067_199,
        };
        let s = std::format!("{e}");
        assert!(s.contains("2023-12-31 23:59:59 UTC"), "{s}");
        assert!(s.contains("2024-01-01 00:00:00 UTC"), "{s}");
    }
}

//! Why a server's certificate was refused, in words a person can act on.

use core::fmt;

use tlspost_proto::date::Date;

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

impl VerifyError {
    /// What went wrong, as a fact; [`Display`](fmt::Display) adds the values (times, positions,
    /// counts) and [`VerifyError::fix`].
    pub fn why(&self) -> &'static str {
        match self {
            VerifyError::NoServerName => "no server name is configured, so the certificate cannot be matched to a host",
            VerifyError::InvalidServerName => "the configured server name is not a valid DNS name or IP address",
            VerifyError::NoRoots => "no pinned roots were given",
            VerifyError::BadRoot { .. } => "a pinned root is not a DER X.509 certificate",
            VerifyError::TooManyRoots { .. } => "more pinned roots were given than the verifier has room for",
            VerifyError::EmptyChain => "the server sent an empty Certificate message",
            VerifyError::RawPublicKey => "the server sent a raw public key instead of an X.509 certificate",
            VerifyError::BadEncoding { .. } => "a certificate the server sent is not valid DER X.509",
            VerifyError::UnknownIssuer => "unknown issuer: no path from the server's certificate reaches a pinned root",
            VerifyError::NotValidForName => {
                "certificate not valid for this host name: no subjectAltName matches (the CN is not used)"
            }
            VerifyError::WildcardTooBroad => {
                "the host name only matches a wildcard under a top-level label (like *.com), which is refused"
            }
            VerifyError::Expired { .. } => "certificate expired",
            VerifyError::NotYetValid { .. } => "certificate not valid yet",
            VerifyError::BadSignature => {
                "bad signature: a certificate does not verify under its issuer's key (e.g. it claims a pinned \
                 root's name but another key signed it), or the server's handshake signature is wrong"
            }
            VerifyError::UnsupportedSignatureAlgorithm => {
                "a certificate on the path is signed with an algorithm this device cannot verify (it verifies \
                 ECDSA P-256/P-384 with SHA-256/384 only)"
            }
            VerifyError::UnsupportedKey { .. } => "the server's certificate has a key this device cannot use",
            VerifyError::UnsupportedScheme { .. } => {
                "the server signed the handshake with a scheme that is not ECDSA P-256/SHA-256 or P-384/SHA-384 \
                 for its key"
            }
            VerifyError::CaUsedAsEndEntity => "the server presented a CA certificate as its own certificate",
            VerifyError::EndEntityUsedAsCa => {
                "a certificate without the CA flag (basicConstraints) was used as an issuer"
            }
            VerifyError::PathLenConstraintViolated => "an issuer's pathLenConstraint is exceeded by the chain",
            VerifyError::NotForServerAuth => {
                "the certificate's extendedKeyUsage does not allow TLS server authentication"
            }
            VerifyError::PathTooComplex => {
                "path building gave up: the server sent too many certificates or candidate paths"
            }
            VerifyError::OutOfOrder => "the server sent CertificateVerify before its certificate",
            VerifyError::Malformed => {
                "a certificate on the path is malformed (extension, name constraint or validity encoding)"
            }
        }
    }

    /// What to change, where the device's configuration or the server's can fix it. Names no
    /// program or option: a tool that shows this error adds its own advice.
    pub fn fix(&self) -> Option<&'static str> {
        Some(match self {
            VerifyError::NoServerName => "configure the host name (it is also sent as SNI)",
            VerifyError::NoRoots => "compile in at least one root certificate",
            VerifyError::BadRoot { .. } => "give each root as DER (a PEM file must be converted)",
            VerifyError::TooManyRoots { .. } => "pin fewer roots",
            VerifyError::EmptyChain => "check the certificate configured on the server",
            VerifyError::UnknownIssuer => "pin the root the server's chain ends at",
            VerifyError::NotValidForName => "check the configured host name against the server's certificate",
            VerifyError::Expired { .. } => "if the device clock is wrong, set it (SNTP) before connecting",
            VerifyError::NotYetValid { .. } => "the device clock is probably behind: set it (SNTP) before connecting",
            VerifyError::UnsupportedSignatureAlgorithm => "pin a root whose path is all-ECDSA",
            VerifyError::UnsupportedKey { .. } => {
                "have the server offer an ECDSA P-256 or P-384 certificate (RSA would need an allocator)"
            }
            _ => return None,
        })
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.why())?;
        match *self {
            VerifyError::BadRoot { index } => write!(f, " (#{index} in the list)")?,
            VerifyError::TooManyRoots { given, max } => write!(f, " ({given} given, at most {max})")?,
            VerifyError::BadEncoding { position } => write!(f, " (#{position}, 0 = leaf)")?,
            VerifyError::Expired { now, not_after } => write!(
                f,
                ": notAfter {} is before the device's time {}",
                Utc(not_after),
                Utc(now)
            )?,
            VerifyError::NotYetValid { now, not_before } => write!(
                f,
                ": notBefore {} is after the device's time {}",
                Utc(not_before),
                Utc(now)
            )?,
            VerifyError::UnsupportedKey { kind } => write!(f, " ({})", kind.name())?,
            VerifyError::UnsupportedScheme { scheme } => write!(f, " (0x{scheme:04x})")?,
            _ => {}
        }
        match self.fix() {
            Some(fix) => write!(f, "; {fix}"),
            None => Ok(()),
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

/// Seconds since 1970, shown as `YYYY-MM-DD hh:mm:ss UTC` (tlspost-proto's one civil-date
/// conversion).
struct Utc(u64);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, secs) = (self.0 / 86_400, self.0 % 86_400);
        let date = Date::from_days(i64::try_from(days).unwrap_or(i64::MAX));
        write!(
            f,
            "{date} {:02}:{:02}:{:02} UTC",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_utc() {
        assert_eq!(std::format!("{}", Utc(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(std::format!("{}", Utc(951_782_400)), "2000-02-29 00:00:00 UTC");
        // A notAfter far beyond any calendar still prints (clamped), without a panic.
        assert!(std::format!("{}", Utc(u64::MAX)).ends_with(" UTC"));
        let e = VerifyError::Expired {
            now: 1_704_067_200,
            not_after: 1_704_067_199,
        };
        let s = std::format!("{e}");
        assert!(s.contains("2023-12-31 23:59:59 UTC"), "{s}");
        assert!(s.contains("2024-01-01 00:00:00 UTC"), "{s}");
    }
}

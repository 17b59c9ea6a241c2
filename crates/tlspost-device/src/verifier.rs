//! The certificate verifier: pinned roots, SAN host names, validity at a supplied time, ECDSA.

use embedded_tls::{CertificateEntryRef, CertificateRef, CertificateVerifyRef, TlsCipherSuite, TlsError, TlsVerifier};
use heapless::Vec;
use p256::ecdsa::signature::digest::Digest;
use pki_types::{CertificateDer, ServerName, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::error::{KeyKind, VerifyError};
use crate::spki::{self, LeafKey};

/// Most pinned roots a verifier accepts. Roots are tried one at a time, so more roots cost time
/// (a failed path attempt per root), not stack.
pub const MAX_ROOTS: usize = 16;
/// Most certificates the server may send (embedded-tls' own limit is 16).
pub const MAX_CHAIN: usize = 16;
/// Longest host name (RFC 1035: 253 characters).
pub const MAX_HOST: usize = 253;

/// Verifies the server's chain against pinned roots, the host name against the leaf's SANs,
/// validity at the time the caller supplies, and the server's CertificateVerify signature.
///
/// Keeps about 400 bytes of state (host name, leaf key, transcript hash); nothing is allocated.
pub struct PinnedVerifier<'r, CipherSuite: TlsCipherSuite> {
    roots: &'r [&'r [u8]],
    now: u64,
    host: Vec<u8, MAX_HOST>,
    host_set: bool,
    transcript: Option<CipherSuite::Hash>,
    leaf: Option<LeafKey>,
    last_error: Option<VerifyError>,
}

impl<'r, CipherSuite: TlsCipherSuite> PinnedVerifier<'r, CipherSuite> {
    /// A verifier trusting the given DER roots, checking validity at `now_unix` (seconds since
    /// 1970, UTC).
    ///
    /// `now_unix` should come from SNTP. Before the device has a clock, pass the firmware's build
    /// time: it is a floor (the real time is never earlier), so a certificate that expired before
    /// the build is refused, and a certificate not yet valid at build time is refused until the
    /// clock is set.
    ///
    /// Every root is parsed here so a bad root fails at start-up, not at the first connection.
    pub fn new(roots: &'r [&'r [u8]], now_unix: u64) -> Result<Self, VerifyError> {
        check_root_count(roots)?;
        for (index, root) in roots.iter().enumerate() {
            anchor(root, index)?;
        }
        Ok(Self {
            roots,
            now: now_unix,
            host: Vec::new(),
            host_set: false,
            transcript: None,
            leaf: None,
            last_error: None,
        })
    }

    /// Updates the time used for validity checks (call after SNTP sync).
    pub fn set_time(&mut self, now_unix: u64) {
        self.now = now_unix;
    }

    /// The precise reason for the last refusal, if the last handshake was refused by this verifier.
    pub fn last_error(&self) -> Option<VerifyError> {
        self.last_error
    }

    pub(crate) fn clear_error(&mut self) {
        self.last_error = None;
    }

    /// Checks a served chain (DER, leaf first, then anything in any order) for `host`, without a
    /// handshake. This is what `verify_certificate` runs; it is public for tests and tools.
    pub fn check_chain(&self, host: &str, chain: &[&[u8]]) -> Result<LeafKeyInfo, VerifyError> {
        let mut ders = Vec::<CertificateDer<'_>, MAX_CHAIN>::new();
        for c in chain {
            ders.push(CertificateDer::from(*c))
                .map_err(|_| VerifyError::PathTooComplex)?;
        }
        self.check(host, &ders).map(|k| LeafKeyInfo { kind: k.kind })
    }

    #[inline(never)]
    fn check(&self, host: &str, ders: &[CertificateDer<'_>]) -> Result<LeafKey, VerifyError> {
        let name = ServerName::try_from(host).map_err(|_| VerifyError::InvalidServerName)?;
        check_served(self.roots, self.now, &name, ders)
    }

    #[inline(never)]
    fn verify_certificate_inner(
        &mut self,
        transcript: &CipherSuite::Hash,
        cert: &CertificateRef<'_>,
    ) -> Result<(), VerifyError> {
        self.leaf = None;
        self.transcript = Some(transcript.clone());
        if !self.host_set {
            return Err(VerifyError::NoServerName);
        }
        let mut ders = Vec::<CertificateDer<'_>, MAX_CHAIN>::new();
        for entry in cert.entries.iter() {
            match entry {
                CertificateEntryRef::X509(der) => ders
                    .push(CertificateDer::from(*der))
                    .map_err(|_| VerifyError::PathTooComplex)?,
                CertificateEntryRef::RawPublicKey(_) => return Err(VerifyError::RawPublicKey),
            }
        }
        let host = core::str::from_utf8(&self.host).map_err(|_| VerifyError::InvalidServerName)?;
        let key = self.check(host, &ders)?;
        self.leaf = Some(key);
        Ok(())
    }

    #[inline(never)]
    fn verify_signature_inner(&mut self, verify: &CertificateVerifyRef<'_>) -> Result<(), VerifyError> {
        let transcript = self.transcript.take().ok_or(VerifyError::OutOfOrder)?;
        let leaf = self.leaf.take().ok_or(VerifyError::OutOfOrder)?;
        // RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, the transcript hash.
        const CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify\x00";
        let mut msg = [0x20u8; 64 + 34 + 64];
        let hash = transcript.finalize();
        let total = 64 + CONTEXT.len() + hash.len();
        let (ctx, rest) = msg
            .get_mut(64..total)
            .ok_or(VerifyError::OutOfOrder)?
            .split_at_mut(CONTEXT.len());
        ctx.copy_from_slice(CONTEXT);
        rest.copy_from_slice(&hash);
        let message = msg.get(..total).ok_or(VerifyError::OutOfOrder)?;

        handshake_signature(&leaf, verify.signature_scheme.as_u16(), true, message, verify.signature)
    }

    fn record<T>(&mut self, r: Result<T, VerifyError>) -> Result<T, TlsError> {
        r.map_err(|e| {
            self.last_error = Some(e);
            match e {
                VerifyError::BadSignature => TlsError::InvalidSignature,
                VerifyError::UnsupportedScheme { .. } => TlsError::InvalidSignatureScheme,
                _ => TlsError::InvalidCertificate,
            }
        })
    }
}

/// What the check learnt about the server's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafKeyInfo {
    /// The leaf's key type.
    pub kind: KeyKind,
}

/// The check every backend runs on a served chain (DER, leaf first, then anything in any order):
/// the leaf's key is ECDSA P-256/P-384, a path reaches one of `roots` at `now_unix`, and `name`
/// matches a subjectAltName. Returns the leaf's key for the handshake signature.
#[inline]
pub(crate) fn check_served(
    roots: &[&[u8]],
    now_unix: u64,
    name: &ServerName<'_>,
    ders: &[CertificateDer<'_>],
) -> Result<LeafKey, VerifyError> {
    let (leaf_der, intermediates) = ders.split_first().ok_or(VerifyError::EmptyChain)?;
    let leaf_key = spki::leaf_key(leaf_der.as_ref()).ok_or(VerifyError::BadEncoding { position: 0 })?;
    if !matches!(leaf_key.kind, KeyKind::EcdsaP256 | KeyKind::EcdsaP384) {
        return Err(VerifyError::UnsupportedKey { kind: leaf_key.kind });
    }
    let leaf = EndEntityCert::try_from(leaf_der).map_err(|_| VerifyError::BadEncoding { position: 0 })?;

    path_to_a_root(roots, now_unix, &leaf, intermediates)?;
    leaf.verify_is_valid_for_subject_name(name)?;
    if let ServerName::DnsName(dns) = name {
        check_wildcard_breadth(dns.as_ref(), leaf.valid_dns_names())?;
    }
    Ok(leaf_key)
}

/// Builds a path from `leaf` to one pinned root, trying the roots one at a time: only one
/// parsed trust anchor is on the stack (not one per pinned root) while webpki builds the path.
/// The first error other than "unknown issuer" is the answer when no root is reached (for a
/// path that reaches a root but fails there, e.g. expired or a bad signature, is the better
/// explanation).
fn path_to_a_root(
    roots: &[&[u8]],
    now_unix: u64,
    leaf: &EndEntityCert<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<(), VerifyError> {
    check_root_count(roots)?;
    let now = UnixTime::since_unix_epoch(core::time::Duration::from_secs(now_unix));
    let mut refusal = None;
    for (index, root) in roots.iter().enumerate() {
        let der = CertificateDer::from(*root);
        let anchor = webpki::anchor_from_trusted_cert(&der).map_err(|_| VerifyError::BadRoot { index })?;
        let verified = leaf.verify_for_usage(
            crate::algs::ALL,
            core::slice::from_ref(&anchor),
            intermediates,
            now,
            KeyUsage::server_auth(),
            None,
            None,
        );
        match verified.map_err(VerifyError::from) {
            Ok(_) => return Ok(()),
            Err(VerifyError::UnknownIssuer) => {}
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    Err(refusal.unwrap_or(VerifyError::UnknownIssuer))
}

/// ECDSA with SHA-256 (TLS SignatureScheme `ecdsa_secp256r1_sha256`).
pub(crate) const ECDSA_SHA256: u16 = 0x0403;
/// ECDSA with SHA-384 (TLS SignatureScheme `ecdsa_secp384r1_sha384`).
pub(crate) const ECDSA_SHA384: u16 = 0x0503;

/// Checks the server's handshake signature (`scheme`, a TLS SignatureScheme code) over `message`
/// with the leaf's key. TLS 1.3 binds the curve to the scheme (`curve_bound`); TLS 1.2's ECDSA
/// schemes name only the hash, the curve is the key's.
#[inline]
pub(crate) fn handshake_signature(
    leaf: &LeafKey,
    scheme: u16,
    curve_bound: bool,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let p384_key = match leaf.kind {
        KeyKind::EcdsaP256 => false,
        KeyKind::EcdsaP384 => true,
        _ => return Err(VerifyError::UnsupportedScheme { scheme }),
    };
    let sha384 = match scheme {
        ECDSA_SHA256 if !(curve_bound && p384_key) => false,
        ECDSA_SHA384 if !curve_bound || p384_key => true,
        _ => return Err(VerifyError::UnsupportedScheme { scheme }),
    };
    crate::algs::verify_ecdsa(p384_key, sha384, leaf.bytes(), message, signature).map_err(|_| VerifyError::BadSignature)
}

pub(crate) fn check_root_count(roots: &[&[u8]]) -> Result<(), VerifyError> {
    match roots.len() {
        0 => Err(VerifyError::NoRoots),
        given if given > MAX_ROOTS => Err(VerifyError::TooManyRoots { given, max: MAX_ROOTS }),
        _ => Ok(()),
    }
}

/// Checks that a pinned root parses as a trust anchor.
pub(crate) fn anchor(root: &[u8], index: usize) -> Result<(), VerifyError> {
    let der = CertificateDer::from(root);
    webpki::anchor_from_trusted_cert(&der)
        .map(|_| ())
        .map_err(|_| VerifyError::BadRoot { index })
}

/// webpki has already matched `host` to a SAN. Refuse when the only matching SANs are wildcards
/// directly under one label (`*.com`, `*.local`), a cheap stand-in for a public-suffix list.
fn check_wildcard_breadth<'a>(host: &str, sans: impl Iterator<Item = &'a str>) -> Result<(), VerifyError> {
    let mut only_broad = false;
    for san in sans {
        if san.eq_ignore_ascii_case(host) {
            return Ok(());
        }
        if let Some(suffix) = san.strip_prefix("*.") {
            let matches = host
                .split_once('.')
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix));
            if matches {
                if suffix.contains('.') {
                    return Ok(());
                }
                only_broad = true;
            }
        }
    }
    if only_broad {
        Err(VerifyError::WildcardTooBroad)
    } else {
        Ok(())
    }
}

impl<CipherSuite: TlsCipherSuite> TlsVerifier<CipherSuite> for PinnedVerifier<'_, CipherSuite> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        self.last_error = None;
        self.host.clear();
        self.host_set = false;
        let r = if ServerName::try_from(hostname).is_err() {
            Err(VerifyError::InvalidServerName)
        } else {
            self.host
                .extend_from_slice(hostname.as_bytes())
                .map_err(|_| VerifyError::InvalidServerName)
        };
        self.record(r)?;
        self.host_set = true;
        Ok(())
    }

    fn verify_certificate(&mut self, transcript: &CipherSuite::Hash, cert: CertificateRef<'_>) -> Result<(), TlsError> {
        let r = self.verify_certificate_inner(transcript, &cert);
        // The host name is good for one handshake: a reused verifier must be given it again.
        self.host_set = false;
        self.record(r)
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        let r = self.verify_signature_inner(&verify);
        self.record(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_breadth() {
        let sans = ["*.com", "api.example.com"];
        assert_eq!(check_wildcard_breadth("api.example.com", sans.into_iter()), Ok(()));
        assert_eq!(
            check_wildcard_breadth("example.com", ["*.com"].into_iter()),
            Err(VerifyError::WildcardTooBroad)
        );
        assert_eq!(
            check_wildcard_breadth("a.example.com", ["*.example.com"].into_iter()),
            Ok(())
        );
    }
}

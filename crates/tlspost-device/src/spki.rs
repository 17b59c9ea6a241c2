//! A minimal zero-copy DER walk to the leaf's subjectPublicKeyInfo.
//!
//! webpki checks the chain but keeps the parsed key private, and embedded-tls hands the
//! certificate bytes over only for the duration of `verify_certificate`; the key needed later for
//! the CertificateVerify signature is copied out of the leaf here (at most 97 bytes).

use crate::error::KeyKind;

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;
const CONTEXT_0: u8 = 0xa0;

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Largest key kept: an uncompressed P-384 point.
pub const MAX_KEY: usize = 97;

/// The leaf's public key, copied out of the certificate.
#[derive(Clone, Copy)]
pub struct LeafKey {
    /// Which algorithm/curve.
    pub kind: KeyKind,
    bytes: [u8; MAX_KEY],
    len: usize,
}

impl LeafKey {
    /// The SEC1-encoded point (ECDSA keys) or empty for kinds that are not kept.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Reads one TLV: returns (tag, value, rest). `None` on any malformed or truncated input.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

/// Reads a TLV with the expected tag.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    (tag == want).then_some((value, rest))
}

/// Finds the subjectPublicKeyInfo of a DER certificate and classifies/copies its key.
pub fn leaf_key(cert: &[u8]) -> Option<LeafKey> {
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    // version [0] EXPLICIT is optional.
    if let Some((CONTEXT_0, _, after)) = tlv(rest) {
        rest = after;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        let (_, _, after) = tlv(rest)?;
        rest = after;
    }
    let (spki, _) = expect(rest, SEQUENCE)?;
    let (alg, after_alg) = expect(spki, SEQUENCE)?;
    let (key_bits, _) = expect(after_alg, BIT_STRING)?;
    let (oid, params) = expect(alg, OID)?;
    let kind = if oid == OID_EC_PUBLIC_KEY {
        match expect(params, OID) {
            Some((curve, _)) if curve == OID_P256 => KeyKind::EcdsaP256,
            Some((curve, _)) if curve == OID_P384 => KeyKind::EcdsaP384,
            _ => KeyKind::Other,
        }
    } else if oid == OID_RSA || oid == OID_RSA_PSS {
        KeyKind::Rsa
    } else if oid == OID_ED25519 {
        KeyKind::Ed25519
    } else {
        KeyKind::Other
    };
    let mut key = LeafKey {
        kind,
        bytes: [0; MAX_KEY],
        len: 0,
    };
    if matches!(kind, KeyKind::EcdsaP256 | KeyKind::EcdsaP384) {
        // BIT STRING: one byte of unused bits (must be 0), then the SEC1 point.
        let (&unused, point) = key_bits.split_first()?;
        if unused != 0 {
            return None;
        }
        key.bytes.get_mut(..point.len())?.copy_from_slice(point);
        key.len = point.len();
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_garbage_input_is_none_not_panic() {
        assert!(leaf_key(&[]).is_none());
        assert!(leaf_key(&[0x30]).is_none());
        assert!(leaf_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(leaf_key(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        for len in 0..64u8 {
            let v: std::vec::Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let _ = leaf_key(&v);
        }
    }

    #[test]
    fn long_form_lengths_are_read() {
        let mut v = std::vec![0x04, 0x81, 0x80];
        v.extend(core::iter::repeat_n(7u8, 0x80));
        let (tag, value, rest) = tlv(&v).unwrap();
        assert_eq!((tag, value.len(), rest.len()), (0x04, 0x80, 0));
    }
}

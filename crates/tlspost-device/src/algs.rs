//! ECDSA signature verification for webpki, on the RustCrypto `p256`/`p384` crates (no allocator).

use pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id};

/// The curve of the key.
#[derive(Clone, Copy)]
enum Curve {
    P256,
    P384,
}

/// The hash of the signature.
#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
}

/// An ECDSA verification algorithm (curve of the key, hash of the signature).
pub struct Ecdsa {
    curve: Curve,
    hash: Hash,
}

impl Ecdsa {
    const fn new(curve: Curve, hash: Hash) -> Ecdsa {
        Ecdsa { curve, hash }
    }
}

/// Its name, e.g. `ECDSA P-256 SHA-384` (webpki wants `Debug`; a derived one costs the firmware
/// more flash).
impl core::fmt::Debug for Ecdsa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match (self.curve, self.hash) {
            (Curve::P256, Hash::Sha256) => "ECDSA P-256 SHA-256",
            (Curve::P256, Hash::Sha384) => "ECDSA P-256 SHA-384",
            (Curve::P384, Hash::Sha256) => "ECDSA P-384 SHA-256",
            (Curve::P384, Hash::Sha384) => "ECDSA P-384 SHA-384",
        })
    }
}

/// ECDSA P-256 key, SHA-256 signature.
pub static ECDSA_P256_SHA256: Ecdsa = Ecdsa::new(Curve::P256, Hash::Sha256);
/// ECDSA P-256 key, SHA-384 signature.
pub static ECDSA_P256_SHA384: Ecdsa = Ecdsa::new(Curve::P256, Hash::Sha384);
/// ECDSA P-384 key, SHA-384 signature.
pub static ECDSA_P384_SHA384: Ecdsa = Ecdsa::new(Curve::P384, Hash::Sha384);
/// ECDSA P-384 key, SHA-256 signature.
pub static ECDSA_P384_SHA256: Ecdsa = Ecdsa::new(Curve::P384, Hash::Sha256);

/// Every certificate signature algorithm this crate verifies.
pub static ALL: &[&dyn SignatureVerificationAlgorithm] = &[
    &ECDSA_P256_SHA256,
    &ECDSA_P384_SHA384,
    &ECDSA_P256_SHA384,
    &ECDSA_P384_SHA256,
];

/// Hashes `message` with the given hash into `out`, returning the digest slice.
///
/// Not inlined: the hash state lives only while hashing, not during the curve arithmetic.
#[inline(never)]
fn digest<'o>(hash: Hash, message: &[u8], out: &'o mut [u8; 48]) -> &'o [u8] {
    use p256::ecdsa::signature::digest::Digest;
    match hash {
        Hash::Sha256 => {
            let d = sha2::Sha256::digest(message);
            let (head, _) = out.split_at_mut(32);
            head.copy_from_slice(&d);
            head
        }
        Hash::Sha384 => {
            let d = sha2::Sha384::digest(message);
            out.copy_from_slice(&d);
            out
        }
    }
}

/// Verifies a DER ECDSA signature over `message` with a SEC1 public key.
pub(crate) fn verify_ecdsa(
    p384_key: bool,
    sha384: bool,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), InvalidSignature> {
    let alg = Ecdsa::new(
        if p384_key { Curve::P384 } else { Curve::P256 },
        if sha384 { Hash::Sha384 } else { Hash::Sha256 },
    );
    alg.verify_signature(public_key, message, signature)
}

impl SignatureVerificationAlgorithm for Ecdsa {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        let mut buf = [0u8; 48];
        let prehash = digest(self.hash, message, &mut buf);
        match self.curve {
            Curve::P256 => verify_p256(public_key, prehash, signature),
            Curve::P384 => verify_p384(public_key, prehash, signature),
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        match self.curve {
            Curve::P256 => alg_id::ECDSA_P256,
            Curve::P384 => alg_id::ECDSA_P384,
        }
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.hash {
            Hash::Sha256 => alg_id::ECDSA_SHA256,
            Hash::Sha384 => alg_id::ECDSA_SHA384,
        }
    }
}

/// ECDSA P-256 over a prehash. Each curve has its own frame (`#[inline(never)]`): inlined together,
/// the P-384 locals would sit on the stack during a P-256 verification too.
#[inline(never)]
fn verify_p256(public_key: &[u8], prehash: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
    let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
    key.verify_prehash(prehash, &sig).map_err(|_| InvalidSignature)
}

/// ECDSA P-384 over a prehash; see [`verify_p256`].
#[inline(never)]
fn verify_p384(public_key: &[u8], prehash: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
    let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
    key.verify_prehash(prehash, &sig).map_err(|_| InvalidSignature)
}

//! PEM and base64 encoding, and reading certificates from PEM or DER files.

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::CertsError;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(B64[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// One certificate as PEM: 64-column base64 lines, `\n` line ends, a final newline.
pub fn cert_pem(der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Reads every certificate of a file: PEM (any number of `CERTIFICATE` blocks) or one DER certificate.
pub fn read_certs(path: &Path) -> Result<Vec<Vec<u8>>, CertsError> {
    let bytes = std::fs::read(path).map_err(|source| CertsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    certs_from_bytes(&bytes).map_err(|why| CertsError::Pem {
        path: path.to_path_buf(),
        why,
    })
}

/// Parses PEM text (certificate blocks only; other blocks are skipped) or a single DER certificate.
pub fn certs_from_bytes(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![bytes.to_vec()]);
    }
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(bytes) {
        match item {
            Ok(der) => out.push(der.as_ref().to_vec()),
            Err(e) => return Err(format!("broken PEM certificate block: {e}")),
        }
    }
    if out.is_empty() {
        return Err(
            "no certificate found: expected PEM `-----BEGIN CERTIFICATE-----` blocks or one DER certificate".into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn pem_round_trips_and_wraps_at_64() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let pem = cert_pem(&der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(certs_from_bytes(pem.as_bytes()), Ok(vec![der]));
    }

    #[test]
    fn rejects_text_without_certificates() {
        assert!(certs_from_bytes(b"hello").is_err());
    }
}

//! PEM encoding, and reading certificates from PEM or DER files.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::CertsError;

/// One certificate as PEM: 64-column base64 lines, `\n` line ends, a final newline.
pub fn cert_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
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

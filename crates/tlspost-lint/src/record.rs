//! Lint input taken from a capture record, as the capture server's JSON API returns it
//! (`GET /_tlspost/api/captures/{id}`): the raw bytes base64-encoded in `raw`, and the TLS facts.

use core::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{DecodeError, Engine as _};

use crate::Context;

/// The bytes and TLS facts of one captured request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedRequest {
    /// The exact bytes received.
    pub raw: Vec<u8>,
    /// The request arrived over TLS.
    pub tls: bool,
    /// The SNI name from the ClientHello.
    pub sni: Option<String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<String>,
}

impl CapturedRequest {
    /// The lint context for these facts.
    pub fn context(&self) -> Context<'_> {
        Context {
            tls: self.tls,
            sni: self.sni.as_deref(),
            alpn: self.alpn.as_deref(),
        }
    }

    /// Read a capture record. Accepted shapes: `raw` (standard base64, padding optional) is
    /// required; `tls` is either a boolean or an object (then the request came over TLS, and `sni`
    /// and `alpn` may sit inside it); `sni` and `alpn` may also be top-level strings (or null).
    pub fn from_json(json: &[u8]) -> Result<Self, RecordError> {
        let v: serde_json::Value = serde_json::from_slice(json).map_err(|e| RecordError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        let raw = match v.get("raw") {
            Some(serde_json::Value::String(s)) => base64_decode(s)?,
            Some(_) => return Err(RecordError::RawNotString),
            None => return Err(RecordError::NoRaw),
        };
        let text = |o: &serde_json::Value, k: &str| o.get(k).and_then(|s| s.as_str()).map(String::from);
        let (tls, mut sni, mut alpn) = match v.get("tls") {
            Some(serde_json::Value::Bool(b)) => (*b, None, None),
            Some(o @ serde_json::Value::Object(_)) => (true, text(o, "sni"), text(o, "alpn")),
            _ => (false, None, None),
        };
        sni = sni.or_else(|| text(&v, "sni"));
        alpn = alpn.or_else(|| text(&v, "alpn"));
        Ok(CapturedRequest {
            raw,
            tls: tls || sni.is_some(),
            sni,
            alpn,
        })
    }
}

/// Why a capture record could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The record is not JSON.
    NotJson {
        /// Line of the parse error.
        line: usize,
        /// Column of the parse error.
        column: usize,
    },
    /// The record has no `raw` field.
    NoRaw,
    /// `raw` is not a string.
    RawNotString,
    /// `raw` is not valid base64.
    BadBase64 {
        /// Offset of the first offending character in `raw`.
        offset: usize,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NotJson { line, column } => write!(
                f,
                "the capture record is not JSON (error at line {line}, column {column}); check \
                 that the address points at the capture server's API"
            ),
            RecordError::NoRaw => f.write_str(
                "the capture record has no `raw` field; the capture server's API must return the \
                 request bytes base64-encoded in `raw`",
            ),
            RecordError::RawNotString => f.write_str("the capture record's `raw` field is not a base64 string"),
            RecordError::BadBase64 { offset } => write!(
                f,
                "the capture record's `raw` field is not valid base64 (at character {offset})"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// Standard base64 (RFC 4648 §4) with the padding optional, as the capture server writes it or a
/// person pastes it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decode standard base64, padding optional, ASCII whitespace (a wrapped line) ignored; an error
/// names the offset of the offending character in `s`.
fn base64_decode(s: &str) -> Result<Vec<u8>, RecordError> {
    let kept: Vec<usize> = s
        .bytes()
        .enumerate()
        .filter(|(_, c)| !c.is_ascii_whitespace())
        .map(|(i, _)| i)
        .collect();
    let compact: Vec<u8> = kept.iter().filter_map(|&i| s.as_bytes().get(i).copied()).collect();
    BASE64.decode(&compact).map_err(|e| {
        let at = match e {
            DecodeError::InvalidByte(at, _) | DecodeError::InvalidLastSymbol(at, _) => at,
            DecodeError::InvalidLength(_) | DecodeError::InvalidPadding => compact.len(),
        };
        RecordError::BadBase64 {
            offset: kept.get(at).copied().unwrap_or(s.len()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrips_known_vectors() {
        for (enc, dec) in [
            ("", &b""[..]),
            ("Zg==", b"f"),
            ("Zm8=", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYg", b"foob"),
            ("Zm9vYmFy", b"foobar"),
            ("R0VUIC8gSFRUUC8xLjENCg0K", b"GET / HTTP/1.1\r\n\r\n"),
            ("/w==", b"\xff"),
        ] {
            assert_eq!(base64_decode(enc).unwrap(), dec, "{enc}");
        }
        assert_eq!(base64_decode("Zm9v!"), Err(RecordError::BadBase64 { offset: 4 }));
        assert!(base64_decode("Zg==Zg").is_err());
        // A wrapped line decodes; an offset counts the characters as given.
        assert_eq!(base64_decode("Zm9v\nYmFy\n").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zm 9v!"), Err(RecordError::BadBase64 { offset: 5 }));
    }

    #[test]
    fn record_shapes() {
        let r = CapturedRequest::from_json(br#"{"id":3,"raw":"Zm9v","tls":true,"sni":"a.example"}"#).unwrap();
        assert_eq!(r.raw, b"foo");
        assert!(r.tls);
        assert_eq!(r.context().sni, Some("a.example"));
        let r = CapturedRequest::from_json(
            br#"{"raw":"Zm9v","tls":{"sni":"b.example","alpn":"http/1.1","version":"TLSv1.3"}}"#,
        )
        .unwrap();
        assert!(r.tls);
        assert_eq!(r.sni.as_deref(), Some("b.example"));
        assert_eq!(r.alpn.as_deref(), Some("http/1.1"));
        let r = CapturedRequest::from_json(br#"{"raw":"Zm9v","tls":null,"sni":null}"#).unwrap();
        assert!(!r.tls);
        assert_eq!(CapturedRequest::from_json(b"{}"), Err(RecordError::NoRaw));
        assert!(matches!(
            CapturedRequest::from_json(b"<html>"),
            Err(RecordError::NotJson { .. })
        ));
        assert!(
            RecordError::NoRaw.to_string().contains("`raw`"),
            "the message names the field"
        );
    }
}

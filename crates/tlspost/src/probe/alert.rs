//! TLS alerts by their registered code (IANA "TLS Alerts" registry; RFC 8446 §6, RFC 5246 §7.2,
//! RFC 6066, RFC 7301, RFC 8446 `certificate_required`).

use std::fmt;

macro_rules! alerts {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal;)*) => {
        /// A TLS alert description, typed.
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Alert {
            $($(#[$doc])* $variant,)*
            /// A code the registry does not name (or one this list does not know).
            Unknown(u8),
        }

        impl Alert {
            /// The alert with this code.
            pub const fn from_code(code: u8) -> Alert {
                match code {
                    $($code => Alert::$variant,)*
                    other => Alert::Unknown(other),
                }
            }

            /// Its code on the wire.
            pub const fn code(self) -> u8 {
                match self {
                    $(Alert::$variant => $code,)*
                    Alert::Unknown(c) => c,
                }
            }

            /// Its name as the RFCs spell it (`unrecognized_name`); `None` for an unknown code.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $(Alert::$variant => Some($name),)*
                    Alert::Unknown(_) => None,
                }
            }
        }
    };
}

alerts! {
    /// The sender closes the connection.
    CloseNotify = 0, "close_notify";
    /// A message arrived that the state does not allow.
    UnexpectedMessage = 10, "unexpected_message";
    /// A record failed to decrypt or authenticate.
    BadRecordMac = 20, "bad_record_mac";
    /// Obsolete: decryption failed (TLS 1.0).
    DecryptionFailed = 21, "decryption_failed";
    /// A record was longer than allowed.
    RecordOverflow = 22, "record_overflow";
    /// Obsolete: decompression failed.
    DecompressionFailure = 30, "decompression_failure";
    /// No acceptable set of parameters (suite, group, signature scheme), or a refusal without detail.
    HandshakeFailure = 40, "handshake_failure";
    /// Obsolete (SSL 3.0): no certificate.
    NoCertificate = 41, "no_certificate";
    /// A certificate was corrupt or its signature did not verify.
    BadCertificate = 42, "bad_certificate";
    /// A certificate of an unsupported type.
    UnsupportedCertificate = 43, "unsupported_certificate";
    /// A certificate was revoked.
    CertificateRevoked = 44, "certificate_revoked";
    /// A certificate expired or is not yet valid.
    CertificateExpired = 45, "certificate_expired";
    /// Some other certificate problem.
    CertificateUnknown = 46, "certificate_unknown";
    /// A field was out of range or inconsistent.
    IllegalParameter = 47, "illegal_parameter";
    /// The CA of a certificate is not trusted.
    UnknownCa = 48, "unknown_ca";
    /// Access control refused the peer.
    AccessDenied = 49, "access_denied";
    /// A message could not be decoded.
    DecodeError = 50, "decode_error";
    /// A cryptographic operation failed (e.g. a signature did not verify).
    DecryptError = 51, "decrypt_error";
    /// Obsolete: export restriction.
    ExportRestriction = 60, "export_restriction";
    /// The protocol version is recognised but not supported.
    ProtocolVersion = 70, "protocol_version";
    /// The parameters offered are weaker than the server requires.
    InsufficientSecurity = 71, "insufficient_security";
    /// The sender failed for a reason of its own.
    InternalError = 80, "internal_error";
    /// A fallback to a lower version was refused (RFC 7507).
    InappropriateFallback = 86, "inappropriate_fallback";
    /// The handshake was cancelled by the user.
    UserCanceled = 90, "user_canceled";
    /// Renegotiation was refused.
    NoRenegotiation = 100, "no_renegotiation";
    /// A required extension is missing.
    MissingExtension = 109, "missing_extension";
    /// An extension was sent that is not allowed there.
    UnsupportedExtension = 110, "unsupported_extension";
    /// A certificate could not be obtained (RFC 6066).
    CertificateUnobtainable = 111, "certificate_unobtainable";
    /// The server does not serve the name sent as SNI, or needs SNI (RFC 6066).
    UnrecognizedName = 112, "unrecognized_name";
    /// An OCSP response was bad (RFC 6066).
    BadCertificateStatusResponse = 113, "bad_certificate_status_response";
    /// A certificate hash did not match (RFC 6066).
    BadCertificateHashValue = 114, "bad_certificate_hash_value";
    /// No PSK with the identity offered.
    UnknownPskIdentity = 115, "unknown_psk_identity";
    /// The server requires a client certificate (RFC 8446).
    CertificateRequired = 116, "certificate_required";
    /// No ALPN protocol in common (RFC 7301).
    NoApplicationProtocol = 120, "no_application_protocol";
    /// The server requires Encrypted Client Hello.
    EchRequired = 121, "ech_required";
}

impl Alert {
    /// What the alert usually means when a server ends a handshake with it, and where to look.
    pub const fn meaning(self) -> &'static str {
        match self {
            Alert::UnrecognizedName => {
                "the server does not serve this name: it needs SNI (connect by host name, not by IP address, \
                 mapping the name to the address if DNS does not) or the name is wrong"
            }
            Alert::HandshakeFailure => {
                "no cipher suite, group or signature scheme in common, or the server requires SNI or a client \
                 certificate"
            }
            Alert::ProtocolVersion => "no TLS version in common with the server",
            Alert::CertificateRequired => "the server requires a client certificate (mutual TLS)",
            Alert::BadCertificate | Alert::UnknownCa => {
                "the server refused a certificate: it expects a client certificate it trusts"
            }
            Alert::InternalError => "the server failed internally; look at its logs",
            _ => "look at the server's TLS configuration and logs",
        }
    }
}

impl From<rustls::AlertDescription> for Alert {
    /// By the alert's code, which rustls keeps for every variant, its unknown ones included.
    fn from(a: rustls::AlertDescription) -> Alert {
        Alert::from_code(u8::from(a))
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "alert {}", self.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for code in 0..=u8::MAX {
            let a = Alert::from_code(code);
            assert_eq!(a.code(), code);
            assert_eq!(Alert::from(rustls::AlertDescription::from(code)), a);
        }
        assert_eq!(
            Alert::from(rustls::AlertDescription::UnrecognisedName),
            Alert::UnrecognizedName
        );
        assert_eq!(Alert::UnrecognizedName.to_string(), "unrecognized_name");
        assert_eq!(Alert::from_code(200).to_string(), "alert 200");
        assert_eq!(Alert::from_code(48).name(), Some("unknown_ca"));
    }
}

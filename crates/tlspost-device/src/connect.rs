//! Opening a verified TLS 1.3 connection, blocking or async, with a precise error on refusal.

use core::fmt;

use embedded_tls::{TlsCipherSuite, TlsConfig, TlsContext, TlsError};

use crate::{DeviceProvider, VerifyError};

/// Why opening the TLS connection failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum ConnectError {
    /// The server's certificate or handshake signature was refused.
    Verify(VerifyError),
    /// The handshake failed for another reason (I/O, alert from the server, protocol error).
    Tls(TlsError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Verify(e) => write!(f, "TLS handshake refused: {e}"),
            ConnectError::Tls(e) => {
                f.write_str("TLS handshake failed: ")?;
                f.write_str(describe_tls_error(e))
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConnectError {}

/// A sentence for the embedded-tls errors a handshake commonly ends with.
pub fn describe_tls_error(e: &TlsError) -> &'static str {
    match e {
        TlsError::ConnectionClosed => "the server closed the connection",
        TlsError::HandshakeAborted(..) => {
            "the server aborted the handshake with an alert (does it offer TLS 1.3 with AES-GCM and an ECDSA or RSA certificate?)"
        }
        TlsError::AbortHandshake(..) => "the client aborted the handshake",
        TlsError::Io(_) | TlsError::IoError => "the socket failed (read or write error)",
        TlsError::InsufficientSpace => "a TLS record did not fit the buffers: use a 16,640-byte read buffer",
        TlsError::InvalidCipherSuite => "the server chose a cipher suite that was not offered",
        TlsError::InvalidCertificate | TlsError::InvalidCertificateEntry => {
            "the server's certificate message is invalid"
        }
        TlsError::InvalidSignature | TlsError::InvalidSignatureScheme => "the server's handshake signature is invalid",
        _ => "TLS protocol error (embedded-tls); enable its log feature for details",
    }
}

/// The TLS configuration for `server_name` (sent as SNI and checked against the certificate's
/// SANs). RSA signature schemes are offered as well: a server that only has an RSA certificate
/// then completes its part of the handshake and the verifier refuses it with
/// [`VerifyError::UnsupportedKey`] instead of the server ending with an anonymous alert.
pub fn config(server_name: &str) -> TlsConfig<'_> {
    TlsConfig::new().enable_rsa_signatures().with_server_name(server_name)
}

/// Runs the TLS 1.3 handshake on `connection` (blocking) with the pinned-root verifier.
pub fn open_blocking<'a, Socket, CipherSuite, Rng>(
    connection: &mut embedded_tls::blocking::TlsConnection<'a, Socket, CipherSuite>,
    config: &TlsConfig<'_>,
    provider: &mut DeviceProvider<'_, CipherSuite, Rng>,
) -> Result<(), ConnectError>
where
    Socket: embedded_io::Read + embedded_io::Write + 'a,
    CipherSuite: TlsCipherSuite + 'static,
    Rng: embedded_tls::CryptoRngCore,
{
    provider.verifier_mut().clear_error();
    let r = connection.open(TlsContext::new(config, &mut *provider));
    map(r, provider)
}

/// Runs the TLS 1.3 handshake on `connection` (async) with the pinned-root verifier.
pub async fn open_async<'a, Socket, CipherSuite, Rng>(
    connection: &mut embedded_tls::TlsConnection<'a, Socket, CipherSuite>,
    config: &TlsConfig<'_>,
    provider: &mut DeviceProvider<'_, CipherSuite, Rng>,
) -> Result<(), ConnectError>
where
    Socket: embedded_io_async::Read + embedded_io_async::Write + 'a,
    CipherSuite: TlsCipherSuite + 'static,
    Rng: embedded_tls::CryptoRngCore,
{
    provider.verifier_mut().clear_error();
    let r = connection.open(TlsContext::new(config, &mut *provider)).await;
    map(r, provider)
}

fn map<CipherSuite: TlsCipherSuite, Rng: embedded_tls::CryptoRngCore>(
    r: Result<(), TlsError>,
    provider: &DeviceProvider<'_, CipherSuite, Rng>,
) -> Result<(), ConnectError> {
    r.map_err(|e| match provider.last_error() {
        Some(v) => ConnectError::Verify(v),
        None => ConnectError::Tls(e),
    })
}

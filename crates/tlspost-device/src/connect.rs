//! Opening a verified TLS 1.3 connection, blocking or async, with a precise error on refusal.

use core::fmt;

use embedded_tls::MaxFragmentLength;
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
    /// A TLS record did not fit a read buffer smaller than a full record: the server ignored the
    /// max_fragment_length extension. Made by [`ConnectError::with_read_buffer`] from
    /// embedded-tls' `InsufficientSpace`.
    RecordTooLarge {
        /// The read buffer's size in bytes.
        read_buffer: usize,
    },
    /// The server honoured max_fragment_length but its Certificate message is larger than one
    /// fragment, so it came in several records, and embedded-tls reads a handshake message from
    /// one record only. Made by [`ConnectError::with_read_buffer`] from embedded-tls'
    /// `InvalidCertificate` before the verifier saw any certificate (the message ended before its
    /// stated length), with a read buffer smaller than a full record.
    CertificateSpansRecords {
        /// The read buffer's size in bytes.
        read_buffer: usize,
    },
}

/// A read buffer that holds any TLS record: 2^14 bytes of plaintext plus 256 of expansion.
pub const FULL_READ_BUFFER: usize = 16_640;

/// The read buffer that holds a record of `fragment` plaintext bytes as [`config_fragment`]
/// offers them: the fragment plus 256 bytes of expansion (record header, content type, AEAD tag).
pub const fn read_buffer_for(fragment: MaxFragmentLength) -> usize {
    let bytes = match fragment {
        MaxFragmentLength::Bits9 => 512,
        MaxFragmentLength::Bits10 => 1024,
        MaxFragmentLength::Bits11 => 2048,
        MaxFragmentLength::Bits12 => 4096,
    };
    bytes + 256
}

impl ConnectError {
    /// Reads the error against the read buffer the connection was given: embedded-tls'
    /// `InsufficientSpace` with a buffer smaller than [`FULL_READ_BUFFER`] becomes
    /// [`ConnectError::RecordTooLarge`] (the server sent more per record than the buffer holds),
    /// and its `InvalidCertificate` (a verifier refusal is [`ConnectError::Verify`] instead)
    /// [`ConnectError::CertificateSpansRecords`]; any other error is returned as it is.
    pub fn with_read_buffer(self, read_buffer: usize) -> Self {
        match self {
            ConnectError::Tls(TlsError::InsufficientSpace) if read_buffer < FULL_READ_BUFFER => {
                ConnectError::RecordTooLarge { read_buffer }
            }
            ConnectError::Tls(TlsError::InvalidCertificate) if read_buffer < FULL_READ_BUFFER => {
                ConnectError::CertificateSpansRecords { read_buffer }
            }
            other => other,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Verify(e) => write!(f, "TLS handshake refused: {e}"),
            ConnectError::Tls(e) => {
                f.write_str("TLS handshake failed: ")?;
                f.write_str(describe_tls_error(e))
            }
            ConnectError::RecordTooLarge { read_buffer } => write!(
                f,
                "TLS handshake failed: the server sent a record larger than the {read_buffer}-byte read buffer; \
                 it ignored the max_fragment_length extension (RFC 6066): give the device a \
                 {FULL_READ_BUFFER}-byte read buffer for this server"
            ),
            ConnectError::CertificateSpansRecords { read_buffer } => write!(
                f,
                "TLS handshake failed: the server honoured max_fragment_length but its certificates do not fit \
                 one fragment, and the device reads a handshake message from one record only: give the device \
                 a {FULL_READ_BUFFER}-byte read buffer (and no fragment) for this server, or serve a chain whose \
                 Certificate message fits one fragment (the read buffer is {read_buffer} bytes)"
            ),
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
        TlsError::InsufficientSpace => {
            "a TLS record or handshake message did not fit the device's read buffer: a record carries up to 16,384 \
             bytes of data plus 256 of overhead, so the device needs a 16,640-byte read buffer (or a server that \
             honours max_fragment_length)"
        }
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

/// [`config`] offering the max_fragment_length extension (RFC 6066): a server that honours it
/// (OpenSSL's, so nginx) sends records of at most `fragment` plaintext bytes, and the read buffer
/// can be [`read_buffer_for`] that fragment instead of [`FULL_READ_BUFFER`]. embedded-tls cannot
/// join a handshake message that spans records, so the server's Certificate message must fit one
/// fragment too ([`ConnectError::CertificateSpansRecords`] otherwise). Servers that ignore the
/// extension (Cloudflare's, Go's, rustls) make the handshake fail with
/// [`ConnectError::RecordTooLarge`]; both once read with [`ConnectError::with_read_buffer`].
pub fn config_fragment(server_name: &str, fragment: MaxFragmentLength) -> TlsConfig<'_> {
    config(server_name).with_max_fragment_length(fragment)
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

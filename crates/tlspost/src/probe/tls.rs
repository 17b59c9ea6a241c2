//! The rustls handshake over a connected stream, and the one recorder of what the server sent.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use crate::certinfo::CertInfo;

use super::trust::{Trust, TrustError, roots};
use super::{HandshakeError, TlsFailure};

/// A TLS protocol version.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// SSL 3.0 (0x0300).
    Ssl3,
    /// TLS 1.0 (0x0301).
    Tls10,
    /// TLS 1.1 (0x0302).
    Tls11,
    /// TLS 1.2 (0x0303).
    Tls12,
    /// TLS 1.3 (0x0304).
    Tls13,
    /// Any other code.
    Other(u16),
}

impl Version {
    /// The version with this code on the wire.
    pub const fn from_code(code: u16) -> Version {
        match code {
            0x0300 => Version::Ssl3,
            0x0301 => Version::Tls10,
            0x0302 => Version::Tls11,
            0x0303 => Version::Tls12,
            0x0304 => Version::Tls13,
            other => Version::Other(other),
        }
    }

    /// Its code on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Version::Ssl3 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
            Version::Other(c) => c,
        }
    }
}

impl fmt::Display for Version {
    /// OpenSSL's spelling (the client's too): `TLSv1.3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Ssl3 => f.write_str("SSLv3"),
            Version::Tls10 => f.write_str("TLSv1"),
            Version::Tls11 => f.write_str("TLSv1.1"),
            Version::Tls12 => f.write_str("TLSv1.2"),
            Version::Tls13 => f.write_str("TLSv1.3"),
            Version::Other(c) => write!(f, "0x{c:04x}"),
        }
    }
}

/// A version name [`Version`]'s `FromStr` does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownVersion(pub String);

impl fmt::Display for UnknownVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a TLS version name (`SSLv3`, `TLSv1` or `TLSv1.0`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3`, or a \
             code as `0x0304`)",
            self.0
        )
    }
}

impl std::error::Error for UnknownVersion {}

impl std::str::FromStr for Version {
    type Err = UnknownVersion;

    /// What [`Version`]'s `Display` writes, and `TLSv1.0` for TLS 1.0 too.
    fn from_str(s: &str) -> Result<Version, UnknownVersion> {
        Ok(match s {
            "SSLv3" => Version::Ssl3,
            "TLSv1" | "TLSv1.0" => Version::Tls10,
            "TLSv1.1" => Version::Tls11,
            "TLSv1.2" => Version::Tls12,
            "TLSv1.3" => Version::Tls13,
            other => other
                .strip_prefix("0x")
                .filter(|h| h.len() == 4)
                .and_then(|h| u16::from_str_radix(h, 16).ok())
                .map(Version::from_code)
                .ok_or_else(|| UnknownVersion(other.to_string()))?,
        })
    }
}

/// The cipher suite's registered name (`TLS13_AES_128_GCM_SHA256`), when rustls knows it.
pub fn suite_name(code: u16) -> Option<&'static str> {
    rustls::CipherSuite::from(code).as_str()
}

/// The named group's name (`X25519`, `secp256r1`), when rustls knows it.
pub fn group_name(code: u16) -> Option<&'static str> {
    rustls::NamedGroup::from(code).as_str()
}

/// The signature scheme's registered name (`ecdsa_secp256r1_sha256`; IANA "TLS SignatureScheme",
/// RFC 8446 §4.2.3, RFC 8734 for brainpool, draft-ietf-tls-mldsa for ML-DSA), when it has one.
/// rustls' own spelling (`ECDSA_NISTP256_SHA256`) is not the one TLS stacks and their logs use.
pub fn signature_name(code: u16) -> Option<&'static str> {
    Some(match code {
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0401 => "rsa_pkcs1_sha256",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0x081a => "ecdsa_brainpoolP256r1tls13_sha256",
        0x081b => "ecdsa_brainpoolP384r1tls13_sha384",
        0x081c => "ecdsa_brainpoolP512r1tls13_sha512",
        0x0904 => "mldsa44",
        0x0905 => "mldsa65",
        0x0906 => "mldsa87",
        _ => return None,
    })
}

/// Which kind of handshake took place.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandshakeKind {
    /// A full handshake.
    Full,
    /// A full TLS 1.3 handshake that needed a HelloRetryRequest (the server wanted another key share).
    FullWithHelloRetryRequest,
    /// A resumed session: no certificate was sent.
    Resumed,
}

/// What a completed handshake negotiated and what the server sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFacts {
    /// The protocol version.
    pub version: Version,
    /// The cipher suite's code ([`suite_name`] names it).
    pub suite: u16,
    /// The key exchange group's code ([`group_name`] names it); `None` when there was no key
    /// exchange (a TLS 1.2 resumption).
    pub group: Option<u16>,
    /// The ALPN protocol agreed, if any.
    pub alpn: Option<Vec<u8>>,
    /// Full, with a HelloRetryRequest, or resumed.
    pub kind: HandshakeKind,
    /// The name sent as SNI (`None` for an IP address: no SNI is sent).
    pub sni: Option<String>,
    /// The certificates the server sent, DER, in its order (empty when resumed).
    pub chain: Vec<Vec<u8>>,
    /// How long the handshake took.
    pub took: Duration,
}

impl TlsFacts {
    /// The suite's name, or its code in hex.
    pub fn suite_text(&self) -> String {
        suite_name(self.suite).map_or_else(|| format!("0x{:04x}", self.suite), str::to_string)
    }

    /// The group's name, or its code in hex; `None` when there was no key exchange.
    pub fn group_text(&self) -> Option<String> {
        self.group
            .map(|g| group_name(g).map_or_else(|| format!("0x{g:04x}"), str::to_string))
    }

    /// The ALPN protocol agreed, as text (bytes that are not UTF-8 replaced).
    pub fn alpn_text(&self) -> Option<String> {
        self.alpn.as_deref().map(|p| String::from_utf8_lossy(p).into_owned())
    }

    /// Whether the session was resumed (no certificate was sent).
    pub fn resumed(&self) -> bool {
        self.kind == HandshakeKind::Resumed
    }

    /// The served chain, parsed (certificates that do not parse are left out).
    pub fn certs(&self) -> Vec<CertInfo> {
        CertInfo::from_chain(&self.chain)
    }
}

/// Bounds on a handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// The handshake must complete by then; each read and write waits at most until then.
    pub deadline: Option<Instant>,
}

impl Limits {
    /// A handshake that must complete within `timeout` from now.
    pub fn within(timeout: Duration) -> Limits {
        Limits {
            deadline: Instant::now().checked_add(timeout),
        }
    }
}

/// What the server sent in the current handshake, kept even when verification fails.
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

/// The one recorder: remembers the chain the server sends, then verifies it with webpki — or, with
/// no verifier, decides no trust at all (to look at chains nobody trusts yet). Either way the
/// handshake signature is checked, which proves the server holds the leaf's key.
#[derive(Debug)]
struct Recorder {
    verifier: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    seen: Seen,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let served = std::iter::once(end_entity).chain(intermediates);
        *lock(&self.seen) = served.map(|c| c.as_ref().to_vec()).collect();
        match &self.verifier {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn lock(seen: &Seen) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
    seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A rustls client configuration with the recorder in it: ring, TLS 1.2 and 1.3, in-memory
/// session resumption (tickets and IDs). Handshakes made with one setup resume each other's
/// sessions; run them one at a time (the recorder holds the current handshake's chain).
#[derive(Clone, Debug)]
pub struct TlsSetup {
    config: Arc<ClientConfig>,
    seen: Seen,
}

impl TlsSetup {
    /// Verifies the server's chain and name against `trust`; offers `alpn` in order.
    /// [`Trust::InsecureAcceptAnyCertificate`] records without verifying, like [`TlsSetup::recording`].
    pub fn verifying(trust: &Trust, alpn: &[&[u8]]) -> Result<TlsSetup, TrustError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = match trust {
            Trust::InsecureAcceptAnyCertificate => None,
            t => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(t)?), provider.clone())
                    .build()
                    .map_err(|e| TrustError::Verifier(e.to_string()))?,
            ),
        };
        Self::build(verifier, provider, alpn)
    }

    /// Records the chain and decides no trust: for looking at what a server sends, with no
    /// application data to follow. The handshake signature is still checked.
    pub fn recording(alpn: &[&[u8]]) -> Result<TlsSetup, TrustError> {
        Self::build(None, Arc::new(rustls::crypto::ring::default_provider()), alpn)
    }

    fn build(
        verifier: Option<Arc<WebPkiServerVerifier>>,
        provider: Arc<CryptoProvider>,
        alpn: &[&[u8]],
    ) -> Result<TlsSetup, TrustError> {
        let seen = Seen::default();
        let recorder = Arc::new(Recorder {
            verifier,
            provider: provider.clone(),
            seen: seen.clone(),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TrustError::Verifier(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(recorder)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(TlsSetup {
            config: Arc::new(config),
            seen,
        })
    }
}

/// A completed handshake: the connection, ready for application data, and its facts.
#[derive(Debug)]
pub struct Session {
    /// The TLS connection. The client's last flight may still be queued (it leaves with the
    /// first application data, or on [`Session::close`]).
    pub conn: ClientConnection,
    /// The TCP stream under it.
    pub stream: TcpStream,
    /// What was negotiated and sent.
    pub facts: TlsFacts,
}

impl Session {
    /// Sends what is queued and `close_notify`, shuts the stream down, and reads what the server
    /// still sends for a moment (a TLS 1.3 session ticket, kept for resumption; its own
    /// `close_notify`), for a handshake that carries no data.
    pub fn close(mut self) {
        self.conn.send_close_notify();
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.stream).is_err() {
                break;
            }
        }
        let _ = self.stream.flush();
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let _ = self.stream.set_read_timeout(Some(Duration::from_millis(200)));
        // A few records at most: a server that keeps sending is not waited for.
        for _ in 0..8 {
            match self.conn.read_tls(&mut self.stream) {
                Ok(n) if n > 0 && self.conn.process_new_packets().is_ok() => {}
                _ => break,
            }
        }
    }
}

/// Runs a TLS handshake over `stream` for `server_name` (a DNS name, sent as SNI, or an IP
/// address, for which no SNI is sent), within `limits`. `trace` sees every byte on the socket
/// (`true`: sent). Stops as soon as the handshake is complete, leaving the client's last flight
/// queued so that it leaves together with the first request bytes.
pub fn handshake(
    setup: &TlsSetup,
    mut stream: TcpStream,
    server_name: &str,
    limits: Limits,
    trace: &mut dyn FnMut(&[u8], bool),
) -> Result<Session, HandshakeError> {
    let start = Instant::now();
    let bare = server_name
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(server_name);
    let failed = |failure, chain, sni| HandshakeError {
        failure,
        chain,
        sni,
        took: start.elapsed(),
    };
    let Ok(name) = ServerName::try_from(bare.to_string()) else {
        return Err(failed(TlsFailure::InvalidName, Vec::new(), None));
    };
    let sni = match &name {
        ServerName::DnsName(d) => Some(d.as_ref().to_string()),
        _ => None,
    };
    lock(&setup.seen).clear();
    let mut conn = ClientConnection::new(setup.config.clone(), name)
        .map_err(|e| failed(TlsFailure::Other(e.to_string()), Vec::new(), sni.clone()))?;
    while conn.is_handshaking() {
        if let Some(d) = limits.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(failed(TlsFailure::TimedOut, lock(&setup.seen).clone(), sni));
            }
            let _ = stream.set_read_timeout(Some(left));
            let _ = stream.set_write_timeout(Some(left));
        }
        let mut io = Counting {
            inner: &mut stream,
            trace: &mut *trace,
        };
        if let Err(failure) = step(&mut conn, &mut io, bare, &setup.seen) {
            let late = limits.deadline.is_some_and(|d| Instant::now() >= d);
            let failure = match failure {
                TlsFailure::Closed { .. } | TlsFailure::Io { .. } if late => TlsFailure::TimedOut,
                f => f,
            };
            return Err(failed(failure, lock(&setup.seen).clone(), sni));
        }
    }
    let facts = TlsFacts {
        version: conn
            .protocol_version()
            .map_or(Version::Other(0), |v| Version::from_code(u16::from(v))),
        suite: conn.negotiated_cipher_suite().map_or(0, |s| u16::from(s.suite())),
        group: conn.negotiated_key_exchange_group().map(|g| u16::from(g.name())),
        alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        kind: match conn.handshake_kind() {
            Some(rustls::HandshakeKind::Resumed) => HandshakeKind::Resumed,
            Some(rustls::HandshakeKind::FullWithHelloRetryRequest) => HandshakeKind::FullWithHelloRetryRequest,
            _ => HandshakeKind::Full,
        },
        sni,
        chain: std::mem::take(&mut *lock(&setup.seen)),
        took: start.elapsed(),
    };
    Ok(Session { conn, stream, facts })
}

/// One step of the handshake: write what is pending, else read and process one batch of records.
fn step(conn: &mut ClientConnection, io: &mut Counting<'_>, name: &str, seen: &Seen) -> Result<(), TlsFailure> {
    if conn.wants_write() {
        conn.write_tls(io).map_err(|e| TlsFailure::from_io(&e))?;
        return Ok(());
    }
    match conn.read_tls(io) {
        Ok(0) => return Err(TlsFailure::Closed { reset: false }),
        Ok(_) => {}
        Err(e) => return Err(TlsFailure::from_io(&e)),
    }
    if let Err(e) = conn.process_new_packets() {
        // Send the alert rustls queued, so the server's log says why.
        while conn.wants_write() {
            if conn.write_tls(io).is_err() {
                break;
            }
        }
        return Err(TlsFailure::from_rustls(&e, &lock(seen), name));
    }
    Ok(())
}

/// Passes raw socket bytes to the trace (for byte counts during the handshake).
struct Counting<'a> {
    inner: &'a mut TcpStream,
    trace: &'a mut dyn FnMut(&[u8], bool),
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.trace)(buf.get(..n).unwrap_or_default(), false);
        Ok(n)
    }
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        (self.trace)(buf.get(..n).unwrap_or_default(), true);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_read_back() {
        for code in [0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0a0a, 0x7f1c] {
            let v = Version::from_code(code);
            assert_eq!(v.to_string().parse::<Version>(), Ok(v), "{v}");
        }
        assert_eq!("TLSv1.0".parse::<Version>(), Ok(Version::Tls10));
        assert_eq!("0x0303".parse::<Version>(), Ok(Version::Tls12));
        for bad in ["TLSv1.4", "tlsv1.3", "0x303", "0xzzzz", ""] {
            assert_eq!(bad.parse::<Version>(), Err(UnknownVersion(bad.into())), "{bad}");
        }
    }

    #[test]
    fn signature_schemes_by_registered_name() {
        assert_eq!(signature_name(0x0403), Some("ecdsa_secp256r1_sha256"));
        assert_eq!(signature_name(0x0804), Some("rsa_pss_rsae_sha256"));
        assert_eq!(signature_name(0x0807), Some("ed25519"));
        assert_eq!(
            signature_name(0x0303),
            None,
            "a TLS 1.2 hash/signature pair with no scheme name"
        );
        // Every scheme rustls knows has a registered name here.
        for code in 0..=u16::MAX {
            if rustls::SignatureScheme::from(code).as_str().is_some() {
                assert!(signature_name(code).is_some(), "0x{code:04x}");
            }
        }
    }
}

//! The second device backend: rustls 0.23 over its unbuffered API (no I/O of its own, caller-owned
//! record buffers), TLS 1.3 and 1.2, sessions resumed from a caller-owned [`SessionSlot`], and
//! this crate's certificate checks (the same pinned roots, SAN, validity and ECDSA signatures as
//! [`crate::PinnedVerifier`], refusing with the same [`VerifyError`]).
//!
//! It needs an allocator (rustls keeps its handshake state, the server's certificates and the
//! session on the heap) and atomic compare-and-swap (`alloc::sync::Arc`): RV32IMAC (ESP32-C6/H2),
//! not RV32IMC (ESP32-C3). Key exchange, ciphers and randomness are *ring*'s; on a bare-metal
//! target ring takes its random bytes from `getrandom`'s custom hook, where the device registers
//! its TRNG.
//!
//! **The heap.** A server decides how much rustls allocates: it keeps the server's handshake
//! messages while it processes them and the certificates with the session. In `no_std` an
//! allocation that fails aborts, so [`RustlsConnection`] counts the server's handshake bytes at
//! the record layer and refuses past [`Limits::server_handshake`] with
//! [`RustlsError::HandshakeTooLarge`] before rustls sees them. Size the heap as
//! [`Limits::heap_needed`] says.
//!
//! ```no_run
//! # fn demo(socket: std::net::TcpStream, now_unix: u64) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tlspost_device::rustls_backend::{RecordBuffers, RustlsClient, SessionSlot, INCOMING_LEN};
//! # struct Io(std::net::TcpStream);
//! # impl embedded_io::ErrorType for Io { type Error = std::io::Error; }
//! # impl embedded_io::Read for Io { fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> { std::io::Read::read(&mut self.0, b) } }
//! # impl embedded_io::Write for Io { fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { std::io::Write::write(&mut self.0, b) } fn flush(&mut self) -> std::io::Result<()> { Ok(()) } }
//! # const ROOT_DER: &[u8] = &[];
//! static ROOTS: &[&[u8]] = &[ROOT_DER];
//! let sessions = Arc::new(SessionSlot::new()); // keep it: the next connection resumes
//! let client = RustlsClient::new(ROOTS, sessions.clone())?;
//! let mut incoming = vec![0u8; INCOMING_LEN];
//! let mut outgoing = vec![0u8; 1024];
//! let buffers = RecordBuffers { incoming: &mut incoming, outgoing: &mut outgoing };
//! let mut tls = client.connect(Io(socket), "api.example.com", now_unix, buffers)?;
//! // `tls` is an embedded_io::{Read, Write} stream: run the tlspost driver over it.
//! tls.close()?;
//! # Ok(()) }
//! ```

mod conn;
mod error;
mod session;
mod verifier;

use alloc::sync::Arc;
use alloc::vec;

use pki_types::ServerName;
use rustls::client::{Resumption, Tls12Resumption, UnbufferedClientConnection};
use rustls::crypto::CryptoProvider;
use rustls::crypto::ring::{cipher_suite as suite, kx_group};
use rustls::{ClientConfig, version};

pub use conn::RustlsConnection;
pub use error::RustlsError;
pub use session::SessionSlot;

use crate::VerifyError;

/// The incoming record buffer's size: one whole TLS record (2^14 plaintext + 256 of expansion +
/// a 5-byte header). A smaller buffer works only with a server whose records are smaller; a record
/// that does not fit is [`RustlsError::RecordTooLarge`].
pub const INCOMING_LEN: usize = 16_645;

/// The smallest outgoing buffer: the ClientHello (about 250 bytes plus the host name; with a
/// resumption ticket, plus the ticket) must fit in one.
pub const OUTGOING_MIN: usize = 512;

/// The buffers a connection works in, owned by the caller.
pub struct RecordBuffers<'b> {
    /// TLS records as received: [`INCOMING_LEN`] bytes.
    pub incoming: &'b mut [u8],
    /// TLS records on the way out: at least [`OUTGOING_MIN`]; application data goes out in
    /// records of at most this size less 64 bytes.
    pub outgoing: &'b mut [u8],
}

/// What the server may make the device allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of TLS records the server may send before the handshake completes (its
    /// ServerHello, certificates, and in TLS 1.2 its key exchange; record headers included).
    /// 8,192 by default: an ECDSA chain of leaf and intermediate (Let's Encrypt's shape) takes
    /// about 2,700, an RSA-2048 one about 4,000.
    pub server_handshake: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            server_handshake: 8_192,
        }
    }
}

impl Limits {
    /// The heap a connection needs at most with these limits: 6 KiB for rustls' own state
    /// (configuration, key schedule, transcript), the server's handshake (its certificates stay
    /// with the session), and the larger of: the server's handshake again (while it is checked),
    /// or two incoming records' plaintext (2 × [`INCOMING_LEN`]: rustls 0.23's unbuffered client
    /// hands out application data from a copy on its heap, and the connection keeps what the
    /// caller has not read yet in a second one). 47,626 bytes with the default limits.
    /// `tests/rustls_heap.rs` holds connections to it; measured figures are in bench/RESULTS.md.
    pub const fn heap_needed(&self) -> usize {
        let records = 2 * INCOMING_LEN;
        let larger = if self.server_handshake > records {
            self.server_handshake
        } else {
            records
        };
        6 * 1024 + self.server_handshake + larger
    }
}

/// Opens verified TLS connections to servers under pinned roots, resuming from its
/// [`SessionSlot`].
///
/// One configuration serves every connection: rustls resumes a session only with the verifier
/// (and client-certificate resolver) that made it.
pub struct RustlsClient {
    config: Arc<ClientConfig>,
    clock: Arc<session::DeviceClock>,
    refusal: verifier::Refusal,
    sessions: Arc<SessionSlot>,
    limits: Limits,
}

impl RustlsClient {
    /// A client trusting the given DER roots and keeping its sessions in `sessions`. Every root is
    /// parsed here, so a bad root fails at start-up ([`RustlsError::Verify`]); rustls refusing the
    /// provider's suites would be [`RustlsError::Tls`].
    pub fn new(
        roots: &'static [&'static [u8]],
        sessions: Arc<SessionSlot>,
    ) -> Result<Self, RustlsError<core::convert::Infallible>> {
        crate::verifier::check_root_count(roots).map_err(RustlsError::Verify)?;
        for (index, root) in roots.iter().enumerate() {
            crate::verifier::anchor(root, index).map_err(RustlsError::Verify)?;
        }
        let clock = Arc::new(session::DeviceClock::default());
        let refusal: verifier::Refusal = Arc::new(spin::Mutex::new(None));
        let verifier = Arc::new(verifier::RustlsVerifier::new(roots, refusal.clone()));
        let mut config = ClientConfig::builder_with_details(Arc::new(provider()), clock.clone())
            .with_protocol_versions(&[&version::TLS13, &version::TLS12])
            .map_err(RustlsError::Tls)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.resumption = Resumption::store(sessions.clone()).tls12_resumption(Tls12Resumption::SessionIdOrTickets);
        Ok(Self {
            config: Arc::new(config),
            clock,
            refusal,
            sessions,
            limits: Limits::default(),
        })
    }

    /// Other limits for what servers may send (see [`Limits::heap_needed`]).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The session store shared by this client's connections.
    pub fn sessions(&self) -> &Arc<SessionSlot> {
        &self.sessions
    }

    /// Connects over `socket` to `server_name` (sent as SNI and checked against the certificate's
    /// SANs) and completes the handshake, resuming when the slot holds a session for it. The
    /// certificates are judged at `now_unix` (the device clock).
    pub fn connect<'b, S>(
        &self,
        socket: S,
        server_name: &str,
        now_unix: u64,
        buffers: RecordBuffers<'b>,
    ) -> Result<RustlsConnection<'b, S>, RustlsError<S::Error>>
    where
        S: embedded_io::Read + embedded_io::Write,
    {
        let name = ServerName::try_from(server_name)
            .map_err(|_| RustlsError::Verify(VerifyError::InvalidServerName))?
            .to_owned();
        self.clock.set(now_unix);
        *self.refusal.lock() = None;
        let conn = UnbufferedClientConnection::new(self.config.clone(), name).map_err(RustlsError::Tls)?;
        let mut tls = RustlsConnection::new(socket, conn, buffers, self.limits, self.refusal.clone())?;
        tls.handshake()?;
        Ok(tls)
    }
}

/// ring's AES-GCM and ChaCha20-Poly1305 suites for TLS 1.3 and ECDHE ones for TLS 1.2, X25519 and
/// P-256 key exchange. The TLS 1.2 ECDHE-RSA suites are offered so that an RSA-only server
/// presents its certificate and is refused with [`VerifyError::UnsupportedKey`]. Certificate
/// signatures are this crate's ([`crate::algs`]), so ring's signature code is not linked.
fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![
        suite::TLS13_AES_128_GCM_SHA256,
        suite::TLS13_CHACHA20_POLY1305_SHA256,
        suite::TLS13_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1];
    provider.signature_verification_algorithms = SIGNATURES;
    provider
}

/// The certificate signatures rustls may check itself (it does not: [`verifier::RustlsVerifier`]
/// does, with the same algorithms).
static SIGNATURES: rustls::crypto::WebPkiSupportedAlgorithms = rustls::crypto::WebPkiSupportedAlgorithms {
    all: crate::algs::ALL,
    mapping: &[
        (
            rustls::SignatureScheme::ECDSA_NISTP256_SHA256,
            &[&crate::algs::ECDSA_P256_SHA256, &crate::algs::ECDSA_P384_SHA256],
        ),
        (
            rustls::SignatureScheme::ECDSA_NISTP384_SHA384,
            &[&crate::algs::ECDSA_P384_SHA384, &crate::algs::ECDSA_P256_SHA384],
        ),
    ],
};

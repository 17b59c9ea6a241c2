//! Device TLS for tlspost: embedded-tls with a certificate verifier that does the whole job in a
//! few hundred bytes and no allocator.
//!
//! [`PinnedVerifier`] accepts the server when a path from its certificate reaches one of several
//! pinned roots (whatever order, extra or cross-signed certificates the server sends), the host
//! name matches a subjectAltName (DNS with RFC 6125 wildcards, or IP address; never the CN), every
//! certificate on the path is valid at the time you supply, and the signatures (ECDSA P-256/P-384)
//! verify. Path building and name matching are rustls-webpki's (built without `alloc`); the
//! signature checks are the RustCrypto `p256`/`p384` crates.
//!
//! ```no_run
//! # fn demo(socket: std::net::TcpStream, now_unix: u64) -> Result<(), Box<dyn std::error::Error>> {
//! use embedded_io::Write as _;
//! use embedded_tls::{Aes128GcmSha256, blocking::TlsConnection};
//! use tlspost_device::{DeviceProvider, PinnedVerifier, config, open_blocking};
//!
//! # const ROOT_DER: &[u8] = &[];
//! static ROOTS: &[&[u8]] = &[ROOT_DER]; // e.g. include_bytes!("roots/isrg-root-x1.der")
//! # struct Io(std::net::TcpStream);
//! # impl embedded_io::ErrorType for Io { type Error = std::io::Error; }
//! # impl embedded_io::Read for Io { fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> { std::io::Read::read(&mut self.0, b) } }
//! # impl embedded_io::Write for Io { fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { std::io::Write::write(&mut self.0, b) } fn flush(&mut self) -> std::io::Result<()> { Ok(()) } }
//! let mut read_buf = [0u8; 16_640]; // 2^14 + 256: a full TLS record
//! let mut write_buf = [0u8; 512]; // one outgoing record: the ClientHello fits for any host name
//! let mut tls: TlsConnection<_, Aes128GcmSha256> =
//!     TlsConnection::new(Io(socket), &mut read_buf, &mut write_buf);
//! let verifier = PinnedVerifier::new(ROOTS, now_unix)?;
//! let mut provider = DeviceProvider::new(rand_core::OsRng, verifier);
//! let config = config("api.example.com");
//! open_blocking(&mut tls, &config, &mut provider)?; // ConnectError says exactly why on refusal
//! tls.write_all(b"POST / HTTP/1.1\r\n...")?;
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable
    )
)]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "rustls")]
extern crate alloc;

pub mod algs;
mod connect;
pub mod error;
mod provider;
#[cfg(feature = "rustls")]
pub mod rustls_backend;
mod spki;
mod verifier;

pub use connect::{
    ConnectError, FULL_READ_BUFFER, config, config_fragment, describe_tls_error, open_async, open_blocking,
    read_buffer_for,
};
pub use error::{KeyKind, VerifyError};
pub use provider::DeviceProvider;
pub use verifier::{LeafKeyInfo, MAX_CHAIN, MAX_HOST, MAX_ROOTS, PinnedVerifier};

/// embedded-tls, re-exported so firmware uses the same version.
pub use embedded_tls;

#[cfg(test)]
mod tests {
    use embedded_tls::Aes128GcmSha256;

    /// The verifier's state is a fixed size; docs/device.md quotes this figure.
    #[test]
    fn verifier_state_is_small() {
        let v = core::mem::size_of::<crate::PinnedVerifier<'static, Aes128GcmSha256>>();
        std::eprintln!("size_of PinnedVerifier<Aes128GcmSha256> = {v} B");
        assert!(v <= 640, "{v}");
    }
}

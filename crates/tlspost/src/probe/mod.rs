//! One TLS probe layer: resolve a name, connect over TCP, run a TLS handshake, and record what the
//! server did — the chain as served, the negotiated version, suite, group and ALPN, whether the
//! session was resumed or a HelloRetryRequest was needed, how long each step took — as typed facts,
//! and every failure as a typed cause.
//!
//! The steps are separate so that each user takes what it needs and a handshake can be swapped:
//!
//! - [`resolve`]: `host:port` to addresses, with overrides given as data ([`Override`], like curl's
//!   `--resolve HOST:PORT:ADDR`), an IP literal as it is, else DNS.
//! - [`connect`]: the first address that accepts within a timeout; which address, how long, and why
//!   each one before it failed ([`ConnectError`] with a [`ConnectFailure`] and the OS error kind).
//! - [`handshake`]: rustls over the connected stream, with a [`TlsSetup`] that either verifies
//!   (with a [`Trust`]) or only records (to look at chains nobody trusts yet). It returns a
//!   [`Session`] (the connection, ready for data, and its [`TlsFacts`]) or a [`HandshakeError`]
//!   whose [`TlsFailure`] says why, with the chain the server sent.
//!
//! The client, the certificate report (`tlspost-certs`) and the doctor use it. Other handshakes (a hand-built ClientHello,
//! the device's own TLS stack) run over the same [`Connected`] stream and share its timing and
//! failure types.
//!
//! Messages state facts and what to change, in the server's or the network's terms; they name no
//! command-line option (a command adds its own advice).

mod alert;
#[cfg(feature = "device-probe")]
pub mod device;
mod failure;
pub mod hello;
mod net;
mod tls;
mod trust;

pub use alert::Alert;
pub use failure::{CertProblem, HandshakeError, TlsFailure};
pub use net::{
    BadOverride, ConnectAttempt, ConnectError, ConnectFailure, Connected, Override, ResolveError, Resolved, Source,
    connect, resolve,
};
pub use tls::{
    HandshakeKind, Limits, Session, TlsFacts, TlsSetup, UnknownVersion, Version, group_name, handshake, signature_name,
    suite_name,
};
pub use trust::{Trust, TrustError};

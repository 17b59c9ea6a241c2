//! The kit every tlspost test starts its world with.
//!
//! - [`pki`]: certificate authorities, intermediates, cross-signed copies and server leaves made at
//!   test time (ECDSA P-256/P-384, RSA-2048), with any validity window and any host names.
//! - Real servers on loopback: [`nginx::Nginx`], [`caddy::Caddy`], [`s_server::SServer`]
//!   (`openssl s_server`), [`gnutls::GnutlsServ`] (`gnutls-serv`, on every interface),
//!   [`serve::Serve`] (`tlspost serve` as a process) and the in-process recording
//!   [`origin::Origin`].
//!   nginx, caddy, s_server and gnutls-serv are each a [`server::Server`] (ports, process,
//!   directory) with its own start.
//!
//! A server fixture is *ready* only when the listening socket on its port is proven to be held by
//! the fixture's own child process ([`proc::Listener`]), never merely because something accepts
//! on the port: a port taken by another process makes the fixture fail with
//! [`proc::StartError::PortTaken`] (and the `start` functions try another port). Every fixture stops
//! its process by pid when dropped.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod caddy;
pub mod gnutls;
pub mod http;
pub mod nginx;
pub mod origin;
pub mod pki;
pub mod proc;
pub mod s_server;
pub mod serve;
pub mod server;

pub use pki::{Alg, Ca, Leaf};
pub use proc::StartError;

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &std::path::Path, name: &str, text: impl AsRef<[u8]>) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}

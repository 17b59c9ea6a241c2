//! The tlspost capture server: point a device at it and see exactly what it sent.
//!
//! It listens on plain HTTP and HTTPS, keeps the exact bytes of every request (also those that do
//! not parse) with arrival times, read counts, the peer and the TLS ClientHello facts (SNI, ALPN,
//! versions, cipher suites, groups, signature algorithms, JA4), lints each request with
//! `tlspost-lint`, stores it in SQLite before answering, and shows it all in a web UI and a JSON API
//! under `/_tlspost/` on the HTTP listener.
//!
//! ```no_run
//! use tlspost_serve::{Config, Server};
//!
//! let dir = std::env::temp_dir().join("tlspost-doc");
//! let mut config = Config::new(&dir);
//! config.http = Some("127.0.0.1:0".parse().unwrap());
//! config.https = Some("127.0.0.1:0".parse().unwrap());
//! let server = Server::start(config).unwrap();
//! println!("UI at http://{}/_tlspost/", server.http_addr().unwrap());
//! ```
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod budget;
pub mod clienthello;
mod config;
mod conn;
mod error;
mod forward;
pub mod framing;
mod html;
mod json;
mod line;
mod lock;
mod mask;
pub mod pki;
pub mod record;
pub mod replay;
pub mod respond;
mod server;
mod state;
pub mod store;
mod stream;
mod tls;
mod ui;

pub use config::{Config, ConfigError, Limits, MIN_HEAD};
pub use error::Error;
pub use forward::Forward;
pub use record::{Capture, FindingRecord, TlsFacts, Upstream};
pub use respond::{Profile, RespondRule, RuleError};
pub use server::{Server, serve_blocking};
pub use store::SyncMode;

//! `tlspost-certs`: which roots a device should pin for a server, for how long, as firmware-ready code.
//!
//! It fetches the chain a server sends (with SNI), shows it readably, finds every valid path from the
//! leaf to a root (Mozilla's store plus your own), recommends the roots to pin — never the leaf, never
//! an intermediate — warns about expiry, and emits PEM, DER, Arduino, ESP-IDF, Rust or an ESP-IDF
//! certificate bundle.
//!
//! ```
//! use tlspost_certs::{Analysis, RootStore, CertInfo};
//! // A saved chain would come from `tlspost_certs::pem::read_certs`; Mozilla's roots are built in.
//! let store = RootStore::mozilla();
//! let root = &store.roots[0].cert;
//! // A root alone is no server chain: nothing verifies, and the report says why.
//! let a = Analysis::new(vec![root.clone()], None, &store, tlspost::certinfo::now_unix());
//! assert!(a.recommend(730).is_err());
//! ```
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod analyze;
mod cert;
pub mod check;
pub mod cover;
pub mod emit;
mod error;
pub mod fetch;
pub mod pem;
pub mod report;
pub mod roots;
pub mod verify;

pub use analyze::{Analysis, ChainPath, Problem, Recommendation, Role, Warning};
pub use cert::{CertInfo, date, terminal_safe};
pub use emit::{BundleFormat, EmitOptions, Format, emit};
pub use error::CertsError;
pub use fetch::{Served, Target, fetch_chain};
pub use report::{ChainReport, Found, Input, PinnedVerdict, Report, Request};
pub use roots::{Root, RootSource, RootStore};

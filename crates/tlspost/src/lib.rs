//! Device-grade HTTPS POST: the drivers that run a [`tlspost_proto`] exchange over a transport, and
//! (feature `std`) a host client with rustls, pinned roots, keep-alive, resumption and a wire trace.
//!
//! The blocking driver works over any `embedded_io::{Read, Write}` transport — a TLS session on a
//! device, a TCP stream on a host — with caller buffers and no allocation:
//!
//! ```
//! use tlspost::driver::{exchange, parse_head, Buffers, Hooks};
//! use tlspost_proto::{httparse, Body, Budgets, Deadlines, Millis, Request};
//!
//! /// A canned server: what it "receives" is kept, what it "sends" is fixed.
//! struct Loop { sent: [u8; 256], n: usize, reply: &'static [u8] }
//! impl embedded_io::ErrorType for Loop { type Error = core::convert::Infallible; }
//! impl embedded_io::Write for Loop {
//!     fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> {
//!         let k = b.len().min(self.sent.len() - self.n);
//!         self.sent[self.n..self.n + k].copy_from_slice(&b[..k]);
//!         self.n += k;
//!         Ok(k)
//!     }
//!     fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
//! }
//! impl embedded_io::Read for Loop {
//!     fn read(&mut self, b: &mut [u8]) -> Result<usize, Self::Error> {
//!         let k = b.len().min(self.reply.len());
//!         b[..k].copy_from_slice(&self.reply[..k]);
//!         self.reply = &self.reply[k..];
//!         Ok(k)
//!     }
//! }
//! /// The device's clock and where the body goes.
//! struct Dev { ms: u64, body: [u8; 32], len: usize }
//! impl Hooks for Dev {
//!     fn now(&mut self) -> Millis { self.ms += 1; Millis(self.ms) }
//!     fn body(&mut self, d: &[u8]) -> bool {
//!         let Some(dst) = self.body.get_mut(self.len..self.len + d.len()) else { return false };
//!         dst.copy_from_slice(d);
//!         self.len += d.len();
//!         true
//!     }
//! }
//!
//! let mut io = Loop { sent: [0; 256], n: 0, reply: b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}" };
//! let req = Request::post("api.example.com", "/v1/token", Body::Json(br#"{"a":1}"#));
//! let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
//! let mut dev = Dev { ms: 0, body: [0; 32], len: 0 };
//! let mut deadlines = Deadlines::new(Budgets::default(), Millis(0));
//! let out = exchange(&mut io, &req, &mut deadlines, Buffers { rx: &mut rx, tx: &mut tx }, &mut dev).unwrap();
//! assert_eq!(out.status, 200);
//! assert_eq!(&dev.body[..dev.len], br#"{"ok":true}"#);
//! assert!(out.close.is_none()); // the connection may carry the next request
//! let mut hs = [httparse::EMPTY_HEADER; 8];
//! let (_, reason, headers) = parse_head(&rx[..out.head_len], &mut hs).unwrap();
//! assert_eq!((reason, headers.len()), ("OK", 1));
//! assert!(io.sent[..io.n].ends_with(b"\r\n\r\n{\"a\":1}"));
//! ```
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

pub use embedded_io;
pub use tlspost_proto as proto;

#[cfg(feature = "async")]
pub mod async_driver;
pub mod driver;

#[cfg(feature = "std")]
pub mod certinfo;
#[cfg(feature = "std")]
pub mod client;
#[cfg(feature = "std")]
mod conn;
#[cfg(feature = "std")]
pub mod error;
#[cfg(feature = "std")]
pub mod probe;
#[cfg(feature = "std")]
pub mod trace;
#[cfg(feature = "std")]
pub mod trust;
#[cfg(feature = "std")]
pub mod url;

#[cfg(feature = "std")]
pub use client::{Client, ClientBuilder, RequestSpec, Response};
#[cfg(feature = "std")]
pub use error::{ConnectFailure, Error, ErrorClass, RedirectRefusal, UrlProblem};
#[cfg(feature = "std")]
pub use trust::Trust;

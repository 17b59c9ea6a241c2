//! Sans-IO HTTP/1.1 client core for devices: `no_std`, no allocation, no clock.
//!
//! `tlspost-proto` does everything between "socket open" and "response in hand" without doing any
//! I/O itself: it encodes a request into buffers you own, reads the response from bytes you feed it
//! in pieces of any size, decides the body framing (RFC 9112 §6.3), decodes the body, and says
//! whether the connection may be reused. Time is an argument, never read from a clock.
//!
//! ```
//! use tlspost_proto::{Body, Exchange, HeadStatus, Request};
//!
//! let req = Request::post("api.example.com", "/oauth/token", Body::Json(br#"{"a":1}"#));
//! let mut ex = Exchange::new(&req).unwrap();
//!
//! // Send: pull the request bytes out in pieces (here 64 bytes at a time).
//! let mut wire = [0u8; 512];
//! let mut sent = 0;
//! while !ex.request_done() {
//!     let end = (sent + 64).min(wire.len());
//!     sent += ex.poll_output(&mut wire[sent..end]).unwrap();
//! }
//! assert!(wire[..sent].starts_with(b"POST /oauth/token HTTP/1.1\r\nHost: api.example.com\r\n"));
//!
//! // Receive: feed whatever arrived; the head is parsed once it is complete.
//! let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
//! let mut headers = [httparse::EMPTY_HEADER; 16];
//! let head_len = match ex.read_head(response, &mut headers).unwrap() {
//!     HeadStatus::Complete(head) => {
//!         assert_eq!(head.status, 200);
//!         head.len
//!     }
//!     _ => unreachable!(),
//! };
//! let mut body = [0u8; 16];
//! let (used, produced) = ex.read_body(&response[head_len..], &mut body).unwrap();
//! assert_eq!((used, &body[..produced]), (2, &b"ok"[..]));
//! assert!(ex.is_done());
//! assert!(ex.close_reason().is_none()); // the connection may be reused
//! ```
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unreachable,
    clippy::arithmetic_side_effects
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(all(feature = "std", not(test)))]
extern crate std;

pub use httparse;

pub mod body;
pub mod chunked;
pub mod date;
pub mod deadline;
#[cfg(feature = "edge")]
pub mod edge;
pub mod encode;
pub mod error;
pub mod escape;
pub mod exchange;
pub mod framing;
pub mod head;
pub mod redirect;
pub mod request;
pub mod retry;
pub mod secrets;
pub mod syntax;
pub mod url;

pub use body::BodyDecoder;
pub use deadline::{Budgets, Deadlines, Millis, Phase};
pub use encode::Encoder;
pub use error::{BodyError, EncodeError, Error, Field, HeadError};
pub use exchange::Exchange;
pub use framing::{BodyFraming, CloseReason, Framing};
pub use head::{HeadReader, HeadStatus, ResponseHead};
pub use request::{Body, Connection, Header, NotOmittable, Omit, Request, Scheme, Version};

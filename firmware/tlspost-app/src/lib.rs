//! What a tlspost device firmware does, written once over `embedded-io-async`: build a JSON
//! `POST`, open TLS 1.3 with [`tlspost_device`]'s pinned-root verifier, run [`tlspost`]'s async
//! driver, retry only when it is safe ([`tlspost_proto::retry`]), and print the status, the
//! timings and the response on the console.
//!
//! The board supplies three things and the buffers:
//! - [`Net`]: a TCP connection to a host and port (on an ESP32-C3, embassy-net's DNS and
//!   `TcpSocket`; under QEMU, the UART bridged to a TCP socket);
//! - [`Clock`]: a monotonic millisecond clock, the time of day for certificate dates (SNTP, or the
//!   build time as a floor) and a sleep;
//! - a random number generator (`rand_core` 0.6 `CryptoRng + RngCore`): the hardware TRNG.
//!
//! [`Memory`] holds every buffer (about 19 KB); put it in a `StaticCell` under embassy so it is
//! not part of a task's future.
//!
//! ```no_run
//! # async fn demo<N: tlspost_app::Net, C: tlspost_app::Clock, R: tlspost_device::embedded_tls::CryptoRngCore>(
//! #     net: &mut N, clock: &mut C, rng: &mut R, console: &mut impl core::fmt::Write, mem: &mut tlspost_app::Memory,
//! # ) {
//! use tlspost_app::{Job, Parts, post};
//! static ROOTS: &[&[u8]] = &[]; // `tlspost certs HOST --format rust` writes the real ones
//! let job = Job::new("https://api.example.com/v1/readings", br#"{"t":21.5}"#, ROOTS).unwrap();
//! let parts = Parts { net, clock, rng, out: console };
//! match post(parts, &job, &mut mem.buffers()).await {
//!     Ok(report) => { let _ = report.status; }
//!     Err(failed) => { let _ = failed.attempts; }
//! }
//! # }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

use core::fmt;

use embedded_io_async::{Read, Write};
use tlspost_proto::request::DEFAULT_USER_AGENT;
use tlspost_proto::retry::RetryPolicy;
use tlspost_proto::url::{Url, UrlError};
use tlspost_proto::{Budgets, Header, Scheme};

mod report;
mod run;

pub use report::{Error, Failed, Report, Timings};
pub use run::post;

/// TCP connections, as the board makes them.
// The executors these firmwares run on are single-threaded: no `Send` bound is wanted on the futures.
#[allow(async_fn_in_trait)]
pub trait Net {
    /// An open connection.
    type Socket<'s>: Read + Write
    where
        Self: 's;
    /// Why a connection could not be made (a name that does not resolve, a refused port, no link):
    /// its `Display` states the fact.
    type Error: fmt::Display;
    /// Resolves `host` and connects to `port`.
    async fn connect(&mut self, host: &str, port: u16) -> Result<Self::Socket<'_>, Self::Error>;
    /// Closes a connection the exchange is done with (after TLS close_notify).
    async fn close<'s>(socket: Self::Socket<'s>)
    where
        Self: 's;
}

/// Time, as the board knows it.
#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Milliseconds on a monotonic clock (timings and deadlines).
    fn now_ms(&mut self) -> u64;
    /// Seconds since 1970 for certificate validity: SNTP's time, or the firmware's build time as a
    /// floor before the clock is set (docs/device.md, "Time").
    fn unix_time(&mut self) -> u64;
    /// Waits `ms` milliseconds (between retries).
    async fn sleep_ms(&mut self, ms: u64);
}

/// What the board lends [`post`]: its network, clock, random number generator and console.
pub struct Parts<'p, N, C, R, W> {
    /// TCP connections.
    pub net: &'p mut N,
    /// Time.
    pub clock: &'p mut C,
    /// The TLS randomness (ECDHE key, ClientHello random) and the retry jitter: a hardware TRNG.
    pub rng: &'p mut R,
    /// Where progress, the status, the timings and the response are printed.
    pub out: &'p mut W,
}

/// One report to send: where, what, the roots that may vouch for the server, and how to retry.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The `https://` URL (host, port and path).
    pub url: Url<'a>,
    /// The JSON body.
    pub body: &'a [u8],
    /// Extra header fields (an `Idempotency-Key` makes a `POST` safe to send again).
    pub headers: &'a [Header<'a>],
    /// The pinned roots (DER), as `tlspost certs HOST --format rust` writes them.
    pub roots: &'a [&'a [u8]],
    /// When to try again ([`RetryPolicy::default`]: 3 attempts).
    pub retry: RetryPolicy,
    /// Deadlines per phase ([`Budgets::default`]).
    pub budgets: Budgets,
    /// The `User-Agent`.
    pub user_agent: &'a str,
}

/// Why a [`Job`] cannot be made from its settings.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobError {
    /// The URL does not parse.
    Url(UrlError),
    /// The URL is `http://`: this firmware only speaks TLS.
    NotHttps,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Url(e) => write!(f, "the URL setting does not parse: {e}"),
            JobError::NotHttps => {
                f.write_str("the URL setting is http://: this firmware sends over TLS only, use https://")
            }
        }
    }
}

impl<'a> Job<'a> {
    /// A `POST` of the JSON `body` to `url` (`https://` only), with the default retry policy and
    /// budgets.
    pub fn new(url: &'a str, body: &'a [u8], roots: &'a [&'a [u8]]) -> Result<Job<'a>, JobError> {
        let url = Url::parse(url).map_err(JobError::Url)?;
        if url.scheme != Scheme::Https {
            return Err(JobError::NotHttps);
        }
        Ok(Job {
            url,
            body,
            headers: &[],
            roots,
            retry: RetryPolicy::default(),
            budgets: Budgets::default(),
            user_agent: DEFAULT_USER_AGENT,
        })
    }
}

/// TLS read buffer: one whole record ([`tlspost_device::FULL_READ_BUFFER`]: 2^14 bytes of plaintext
/// plus 256 of overhead). Servers send full records whatever the client asks (max_fragment_length
/// is widely ignored).
pub const TLS_RX: usize = tlspost_device::FULL_READ_BUFFER;
/// TLS write buffer: one outgoing record; the ClientHello is under 450 bytes for any host name, and
/// a longer request goes out in several records.
pub const TLS_TX: usize = 512;
/// HTTP receive buffer: the response head must fit (with room for body bytes after it).
pub const HTTP_RX: usize = 1_024;
/// HTTP transmit buffer: request pieces on the way out, decoded body bytes on the way in.
pub const HTTP_TX: usize = 256;
/// The first bytes of the response body kept to be printed.
pub const KEEP: usize = 1_024;

/// Every buffer [`post`] works in, in one place: 19,456 bytes. Under embassy put it in a
/// `StaticCell` (`static MEM: StaticCell<Memory>`), so it lives in `.bss` and not in a task future.
pub struct Memory {
    tls_rx: [u8; TLS_RX],
    tls_tx: [u8; TLS_TX],
    http_rx: [u8; HTTP_RX],
    http_tx: [u8; HTTP_TX],
    keep: [u8; KEEP],
}

impl Memory {
    /// Zeroed buffers (a `const fn`, so `StaticCell::new()` needs no initializer at run time).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Memory {
        Memory {
            tls_rx: [0; TLS_RX],
            tls_tx: [0; TLS_TX],
            http_rx: [0; HTTP_RX],
            http_tx: [0; HTTP_TX],
            keep: [0; KEEP],
        }
    }

    /// The buffers, lent to [`post`].
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            tls_rx: &mut self.tls_rx,
            tls_tx: &mut self.tls_tx,
            http_rx: &mut self.http_rx,
            http_tx: &mut self.http_tx,
            keep: &mut self.keep,
        }
    }
}

/// The buffers [`post`] works in, owned by the caller ([`Memory::buffers`], or slices of its own).
pub struct Buffers<'b> {
    /// TLS records in ([`TLS_RX`]).
    pub tls_rx: &'b mut [u8],
    /// TLS records out ([`TLS_TX`]).
    pub tls_tx: &'b mut [u8],
    /// The response head and body bytes as they arrive ([`HTTP_RX`]).
    pub http_rx: &'b mut [u8],
    /// Request pieces and decoded body bytes ([`HTTP_TX`]).
    pub http_tx: &'b mut [u8],
    /// The first response body bytes, printed in the report ([`KEEP`]).
    pub keep: &'b mut [u8],
}

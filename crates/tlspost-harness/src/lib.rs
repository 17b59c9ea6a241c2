//! The host side of `firmware/rv32-harness`: one firmware build, many TLS connections.
//!
//! - [`relay`]: runs the firmware under QEMU with its UART on a local socket and answers the
//!   frames it sends ([`wire`]): questions (its next [`job::Job`]) and TCP connections it opens,
//!   feeds and closes, to real servers; scans each server's records on the way.
//! - [`job`]: a job (pinned roots, host name, clock, target, optional POST) and the outcome line
//!   the firmware prints for it.
//! - [`agree`]: the proof that doctor's `tlspost` profile says what the firmware does, on five
//!   servers from the test kit.
//! - [`fragment`]: the 4 KB-fragment run of the embedded-tls backend against nginx (which honours
//!   max_fragment_length) and `tlspost serve` (which does not).
//!
//! `firmware/rv32-harness/README.md` says how to add jobs, and another TLS backend.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod agree;
pub mod fragment;
pub mod job;
pub mod relay;
pub mod wire;

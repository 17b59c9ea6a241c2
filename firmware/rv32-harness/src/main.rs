//! One firmware build, many TLS connections: rv32-harness asks the host relay for its jobs at run
//! time (the pinned roots, the host name sent as SNI and checked against the certificate, the
//! device's clock, the `HOST:PORT` to connect to, optionally a path to POST to) and runs the
//! device's own TLS code for each — embedded-tls with tlspost-device's pinned-root verifier, the
//! same calls as rv32-qemu, and tlspost's blocking driver for the POST — printing one
//! machine-readable line per job:
//!
//! ```text
//! job 1 ok suite=TLS_AES_128_GCM_SHA256 handshake_ms=412 hs_rx=1339 hs_tx=250 hs_instret=203977643 status=200
//! job 2 fail Tls(HandshakeAborted(Fatal, ProtocolVersion))
//! job 3 fail Verify(UnsupportedKey { kind: Rsa })
//! ```
//!
//! A failing job is an outcome, not a failure of the program: it ends with `DONE` once the host
//! has no more jobs. The UART carries the relay's frames (`rv32_virt::relay`), the console is
//! semihosting. README.md says how to add jobs and another TLS backend.
#![no_std]
#![no_main]

mod counted;
mod job;
mod post;
mod run;
// The same insecure test RNG as rv32-qemu (one file, not a copy).
#[path = "../../rv32-qemu/src/rng.rs"]
mod rng;

rv32_virt::entry!(
    concat!(
        "rv32-harness: jobs from the host relay, RV32IMC bare metal, no heap\n",
        "WARNING: INSECURE TEST RNG (SplitMix64 seeded from the timer); a device must plug in its TRNG\n"
    ),
    "peak stack bytes (TLS buffers included): ",
    run::all
);

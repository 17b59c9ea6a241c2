//! tlspost-device's rustls backend on RV32IMAC bare metal (the ESP32-C6/H2 class; rustls needs
//! atomic compare-and-swap, which RV32IMC lacks). Like rv32-harness it asks the host relay for its
//! jobs at run time (pinned roots, host name, clock, `HOST:PORT`, optionally a path to POST JSON
//! to) and runs one connection per job, but over rustls: TLS 1.3 and 1.2, and ONE
//! [`SessionSlot`](tlspost_device::rustls_backend::SessionSlot) kept across the jobs, so a job to
//! the server of the job before resumes its session. One line per job:
//!
//! ```text
//! job 1 ok version=1.3 resumed=0 hs_rx=2675 hs_tx=299 hs_instret=41234567 heap_peak=9120 status=200 body=30
//! job 2 ok version=1.3 resumed=1 hs_rx=566 hs_tx=805 hs_instret=2345678 heap_peak=7020 status=200 body=30
//! ```
//!
//! `hs_rx`/`hs_tx` are the handshake's bytes on the wire (TLS records, headers included) from and
//! to the server; `hs_instret` the instructions the handshake executed (`rdinstret`; QEMU counts
//! them with `-icount`), less those spent waiting on the UART and framing the relay's bytes;
//! `heap_peak` the heap's high-water mark during the job. The heap is a fixed arena
//! ([`heap::ARENA`] bytes, in `.bss`) sized by the backend's documented rule.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "../../rv32-harness/src/counted.rs"]
mod counted;
mod heap;
#[path = "../../rv32-harness/src/job.rs"]
mod job;
#[path = "../../rv32-harness/src/post.rs"]
mod post;
// The same insecure test RNG as rv32-qemu (one file, not a copy).
#[path = "../../rv32-qemu/src/rng.rs"]
mod rng;
mod run;

const BANNER: &str = concat!(
    "rv32-rustls: tlspost-device's rustls backend, jobs from the host relay, RV32IMAC bare metal\n",
    "WARNING: INSECURE TEST RNG (SplitMix64 seeded from the timer); a device must plug in its TRNG\n"
);

/// Entered from `_start` with a painted stack: the jobs, then the peak stack and the heap (arena
/// and high-water mark) where `rv32_virt::finish` would say there is none, and power-off.
#[unsafe(no_mangle)]
extern "C" fn rust_main() -> ! {
    let mut con = rv32_virt::Console::new();
    con.str(BANNER);
    con.flush();
    heap::init();
    let ok = run::all(&mut con);
    con.line_dec("peak stack bytes (TLS buffers included): ", rv32_virt::rt::peak_stack());
    con.line_dec("stack region bytes: ", rv32_virt::rt::stack_size());
    con.line_dec("heap arena bytes: ", heap::ARENA);
    con.line_dec("heap peak bytes: ", heap::peak_of_run());
    con.str(if ok { "DONE\n" } else { "FAILED\n" });
    con.flush();
    rv32_virt::power_off(ok)
}

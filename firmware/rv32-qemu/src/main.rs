//! An HTTPS POST from bare-metal RV32IMC (the ESP32-C3's ISA) under `qemu-system-riscv32 -machine
//! virt -bios none`: TLS 1.3 through embedded-tls with tlspost-device's pinned-root verifier, the
//! request and response through tlspost-proto, no allocator.
//!
//! The UART is the network: QEMU's `-serial tcp:127.0.0.1:PORT` connects it to `tlspost serve`'s
//! HTTPS listener. The console is semihosting. `run.sh` builds it with the capture server's CA
//! compiled in, runs it, and checks both sides. The runtime and the board are `../rv32-virt`.
#![no_std]
#![no_main]

mod post;
mod rng;

use rv32_virt::Console;

/// Entered from `_start` with a painted stack.
#[unsafe(no_mangle)]
extern "C" fn rust_main() -> ! {
    let mut con = Console::new();
    con.str("rv32-qemu: HTTPS POST, RV32IMC bare metal, no heap\n");
    con.str("WARNING: INSECURE TEST RNG (SplitMix64 seeded from the timer); a device must plug in its TRNG\n");
    con.flush();
    let ok = post::run(&mut con);
    rv32_virt::finish(&mut con, "peak stack bytes (TLS buffers included): ", ok)
}

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
mod report;
mod rng;

rv32_virt::entry!(
    concat!(
        "rv32-qemu: HTTPS POST, RV32IMC bare metal, no heap\n",
        "WARNING: INSECURE TEST RNG (SplitMix64 seeded from the timer); a device must plug in its TRNG\n"
    ),
    "peak stack bytes (TLS buffers included): ",
    post::run
);

//! The rv32-qemu HTTPS POST built on reqwless + embedded-tls instead of tlspost: the comparison
//! build for docs/device.md and bench/device-figures.sh.
//!
//! Same target (`riscv32imc-unknown-none-elf`), same profile, same build recipe, same runtime
//! (stack painting), same board (the UART bridged to `tlspost serve`'s HTTPS listener, semihosting
//! console), same request and the same TLS buffer sizes as `firmware/rv32-qemu`. Only the HTTP
//! client and the certificate verifier differ: reqwless 0.14 brings embedded-tls 0.18 and its own
//! `rustpki` verifier (one CA, host name against the CN, no dates without a clock), which reqwless
//! does not let a caller replace.
#![no_std]
#![no_main]

mod executor;
mod net;
mod post;
// The line it prints once the server is verified is rv32-qemu's (one file, not a copy).
#[path = "../../rv32-qemu/src/report.rs"]
mod report;

rv32_virt::entry!(
    concat!(
        "rv32-qemu-reqwless: HTTPS POST with reqwless + embedded-tls, RV32IMC bare metal, no heap\n",
        "WARNING: INSECURE TEST SEED (timer) for reqwless' ChaCha8 RNG; a device must seed from its TRNG\n"
    ),
    "peak stack bytes (TLS buffers included): ",
    post::run
);

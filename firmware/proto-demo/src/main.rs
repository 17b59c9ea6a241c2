//! tlspost-proto on bare-metal RV32IMC (the ESP32-C3's ISA), run under `qemu-system-riscv32 -machine
//! virt -bios none`.
//!
//! Encodes a JSON POST with `tlspost-proto` 64 bytes at a time and prints it, then feeds an embedded
//! chunked HTTP/1.1 response in small uneven pieces and prints the status, the body and whether the
//! connection may be reused, then the peak stack, and powers off (the runtime and the board are `../rv32-virt`). No allocator exists in this
//! program. `.ci/firmware.sh` builds it, runs it and checks what it prints.
#![no_std]
#![no_main]

// Before `demo`: its response is spelled with these macros.
#[macro_use]
mod sample;

mod demo;

rv32_virt::entry!(
    "tlspost-proto demo: RV32IMC bare metal, no heap\n",
    "peak stack bytes: ",
    demo::run
);

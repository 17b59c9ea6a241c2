//! An HTTPS POST from bare-metal RV32IMC (the ESP32-C3's ISA) under `qemu-system-riscv32 -machine
//! virt -bios none`: TLS 1.3 through embedded-tls with tlspost-device's pinned-root verifier, the
//! request and response through tlspost-proto, no allocator.
//!
//! The UART is the network: QEMU's `-serial tcp:127.0.0.1:PORT` connects it to `tlspost serve`'s
//! HTTPS listener. The console is semihosting. `run.sh` builds it with the capture server's CA
//! compiled in, runs it, and checks both sides.
#![no_std]
#![no_main]

mod board;
mod post;
mod rng;
#[path = "../../proto-demo/src/rt.rs"]
mod rt;

use board::Console;

/// Entered from `_start` with a painted stack.
#[unsafe(no_mangle)]
extern "C" fn rust_main() -> ! {
    let mut con = Console::new();
    con.str("rv32-qemu: HTTPS POST, RV32IMC bare metal, no heap\n");
    con.str("WARNING: INSECURE TEST RNG (SplitMix64 seeded from the timer); a device must plug in its TRNG\n");
    con.flush();
    let ok = post::run(&mut con);
    con.line_dec("peak stack bytes (TLS buffers included): ", rt::peak_stack() as u64);
    con.line_dec("stack region bytes: ", rt::stack_size() as u64);
    con.str("heap bytes: 0 (no allocator)\n");
    con.str(if ok { "DONE\n" } else { "FAILED\n" });
    con.flush();
    board::power_off(ok)
}

/// Any exception: say which, and fail.
#[unsafe(no_mangle)]
extern "C" fn rust_trap(mcause: usize, mepc: usize, mtval: usize) -> ! {
    let mut con = Console::new();
    con.str("\nTRAP mcause=");
    con.dec(mcause as u64);
    con.str(" mepc=");
    con.dec(mepc as u64);
    con.str(" mtval=");
    con.dec(mtval as u64);
    con.str("\nFAILED\n");
    con.flush();
    board::power_off(false)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let mut con = Console::new();
    con.str("\nPANIC\nFAILED\n");
    con.flush();
    board::power_off(false)
}

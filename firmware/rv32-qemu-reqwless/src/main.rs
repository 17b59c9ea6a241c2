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

#[path = "../../rv32-qemu/src/board.rs"]
mod board;
mod executor;
mod net;
mod post;
#[path = "../../proto-demo/src/rt.rs"]
mod rt;

use board::Console;

/// Entered from `_start` with a painted stack.
#[unsafe(no_mangle)]
extern "C" fn rust_main() -> ! {
    let mut con = Console::new();
    con.str("rv32-qemu-reqwless: HTTPS POST with reqwless + embedded-tls, RV32IMC bare metal, no heap\n");
    con.str("WARNING: INSECURE TEST SEED (timer) for reqwless' ChaCha8 RNG; a device must seed from its TRNG\n");
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

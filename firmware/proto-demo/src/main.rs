//! tlspost-proto on bare-metal RV32IMC (the ESP32-C3's ISA), run under `qemu-system-riscv32 -machine
//! virt -bios none`.
//!
//! Encodes a JSON POST with `tlspost-proto` 64 bytes at a time and prints it, then feeds an embedded
//! chunked HTTP/1.1 response in small uneven pieces and prints the status, the body and whether the
//! connection may be reused, then the peak stack, and powers off. No allocator exists in this
//! program. `.ci/firmware.sh` builds it, runs it and checks what it prints.
#![no_std]
#![no_main]

mod board;
mod demo;
mod rt;

use board::Uart;

/// Entered from `_start` with a painted stack.
#[unsafe(no_mangle)]
extern "C" fn rust_main() -> ! {
    let mut uart = Uart;
    uart.str("tlspost-proto demo: RV32IMC bare metal, no heap\n");
    let ok = demo::run(&mut uart);
    uart.line_dec("peak stack bytes: ", rt::peak_stack());
    uart.line_dec("stack region bytes: ", rt::stack_size());
    uart.str("heap bytes: 0 (no allocator)\n");
    uart.str(if ok { "DONE\n" } else { "FAILED\n" });
    board::power_off(ok)
}

/// Any exception (illegal instruction, misaligned or faulting access): say which, and fail.
#[unsafe(no_mangle)]
extern "C" fn rust_trap(mcause: usize, mepc: usize, mtval: usize) -> ! {
    let mut uart = Uart;
    uart.str("\nTRAP mcause=");
    uart.hex(mcause);
    uart.str(" mepc=");
    uart.hex(mepc);
    uart.str(" mtval=");
    uart.hex(mtval);
    uart.str("\nFAILED\n");
    board::power_off(false)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let mut uart = Uart;
    uart.str("\nPANIC\nFAILED\n");
    board::power_off(false)
}

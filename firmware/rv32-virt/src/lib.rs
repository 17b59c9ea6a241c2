//! What the firmwares share on QEMU's RV32 `virt` machine (`qemu-system-riscv32 -machine virt -bios
//! none`): the runtime ([`rt`]: reset and trap entry, the painted stack), the [`Console`] a
//! program prints on, the CLINT timer, power-off, and the handlers every program needs: traps and
//! panics print `TRAP …` or `PANIC`, then `FAILED`, and power off with status 1.
//!
//! Without features the console is the 16550 UART. With `net` the UART carries the network
//! ([`UartLink`]) and the console is semihosting. With `relay` the UART carries frames to a host
//! relay ([`relay::Relay`]): several connections in one run, and questions to the host.
#![no_std]

mod console;
#[cfg(feature = "relay")]
pub mod kind;
#[cfg(feature = "net")]
mod link;
#[cfg(feature = "relay")]
pub mod relay;
pub mod rt;

pub use console::Console;
#[cfg(feature = "net")]
pub use link::UartLink;

/// The 16550 UART's registers and line-status bits.
mod uart {
    // Receiving and the FIFOs are the network's (`net`).
    #![cfg_attr(not(feature = "net"), allow(dead_code))]

    pub const RBR: usize = 0x1000_0000;
    pub const THR: usize = 0x1000_0000;
    pub const FCR: usize = 0x1000_0002;
    pub const LSR: usize = 0x1000_0005;
    pub const LSR_DATA_READY: u8 = 1;
    pub const LSR_THR_EMPTY: u8 = 1 << 5;

    /// Whether the line-status register has `bit` set.
    pub fn status(bit: u8) -> bool {
        // SAFETY: byte-wide volatile read of the virt machine's 16550 line-status register.
        unsafe { core::ptr::read_volatile(LSR as *const u8) & bit != 0 }
    }

    /// Waits for room in the transmit register, then writes `b`.
    pub fn put(b: u8) {
        while !status(LSR_THR_EMPTY) {}
        // SAFETY: byte-wide volatile write of the 16550's transmit register.
        unsafe { core::ptr::write_volatile(THR as *mut u8, b) };
    }
}

const CLINT_MTIME: usize = 0x0200_bff8;
const TEST_DEVICE: usize = 0x10_0000;
const POWER_OFF_PASS: u32 = 0x5555;
/// `0x3333` with the exit code in the upper 16 bits: QEMU exits with that code.
const POWER_OFF_FAIL: u32 = (1 << 16) | 0x3333;

/// The CLINT's free-running timer (10 MHz on `virt`).
pub fn mtime() -> u64 {
    // SAFETY: the CLINT's mtime register, read as two 32-bit halves (RV32), re-read on a carry.
    unsafe {
        loop {
            let hi = core::ptr::read_volatile((CLINT_MTIME + 4) as *const u32);
            let lo = core::ptr::read_volatile(CLINT_MTIME as *const u32);
            if core::ptr::read_volatile((CLINT_MTIME + 4) as *const u32) == hi {
                return (u64::from(hi) << 32) | u64::from(lo);
            }
        }
    }
}

/// Instructions retired so far (`rdinstret`/`rdinstreth`). QEMU counts them only under
/// `-icount`; without it the counter follows the host's clock.
pub fn instret() -> u64 {
    loop {
        let (hi, lo, again): (u32, u32, u32);
        // SAFETY: reads the unprivileged instret counter, high half re-read on a carry.
        unsafe {
            core::arch::asm!(
                "rdinstreth {0}", "rdinstret {1}", "rdinstreth {2}",
                out(reg) hi, out(reg) lo, out(reg) again
            )
        };
        if hi == again {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// Powers the machine off; QEMU exits with status 0 when `ok`, else 1.
pub fn power_off(ok: bool) -> ! {
    let word = if ok { POWER_OFF_PASS } else { POWER_OFF_FAIL };
    // SAFETY: the virt machine's sifive_test device; a 32-bit write ends the emulation.
    unsafe { core::ptr::write_volatile(TEST_DEVICE as *mut u32, word) };
    loop {
        core::hint::spin_loop();
    }
}

/// The end of every program: the peak stack (after `peak_label`), the stack region, the heap
/// line, `DONE` when `ok` (else `FAILED`), then power-off.
pub fn finish(con: &mut Console, peak_label: &str, ok: bool) -> ! {
    con.line_dec(peak_label, rt::peak_stack());
    con.line_dec("stack region bytes: ", rt::stack_size());
    con.str("heap bytes: 0 (no allocator)\n");
    con.str(if ok { "DONE\n" } else { "FAILED\n" });
    con.flush();
    power_off(ok)
}

/// Defines the program's entry, `rust_main` (which `_start` calls with a painted stack): prints
/// `banner`, runs `run` (`fn(&mut Console) -> bool`, true on success), then [`finish`]es with the
/// peak stack after `peak_label`.
#[macro_export]
macro_rules! entry {
    ($banner:expr, $peak_label:expr, $run:path) => {
        /// Entered from `_start` with a painted stack.
        #[unsafe(no_mangle)]
        extern "C" fn rust_main() -> ! {
            let mut con = $crate::Console::new();
            con.str($banner);
            con.flush();
            let ok = $run(&mut con);
            $crate::finish(&mut con, $peak_label, ok)
        }
    };
}

/// Any exception (illegal instruction, misaligned or faulting access): say which, and fail.
#[unsafe(no_mangle)]
extern "C" fn rust_trap(mcause: usize, mepc: usize, mtval: usize) -> ! {
    let mut con = Console::new();
    con.str("\nTRAP mcause=");
    con.dec(mcause);
    con.str(" mepc=");
    con.dec(mepc);
    con.str(" mtval=");
    con.dec(mtval);
    con.str("\nFAILED\n");
    con.flush();
    power_off(false)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let mut con = Console::new();
    con.str("\nPANIC\nFAILED\n");
    con.flush();
    power_off(false)
}

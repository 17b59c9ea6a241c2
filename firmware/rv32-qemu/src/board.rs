//! QEMU `virt` devices: the 16550 UART (here the network: bridged to a TCP socket by QEMU's
//! `-serial tcp:HOST:PORT`), semihosting for the console, the CLINT timer as a (weak) seed, and
//! the power-off device.

use core::arch::asm;

const UART: usize = 0x1000_0000;
const UART_RBR: usize = UART;
const UART_THR: usize = UART;
const UART_FCR: usize = UART + 2;
const UART_LSR: usize = UART + 5;
const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;

const CLINT_MTIME: usize = 0x0200_bff8;
const TEST_DEVICE: usize = 0x10_0000;

/// The UART as a byte stream (`embedded_io::{Read, Write}`): the TLS connection runs over it.
pub struct UartLink;

impl UartLink {
    /// Enables the FIFOs.
    pub fn new() -> Self {
        // SAFETY: fixed MMIO register of the virt machine's 16550.
        unsafe { core::ptr::write_volatile(UART_FCR as *mut u8, 0x07) };
        UartLink
    }
}

impl embedded_io::ErrorType for UartLink {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for UartLink {
    /// Blocks until at least one byte arrived, then takes what is there.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let mut n = 0;
        for slot in buf.iter_mut() {
            // SAFETY: byte-wide volatile access to the 16550's registers.
            unsafe {
                if n == 0 {
                    while core::ptr::read_volatile(UART_LSR as *const u8) & LSR_DATA_READY == 0 {}
                } else if core::ptr::read_volatile(UART_LSR as *const u8) & LSR_DATA_READY == 0 {
                    break;
                }
                *slot = core::ptr::read_volatile(UART_RBR as *const u8);
            }
            n += 1;
        }
        Ok(n)
    }
}

impl embedded_io::Write for UartLink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        for &b in buf {
            // SAFETY: byte-wide volatile access to the 16550's registers.
            unsafe {
                while core::ptr::read_volatile(UART_LSR as *const u8) & LSR_THR_EMPTY == 0 {}
                core::ptr::write_volatile(UART_THR as *mut u8, b);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Semihosting SYS_WRITE0: prints a NUL-terminated string on QEMU's console.
fn sys_write0(s: *const u8) {
    // SAFETY: the RISC-V semihosting sequence (slli/ebreak/srai, uncompressed, one page); QEMU
    // handles it when started with `-semihosting-config enable=on`.
    unsafe {
        asm!(
            ".option push",
            ".option norvc",
            ".balign 16",
            "slli zero, zero, 0x1f",
            "ebreak",
            "srai zero, zero, 0x7",
            ".option pop",
            inout("a0") 0x04usize => _,
            in("a1") s,
            options(nostack),
        );
    }
}

/// The console (semihosting), buffered in 128-byte pieces.
pub struct Console {
    buf: [u8; 129],
    len: usize,
}

impl Console {
    /// An empty console buffer.
    pub const fn new() -> Self {
        Console { buf: [0; 129], len: 0 }
    }

    /// Writes bytes (NUL bytes are shown as `\0`).
    pub fn bytes(&mut self, s: &[u8]) {
        for &b in s {
            if b == 0 {
                self.bytes(b"\\0");
                continue;
            }
            if self.len == 128 {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    /// Writes text.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Writes a number in decimal.
    pub fn dec(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.bytes(&digits[i..]);
    }

    /// Writes `label`, a number and a newline.
    pub fn line_dec(&mut self, label: &str, n: u64) {
        self.str(label);
        self.dec(n);
        self.bytes(b"\n");
        self.flush();
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            self.buf[self.len] = 0;
            sys_write0(self.buf.as_ptr());
            self.len = 0;
        }
    }
}

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.str(s);
        Ok(())
    }
}

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

/// Powers the machine off; QEMU exits with status 0 when `ok`, else 1.
pub fn power_off(ok: bool) -> ! {
    let word: u32 = if ok { 0x5555 } else { (1 << 16) | 0x3333 };
    // SAFETY: the virt machine's sifive_test device; a 32-bit write ends the emulation.
    unsafe { core::ptr::write_volatile(TEST_DEVICE as *mut u32, word) };
    loop {
        core::hint::spin_loop();
    }
}

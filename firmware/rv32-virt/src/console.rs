//! The console: the UART itself, or semihosting when the UART is the network (`net`).

/// Where a program prints: text, bytes and decimal numbers without `core::fmt` (which it also
/// takes, through `core::fmt::Write`).
pub struct Console {
    #[cfg(feature = "net")]
    buf: [u8; 129],
    #[cfg(feature = "net")]
    len: usize,
}

impl Console {
    /// Writes one byte.
    pub fn byte(&mut self, b: u8) {
        self.bytes(&[b]);
    }

    /// Writes text.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Writes a number in decimal.
    pub fn dec(&mut self, mut n: usize) {
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

    /// Writes `label`, a number and a newline, and sends them.
    pub fn line_dec(&mut self, label: &str, n: usize) {
        self.str(label);
        self.dec(n);
        self.byte(b'\n');
        self.flush();
    }
}

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.str(s);
        Ok(())
    }
}

#[cfg(not(feature = "net"))]
impl Console {
    /// The UART, as it is.
    pub const fn new() -> Self {
        Console {}
    }

    /// Writes bytes as they are (CR and LF included), waiting for room in the transmit register.
    pub fn bytes(&mut self, s: &[u8]) {
        for &b in s {
            crate::uart::put(b);
        }
    }

    /// Nothing to send: every byte went out as it was written.
    pub fn flush(&mut self) {}
}

#[cfg(feature = "net")]
impl Console {
    /// An empty semihosting buffer (sent in 128-byte pieces).
    pub const fn new() -> Self {
        Console { buf: [0; 129], len: 0 }
    }

    /// Writes bytes; a NUL byte (which would end the semihosting string) is written as `\0`.
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

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            self.buf[self.len] = 0;
            sys_write0(self.buf.as_ptr());
            self.len = 0;
        }
    }
}

/// Semihosting SYS_WRITE0: prints a NUL-terminated string on QEMU's console.
#[cfg(feature = "net")]
fn sys_write0(s: *const u8) {
    // SAFETY: the RISC-V semihosting sequence (slli/ebreak/srai, uncompressed, one page); QEMU
    // handles it when started with `-semihosting-config enable=on`.
    unsafe {
        core::arch::asm!(
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

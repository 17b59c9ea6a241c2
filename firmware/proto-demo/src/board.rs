//! The two devices of QEMU's `virt` machine this program uses: the 16550 UART and the test device
//! that powers off.

const UART: usize = 0x1000_0000;
const UART_THR: usize = UART;
const UART_LSR: usize = UART + 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

const TEST_DEVICE: usize = 0x10_0000;
const POWER_OFF_PASS: u32 = 0x5555;
/// `0x3333` with the exit code in the upper 16 bits: QEMU exits with that code.
const POWER_OFF_FAIL: u32 = 0x3333;

/// Writes bytes to the UART, waiting for room in the transmit register.
pub struct Uart;

impl Uart {
    /// Writes one byte.
    pub fn byte(&mut self, b: u8) {
        // SAFETY: fixed MMIO registers of the virt machine's 16550; byte-wide volatile access.
        unsafe {
            while core::ptr::read_volatile(UART_LSR as *const u8) & LSR_THR_EMPTY == 0 {}
            core::ptr::write_volatile(UART_THR as *mut u8, b);
        }
    }

    /// Writes bytes as they are (CR and LF included).
    pub fn bytes(&mut self, s: &[u8]) {
        for &b in s {
            self.byte(b);
        }
    }

    /// Writes text.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Writes a number in decimal, without `core::fmt`.
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

    /// Writes `label`, a number and a newline.
    pub fn line_dec(&mut self, label: &str, n: usize) {
        self.str(label);
        self.dec(n);
        self.byte(b'\n');
    }

    /// Writes a number in hexadecimal with a `0x` prefix.
    pub fn hex(&mut self, n: usize) {
        self.str("0x");
        for shift in (0..usize::BITS).step_by(4).rev() {
            self.byte(b"0123456789abcdef"[(n >> shift) & 0xf]);
        }
    }
}

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.str(s);
        Ok(())
    }
}

/// Powers the machine off; QEMU exits with status 0 when `ok`, else 1.
pub fn power_off(ok: bool) -> ! {
    let word = if ok { POWER_OFF_PASS } else { (1 << 16) | POWER_OFF_FAIL };
    // SAFETY: the virt machine's sifive_test device; a 32-bit write ends the emulation.
    unsafe { core::ptr::write_volatile(TEST_DEVICE as *mut u32, word) };
    loop {
        core::hint::spin_loop();
    }
}

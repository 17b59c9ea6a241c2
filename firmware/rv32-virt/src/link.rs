//! The UART as the network: QEMU's `-serial tcp:HOST:PORT` bridges it to a TCP socket.

use crate::uart::{self, LSR_DATA_READY};

/// The UART as a byte stream (`embedded_io::{Read, Write}`): a TLS connection runs over it.
pub struct UartLink;

impl UartLink {
    /// Enables the FIFOs.
    pub fn new() -> Self {
        // SAFETY: fixed MMIO register of the virt machine's 16550.
        unsafe { core::ptr::write_volatile(uart::FCR as *mut u8, 0x07) };
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
            if n == 0 {
                while !uart::status(LSR_DATA_READY) {}
            } else if !uart::status(LSR_DATA_READY) {
                break;
            }
            // SAFETY: byte-wide volatile read of the 16550's receive register.
            *slot = unsafe { core::ptr::read_volatile(uart::RBR as *const u8) };
            n += 1;
        }
        Ok(n)
    }
}

impl embedded_io::Write for UartLink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        for &b in buf {
            uart::put(b);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

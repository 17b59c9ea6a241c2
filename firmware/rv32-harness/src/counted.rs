//! A relay channel that counts what passes: bytes each way and the instructions spent in the relay
//! (UART waits, framing), which a handshake's own count leaves out. Shared by rv32-harness and
//! rv32-rustls (included by path).

use core::cell::Cell;

use rv32_virt::instret;
use rv32_virt::relay::Channel;

/// What the connection's I/O did: bytes each way and the instructions spent in the relay (waiting
/// on the UART, framing), which are not the handshake's.
#[derive(Clone, Copy, Default)]
pub struct Io {
    pub rx: usize,
    pub tx: usize,
    pub instret: u64,
}

/// The relay's channel, counted.
pub struct Counted<'c, 'r> {
    pub channel: Channel<'r>,
    pub io: &'c Cell<Io>,
}

impl Counted<'_, '_> {
    fn count(&self, rx: usize, tx: usize, since: u64) {
        let mut io = self.io.get();
        io.rx += rx;
        io.tx += tx;
        io.instret += instret() - since;
        self.io.set(io);
    }
}

impl embedded_io::ErrorType for Counted<'_, '_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Counted<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let t = instret();
        let n = self.channel.read(buf)?;
        self.count(n, 0, t);
        Ok(n)
    }
}

impl embedded_io::Write for Counted<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let t = instret();
        let n = self.channel.write(buf)?;
        self.count(0, n, t);
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.channel.flush()
    }
}

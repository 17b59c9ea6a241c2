//! The network reqwless asks for (`embedded-nal-async`): one "TCP connection", the UART that QEMU
//! bridges to the server, and a resolver that answers with a fixed address (nothing is looked up:
//! the bridge already decides where the bytes go).

use core::convert::Infallible;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use embedded_nal_async::{AddrType, Dns, TcpConnect};
use rv32_virt::UartLink;

/// The UART as an async byte stream.
pub struct AsyncUart(UartLink);

impl embedded_io_async::ErrorType for AsyncUart {
    type Error = Infallible;
}

impl embedded_io_async::Read for AsyncUart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        embedded_io::Read::read(&mut self.0, buf)
    }
}

impl embedded_io_async::Write for AsyncUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        embedded_io::Write::write(&mut self.0, buf)
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A "stack" whose only connection is the UART.
pub struct UartStack;

impl TcpConnect for UartStack {
    type Error = Infallible;
    type Connection<'a> = AsyncUart;

    async fn connect<'a>(&'a self, _remote: SocketAddr) -> Result<AsyncUart, Infallible> {
        Ok(AsyncUart(UartLink::new()))
    }
}

impl Dns for UartStack {
    type Error = Infallible;

    async fn get_host_by_name(&self, _host: &str, _addr_type: AddrType) -> Result<IpAddr, Infallible> {
        Ok(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    async fn get_host_by_address(&self, _addr: IpAddr, _result: &mut [u8]) -> Result<usize, Infallible> {
        Ok(0)
    }
}

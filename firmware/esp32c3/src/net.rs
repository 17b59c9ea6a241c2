//! `tlspost_app::Net` over embassy-net: DNS (or an IP address as it is), then a `TcpSocket` in
//! buffers that live in a `StaticCell`.

use core::fmt;

use embassy_net::Stack;
use embassy_net::dns::{DnsQueryType, Error as DnsError};
use embassy_net::tcp::{ConnectError, TcpSocket};
use embassy_time::Duration;

/// TCP receive window: TLS records arrive through it in pieces (the TLS buffer holds a whole one).
pub const TCP_RX: usize = 4096;
/// TCP send buffer: a few outgoing TLS records.
pub const TCP_TX: usize = 2048;

/// The socket's buffers, in a `StaticCell` beside `tlspost_app::Memory`.
pub struct SocketBuffers {
    rx: [u8; TCP_RX],
    tx: [u8; TCP_TX],
}

impl SocketBuffers {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        SocketBuffers {
            rx: [0; TCP_RX],
            tx: [0; TCP_TX],
        }
    }
}

/// Connections through the embassy-net stack (one at a time: the socket borrows the buffers).
pub struct EmbassyNet<'b> {
    pub stack: Stack<'static>,
    pub bufs: &'b mut SocketBuffers,
}

/// Why no connection was made.
#[derive(Debug)]
pub enum NetError {
    /// The name did not resolve.
    Dns(DnsError),
    /// It resolved to no IPv4 address.
    NoAddress,
    /// The TCP connect failed (refused, or no answer).
    Connect(ConnectError),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Dns(e) => write!(
                f,
                "DNS lookup failed ({e:?}): is the name right, and did DHCP give a DNS server?"
            ),
            NetError::NoAddress => f.write_str("the name has no IPv4 address (A record)"),
            NetError::Connect(e) => write!(
                f,
                "TCP connect failed ({e:?}): is the server listening on that address and port, and reachable from this network?"
            ),
        }
    }
}

impl tlspost_app::Net for EmbassyNet<'_> {
    type Socket<'s>
        = TcpSocket<'s>
    where
        Self: 's;
    type Error = NetError;

    async fn connect(&mut self, host: &str, port: u16) -> Result<TcpSocket<'_>, NetError> {
        let addrs = self
            .stack
            .dns_query(host, DnsQueryType::A)
            .await
            .map_err(NetError::Dns)?;
        let addr = *addrs.first().ok_or(NetError::NoAddress)?;
        let mut socket = TcpSocket::new(self.stack, &mut self.bufs.rx, &mut self.bufs.tx);
        socket.set_timeout(Some(Duration::from_secs(20)));
        socket.connect((addr, port)).await.map_err(NetError::Connect)?;
        Ok(socket)
    }

    async fn close<'s>(mut socket: Self::Socket<'s>)
    where
        Self: 's,
    {
        socket.close();
        let _ = embedded_io_async::Write::flush(&mut socket).await;
    }
}

//! Facts about loopback TCP connections from the kernel's tables (`/proc/net/tcp`, `/proc/net/tcp6`),
//! so that a test waits for what it needs (the server accepted this connection; the server has
//! read everything sent on it) instead of sleeping and hoping.
//!
//! Each connection appears twice, once per end, with the end's send queue (bytes written but not
//! yet acknowledged by the peer), its receive queue (bytes received but not yet read by the
//! application) and the inode of its socket (0 while it waits in a listener's accept queue).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a wait here may take before the test fails.
const TIMEOUT: Duration = Duration::from_secs(15);

const TIME_WAIT: u8 = 0x06;
const LISTEN: u8 = 0x0A;

/// One end of a TCP connection as the kernel lists it.
#[derive(Debug, Clone, Copy)]
pub struct End {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: u8,
    /// Bytes sent and not yet acknowledged.
    pub tx_queue: u64,
    /// Bytes received and not yet read by the application.
    pub rx_queue: u64,
    /// The socket's inode; 0 while not yet accepted.
    pub inode: u64,
}

/// The end at `local` of the connection from `local` to `remote` (not a listener, not TIME_WAIT).
pub fn end(local: SocketAddr, remote: SocketAddr) -> Option<End> {
    let table = if local.is_ipv4() {
        "/proc/net/tcp"
    } else {
        "/proc/net/tcp6"
    };
    let text = std::fs::read_to_string(table).unwrap_or_else(|e| panic!("read {table}: {e}"));
    text.lines()
        .skip(1)
        .filter_map(parse)
        .find(|e| e.local == local && e.remote == remote && e.state != LISTEN && e.state != TIME_WAIT)
}

fn parse(line: &str) -> Option<End> {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    let cols: Vec<&str> = line.split_whitespace().collect();
    if cols.len() < 10 {
        return None;
    }
    let (tx, rx) = cols[4].split_once(':')?;
    Some(End {
        local: addr(cols[1])?,
        remote: addr(cols[2])?,
        state: u8::from_str_radix(cols[3], 16).ok()?,
        tx_queue: u64::from_str_radix(tx, 16).ok()?,
        rx_queue: u64::from_str_radix(rx, 16).ok()?,
        inode: cols[9].parse().ok()?,
    })
}

/// `0100007F:1F90` (the address as 32-bit words in the host's byte order, then the port).
fn addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for i in (0..ip.len()).step_by(8) {
        let word = u32::from_str_radix(ip.get(i..i + 8)?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn wait(what: &str, s: &TcpStream, mut done: impl FnMut(SocketAddr, SocketAddr) -> bool) {
    let (me, peer) = (s.local_addr().unwrap(), s.peer_addr().unwrap());
    let until = Instant::now() + TIMEOUT;
    while !done(me, peer) {
        assert!(
            Instant::now() < until,
            "{what} within {TIMEOUT:?} ({me} -> {peer}: this end {:?}, the server's {:?})",
            end(me, peer),
            end(peer, me)
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until the server (in this process or another one on this host) has accepted the
/// connection `s`: its end has a socket of its own, no longer waiting in the accept queue.
pub fn wait_accepted(s: &TcpStream) {
    wait("the server accepts the connection", s, |me, peer| {
        end(peer, me).is_some_and(|e| e.inode != 0)
    });
}

/// Waits until the server has read everything written on `s` so far: this end has nothing left
/// unacknowledged (so it all sits in the server's receive queue or was read from it) and the
/// server's receive queue is empty. A server end that is gone reads nothing more: done too.
pub fn wait_read_by_peer(s: &TcpStream) {
    wait("the server reads what was sent", s, |me, peer| {
        end(me, peer).is_some_and(|e| e.tx_queue == 0) && end(peer, me).is_none_or(|e| e.rx_queue == 0)
    });
}

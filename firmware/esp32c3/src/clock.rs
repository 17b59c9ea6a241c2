//! `tlspost_app::Clock` on embassy-time: the time of day from SNTP, the build time as a floor
//! until (or unless) SNTP answers.

use core::fmt;

use embassy_net::Stack;
use embassy_net::dns::DnsQueryType;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_time::{Duration, Instant, Timer, with_timeout};

/// The firmware's build time, seconds since 1970 (build.rs): the clock never reads earlier.
pub const BUILD_TIME: u64 = parse(env!("TLSPOST_BUILD_TIME"));

/// Seconds from 1900 (NTP's epoch) to 1970.
const NTP_TO_UNIX: u64 = 2_208_988_800;

pub const fn parse(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u64;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u64;
        i += 1;
    }
    n
}

/// Milliseconds since boot, and the time of day from the last SNTP answer (or the build time).
pub struct BoardClock {
    /// Seconds since 1970 at `base_ms`.
    base_unix: u64,
    base_ms: u64,
}

impl BoardClock {
    /// A clock at the build time floor.
    pub fn new() -> Self {
        BoardClock {
            base_unix: BUILD_TIME,
            base_ms: Instant::now().as_millis(),
        }
    }

    /// Asks `server` for the time (SNTPv4, RFC 4330) and sets the clock; on failure the clock keeps
    /// what it had (the build time before the first answer).
    pub async fn sync(&mut self, stack: Stack<'static>, server: &str) -> Result<u64, SntpError> {
        let unix = sntp(stack, server).await?;
        self.base_unix = unix;
        self.base_ms = Instant::now().as_millis();
        Ok(unix)
    }
}

impl tlspost_app::Clock for BoardClock {
    fn now_ms(&mut self) -> u64 {
        Instant::now().as_millis()
    }

    fn unix_time(&mut self) -> u64 {
        self.base_unix + Instant::now().as_millis().saturating_sub(self.base_ms) / 1000
    }

    async fn sleep_ms(&mut self, ms: u64) {
        Timer::after_millis(ms).await;
    }
}

/// Why SNTP gave no time.
#[derive(Debug)]
pub enum SntpError {
    /// The server's name did not resolve.
    Dns,
    /// The UDP socket could not be bound or the request not sent.
    Send,
    /// No answer within 5 s (UDP port 123 blocked?).
    Timeout,
    /// The answer is not a server's SNTP reply, or says the server is unsynchronized.
    BadReply,
    /// The answer is earlier than the firmware's build: not believed.
    BeforeBuild {
        /// What the server said, seconds since 1970.
        got: u64,
    },
}

impl fmt::Display for SntpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SntpError::Dns => f.write_str("the NTP server's name did not resolve"),
            SntpError::Send => f.write_str("the SNTP request could not be sent"),
            SntpError::Timeout => f.write_str("no SNTP answer in 5 s (is UDP port 123 open to the internet?)"),
            SntpError::BadReply => f.write_str("the SNTP answer is not a synchronized server's reply"),
            SntpError::BeforeBuild { got } => {
                write!(
                    f,
                    "the SNTP answer ({got}) is earlier than the firmware's build ({BUILD_TIME}): ignored"
                )
            }
        }
    }
}

async fn sntp(stack: Stack<'static>, server: &str) -> Result<u64, SntpError> {
    let addrs = stack
        .dns_query(server, DnsQueryType::A)
        .await
        .map_err(|_| SntpError::Dns)?;
    let addr = *addrs.first().ok_or(SntpError::Dns)?;
    let (mut rx_meta, mut tx_meta) = ([PacketMetadata::EMPTY; 1], [PacketMetadata::EMPTY; 1]);
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx, &mut tx_meta, &mut tx);
    socket.bind(0).map_err(|_| SntpError::Send)?;
    let mut packet = [0u8; 48];
    packet[0] = 0x23; // leap indicator 0, version 4, mode 3 (client)
    socket
        .send_to(&packet, (addr, 123))
        .await
        .map_err(|_| SntpError::Send)?;
    let (n, _) = with_timeout(Duration::from_secs(5), socket.recv_from(&mut packet))
        .await
        .map_err(|_| SntpError::Timeout)?
        .map_err(|_| SntpError::BadReply)?;
    // Mode 4 (server), stratum 1..15, the transmit timestamp's seconds at bytes 40..44.
    let stratum = packet[1];
    if n < 48 || packet[0] & 0x7 != 4 || stratum == 0 || stratum > 15 {
        return Err(SntpError::BadReply);
    }
    let secs = u64::from(u32::from_be_bytes([packet[40], packet[41], packet[42], packet[43]]));
    // NTP era 1 starts in 2036: a small value is past the wrap.
    let since_1900 = if secs < NTP_TO_UNIX { secs + (1 << 32) } else { secs };
    let unix = since_1900 - NTP_TO_UNIX;
    if unix < BUILD_TIME {
        return Err(SntpError::BeforeBuild { got: unix });
    }
    Ok(unix)
}

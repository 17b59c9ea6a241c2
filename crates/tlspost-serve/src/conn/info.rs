//! What is known about a connection before its first request, and the capture every request
//! (or failed handshake) on it starts from. Shared by the TLS layer and the connection handler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::record::{Capture, Timing, TlsFacts, rfc3339};

/// What is known about a connection before its first request.
pub(crate) struct ConnInfo {
    /// Peer address as text, made once per connection.
    pub peer: String,
    pub tls: Option<Arc<TlsFacts>>,
    pub accepted: Instant,
    pub id: u64,
}

pub(super) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

pub(crate) fn base_capture(info: &ConnInfo, first: Instant, wall_ms: i64, seq: u32) -> Capture {
    Capture {
        time: rfc3339(wall_ms),
        time_ms: wall_ms,
        peer: info.peer.clone(),
        scheme: if info.tls.is_some() { "https" } else { "http" }.into(),
        timing: Timing {
            first_byte_us: micros(first.saturating_duration_since(info.accepted)),
            ..Default::default()
        },
        conn: info.id,
        seq,
        sni: info.tls.as_ref().and_then(|t| t.hello.sni.clone()),
        tls: info.tls.clone(),
        ..Capture::default()
    }
}

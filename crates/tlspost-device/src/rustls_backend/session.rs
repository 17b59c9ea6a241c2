//! The caller-owned session store (one server, one slot per protocol version) and the device
//! clock rustls reads.

use core::fmt;

use pki_types::{ServerName, UnixTime};
use rustls::NamedGroup;
use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::time_provider::TimeProvider;

/// What one slot keeps: the server it is for and its value.
type Slot<T> = spin::Mutex<Option<(ServerName<'static>, T)>>;

/// One resumable session: the last TLS 1.3 ticket and the last TLS 1.2 session, for the last
/// server that gave one. A device that talks to one server needs no more; a second server's
/// session replaces the first's.
///
/// Create it once (`Arc::new(SessionSlot::new())`), keep it for the device's uptime and pass it to
/// every [`super::RustlsClient`]: the next connection to the same server then resumes. Its heap
/// cost is one ticket (nginx: about 200 bytes; rustls also keeps the server's certificates with
/// the session, so add the chain's size).
#[derive(Default)]
pub struct SessionSlot {
    tls13: Slot<Tls13ClientSessionValue>,
    tls12: Slot<Tls12ClientSessionValue>,
    kx_hint: Slot<NamedGroup>,
}

impl SessionSlot {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a session for `server_name` is kept (the next handshake offers to resume it).
    pub fn holds(&self, server_name: &str) -> bool {
        let Ok(name) = ServerName::try_from(server_name) else {
            return false;
        };
        let same = |n: &ServerName<'static>| *n == name;
        self.tls13.lock().as_ref().is_some_and(|(n, _)| same(n))
            || self.tls12.lock().as_ref().is_some_and(|(n, _)| same(n))
    }

    /// Forgets every session (e.g. when the pinned roots change).
    pub fn clear(&self) {
        *self.tls13.lock() = None;
        *self.tls12.lock() = None;
        *self.kx_hint.lock() = None;
    }
}

fn take_if<T>(slot: &Slot<T>, name: &ServerName<'_>) -> Option<T> {
    let mut slot = slot.lock();
    match slot.as_ref() {
        Some((n, _)) if n == name => slot.take().map(|(_, v)| v),
        _ => None,
    }
}

impl ClientSessionStore for SessionSlot {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        *self.kx_hint.lock() = Some((server_name, group));
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        match self.kx_hint.lock().as_ref() {
            Some((n, g)) if n == server_name => Some(*g),
            _ => None,
        }
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        *self.tls12.lock() = Some((server_name, value));
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        match self.tls12.lock().as_ref() {
            Some((n, v)) if n == server_name => Some(v.clone()),
            _ => None,
        }
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        take_if(&self.tls12, server_name);
    }

    /// One ticket is kept: the newest (a server that sends several per handshake, as nginx does
    /// with two, has the older ones replaced).
    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, value: Tls13ClientSessionValue) {
        *self.tls13.lock() = Some((server_name, value));
    }

    /// Tickets are single-use (RFC 8446 §C.4): taking it empties the slot until the server sends
    /// the next one on the resumed connection.
    fn take_tls13_ticket(&self, server_name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        take_if(&self.tls13, server_name)
    }
}

impl fmt::Debug for SessionSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSlot")
            .field("tls13", &self.tls13.lock().is_some())
            .field("tls12", &self.tls12.lock().is_some())
            .finish()
    }
}

/// The device's clock as rustls reads it: certificate validity and ticket lifetimes are judged at
/// the time the caller gave the connection (seconds since 1970, UTC; SNTP or the build-time floor,
/// see docs/device.md "Time").
#[derive(Debug, Default)]
pub(crate) struct DeviceClock(spin::Mutex<u64>);

impl DeviceClock {
    pub(crate) fn set(&self, now_unix: u64) {
        *self.0.lock() = now_unix;
    }
}

impl TimeProvider for DeviceClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(core::time::Duration::from_secs(
            *self.0.lock(),
        )))
    }
}

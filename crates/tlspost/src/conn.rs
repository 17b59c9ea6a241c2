//! One connection on the host: resolve, TCP connect with a timeout, the TLS handshake, and the
//! stream the driver reads and writes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, HandshakeKind};

use crate::certinfo::{CertSummary, utc_text};
use crate::error::{ConnectFailure, Error, TlsError, alert_hint};
use crate::trust::SeenChain;

/// A connected stream: plain TCP or TLS over it.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    /// Whether an idle kept-alive connection is still usable: not closed by the server, and
    /// nothing unexpected waiting on it.
    pub(crate) fn idle_ok(&mut self) -> bool {
        let s = self.tcp();
        if s.set_nonblocking(true).is_err() {
            return false;
        }
        let mut b = [0u8; 1];
        let ok = matches!(s.peek(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        s.set_nonblocking(false).is_ok() && ok
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => match s.read(buf) {
                // A peer that closes without close_notify ends a close-delimited body all the same;
                // the core decides whether the body is complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                r => r,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => {
                // Queue the data, then write every pending record at once: the handshake's last
                // flight (the client Finished) leaves with the first request bytes, in one segment.
                let n = s.conn.writer().write(buf)?;
                while s.conn.wants_write() {
                    s.conn.write_tls(&mut s.sock)?;
                }
                Ok(n)
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => {
                while s.conn.wants_write() {
                    s.conn.write_tls(&mut s.sock)?;
                }
                s.sock.flush()
            }
        }
    }
}

/// `embedded_io` view of a std stream, so the same driver runs on the host.
pub(crate) struct Embedded<'a, T>(pub(crate) &'a mut T);

impl<T> embedded_io::ErrorType for Embedded<'_, T> {
    type Error = io::Error;
}
impl<T: Read> embedded_io::Read for Embedded<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
}
impl<T: Write> embedded_io::Write for Embedded<'_, T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
    fn flush(&mut self) -> Result<(), io::Error> {
        self.0.flush()
    }
}

/// Facts of a TLS session, for the trace and the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// The ALPN protocol agreed, if any.
    pub alpn: Option<String>,
    /// Whether the session was resumed (no certificate exchange).
    pub resumed: bool,
    /// The server name sent as SNI (`None` for an IP address: no SNI is sent).
    pub sni: Option<String>,
    /// The certificates the server sent, leaf first (empty when resumed).
    pub chain: Vec<CertSummary>,
}

/// Resolves `host:port`, honouring the overrides first.
pub(crate) fn resolve(
    host: &str,
    port: u16,
    overrides: &[(String, u16, SocketAddr)],
) -> Result<Vec<SocketAddr>, Error> {
    let pinned: Vec<SocketAddr> = overrides
        .iter()
        .filter(|(h, p, _)| h.eq_ignore_ascii_case(host) && *p == port)
        .map(|(_, _, a)| *a)
        .collect();
    if !pinned.is_empty() {
        return Ok(pinned);
    }
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    match (host, port).to_socket_addrs() {
        Ok(a) => {
            let v: Vec<SocketAddr> = a.collect();
            if v.is_empty() {
                Err(Error::Dns {
                    host: host.to_string(),
                    detail: "no addresses".to_string(),
                })
            } else {
                Ok(v)
            }
        }
        Err(e) => Err(Error::Dns {
            host: host.to_string(),
            detail: e.to_string(),
        }),
    }
}

/// Connects to the first address that answers within `timeout` (each).
pub(crate) fn connect(addrs: &[SocketAddr], timeout: Option<Duration>) -> Result<TcpStream, Error> {
    let mut last = None;
    for a in addrs {
        let r = match timeout {
            Some(t) => TcpStream::connect_timeout(a, t.max(Duration::from_millis(1))),
            None => TcpStream::connect(a),
        };
        match r {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => {
                let failure = match e.kind() {
                    io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ConnectFailure::TimedOut,
                    io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => ConnectFailure::Unreachable,
                    _ => ConnectFailure::Other,
                };
                last = Some(Error::Connect {
                    addr: *a,
                    failure,
                    detail: e.to_string(),
                });
            }
        }
    }
    Err(last.unwrap_or(Error::Dns {
        host: String::new(),
        detail: "no addresses".to_string(),
    }))
}

/// Runs the TLS handshake on `tcp` within `deadline`.
pub(crate) fn handshake(
    config: &Arc<ClientConfig>,
    seen: &SeenChain,
    host: &str,
    mut tcp: TcpStream,
    deadline: Option<Instant>,
    budget_ms: Option<u64>,
    trace: &mut dyn FnMut(&[u8], bool),
) -> Result<(Stream, TlsInfo), Error> {
    let name = ServerName::try_from(host.to_string()).map_err(|_| Error::Url {
        url: host.to_string(),
        reason: "the host is not a valid DNS name or IP address for TLS".to_string(),
    })?;
    let sni = match &name {
        ServerName::DnsName(d) => Some(d.as_ref().to_string()),
        _ => None,
    };
    if let Ok(mut s) = seen.lock() {
        s.clear();
    }
    let mut conn = ClientConnection::new(config.clone(), name).map_err(|e| Error::Tls {
        host: host.to_string(),
        error: Box::new(TlsError::Other(e.to_string())),
    })?;
    let timeout_err = || Error::Timeout {
        phase: tlspost_proto::Phase::Handshake,
        budget_ms,
    };
    while conn.is_handshaking() {
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timeout_err());
            }
            let _ = tcp.set_read_timeout(Some(left));
            let _ = tcp.set_write_timeout(Some(left));
        }
        let mut counting = Counting {
            inner: &mut tcp,
            trace: &mut *trace,
        };
        match step(&mut conn, &mut counting) {
            Ok(()) => {}
            Err(e) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(timeout_err());
                }
                let err = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(te) => tls_error(te, seen, host),
                    None if e.kind() == io::ErrorKind::UnexpectedEof || e.kind() == io::ErrorKind::ConnectionReset => {
                        TlsError::Other(format!(
                            "the server closed the connection during the handshake ({e}); it may require SNI, \
                             or not speak TLS on this port"
                        ))
                    }
                    None => TlsError::Other(e.to_string()),
                };
                return Err(Error::Tls {
                    host: host.to_string(),
                    error: Box::new(err),
                });
            }
        }
    }
    let chain: Vec<CertSummary> = conn
        .peer_certificates()
        .map(|c| c.iter().filter_map(|d| CertSummary::from_der(d)).collect())
        .unwrap_or_default();
    let info = TlsInfo {
        version: conn
            .protocol_version()
            .map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default(),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default(),
        alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
        sni,
        chain,
    };
    Ok((Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))), info))
}

/// One step of the handshake: write what is pending, else read and process one batch of records.
/// Unlike `complete_io`, stops as soon as the handshake is done, leaving the client's last flight
/// queued so that it leaves together with the request.
fn step(conn: &mut ClientConnection, io: &mut Counting<'_>) -> io::Result<()> {
    if conn.wants_write() {
        conn.write_tls(io)?;
        return Ok(());
    }
    if conn.read_tls(io)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if let Err(e) = conn.process_new_packets() {
        // Send the alert rustls queued, so the server's log says why.
        while conn.wants_write() {
            if conn.write_tls(io).is_err() {
                break;
            }
        }
        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
    }
    Ok(())
}

/// Passes raw socket bytes to the trace (for byte counts during the handshake).
struct Counting<'a> {
    inner: &'a mut TcpStream,
    trace: &'a mut dyn FnMut(&[u8], bool),
}
impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.trace)(buf.get(..n).unwrap_or_default(), false);
        Ok(n)
    }
}
impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        (self.trace)(buf.get(..n).unwrap_or_default(), true);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn now_text() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    utc_text(now)
}

fn unix_text(t: &rustls::pki_types::UnixTime) -> String {
    utc_text(i64::try_from(t.as_secs()).unwrap_or(i64::MAX))
}

/// Turns a rustls error into the error a person can act on, using the chain the server sent.
fn tls_error(e: &rustls::Error, seen: &SeenChain, host: &str) -> TlsError {
    use rustls::CertificateError as C;
    let chain: Vec<CertSummary> = seen
        .lock()
        .map(|s| s.iter().filter_map(|d| CertSummary::from_der(d)).collect())
        .unwrap_or_default();
    let leaf = chain.first().cloned();
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                if chain.len() == 1 && !leaf.as_ref().is_some_and(|l| l.self_signed) {
                    TlsError::IncompleteChain { leaf }
                } else {
                    TlsError::UnknownIssuer { chain }
                }
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                let names = match (leaf, c) {
                    (Some(l), _) if !l.names.is_empty() => l.names,
                    (_, C::NotValidForNameContext { presented, .. }) => {
                        presented.iter().map(|p| unwrap_debug(p)).collect()
                    }
                    _ => Vec::new(),
                };
                TlsError::NotValidForName {
                    expected: host.to_string(),
                    names,
                }
            }
            C::Expired | C::ExpiredContext { .. } => {
                let (now, not_after) = match c {
                    C::ExpiredContext { time, not_after } => (unix_text(time), unix_text(not_after)),
                    _ => (
                        now_text(),
                        leaf.as_ref().map(|l| l.not_after.clone()).unwrap_or_default(),
                    ),
                };
                TlsError::Expired {
                    subject: leaf.map(|l| l.subject).unwrap_or_default(),
                    not_after,
                    now,
                }
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                let (now, not_before) = match c {
                    C::NotValidYetContext { time, not_before } => (unix_text(time), unix_text(not_before)),
                    _ => (
                        now_text(),
                        leaf.as_ref().map(|l| l.not_before.clone()).unwrap_or_default(),
                    ),
                };
                TlsError::NotYetValid {
                    subject: leaf.map(|l| l.subject).unwrap_or_default(),
                    not_before,
                    now,
                }
            }
            other => TlsError::Other(format!("certificate refused: {other:?}")),
        },
        rustls::Error::AlertReceived(a) => {
            let name = alert_name(a);
            if name == "protocol_version" {
                return TlsError::ProtocolVersion;
            }
            TlsError::Alert {
                hint: alert_hint(&name),
                alert: name,
            }
        }
        rustls::Error::PeerIncompatible(p) => {
            let s = format!("{p:?}");
            if s.contains("Version") {
                TlsError::ProtocolVersion
            } else {
                TlsError::Other(format!("the server is incompatible: {s}"))
            }
        }
        other => TlsError::Other(other.to_string()),
    }
}

/// `DnsName("a.example")` → `a.example` (rustls reports presented names in Debug form).
fn unwrap_debug(p: &str) -> String {
    match (p.find("(\""), p.rfind("\")")) {
        (Some(a), Some(b)) if a + 2 <= b => p.get(a + 2..b).unwrap_or(p).to_string(),
        _ => p.to_string(),
    }
}

/// The alert's name as the RFC spells it (`unrecognized_name`).
fn alert_name(a: &rustls::AlertDescription) -> String {
    let debug = format!("{a:?}");
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    // rustls spells it the British way.
    out.replace("unrecognised", "unrecognized")
}

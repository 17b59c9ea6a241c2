//! Connections to the upstream: made with `tlspost`'s probe layer (resolve, connect, handshake: a
//! blocking thread each, as the probes are blocking), then driven on the worker's runtime; kept
//! alive between requests, one idle pool per worker thread.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tlspost::probe::{self, ConnectFailure, TlsFailure, TlsSetup, TrustError};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{Forward, is_https};
use crate::record::{Upstream, UpstreamError, UpstreamTls};

/// An idle connection older than this is not used again (servers close idle keep-alive
/// connections after a while: nginx after 75 s, many APIs sooner).
const IDLE: Duration = Duration::from_secs(15);

/// Idle connections kept per worker thread.
const POOL: usize = 256;

/// A request up to this size (head and body) goes to the upstream in one write.
const ONE_WRITE: usize = 16 * 1024;

/// Why the upstream gave no (whole) answer: a kind and what happened.
#[derive(Debug)]
pub(crate) struct Fail {
    pub cause: &'static str,
    pub message: String,
}

impl Fail {
    pub(crate) fn into_record(self) -> UpstreamError {
        UpstreamError {
            cause: self.cause.into(),
            message: self.message,
        }
    }

    /// A failed read or write on the upstream connection.
    pub(crate) fn io(e: &std::io::Error, what: &str) -> Fail {
        use std::io::ErrorKind as K;
        let cause = match e.kind() {
            K::TimedOut => "timeout",
            K::InvalidData => "tls",
            _ => "closed",
        };
        Fail {
            cause,
            message: format!("{what}: {e}"),
        }
    }
}

/// The forwarding setup every connection shares.
pub(crate) struct Forwarder {
    pub cfg: Forward,
    tls: Option<TlsSetup>,
    /// Handshakes run one at a time: the setup records the chain of the handshake in progress.
    handshakes: std::sync::Mutex<()>,
    /// Tells this forwarder's idle connections from another's in a worker's pool.
    id: u64,
}

std::thread_local! {
    /// Idle upstream connections of this worker thread (registered with its runtime), with the
    /// forwarder they belong to and since when they are idle.
    static IDLE_POOL: RefCell<Vec<(u64, UpIo, Instant)>> = const { RefCell::new(Vec::new()) };
}

impl Forwarder {
    pub(crate) fn new(cfg: Forward) -> Result<Forwarder, TrustError> {
        static IDS: AtomicU64 = AtomicU64::new(1);
        let tls = if is_https(&cfg.url) {
            Some(TlsSetup::verifying(&cfg.trust, &[b"http/1.1"])?)
        } else {
            None
        };
        Ok(Forwarder {
            cfg,
            tls,
            handshakes: std::sync::Mutex::new(()),
            id: IDS.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// A kept-alive connection of this thread, or a new one (its address, timings and TLS facts
    /// noted in `up`): the connection, and whether it was kept alive.
    pub(crate) async fn checkout(self: &Arc<Self>, up: &mut Upstream, fresh: bool) -> Result<(UpIo, bool), Fail> {
        if !fresh {
            if let Some(io) = self.idle() {
                up.reused = true;
                up.addr.clone_from(&io.addr);
                return Ok((io, true));
            }
        }
        up.reused = false;
        let me = self.clone();
        let made = tokio::task::spawn_blocking(move || me.connect())
            .await
            .map_err(|e| Fail {
                cause: "connect",
                message: format!("the connecting thread failed: {e}"),
            })??;
        up.addr = Some(made.addr.to_string());
        up.timing.connect_us = Some(micros(made.connect));
        up.timing.tls_us = made.tls_took.map(micros);
        up.tls = made.facts;
        made.stream
            .set_nonblocking(true)
            .map_err(|e| Fail::io(&e, "setting up the upstream connection"))?;
        let tcp = TcpStream::from_std(made.stream).map_err(|e| Fail::io(&e, "setting up the upstream connection"))?;
        let io = UpIo {
            tcp,
            tls: made.conn.map(Box::new),
            addr: up.addr.clone(),
            scratch: Vec::new(),
        };
        Ok((io, false))
    }

    fn idle(&self) -> Option<UpIo> {
        IDLE_POOL.with(|p| {
            let mut p = p.borrow_mut();
            let now = Instant::now();
            p.retain(|(_, _, since)| now.duration_since(*since) < IDLE);
            let at = p.iter().rposition(|(id, _, _)| *id == self.id)?;
            Some(p.swap_remove(at).1)
        })
    }

    /// Keep `io` for the next request of this thread.
    pub(crate) fn checkin(&self, io: UpIo) {
        IDLE_POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL {
                p.push((self.id, io, Instant::now()));
            }
        });
    }

    /// Resolve, connect and (for `https`) handshake, on a blocking thread.
    fn connect(&self) -> Result<Made, Fail> {
        let start = Instant::now();
        let (host, port) = (self.cfg.url.host(), self.cfg.url.port_or_default());
        let origin = self.cfg.origin();
        let resolved = probe::resolve(host, port, &self.cfg.resolve).map_err(|e| Fail {
            cause: "dns",
            message: format!("the upstream's name did not resolve: {e}"),
        })?;
        let connected = probe::connect(&resolved.addrs, Some(self.cfg.connect_timeout)).map_err(|e| Fail {
            cause: match e.last().map(|a| a.failure) {
                Some(ConnectFailure::Refused) => "refused",
                Some(ConnectFailure::TimedOut) => "timeout",
                Some(ConnectFailure::Unreachable) => "unreachable",
                _ => "connect",
            },
            message: format!("the upstream {origin} did not take the connection: {e}"),
        })?;
        let connect = start.elapsed();
        let addr = connected.addr;
        let Some(setup) = &self.tls else {
            return Ok(Made {
                stream: connected.stream,
                conn: None,
                addr,
                connect,
                tls_took: None,
                facts: None,
            });
        };
        let limits = probe::Limits::within(self.cfg.timeout);
        let session = {
            let _one = self
                .handshakes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            probe::handshake(setup, connected.stream, host, limits, &mut |_, _| {})
        }
        .map_err(|e| Fail {
            cause: if e.failure == TlsFailure::TimedOut {
                "timeout"
            } else {
                "tls"
            },
            message: format!("the TLS handshake with the upstream {origin} failed: {e}"),
        })?;
        let f = &session.facts;
        let facts = UpstreamTls {
            version: f.version.to_string(),
            cipher: f.suite_text(),
            group: f.group_text(),
            alpn: f.alpn.as_deref().map(|a| crate::json::lossy(a).into_owned()),
            sni: f.sni.clone(),
            resumed: f.kind == probe::HandshakeKind::Resumed,
            chain: f
                .chain
                .iter()
                .map(|der| {
                    tlspost::certinfo::CertInfo::from_der(der).map_or_else(|| "(unreadable)".into(), |c| c.subject)
                })
                .collect(),
        };
        Ok(Made {
            tls_took: Some(f.took),
            facts: Some(facts),
            stream: session.stream,
            conn: Some(session.conn),
            addr,
            connect,
        })
    }
}

/// A connection made on a blocking thread, to be driven on the worker.
struct Made {
    stream: std::net::TcpStream,
    conn: Option<rustls::ClientConnection>,
    addr: std::net::SocketAddr,
    connect: Duration,
    tls_took: Option<Duration>,
    facts: Option<UpstreamTls>,
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A connection to the upstream: plain TCP, or rustls over it.
pub(crate) struct UpIo {
    tcp: TcpStream,
    tls: Option<Box<rustls::ClientConnection>>,
    addr: Option<String>,
    /// TLS records on their way out.
    scratch: Vec<u8>,
}

/// `std::io::Read` over a tokio stream's `try_read`, for rustls' `read_tls`.
struct TryRead<'a>(&'a TcpStream);

impl Read for TryRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl UpIo {
    /// Send `head` then `body`, in one write when they fit [`ONE_WRITE`] (for TLS: encrypted
    /// together and written out): a small request leaves as one segment, so the upstream reads
    /// it at once, with one system call here and one there.
    pub(crate) async fn write_request(&mut self, head: &[u8], body: &[u8]) -> std::io::Result<()> {
        if head.len() + body.len() > ONE_WRITE {
            self.write_all(head).await?;
            return self.write_all(body).await;
        }
        let Some(conn) = self.tls.as_deref_mut() else {
            self.scratch.clear();
            self.scratch.extend_from_slice(head);
            self.scratch.extend_from_slice(body);
            return self.tcp.write_all(&self.scratch).await;
        };
        // Both fit rustls' buffer (unbounded while sending): one flight of records.
        conn.writer().write_all(head)?;
        conn.writer().write_all(body)?;
        self.flush_tls().await
    }

    /// Send all of `b` (for TLS: encrypted and written out).
    async fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        if self.tls.is_none() {
            return self.tcp.write_all(b).await;
        }
        let mut rest = b;
        loop {
            let n = match self.tls.as_deref_mut() {
                Some(conn) => conn.writer().write(rest)?,
                None => rest.len(),
            };
            rest = rest.get(n..).unwrap_or_default();
            self.flush_tls().await?;
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Write out the TLS records rustls has ready.
    async fn flush_tls(&mut self) -> std::io::Result<()> {
        let Some(conn) = self.tls.as_deref_mut() else {
            return Ok(());
        };
        while conn.wants_write() {
            self.scratch.clear();
            conn.write_tls(&mut self.scratch)?;
            self.tcp.write_all(&self.scratch).await?;
        }
        Ok(())
    }

    /// Read what comes next into `buf`'s spare capacity (at least `room` bytes of it): how many
    /// bytes; 0 at the end of the stream (for TLS: after the upstream's `close_notify`; a
    /// connection cut without one is an `UnexpectedEof` error).
    pub(crate) async fn read(&mut self, buf: &mut Vec<u8>, room: usize) -> std::io::Result<usize> {
        buf.reserve(room);
        let Some(conn) = self.tls.as_deref_mut() else {
            return tokio::io::AsyncReadExt::read_buf(&mut self.tcp, buf).await;
        };
        loop {
            let len = buf.len();
            buf.resize(buf.capacity(), 0);
            let got = conn.reader().read(buf.get_mut(len..).unwrap_or_default());
            match got {
                Ok(n) => {
                    buf.truncate(len + n);
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => buf.truncate(len),
                Err(e) => {
                    buf.truncate(len);
                    return Err(e);
                }
            }
            // No plaintext yet: more records.
            loop {
                self.tcp.readable().await?;
                match conn.read_tls(&mut TryRead(&self.tcp)) {
                    Ok(_) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            if let Err(e) = conn.process_new_packets() {
                // The alert rustls queued, so the upstream's log says why.
                while conn.wants_write() {
                    self.scratch.clear();
                    if conn.write_tls(&mut self.scratch).is_err() {
                        break;
                    }
                    let _ = self.tcp.write_all(&self.scratch).await;
                }
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
            }
            // A key update or a ticket answer, if any.
            while conn.wants_write() {
                self.scratch.clear();
                conn.write_tls(&mut self.scratch)?;
                self.tcp.write_all(&self.scratch).await?;
            }
        }
    }
}

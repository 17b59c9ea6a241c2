//! One connection of the client: resolve, connect and handshake through [`crate::probe`], and the
//! stream the driver reads and writes (kept alive between requests).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustls::ClientConnection;

use crate::error::{Error, UrlProblem};
use crate::probe::{self, HandshakeError, Limits, Override, TlsFacts, TlsFailure, TlsSetup};

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

/// Resolves `host:port`, honouring the overrides first.
pub(crate) fn resolve(host: &str, port: u16, overrides: &[Override]) -> Result<Vec<SocketAddr>, Error> {
    probe::resolve(host, port, overrides)
        .map(|r| r.addrs)
        .map_err(|e| Error::Dns {
            host: e.host,
            detail: e.detail,
        })
}

/// Connects to the first address that answers within `timeout` (each).
pub(crate) fn connect(addrs: &[SocketAddr], timeout: Option<Duration>) -> Result<TcpStream, Error> {
    match probe::connect(addrs, timeout) {
        Ok(c) => Ok(c.stream),
        Err(e) => Err(match e.attempts.last() {
            Some(a) => Error::Connect {
                addr: a.addr,
                failure: a.failure,
                detail: a.detail.clone(),
            },
            None => Error::Dns {
                host: String::new(),
                detail: "no addresses".to_string(),
            },
        }),
    }
}

/// Runs the TLS handshake on `tcp` within `deadline`.
pub(crate) fn handshake(
    setup: &TlsSetup,
    host: &str,
    tcp: TcpStream,
    deadline: Option<Instant>,
    budget_ms: Option<u64>,
    trace: &mut dyn FnMut(&[u8], bool),
) -> Result<(Stream, TlsFacts), Error> {
    match probe::handshake(setup, tcp, host, Limits { deadline }, trace) {
        Ok(s) => Ok((
            Stream::Tls(Box::new(rustls::StreamOwned::new(s.conn, s.stream))),
            s.facts,
        )),
        Err(e) => Err(client_error(e, host, budget_ms)),
    }
}

/// The client's error for a failed handshake: a timeout and an unusable name are the client's own
/// kinds; every other failure is the probe's record, as it is.
fn client_error(e: HandshakeError, host: &str, budget_ms: Option<u64>) -> Error {
    match e.failure {
        TlsFailure::TimedOut => Error::Timeout {
            phase: tlspost_proto::Phase::Handshake,
            budget_ms,
        },
        TlsFailure::InvalidName => Error::Url {
            url: host.to_string(),
            reason: UrlProblem::NotATlsName,
        },
        _ => Error::Tls {
            host: host.to_string(),
            error: Box::new(e),
        },
    }
}

//! A rustls unbuffered client connection driven over an `embedded_io` socket with the caller's
//! record buffers: the handshake, then an `embedded_io::{Read, Write}` stream of plaintext.

use alloc::vec::Vec;

use rustls::client::UnbufferedClientConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};

use super::error::RustlsError;
use super::verifier::Refusal;
use super::{Limits, OUTGOING_MIN, RecordBuffers};

/// TLS record header: type, version, 16-bit length.
const HEADER: usize = 5;
/// Room an application-data record needs beyond its plaintext (header, content type, AEAD tag,
/// TLS 1.2's explicit nonce), rounded up.
const RECORD_OVERHEAD: usize = 64;

/// What one turn of the state machine did.
enum Event {
    /// Something was encoded, sent or decrypted: turn again.
    Progress,
    /// rustls needs more bytes from the server.
    Blocked,
    /// The handshake is complete and nothing is pending: data may be sent (or read).
    Idle,
    /// This many plaintext bytes were encrypted and sent.
    Sent(usize),
    /// The server sent close_notify, or both sides have closed.
    Closed,
}

/// What a turn should send when rustls lets it.
#[derive(Clone, Copy)]
enum Outgoing<'a> {
    Nothing,
    Data(&'a [u8]),
    CloseNotify,
}

/// A verified TLS connection (TLS 1.3 or 1.2) over `S`: an `embedded_io::{Read, Write}` stream of
/// the plaintext, for the tlspost driver or any other user. Made by
/// [`super::RustlsClient::connect`].
pub struct RustlsConnection<'b, S> {
    socket: S,
    conn: UnbufferedClientConnection,
    incoming: &'b mut [u8],
    /// Bytes of `incoming` holding received records.
    used: usize,
    /// Offset in `incoming` of the next record header not yet counted.
    scanned: usize,
    outgoing: &'b mut [u8],
    /// Decrypted application data not yet read, from `taken` on.
    plaintext: Vec<u8>,
    taken: usize,
    limits: Limits,
    handshake_bytes: usize,
    refusal: Refusal,
    peer_closed: bool,
}

impl<'b, S: embedded_io::Read + embedded_io::Write> RustlsConnection<'b, S> {
    pub(super) fn new(
        socket: S,
        conn: UnbufferedClientConnection,
        buffers: RecordBuffers<'b>,
        limits: Limits,
        refusal: Refusal,
    ) -> Result<Self, RustlsError<S::Error>> {
        if buffers.outgoing.len() < OUTGOING_MIN {
            return Err(RustlsError::OutgoingTooSmall {
                capacity: buffers.outgoing.len(),
            });
        }
        Ok(Self {
            socket,
            conn,
            incoming: buffers.incoming,
            used: 0,
            scanned: 0,
            outgoing: buffers.outgoing,
            plaintext: Vec::new(),
            taken: 0,
            limits,
            handshake_bytes: 0,
            refusal,
            peer_closed: false,
        })
    }

    /// Whether this connection's handshake resumed a session (no certificates were sent or
    /// checked).
    pub fn resumed(&self) -> bool {
        self.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// The negotiated protocol version: `0x0304` for TLS 1.3, `0x0303` for TLS 1.2.
    pub fn protocol_version(&self) -> Option<u16> {
        self.conn.protocol_version().map(u16::from)
    }

    /// Bytes of TLS records the server sent before the handshake completed.
    pub fn server_handshake_bytes(&self) -> usize {
        self.handshake_bytes
    }

    /// Sends close_notify and gives the socket back.
    pub fn close(mut self) -> Result<S, RustlsError<S::Error>> {
        loop {
            match self.step(Outgoing::CloseNotify)? {
                Event::Progress => {}
                Event::Sent(_) | Event::Closed | Event::Idle | Event::Blocked => return Ok(self.socket),
            }
        }
    }

    pub(super) fn handshake(&mut self) -> Result<(), RustlsError<S::Error>> {
        loop {
            match self.step(Outgoing::Nothing)? {
                Event::Progress => {}
                Event::Blocked => self.fill()?,
                Event::Idle | Event::Sent(_) => return Ok(()),
                Event::Closed => return Err(RustlsError::Closed),
            }
        }
    }

    /// One turn of rustls' state machine over the received records; sends what it encodes.
    fn step(&mut self, send: Outgoing<'_>) -> Result<Event, RustlsError<S::Error>> {
        let UnbufferedStatus { discard, state } = self
            .conn
            .process_tls_records(self.incoming.get_mut(..self.used).unwrap_or_default());
        let event = match state {
            Err(e) => Err(RustlsError::Tls(e)),
            Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                self.plaintext.drain(..self.taken);
                self.taken = 0;
                let mut out = Ok(Event::Progress);
                while let Some(record) = traffic.next_record() {
                    match record {
                        Ok(record) => self.plaintext.extend_from_slice(record.payload),
                        Err(e) => out = Err(RustlsError::Tls(e)),
                    }
                }
                out
            }
            Ok(ConnectionState::EncodeTlsData(mut data)) => {
                // Each handshake record is sent as soon as it is encoded, so the outgoing buffer
                // needs to hold one record at a time.
                match data.encode(self.outgoing) {
                    Ok(n) => {
                        send_all(&mut self.socket, self.outgoing.get(..n).unwrap_or_default()).map(|()| Event::Progress)
                    }
                    Err(EncodeError::InsufficientSize(_)) | Err(_) => Err(RustlsError::OutgoingTooSmall {
                        capacity: self.outgoing.len(),
                    }),
                }
            }
            Ok(ConnectionState::TransmitTlsData(data)) => {
                data.done();
                Ok(Event::Progress)
            }
            Ok(ConnectionState::BlockedHandshake) => Ok(Event::Blocked),
            Ok(ConnectionState::WriteTraffic(mut traffic)) => {
                let room = self.outgoing.len().saturating_sub(RECORD_OVERHEAD);
                let (encrypted, sent) = match send {
                    Outgoing::Nothing => (Ok(0), None),
                    Outgoing::Data(data) => {
                        let chunk = data.get(..room.min(data.len())).unwrap_or_default();
                        (traffic.encrypt(chunk, self.outgoing), Some(chunk.len()))
                    }
                    Outgoing::CloseNotify => (traffic.queue_close_notify(self.outgoing), Some(0)),
                };
                match encrypted {
                    Ok(n) => send_all(&mut self.socket, self.outgoing.get(..n).unwrap_or_default())
                        .map(|()| sent.map_or(Event::Idle, Event::Sent)),
                    Err(EncryptError::InsufficientSize(_)) | Err(_) => Err(RustlsError::OutgoingTooSmall {
                        capacity: self.outgoing.len(),
                    }),
                }
            }
            Ok(ConnectionState::PeerClosed) | Ok(ConnectionState::Closed) => {
                self.peer_closed = true;
                Ok(Event::Closed)
            }
            Ok(_) => Ok(Event::Progress),
        };
        self.discard(discard);
        event.map_err(|e| self.refused(e))
    }

    /// A verifier refusal is reported as such, whatever rustls made of it.
    fn refused(&self, e: RustlsError<S::Error>) -> RustlsError<S::Error> {
        match (e, *self.refusal.lock()) {
            (RustlsError::Tls(_), Some(v)) => RustlsError::Verify(v),
            (e, _) => e,
        }
    }

    fn discard(&mut self, n: usize) {
        let n = n.min(self.used);
        self.incoming.copy_within(n..self.used, 0);
        self.used -= n;
        self.scanned = self.scanned.saturating_sub(n);
    }

    /// Reads from the socket into the incoming buffer and checks the new records' headers.
    fn fill(&mut self) -> Result<(), RustlsError<S::Error>> {
        let free = self.incoming.get_mut(self.used..).unwrap_or_default();
        if free.is_empty() {
            return Err(RustlsError::RecordTooLarge {
                len: self.incoming.len() + 1,
                capacity: self.incoming.len(),
            });
        }
        let n = self.socket.read(free).map_err(RustlsError::Io)?;
        if n == 0 {
            return Err(RustlsError::Closed);
        }
        self.used += n;
        self.scan()
    }

    /// Counts each record whose header has arrived: against the buffer's size always, against
    /// the handshake limit while handshaking, before rustls is given the record.
    fn scan(&mut self) -> Result<(), RustlsError<S::Error>> {
        while self.scanned + HEADER <= self.used {
            let Some(&[_, _, _, hi, lo]) = self.incoming.get(self.scanned..self.scanned + HEADER) else {
                break;
            };
            let len = HEADER + usize::from(u16::from_be_bytes([hi, lo]));
            if len > self.incoming.len() {
                return Err(RustlsError::RecordTooLarge {
                    len,
                    capacity: self.incoming.len(),
                });
            }
            if self.conn.is_handshaking() {
                self.handshake_bytes += len;
                if self.handshake_bytes > self.limits.server_handshake {
                    return Err(RustlsError::HandshakeTooLarge {
                        limit: self.limits.server_handshake,
                    });
                }
            }
            self.scanned += len;
        }
        Ok(())
    }
}

/// Writes all of `bytes`; a socket that accepts nothing has closed.
fn send_all<S: embedded_io::Write>(socket: &mut S, mut bytes: &[u8]) -> Result<(), RustlsError<S::Error>> {
    while !bytes.is_empty() {
        match socket.write(bytes).map_err(RustlsError::Io)? {
            0 => return Err(RustlsError::Closed),
            n => bytes = bytes.get(n..).unwrap_or_default(),
        }
    }
    socket.flush().map_err(RustlsError::Io)
}

impl<S: embedded_io::ErrorType> embedded_io::ErrorType for RustlsConnection<'_, S> {
    type Error = RustlsError<S::Error>;
}

impl<S: embedded_io::Read + embedded_io::Write> embedded_io::Read for RustlsConnection<'_, S> {
    /// Plaintext from the server; `Ok(0)` once it has closed the connection.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        loop {
            let pending = self.plaintext.get(self.taken..).unwrap_or_default();
            if !pending.is_empty() {
                let n = pending.len().min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(pending.get(..n).unwrap_or_default());
                self.taken += n;
                return Ok(n);
            }
            if self.peer_closed || buf.is_empty() {
                return Ok(0);
            }
            match self.step(Outgoing::Nothing)? {
                Event::Progress | Event::Sent(_) => {}
                Event::Blocked | Event::Idle => match self.fill() {
                    // A server that closes without close_notify ends the stream too; the HTTP
                    // framing says whether the response was complete.
                    Err(RustlsError::Closed) => self.peer_closed = true,
                    other => other?,
                },
                Event::Closed => self.peer_closed = true,
            }
        }
    }
}

impl<S: embedded_io::Read + embedded_io::Write> embedded_io::Write for RustlsConnection<'_, S> {
    /// Encrypts and sends up to one record of `buf`.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.step(Outgoing::Data(buf))? {
                Event::Sent(n) => return Ok(n),
                Event::Progress | Event::Idle => {}
                Event::Blocked => self.fill()?,
                Event::Closed => return Err(RustlsError::Closed),
            }
        }
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.socket.flush().map_err(RustlsError::Io)
    }
}

//! Why a rustls-backend connection failed.

use core::fmt;

use crate::VerifyError;

/// Why opening or using a [`super::RustlsConnection`] failed. `E` is the socket's error.
#[non_exhaustive]
#[derive(Debug)]
pub enum RustlsError<E> {
    /// The socket failed.
    Io(E),
    /// The server closed the connection during the handshake or before the data was sent.
    Closed,
    /// The server's certificate or handshake signature was refused (the same reasons as the
    /// embedded-tls path's [`crate::ConnectError::Verify`]).
    Verify(VerifyError),
    /// rustls refused the handshake or a record for another reason (an alert from the server, a
    /// protocol error, no common version or cipher suite).
    Tls(rustls::Error),
    /// The server sent more handshake bytes than the limit allows (what rustls would have to hold
    /// on the heap).
    HandshakeTooLarge {
        /// [`super::Limits::server_handshake`].
        limit: usize,
    },
    /// The server sent a record larger than the incoming buffer.
    RecordTooLarge {
        /// The record's size, header included.
        len: usize,
        /// The incoming buffer's size.
        capacity: usize,
    },
    /// The outgoing buffer cannot hold the next record (a ClientHello with a long host name or a
    /// large ticket).
    OutgoingTooSmall {
        /// The outgoing buffer's size.
        capacity: usize,
    },
}

impl<E> RustlsError<E> {
    /// What went wrong, as a fact; [`Display`](fmt::Display) adds the values and the fix.
    pub fn why(&self) -> &'static str {
        match self {
            RustlsError::Io(_) => "the socket failed",
            RustlsError::Closed => "the server closed the connection",
            RustlsError::Verify(e) => e.why(),
            RustlsError::Tls(_) => "the TLS handshake or a record was refused",
            RustlsError::HandshakeTooLarge { .. } => {
                "the server's handshake is larger than this device accepts (its certificates would not fit the heap)"
            }
            RustlsError::RecordTooLarge { .. } => "the server sent a TLS record larger than the incoming buffer",
            RustlsError::OutgoingTooSmall { .. } => "a TLS record to send does not fit the outgoing buffer",
        }
    }

    /// What to change, where the device's configuration or the server's can fix it. Names no
    /// program or option.
    pub fn fix(&self) -> Option<&'static str> {
        Some(match self {
            RustlsError::Verify(e) => return e.fix(),
            RustlsError::HandshakeTooLarge { .. } => {
                "have the server send a shorter chain (an ECDSA leaf and one intermediate), or raise the limit and the heap with it"
            }
            RustlsError::RecordTooLarge { .. } => "give the connection an incoming buffer of 16,645 bytes",
            RustlsError::OutgoingTooSmall { .. } => {
                "give the connection a larger outgoing buffer (1,024 bytes fit any ClientHello with a ticket)"
            }
            _ => return None,
        })
    }
}

impl<E: fmt::Debug> fmt::Display for RustlsError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RustlsError::Verify(e) => return write!(f, "TLS handshake refused: {e}"),
            RustlsError::Io(e) => write!(f, "{} ({e:?})", self.why())?,
            RustlsError::Tls(e) => write!(f, "{}: {e}", self.why())?,
            RustlsError::HandshakeTooLarge { limit } => write!(f, "{} (more than {limit} bytes)", self.why())?,
            RustlsError::RecordTooLarge { len, capacity } => {
                write!(f, "{} ({len} bytes, the buffer holds {capacity})", self.why())?;
            }
            RustlsError::OutgoingTooSmall { capacity } => write!(f, "{} (it holds {capacity} bytes)", self.why())?,
            RustlsError::Closed => f.write_str(self.why())?,
        }
        match self.fix() {
            Some(fix) => write!(f, "; {fix}"),
            None => Ok(()),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for RustlsError<E> {}

impl<E: embedded_io::Error> embedded_io::Error for RustlsError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            RustlsError::Io(e) => e.kind(),
            RustlsError::Closed => embedded_io::ErrorKind::ConnectionAborted,
            RustlsError::RecordTooLarge { .. } | RustlsError::OutgoingTooSmall { .. } => {
                embedded_io::ErrorKind::OutOfMemory
            }
            _ => embedded_io::ErrorKind::InvalidData,
        }
    }
}

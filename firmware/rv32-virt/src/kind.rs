//! The frame kinds of the relay protocol ([`crate::relay`]), one byte each. The host's end
//! (the workspace's `tlspost-harness`) includes this file by path, so both ends read the same
//! table.

/// Device → host: a question (`job`); answered by [`ANSWER`].
pub const ASK: u8 = b'Q';
/// Host → device: the answer to a question (empty: nothing, e.g. no more jobs).
pub const ANSWER: u8 = b'A';
/// Device → host: open a connection to `HOST:PORT`; answered by [`OPENED`].
pub const OPEN: u8 = b'O';
/// Host → device: the connection is open (empty) or why not, in words.
pub const OPENED: u8 = b'o';
/// Device → host: bytes to send.
pub const SEND: u8 = b'D';
/// Host → device: bytes received.
pub const RECEIVED: u8 = b'd';
/// Device → host: close the connection.
pub const CLOSE: u8 = b'X';
/// Host → device: the connection ended (empty: the peer closed; otherwise why).
pub const ENDED: u8 = b'x';

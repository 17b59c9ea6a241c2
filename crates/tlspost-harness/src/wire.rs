//! The frames on the UART, host side (the device side is `rv32_virt::relay`, whose docs hold the
//! table of kinds; the kinds' constants are its `kind.rs`, included here): `kind: u8, id: u8,
//! length: u16 big-endian, payload`.

use std::io::{self, Read, Write};

// The kinds, from the device's own table.
#[path = "../../../firmware/rv32-virt/src/kind.rs"]
mod kind;
pub use kind::*;

/// Most payload bytes the host puts in one frame.
pub const MAX_PAYLOAD: usize = 4096;

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its kind (one of the kind constants above, [`ASK`] ...).
    pub kind: u8,
    /// The connection it is about (0 for questions).
    pub id: u8,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Reads one frame; `None` at the end of the stream between frames.
pub fn read(r: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut h = [0u8; 4];
    match r.read_exact(&mut h) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let [kind, id, hi, lo] = h;
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes([hi, lo]))];
    r.read_exact(&mut payload)?;
    Ok(Some(Frame { kind, id, payload }))
}

/// Writes one frame of `kind` for `id` per [`MAX_PAYLOAD`] bytes of `payload` (one, empty, for
/// an empty payload).
pub fn write(w: &mut impl Write, kind: u8, id: u8, payload: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 4 * (payload.len() / MAX_PAYLOAD + 1));
    let mut chunks = payload.chunks(MAX_PAYLOAD).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[kind, id, 0, 0]);
    }
    for chunk in chunks {
        let [hi, lo] = u16::try_from(chunk.len()).unwrap_or(u16::MAX).to_be_bytes();
        out.extend_from_slice(&[kind, id, hi, lo]);
        out.extend_from_slice(chunk);
    }
    w.write_all(&out)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_long_payloads_split() {
        let mut buf = Vec::new();
        write(&mut buf, RECEIVED, 3, &vec![7u8; MAX_PAYLOAD + 10]).unwrap();
        write(&mut buf, ENDED, 3, b"").unwrap();
        let mut r = &buf[..];
        let a = read(&mut r).unwrap().unwrap();
        assert_eq!((a.kind, a.id, a.payload.len()), (RECEIVED, 3, MAX_PAYLOAD));
        let b = read(&mut r).unwrap().unwrap();
        assert_eq!(b.payload, vec![7u8; 10]);
        let c = read(&mut r).unwrap().unwrap();
        assert_eq!((c.kind, c.payload.len()), (ENDED, 0));
        assert_eq!(read(&mut r).unwrap(), None);
        // A frame cut off inside its payload is an error, not the end.
        assert!(read(&mut &[SEND, 1, 0, 5, 1][..]).is_err());
    }
}

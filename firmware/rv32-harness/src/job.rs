//! A job as the host relay sends it, in answer to the question `job` (the host side:
//! `tlspost_harness::Job::encode`). All integers big-endian:
//!
//! ```text
//! id u8 | now_unix u64 | host: len u8, bytes | target: len u8, bytes | path: len u8, bytes
//!       | roots: count u8, then each: len u16, DER
//!       [ | fragment: exponent u8 (9 to 12: 2^n bytes) | read_buffer u16 ]
//! ```
//!
//! An empty `path` asks for the handshake only; otherwise a JSON POST to it follows. The last three
//! bytes are optional (a job without them is read as before): the TLS backend offers
//! max_fragment_length (RFC 6066) for that fragment and reads records into a buffer of
//! `read_buffer` bytes (a backend that cannot offer it ignores them).

/// Most roots a job pins (the answer buffer bounds their bytes).
pub const MAX_ROOTS: usize = 4;

/// One connection to make, borrowed from the relay's answer.
pub struct Job<'a> {
    pub id: u8,
    pub now_unix: u64,
    pub host: &'a str,
    pub target: &'a str,
    pub path: &'a str,
    /// max_fragment_length's exponent (9 to 12) and the read buffer's bytes, when asked for.
    pub fragment: Option<(u8, u16)>,
    roots: [&'a [u8]; MAX_ROOTS],
    count: usize,
}

impl<'a> Job<'a> {
    /// Reads a job; `None` when the bytes do not hold one.
    pub fn parse(bytes: &'a [u8]) -> Option<Job<'a>> {
        let mut r = Reader(bytes);
        let id = r.take(1)?[0];
        let now_unix = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let host = r.text()?;
        let target = r.text()?;
        let path = r.text()?;
        let count = usize::from(r.take(1)?[0]);
        if count > MAX_ROOTS {
            return None;
        }
        let mut roots: [&[u8]; MAX_ROOTS] = [&[]; MAX_ROOTS];
        for root in roots.iter_mut().take(count) {
            let len = u16::from_be_bytes(r.take(2)?.try_into().ok()?);
            *root = r.take(usize::from(len))?;
        }
        let fragment = match r.0 {
            [] => None,
            [exponent @ 9..=12, a, b] => Some((*exponent, u16::from_be_bytes([*a, *b]))),
            _ => return None,
        };
        Some(Job {
            id,
            now_unix,
            host,
            target,
            path,
            fragment,
            roots,
            count,
        })
    }

    /// The pinned roots (DER).
    pub fn roots(&self) -> &[&'a [u8]] {
        &self.roots[..self.count]
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn text(&mut self) -> Option<&'a str> {
        let len = usize::from(self.take(1)?[0]);
        core::str::from_utf8(self.take(len)?).ok()
    }
}

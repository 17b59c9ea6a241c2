//! The server-wide memory budget for request bytes, and each connection's share of it.
//!
//! Every connection may hold [`ALLOWANCE`] bytes of buffers (the request read so far, the echo
//! and the response head being written) without asking; beyond that it reserves from the one
//! [`Budget`] before it lets a buffer grow. When the budget cannot cover a request's next bytes,
//! the request is refused (`503` with `Retry-After`, recorded with what arrived). A
//! [`Reservation`] gives its bytes back when the connection no longer holds them, and whatever it
//! still holds when it is dropped (the connection ended, on any path).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::record::Capture;

/// Bytes of buffers a connection holds without reserving: its read buffer (16 KiB) and the echo
/// and response head of a request of a few KiB.
pub(crate) const ALLOWANCE: usize = 32 * 1024;

/// The server-wide budget: at most `limit` bytes reserved at once, over all connections.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// The limit, in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes reserved now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Reserve `n` more bytes if they fit.
    fn take(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// One connection's share of the budget: what its buffers hold beyond [`ALLOWANCE`]. Given back
/// when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<Budget>,
    held: u64,
}

impl Reservation {
    pub(crate) fn new(budget: Arc<Budget>) -> Reservation {
        Reservation { budget, held: 0 }
    }

    /// Cover `bytes` of buffers (the connection's whole holding, the allowance included): reserve
    /// more or give some back. `false`, and nothing changed, when the budget cannot cover them.
    pub(crate) fn cover(&mut self, bytes: usize) -> bool {
        let want = (bytes.saturating_sub(ALLOWANCE)) as u64;
        if want > self.held {
            if !self.budget.take(want - self.held) {
                return false;
            }
        } else if want < self.held {
            self.budget.give(self.held - want);
        }
        self.held = want;
        true
    }

    /// The budget's limit, in bytes (for messages).
    pub(crate) fn limit(&self) -> u64 {
        self.budget.limit()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.held > 0 {
            self.budget.give(self.held);
        }
    }
}

/// An upper bound on the length of the echo of `cap` (`respond::echo_into`), and on what making it
/// takes besides (the body as text, when it is not UTF-8). Every byte of text written into the
/// JSON may become six (`\u00XX`); a body that is not UTF-8 becomes up to three times as long as
/// text (each byte that is not UTF-8 a U+FFFD). Cheap for small bodies (no scan).
pub(crate) fn echo_room(cap: &Capture) -> (usize, usize) {
    let text = |s: &str| 6 * s.len() + 2;
    let opt = |s: Option<&str>| s.map_or(4, text);
    let mut n = 1024 + opt(cap.method.as_deref()) + opt(cap.target.as_deref()) + opt(cap.version.as_deref());
    n += cap.headers.iter().map(|(k, v)| text(k) + text(v) + 32).sum::<usize>();
    n += text(&cap.peer);
    if let Some(t) = &cap.tls {
        n += 256
            + [&t.hello.sni, &t.alpn, &t.version, &t.cipher]
                .iter()
                .map(|v| opt(v.as_deref()))
                .sum::<usize>()
            + text(&t.ja4);
    }
    n += cap
        .findings
        .iter()
        .map(|f| 128 + text(&f.code) + text(&f.severity) + text(&f.title) + text(&f.message) + text(&f.fix))
        .sum::<usize>();
    let body = cap.raw_body();
    if body.len() <= 4096 {
        return (n + 6 * 3 * body.len() + 2, 3 * body.len());
    }
    let escaped = body.iter().filter(|&&b| b < 0x20 || b == b'"' || b == b'\\').count();
    let (as_text, making) = if std::str::from_utf8(body).is_ok() {
        (body.len(), 0)
    } else {
        (3 * body.len(), 3 * body.len())
    };
    (n + as_text + 5 * escaped + 2, making)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound holds for the bodies that grow the most as JSON text, and is close for plain ones.
    #[test]
    fn the_echo_stays_within_its_room() {
        let head = b"POST /p?q=\"x\" HTTP/1.1\r\nHost: h\r\nX-Ctl: a\t\"b\\c\xff\r\n\r\n".to_vec();
        let big = 100_000;
        let bodies: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"{\"a\":1}".to_vec(),
            vec![0u8; 3000],
            vec![0u8; big],
            vec![b'"'; big],
            vec![0xff; big],
            (0..big).map(|i| if i % 2 == 0 { 0xc3 } else { 0x01 }).collect(),
            "é".repeat(big / 2).into_bytes(),
            vec![b'a'; big],
        ];
        for body in bodies {
            let mut raw = head.clone();
            raw.extend_from_slice(&body);
            let h = crate::framing::parse_head(&head).unwrap();
            let mut cap = Capture {
                id: i64::MAX,
                head_len: head.len(),
                raw,
                peer: "[::1]:65535".into(),
                method: Some(h.method),
                target: Some(h.target),
                version: Some("HTTP/1.1".into()),
                headers: h.headers,
                ..Capture::default()
            };
            crate::conn::lint_into(&mut cap);
            let mut echo = Vec::new();
            crate::respond::echo_into(&cap, &mut echo);
            let (room, making) = echo_room(&cap);
            assert!(echo.len() <= room, "{} > {room} for {:?}", echo.len(), body.get(..8));
            if body == vec![b'a'; big] {
                assert!(room < echo.len() + 8192, "{room} for {}", echo.len());
                assert_eq!(making, 0);
            }
            if body.first() == Some(&0xff) {
                assert!(making >= 3 * body.len());
            }
        }
    }

    #[test]
    fn reservations_share_the_budget_and_give_back_on_drop() {
        let budget = Budget::new(100_000);
        let mut a = Reservation::new(budget.clone());
        let mut b = Reservation::new(budget.clone());
        // Within the allowance: nothing reserved.
        assert!(a.cover(ALLOWANCE));
        assert_eq!(budget.used(), 0);
        assert!(a.cover(ALLOWANCE + 60_000));
        assert_eq!(budget.used(), 60_000);
        // b cannot take more than is left; a failed cover changes nothing.
        assert!(!b.cover(ALLOWANCE + 50_000));
        assert_eq!(budget.used(), 60_000);
        assert!(b.cover(ALLOWANCE + 40_000));
        assert_eq!(budget.used(), 100_000);
        assert!(!a.cover(ALLOWANCE + 60_001));
        // Shrinking gives back.
        assert!(a.cover(ALLOWANCE + 10_000));
        assert_eq!(budget.used(), 50_000);
        drop(a);
        assert_eq!(budget.used(), 40_000);
        drop(b);
        assert_eq!(budget.used(), 0);
    }
}

//! Finding and masking secrets, and escaping bytes for a terminal, never allocate: every input up
//! to four bytes long over the bytes that steer the scanners, and a few whole messages, under a
//! counting allocator. The binary has no test harness (`harness = false`): the counter is
//! process-wide, so nothing but this check may run while it counts.

use std::alloc::System;
use std::fmt::Write as _;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tlspost_proto::escape::{Escaped, EscapedText};
use tlspost_proto::secrets;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A `fmt::Write` into a fixed buffer (drops what does not fit).
struct Fixed {
    buf: [u8; 256],
    len: usize,
}

impl std::fmt::Write for Fixed {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

const ALPHABET: &[u8] = b"{}[]\":,=&?#@ \r\n\\k\x1b\xff";

const MESSAGES: &[&[u8]] = &[
    b"POST /t?access_token=abc HTTP/1.1\r\nHost: u:p@h\r\nAuthorization: Bearer x\r\nCookie: a=b; c=d\r\n\
      Transfer-Encoding: chunked\r\n\r\n9\r\n{\"key\":1}\r\n0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: https://u:p@h/?token=1#x=2\r\n\
      Set-Cookie: s=1; Path=/\r\n\r\n{\"auth\":{\"a\":[1,\"b\"]}}",
    b"grant_type=password&password=hunter2",
];

fn run(data: &[u8], out: &mut [u8], text: &mut Fixed) -> usize {
    let mut n = 0;
    n += secrets::message(data).count();
    n += secrets::message_with_head(data, data.len() / 2).count();
    n += secrets::body(data).count();
    n += secrets::url(data).count();
    n += secrets::header_value(b"Cookie", data).count();
    n += secrets::header_value(b"Authorization", data).count();
    n += usize::from(secrets::is_secret_name(data));
    if let Ok(m) = secrets::mask_into(data, out) {
        n += m.len();
    }
    text.len = 0;
    let _ = write!(text, "{}", Escaped(data));
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = write!(text, "{}", EscapedText(s));
    }
    n + text.len
}

fn main() {
    finding_masking_and_escaping_allocate_nothing();
    println!("secrets_alloc: finding, masking and escaping allocated nothing");
}

fn finding_masking_and_escaping_allocate_nothing() {
    let mut out = [0u8; 512];
    let mut text = Fixed { buf: [0; 256], len: 0 };
    let mut input = [0u8; 4];
    let k = ALPHABET.len();
    let region = Region::new(GLOBAL);
    let mut total = 0usize;
    for len in 0..=4u32 {
        for mut code in 0..k.pow(len) {
            for slot in input.iter_mut().take(len as usize) {
                *slot = ALPHABET[code % k];
                code /= k;
            }
            total += run(&input[..len as usize], &mut out, &mut text);
        }
    }
    for m in MESSAGES {
        total += run(m, &mut out, &mut text);
    }
    let stats = region.change();
    assert!(total > 0);
    assert_eq!(stats.allocations + stats.reallocations, 0, "{stats:?}");
}

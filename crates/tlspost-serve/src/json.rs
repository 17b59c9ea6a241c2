//! JSON written by hand for what the server writes per request (the echo, a row's metadata):
//! the same text `serde_json` writes, without its per-value dispatch.

/// Bytes as text, invalid UTF-8 replaced; validated the fast way first (`str::from_utf8`), as
/// nearly everything that arrives is valid.
pub(crate) fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// `v` in decimal.
pub(crate) fn uint(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

/// `v` in decimal, with its sign.
pub(crate) fn int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    uint(out, v.unsigned_abs());
}

/// `Some` as a number, `None` as `null`.
pub(crate) fn opt_uint(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => uint(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// `true` or `false`.
pub(crate) fn bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// `Some` as a string, `None` as `null`.
pub(crate) fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Bytes that need an escape in a JSON string: what follows the backslash (`u`: `\u00XX`).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// `s` as a JSON string, escaped as `serde_json` does: `"` and `\\`, the control characters
/// (short forms where JSON has them, `\\u00XX` otherwise); everything else as it is.
pub(crate) fn str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    // Copied in runs; eight bytes are checked at a time, and a word with a byte to escape byte
    // by byte.
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            if !needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        for (j, &b) in bytes.iter().enumerate().take(end).skip(i) {
            let esc = ESCAPE[usize::from(b)];
            if esc == 0 {
                continue;
            }
            out.extend_from_slice(bytes.get(run..j).unwrap_or_default());
            run = j + 1;
            out.push(b'\\');
            out.push(esc);
            if esc == b'u' {
                out.extend_from_slice(b"00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        i = end;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
    out.push(b'"');
}

/// Whether any of the eight bytes in `w` is below 0x20, `"` or `\\` (exact, no false negatives).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below n (n <= 0x80) leaves its high bit set in (w - n) & !w.
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH;
    below(w, 0x20) | below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_as_serde_json_writes_them() {
        let all: String = (0u8..0x80).map(char::from).chain("é😀\u{2028}".chars()).collect();
        for s in ["", "plain", "\"q\" \\ /", &all] {
            let mut out = Vec::new();
            str(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap());
        }
        for v in [0, 7, 10, -1, 1_234_567_890, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            int(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
        }
        // Every byte value at every position of an eight-byte word.
        for b in 0u8..=0x7f {
            for pos in 0..12 {
                let mut t = "abcdefghijkl".to_string().into_bytes();
                t[pos] = b;
                let t = String::from_utf8(t).unwrap();
                let mut out = Vec::new();
                str(&mut out, &t);
                assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&t).unwrap());
            }
        }
        for b in 0u8..=0xff {
            let w = u64::from_le_bytes([b'a', b'b', b, b'c', b'd', b'e', b'f', b'g']);
            assert_eq!(needs_escape(w), b < 0x20 || b == b'"' || b == b'\\', "byte {b:#x}");
        }
        let mut out = Vec::new();
        uint(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string().into_bytes());
    }
}

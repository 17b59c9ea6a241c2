//! Bytes from the network made safe to print on a terminal, without allocation.
//!
//! A server (or a device, or anything on the path) chooses the bytes of a header name, a reason
//! phrase or a body; printed raw, `\x1b[…` sequences recolour, move the cursor, retitle the window
//! or worse, and a bare `\r` overwrites what was printed before. [`Escaped`] writes printable text
//! as it is (UTF-8 included: `°C`, `é`) and everything else as an escape: `\r`, `\n`, `\t`, and
//! `\xNN` for every other control byte (C0, DEL, the C1 controls such as U+009B, which some
//! terminals read as CSI), for the Unicode bidirectional overrides and isolates (which reorder what
//! is shown), the line and paragraph separators, and for each byte that is not valid UTF-8.
//! Printable ASCII, the backslash included, is written as it is.
//!
//! [`EscapedText`] is the same for text that is already a message with its own line breaks: it
//! keeps `\n` and escapes everything else [`Escaped`] escapes.
//!
//! ```
//! use tlspost_proto::escape::{Escaped, EscapedText};
//!
//! let name = b"X-Evil\x1b[31m\r\x00\xff";
//! assert_eq!(format!("{}", Escaped(name)), r"X-Evil\x1b[31m\r\x00\xff");
//! assert_eq!(format!("{}", Escaped("25 °C".as_bytes())), "25 °C");
//! assert_eq!(format!("{}", EscapedText("line 1\nline\x1b 2")), "line 1\nline\\x1b 2");
//! ```

use core::fmt;

// The formatting code is `#[inline]`: it is then compiled only into programs that use it (a device
// firmware that never prints escaped bytes stays the same size to the byte).

/// Raw bytes for a terminal: printable text as is, everything else escaped (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escaped<'a>(pub &'a [u8]);

/// Text for a terminal that keeps its own line breaks (`\n`); everything else [`Escaped`] escapes
/// is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscapedText<'a>(pub &'a str);

/// Whether `c` must not reach a terminal as it is.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Whether `bytes` would be written unchanged by [`Escaped`] (valid UTF-8 without anything to escape).
pub fn is_safe(bytes: &[u8]) -> bool {
    core::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(is_unsafe_char))
}

#[inline]
fn write_char_escaped(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\r' => f.write_str("\\r"),
        '\n' => f.write_str("\\n"),
        '\t' => f.write_str("\\t"),
        c => {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                write!(f, "\\x{b:02x}")?;
            }
            Ok(())
        }
    }
}

/// Writes `s`, escaping what [`is_unsafe_char`] flags (except `\n` when `keep_newlines`), in runs.
#[inline]
fn write_str_escaped(f: &mut fmt::Formatter<'_>, s: &str, keep_newlines: bool) -> fmt::Result {
    let mut rest = s;
    while let Some((i, c)) = rest
        .char_indices()
        .find(|&(_, c)| is_unsafe_char(c) && !(keep_newlines && c == '\n'))
    {
        f.write_str(rest.get(..i).unwrap_or_default())?;
        write_char_escaped(f, c)?;
        rest = rest.get(i.saturating_add(c.len_utf8())..).unwrap_or_default();
    }
    f.write_str(rest)
}

impl fmt::Display for Escaped<'_> {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            write_str_escaped(f, chunk.valid(), false)?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for EscapedText<'_> {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_str_escaped(f, self.0, true)
    }
}

/// Writes `bytes` escaped into `out` (any [`fmt::Write`], e.g. a fixed buffer on a device).
pub fn write_escaped<W: fmt::Write>(out: &mut W, bytes: &[u8]) -> fmt::Result {
    write!(out, "{}", Escaped(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::String;

    #[test]
    fn escapes_controls_invalid_bytes_and_bidi_keeps_text() {
        assert_eq!(format!("{}", Escaped(b"a\r\nb\t\x00\x7f\xff")), r"a\r\nb\t\x00\x7f\xff");
        assert_eq!(format!("{}", Escaped(b"\x1b[31mred\x1b[0m")), r"\x1b[31mred\x1b[0m");
        assert_eq!(format!("{}", Escaped("é°C… \\x".as_bytes())), "é°C… \\x");
        // C1 CSI (U+009B) and a right-to-left override, as their UTF-8 bytes.
        assert_eq!(
            format!("{}", Escaped("a\u{9b}b\u{202e}c".as_bytes())),
            r"a\xc2\x9bb\xe2\x80\xaec"
        );
        // A UTF-8 sequence cut short is invalid, byte by byte.
        assert_eq!(format!("{}", Escaped(b"\xe2\x80")), r"\xe2\x80");
        assert_eq!(format!("{}", EscapedText("a\nb\rc\x1b")), "a\nb\\rc\\x1b");
        assert!(is_safe(b"plain text: 25 \xc2\xb0C"));
        assert!(!is_safe(b"a\nb") && !is_safe(b"\xff") && !is_safe("\u{202e}".as_bytes()));
        let mut s = String::new();
        write_escaped(&mut s, b"\x07").unwrap();
        assert_eq!(s, r"\x07");
    }

    #[test]
    fn every_byte_pair_prints_only_safe_text() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let s = format!("{}", Escaped(&[a, b]));
                assert!(is_safe(s.as_bytes()), "{a:02x} {b:02x}: {s:?}");
            }
        }
    }
}

//! HTTP's small syntax rules (RFC 9110 §5.6), in one place: token characters, optional
//! whitespace, comma-separated lists, case-insensitive header lookup, and the checks a header name
//! or value must pass before it is sent.
//!
//! ```
//! use tlspost_proto::syntax::{self, Invalid};
//!
//! assert!(syntax::check_token(b"X-Api-Key").is_ok());
//! assert_eq!(syntax::check_token(b"X Key"), Err(Invalid::Byte { byte: b' ', position: 1 }));
//! assert_eq!(syntax::check_value(b"a\r\nInjected: 1").unwrap_err().to_string(), "the byte 0x0d (CR) at position 1");
//! assert_eq!(syntax::trim_ows(b" \tgzip "), b"gzip");
//! ```

use core::fmt;

/// An RFC 9110 `tchar`: a letter, a digit or one of ``!#$%&'*+-.^_`|~``.
pub const fn is_tchar(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
    ) || b.is_ascii_alphanumeric()
}

/// Whether `s` is a non-empty RFC 9110 `token` (a method, a header name).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// RFC 9110 `OWS`: a space or a horizontal tab.
pub const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `v` without leading and trailing optional whitespace (spaces and tabs).
pub const fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The non-empty elements of a comma-separated list (RFC 9110 §5.6.1), trimmed of OWS.
pub fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|t| !t.is_empty())
}

/// The values of every header called `name` (ASCII case-insensitive), in order.
pub fn header_values<'a, 'h>(
    headers: &'a [httparse::Header<'h>],
    name: &'a str,
) -> impl Iterator<Item = &'h [u8]> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// The value of the first header called `name` (ASCII case-insensitive).
pub fn header<'h>(headers: &[httparse::Header<'h>], name: &str) -> Option<&'h [u8]> {
    header_values(headers, name).next()
}

/// The position of the first `needle` in `hay`, ignoring ASCII case (an empty needle is at 0).
pub fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

/// What is wrong with a token or a field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalid {
    /// It is empty, and must not be.
    Empty,
    /// It holds a byte not allowed there.
    Byte {
        /// The byte.
        byte: u8,
        /// Its position (0-based).
        position: usize,
    },
}

/// `is empty` / `the byte 0x0d (CR) at position 3`: the fact, for a caller to put in its sentence.
impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Invalid::Empty => f.write_str("it is empty"),
            Invalid::Byte { byte, position } => write!(f, "the byte {} at position {position}", ByteName(byte)),
        }
    }
}

/// A byte as `0x0d (CR)`: hex, and a name for the bytes that print as nothing or break a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteName(pub u8);

impl fmt::Display for ByteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}{}", self.0, byte_name(self.0))
    }
}

/// ` (CR)`, ` (LF)`, ` (NUL)`, ` (space)`, ` (tab)`, ` (DEL)`, or nothing: what follows a byte's hex
/// in [`ByteName`].
pub const fn byte_name(b: u8) -> &'static str {
    match b {
        b'\r' => " (CR)",
        b'\n' => " (LF)",
        0 => " (NUL)",
        b' ' => " (space)",
        b'\t' => " (tab)",
        0x7f => " (DEL)",
        _ => "",
    }
}

/// The position and value of the first byte of `s` that fails `ok`.
pub fn first_invalid(s: &[u8], ok: impl Fn(u8) -> bool) -> Option<(usize, u8)> {
    let position = s.iter().position(|&b| !ok(b))?;
    Some((position, s.get(position).copied().unwrap_or(0)))
}

/// Checks that every byte of `s` passes `ok`, and (when `non_empty`) that there is one.
pub fn check_bytes(s: &[u8], non_empty: bool, ok: impl Fn(u8) -> bool) -> Result<(), Invalid> {
    if non_empty && s.is_empty() {
        return Err(Invalid::Empty);
    }
    match first_invalid(s, ok) {
        Some((position, byte)) => Err(Invalid::Byte { byte, position }),
        None => Ok(()),
    }
}

/// A method or header name: a non-empty RFC 9110 `token`.
pub fn check_token(s: &[u8]) -> Result<(), Invalid> {
    check_bytes(s, true, is_tchar)
}

/// Whether `b` may stand in a field value (RFC 9110 §5.5): visible bytes, space, tab and obs-text.
pub const fn is_value_byte(b: u8) -> bool {
    (b >= 0x20 || b == b'\t') && b != 0x7f
}

/// A header value: no CR, LF, NUL or other control byte (a tab is fine), which would end the
/// field and start another, or cut the request. May be empty.
pub fn check_value(s: &[u8]) -> Result<(), Invalid> {
    check_bytes(s, false, is_value_byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn tchar_is_rfc_9110s_set() {
        let allowed: std::vec::Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let mut want: std::vec::Vec<u8> = b"!#$%&'*+-.^_`|~".to_vec();
        want.extend(b'0'..=b'9');
        want.extend(b'A'..=b'Z');
        want.extend(b'a'..=b'z');
        want.sort_unstable();
        assert_eq!(allowed, want);
        assert!(is_token(b"Content-Type") && !is_token(b"") && !is_token(b"a:b"));
    }

    #[test]
    fn ows_and_lists() {
        assert_eq!(trim_ows(b"  a b\t "), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"\r x"), b"\r x"); // CR is not OWS
        let items: std::vec::Vec<&[u8]> = list(b" gzip, ,chunked ,, ").collect();
        assert_eq!(items, [&b"gzip"[..], b"chunked"]);
    }

    #[test]
    fn header_lookup_ignores_case_and_keeps_order() {
        let headers = [
            httparse::Header {
                name: "Vary",
                value: b"a",
            },
            httparse::Header {
                name: "content-TYPE",
                value: b"text/plain",
            },
            httparse::Header {
                name: "VARY",
                value: b"b",
            },
        ];
        assert_eq!(header(&headers, "Content-Type"), Some(&b"text/plain"[..]));
        assert_eq!(header(&headers, "vary"), Some(&b"a"[..]));
        assert_eq!(header(&headers, "location"), None);
        let all: std::vec::Vec<&[u8]> = header_values(&headers, "vary").collect();
        assert_eq!(all, [&b"a"[..], b"b"]);
    }

    #[test]
    fn checks_name_the_byte() {
        assert_eq!(check_token(b""), Err(Invalid::Empty));
        assert_eq!(check_token(b"X-Key"), Ok(()));
        assert_eq!(
            check_token(b"X:Key"),
            Err(Invalid::Byte {
                byte: b':',
                position: 1
            })
        );
        assert_eq!(check_value(b""), Ok(()));
        assert_eq!(check_value(b"a\tb \xff"), Ok(()));
        assert_eq!(
            check_value(b"ab\n"),
            Err(Invalid::Byte {
                byte: b'\n',
                position: 2
            })
        );
        assert_eq!(
            check_value(b"\x7f"),
            Err(Invalid::Byte {
                byte: 0x7f,
                position: 0
            })
        );
        assert_eq!(Invalid::Empty.to_string(), "it is empty");
        assert_eq!(
            Invalid::Byte { byte: 0, position: 4 }.to_string(),
            "the byte 0x00 (NUL) at position 4"
        );
        assert_eq!(ByteName(b'A').to_string(), "0x41");
    }

    #[test]
    fn find_ignores_case() {
        assert_eq!(find_ci(b"Error Code: 1020", b"code"), Some(6));
        assert_eq!(find_ci(b"abc", b""), Some(0));
        assert_eq!(find_ci(b"ab", b"abc"), None);
    }
}

//! A tolerant request-head parser: it records what it saw (line endings, folds, stray bytes)
//! instead of giving up, so malformed requests still yield findings.
//!
//! Parsing borrows from the input: a request without folded lines costs one allocation (the
//! field list).

use std::borrow::Cow;

use tlspost_proto::syntax::{is_ows, trim_ows};

/// How a line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    CrLf,
    Lf,
    /// The bytes ran out before a line end.
    Eof,
}

/// The HTTP version on the request line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Http10,
    Http11,
    /// `HTTP/d.d` other than 1.0 and 1.1.
    Other,
    /// Missing or not of the form `HTTP/d.d`.
    Invalid,
}

/// One header field, after joining obs-fold continuation lines.
#[derive(Debug)]
pub(crate) struct Field<'a> {
    /// The name as sent, without trailing whitespace.
    pub name: &'a [u8],
    /// The value with leading and trailing whitespace removed (continuations joined with a space,
    /// the only case that copies it).
    pub value: Cow<'a, [u8]>,
    /// Whitespace between the name and the colon.
    pub space_before_colon: bool,
    /// Continuation lines that were folded into this field.
    pub folds: usize,
}

impl Field<'_> {
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value as text (invalid UTF-8 replaced); borrowed unless it had to be replaced.
    pub(crate) fn value_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }
}

/// A request head as far as it could be read.
#[derive(Debug, Default)]
pub(crate) struct Head<'a> {
    /// The request line (without its line ending), if any byte arrived.
    pub request_line: &'a [u8],
    pub method: &'a [u8],
    pub target: &'a [u8],
    pub version_raw: &'a [u8],
    pub version: Option<Version>,
    /// The request line is not exactly three parts separated by single spaces.
    pub request_line_irregular: bool,
    pub fields: Vec<Field<'a>>,
    /// Lines that are not `name: value` (no colon), with their line number (1 = request line).
    pub colonless: Vec<(usize, &'a [u8])>,
    /// Continuation lines that had no field to continue (right after the request line).
    pub orphan_folds: usize,
    /// Lines ended by LF without CR.
    pub bare_lf_lines: usize,
    /// An empty line ended the head.
    pub complete: bool,
    /// Bytes of the head including its empty line (the whole input when not complete).
    pub len: usize,
}

impl<'a> Head<'a> {
    /// All fields with this name, in order.
    pub(crate) fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field<'a>> + 's {
        self.fields.iter().filter(move |f| f.is(name))
    }

    /// The first field with this name.
    pub(crate) fn first(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.is(name))
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.first(name).is_some()
    }

    /// Comma-separated list elements over all fields with this name, trimmed, empty ones kept.
    pub(crate) fn list<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + Clone + 's {
        self.fields
            .iter()
            .filter(move |f| f.is(name))
            .flat_map(|f| f.value.split(|&b| b == b',').map(trim_ows))
    }

    pub(crate) fn method_is(&self, m: &str) -> bool {
        self.method == m.as_bytes()
    }
}

/// Split off one line: (line without ending, ending, bytes consumed).
pub(crate) fn split_line(buf: &[u8]) -> (&[u8], Ending, usize) {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let line = buf.get(..i).unwrap_or_default();
            match line.split_last() {
                Some((b'\r', rest)) => (rest, Ending::CrLf, i.saturating_add(1)),
                _ => (line, Ending::Lf, i.saturating_add(1)),
            }
        }
        None => (buf, Ending::Eof, buf.len()),
    }
}

fn parse_version(v: &[u8]) -> Version {
    match v {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit() => Version::Other,
        _ => Version::Invalid,
    }
}

fn parse_request_line<'a>(head: &mut Head<'a>, line: &'a [u8]) {
    head.request_line = line;
    let mut parts = line.split(|&b| b == b' ' || b == b'\t').filter(|p| !p.is_empty());
    let single_spaced = line.split(|&b| b == b' ').all(|p| !p.is_empty()) && !line.contains(&b'\t');
    let mut count = 0usize;
    for slot in [&mut head.method, &mut head.target, &mut head.version_raw] {
        if let Some(p) = parts.next() {
            *slot = p;
            count = count.saturating_add(1);
        }
    }
    let more = parts.next().is_some();
    head.request_line_irregular = count != 3 || more || !single_spaced;
    head.version = Some(if count >= 3 {
        parse_version(head.version_raw)
    } else {
        Version::Invalid
    });
}

/// Parse one field line; `false` when it has no colon.
fn parse_field<'a>(head: &mut Head<'a>, line_no: usize, line: &'a [u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        head.colonless.push((line_no, line));
        return false;
    };
    let raw_name = line.get(..colon).unwrap_or_default();
    let value = line.get(colon.saturating_add(1)..).unwrap_or_default();
    // Trailing OWS only (a stray CR stays part of the name, which TP106 then reports).
    let mut name = raw_name;
    while let [rest @ .., b' ' | b'\t'] = name {
        name = rest;
    }
    head.fields.push(Field {
        name,
        value: Cow::Borrowed(trim_ows(value)),
        space_before_colon: name.len() != raw_name.len(),
        folds: 0,
    });
    true
}

/// Parse as much of a request head as the bytes hold.
pub(crate) fn parse(raw: &[u8]) -> Head<'_> {
    let mut head = Head::default();
    let mut pos = 0usize;
    let mut line_no = 0usize;
    let mut after_field = false;
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
    loop {
        let rest = raw.get(pos..).unwrap_or_default();
        let (line, ending, used) = split_line(rest);
        if !line.is_empty() || ending == Ending::Eof {
            break;
        }
        if ending == Ending::Lf {
            head.bare_lf_lines = head.bare_lf_lines.saturating_add(1);
        }
        pos = pos.saturating_add(used);
    }
    while pos < raw.len() {
        let rest = raw.get(pos..).unwrap_or_default();
        let (line, ending, used) = split_line(rest);
        pos = pos.saturating_add(used);
        line_no = line_no.saturating_add(1);
        if ending == Ending::Lf {
            head.bare_lf_lines = head.bare_lf_lines.saturating_add(1);
        }
        if line_no == 1 {
            parse_request_line(&mut head, line);
            // Room for a typical head's fields in one allocation.
            head.fields = Vec::with_capacity(16);
            continue;
        }
        if line.is_empty() {
            if ending != Ending::Eof {
                head.complete = true;
            }
            break;
        }
        if line.first().is_some_and(|&b| is_ows(b)) {
            match head.fields.last_mut() {
                Some(f) if after_field => {
                    f.folds = f.folds.saturating_add(1);
                    let cont = trim_ows(line);
                    if !cont.is_empty() {
                        let value = f.value.to_mut();
                        if !value.is_empty() {
                            value.push(b' ');
                        }
                        value.extend_from_slice(cont);
                    }
                }
                _ => head.orphan_folds = head.orphan_folds.saturating_add(1),
            }
            continue;
        }
        after_field = parse_field(&mut head, line_no, line);
    }
    head.len = pos.min(raw.len());
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_plain_head() {
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nX:  b c \r\n\r\nbody";
        let h = parse(raw);
        assert!(h.complete);
        assert_eq!(h.len, raw.len() - 4);
        assert_eq!(h.method, b"POST");
        assert_eq!(h.target, b"/x");
        assert_eq!(h.version, Some(Version::Http11));
        assert!(!h.request_line_irregular);
        assert_eq!(h.fields.len(), 2);
        assert_eq!(&*h.first("x").unwrap().value, b"b c");
        assert_eq!(h.bare_lf_lines, 0);
    }

    #[test]
    fn records_bare_lf_folds_and_space_before_colon() {
        let raw = b"GET / HTTP/1.0\nHost : a\n X-A: 1\n\tmore\n\n";
        let h = parse(raw);
        assert!(h.complete);
        assert_eq!(h.bare_lf_lines, 5);
        assert_eq!(h.version, Some(Version::Http10));
        let host = h.first("host").unwrap();
        assert!(host.space_before_colon);
        assert_eq!(host.folds, 2);
        assert_eq!(&*host.value, b"a X-A: 1 more");
    }

    #[test]
    fn incomplete_head_and_colonless_line() {
        let h = parse(b"POST / HTTP/1.1\r\nHost: a\r\nnonsense\r\nUser-Agent: x");
        assert!(!h.complete);
        assert_eq!(h.colonless, vec![(3, &b"nonsense"[..])]);
        assert_eq!(&*h.first("user-agent").unwrap().value, b"x");
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let h = parse(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert_eq!(h.method, b"GET");
        assert!(h.complete);
    }

    #[test]
    fn request_line_irregularities() {
        let h = parse(b"GET  /  HTTP/1.1\r\n\r\n");
        assert!(h.request_line_irregular);
        assert_eq!(h.version, Some(Version::Http11));
        let h = parse(b"GET /\r\n\r\n");
        assert_eq!(h.version, Some(Version::Invalid));
        let h = parse(b"GET / HTTP/2.0\r\n\r\n");
        assert_eq!(h.version, Some(Version::Other));
    }
}

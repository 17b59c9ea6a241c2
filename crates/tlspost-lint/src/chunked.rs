//! A strict reader for a chunked request body that says exactly where and why it stopped.

/// How reading the chunked body ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The last chunk and trailer section arrived; `consumed` bytes of the body input were used.
    Complete { consumed: usize },
    /// The bytes ran out; the text says what was still missing.
    Incomplete(String),
    /// The framing is wrong; the text says where and how.
    Malformed(String),
}

/// The decoded data (as far as it got) and the outcome.
#[derive(Debug)]
pub(crate) struct Chunked {
    pub data: Vec<u8>,
    pub outcome: Outcome,
}

fn show(bytes: &[u8]) -> String {
    crate::checks::excerpt(bytes, 24)
}

/// Value of a hex digit.
fn hex(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

/// Read `body` as a chunked body (RFC 9112 §7.1).
pub(crate) fn read(body: &[u8]) -> Chunked {
    let mut data = Vec::new();
    let outcome = read_into(body, &mut data);
    Chunked { data, outcome }
}

fn read_into(body: &[u8], data: &mut Vec<u8>) -> Outcome {
    let mut pos = 0usize;
    let mut index = 0usize;
    loop {
        index = index.saturating_add(1);
        let rest = body.get(pos..).unwrap_or_default();
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            return Outcome::Incomplete(if rest.is_empty() {
                format!("chunk {index}'s size line never arrived (no last chunk `0\\r\\n\\r\\n`)")
            } else {
                format!("chunk {index}'s size line `{}` is not finished by CRLF", show(rest))
            });
        };
        let line = rest.get(..lf).unwrap_or_default();
        let Some(line) = line.strip_suffix(b"\r") else {
            return Outcome::Malformed(format!(
                "chunk {index}'s size line `{}` ends with a bare LF at body offset {}",
                show(line),
                pos.saturating_add(lf)
            ));
        };
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 {
            return Outcome::Malformed(format!(
                "chunk {index}'s size line `{}` does not start with a hex size",
                show(line)
            ));
        }
        let mut size: u64 = 0;
        for &b in line.get(..digits).unwrap_or_default() {
            let Some(next) = size.checked_mul(16).and_then(|s| s.checked_add(hex(b).unwrap_or(0))) else {
                return Outcome::Malformed(format!(
                    "chunk {index}'s size `{}` overflows 64 bits",
                    show(line.get(..digits).unwrap_or_default())
                ));
            };
            size = next;
        }
        let after = line.get(digits..).unwrap_or_default();
        let ext = tlspost_proto::syntax::trim_ows(after);
        if !ext.is_empty() && !ext.starts_with(b";") {
            return Outcome::Malformed(format!(
                "chunk {index}'s size line `{}` has `{}` after the size",
                show(line),
                show(ext)
            ));
        }
        if ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Outcome::Malformed(format!(
                "chunk {index}'s extension `{}` contains a control byte (e.g. a bare CR)",
                show(ext)
            ));
        }
        pos = pos.saturating_add(lf).saturating_add(1);
        if size == 0 {
            return read_trailers(body, pos);
        }
        let avail = body.len().saturating_sub(pos);
        let avail64 = u64::try_from(avail).unwrap_or(u64::MAX);
        if avail64 < size {
            data.extend_from_slice(body.get(pos..).unwrap_or_default());
            return Outcome::Incomplete(format!(
                "chunk {index} declares {size} bytes (0x{}) but only {avail} arrived",
                show(line.get(..digits).unwrap_or_default())
            ));
        }
        // size <= avail, so it fits in usize.
        let size = usize::try_from(size).unwrap_or(avail);
        let end = pos.saturating_add(size);
        data.extend_from_slice(body.get(pos..end).unwrap_or_default());
        pos = end;
        let tail = body.get(pos..).unwrap_or_default();
        match tail {
            [b'\r', b'\n', ..] => pos = pos.saturating_add(2),
            [] | [b'\r'] => {
                return Outcome::Incomplete(format!("the CRLF after chunk {index}'s {size} data bytes is missing"));
            }
            _ => {
                return Outcome::Malformed(format!(
                    "chunk {index}'s {size} data bytes are followed by `{}` instead of CRLF: \
                     the data is longer than its declared size or the CRLF is missing",
                    show(tail)
                ));
            }
        }
    }
}

fn read_trailers(body: &[u8], mut pos: usize) -> Outcome {
    loop {
        let rest = body.get(pos..).unwrap_or_default();
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            return Outcome::Incomplete(
                "the empty line after the last chunk (`0\\r\\n` then `\\r\\n`) is missing".into(),
            );
        };
        let line = rest.get(..lf).unwrap_or_default();
        let Some(line) = line.strip_suffix(b"\r") else {
            return Outcome::Malformed(format!(
                "a bare LF ends the trailer line `{}` after the last chunk",
                show(line)
            ));
        };
        pos = pos.saturating_add(lf).saturating_add(1);
        if line.is_empty() {
            return Outcome::Complete { consumed: pos };
        }
        if !line.contains(&b':') {
            return Outcome::Malformed(format!(
                "the trailer line `{}` after the last chunk is not `name: value`",
                show(line)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_with_extension_and_trailer() {
        let c = read(b"5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT");
        assert_eq!(c.data, b"hello world");
        assert_eq!(c.outcome, Outcome::Complete { consumed: 38 });
    }

    /// Each body (the bodies separated by `|`) must end with the outcome `want` names.
    fn all_end(want: &str, bodies: &[u8]) {
        for body in bodies.split(|&b| b == b'|') {
            let outcome = read(body).outcome;
            assert!(format!("{outcome:?}").starts_with(want), "{body:?}: {outcome:?}");
        }
    }

    #[test]
    fn incomplete_cases() {
        all_end(
            "Incomplete",
            b"|5\r\nhel|5\r\nhello|5\r\nhello\r|5\r\nhello\r\n|5\r\nhello\r\n0\r\n|a",
        );
    }

    #[test]
    fn malformed_cases() {
        // A bare LF, no hex size, a sign, a stray word, a CR in an extension.
        all_end(
            "Malformed",
            b"5\nhello\r\n0\r\n\r\n|zz\r\n|+5\r\nhello\r\n0\r\n\r\n|5 x\r\nhello\r\n0\r\n\r\n",
        );
        all_end("Malformed", b"5;a\rb\r\nhello\r\n0\r\n\r\n");
        // Data longer than its size, a size over 64 bits, a trailer that is not a field.
        all_end(
            "Malformed",
            b"3\r\nhello\r\n0\r\n\r\n|10000000000000000\r\n|0\r\nbad trailer\r\n\r\n",
        );
    }
}

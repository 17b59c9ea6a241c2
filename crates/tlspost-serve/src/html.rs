//! Views of what came over the network, for the HTML pages the server writes (the UI and the
//! edge profile's error pages): each writes straight into the page through the template engine's
//! escaper, from a borrowed slice, so nothing from a request reaches a page unescaped and no
//! copy of a large body is made to show part of it.

use std::fmt::{self, Write as _};

use maud::{Escaper, Render};

/// Write bytes as text with every non-printable byte escaped (`\r`, `\n` kept visible and the
/// line broken after it, `\t`, `\\`, `\xNN`) to `out`: a `String` for plain text, or a
/// [`maud::Escaper`] for a page.
pub(crate) fn write_escaped_bytes(b: &[u8], out: &mut impl fmt::Write) -> fmt::Result {
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if (0x20..=0x7e).contains(&c) && c != b'\\' {
            continue;
        }
        // A run of printable ASCII: valid UTF-8 as it is.
        out.write_str(std::str::from_utf8(b.get(start..i).unwrap_or_default()).unwrap_or_default())?;
        match c {
            b'\r' => out.write_str("\\r")?,
            b'\n' => out.write_str("\\n\n")?,
            b'\t' => out.write_str("\\t")?,
            b'\\' => out.write_str("\\\\")?,
            _ => write!(out, "\\x{c:02x}")?,
        }
        start = i + 1;
    }
    out.write_str(std::str::from_utf8(b.get(start..).unwrap_or_default()).unwrap_or_default())
}

/// Bytes in a page as escaped text (see [`write_escaped_bytes`]), HTML-escaped as they are
/// written, without a copy of their own.
pub(crate) struct EscapedBytes<'a>(pub &'a [u8]);

impl Render for EscapedBytes<'_> {
    fn render_to(&self, buffer: &mut String) {
        let _ = write_escaped_bytes(self.0, &mut Escaper::new(buffer));
    }
}

/// Bytes in a page as a hex dump: offset, sixteen bytes in hex, the printable ones as text.
pub(crate) struct HexDump<'a>(pub &'a [u8]);

impl Render for HexDump<'_> {
    fn render_to(&self, buffer: &mut String) {
        for (i, line) in self.0.chunks(16).enumerate() {
            // Offsets and hex digits need no escaping.
            let _ = write!(buffer, "{:08x}  ", i * 16);
            for j in 0..16 {
                match line.get(j) {
                    Some(x) => {
                        let _ = write!(buffer, "{x:02x} ");
                    }
                    None => buffer.push_str("   "),
                }
                if j == 7 {
                    buffer.push(' ');
                }
            }
            buffer.push(' ');
            let mut text = Escaper::new(buffer);
            for &x in line {
                let _ = text.write_char(if (0x20..0x7f).contains(&x) { char::from(x) } else { '.' });
            }
            buffer.push('\n');
        }
    }
}

/// Text from the network (a header name or value, a target, a peer) in a page: HTML-escaped,
/// and its control characters shown as `\r`, `\n`, `\t` or `\xNN` instead of written raw.
pub(crate) struct Visible<'a>(pub &'a str);

/// [`Visible`] that keeps line breaks and tabs as they are (a command line with a multi-line body).
pub(crate) struct VisibleLines<'a>(pub &'a str);

impl Render for Visible<'_> {
    fn render_to(&self, buffer: &mut String) {
        write_visible(self.0, false, buffer);
    }
}

impl Render for VisibleLines<'_> {
    fn render_to(&self, buffer: &mut String) {
        write_visible(self.0, true, buffer);
    }
}

fn write_visible(s: &str, keep_breaks: bool, buffer: &mut String) {
    let mut out = Escaper::new(buffer);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if !c.is_control() || (keep_breaks && matches!(c, '\r' | '\n' | '\t')) {
            continue;
        }
        let _ = out.write_str(s.get(start..i).unwrap_or_default());
        let _ = match c {
            '\r' => out.write_str("\\r"),
            '\n' => out.write_str("\\n"),
            '\t' => out.write_str("\\t"),
            c => {
                let mut utf8 = [0u8; 4];
                c.encode_utf8(&mut utf8)
                    .bytes()
                    .try_for_each(|b| write!(out, "\\x{b:02x}"))
            }
        };
        start = i + c.len_utf8();
    }
    let _ = out.write_str(s.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(r: impl Render) -> String {
        r.render().into_string()
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        write_escaped_bytes(b"a\r\n\x00\\<", &mut s).unwrap();
        assert_eq!(s, "a\\r\\n\n\\x00\\\\<");
        assert_eq!(
            rendered(EscapedBytes(b"<a href=\"x\">&\x01")),
            "&lt;a href=&quot;x&quot;&gt;&amp;\\x01"
        );
        assert_eq!(
            rendered(Visible("<b>\"'&\u{1}\r\n\u{85}é")),
            "&lt;b&gt;&quot;'&amp;\\x01\\r\\n\\xc2\\x85é"
        );
        assert_eq!(rendered(VisibleLines("a\r\n\tb\u{0}<")), "a\r\n\tb\\x00&lt;");
    }

    #[test]
    fn hex_dump() {
        let h = rendered(HexDump(b"POST <&>\x00\x01\xffabcdefgh"));
        assert_eq!(
            h,
            "00000000  50 4f 53 54 20 3c 26 3e  00 01 ff 61 62 63 64 65  POST &lt;&amp;&gt;...abcde\n\
             00000010  66 67 68                                          fgh\n"
        );
    }
}

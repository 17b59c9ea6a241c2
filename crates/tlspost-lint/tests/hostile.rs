//! A request is written by whoever sends it: its header names, values, method and body reach the
//! findings' text, which `tlspost lint` (and `tlspost lint --capture`, replaying a capture) prints
//! on a terminal. Every byte that is not printable text shows escaped, never raw.

use proptest::prelude::*;
use tlspost_lint::{Context, Finding, lint, to_json};
use tlspost_proto::escape::is_safe;

fn assert_safe(findings: &[Finding]) {
    for f in findings {
        let shown = f.to_string();
        // The human form's own line breaks are the only raw control bytes in it.
        for line in shown.lines() {
            assert!(is_safe(line.as_bytes()), "{}: {line:?}", f.code);
        }
        assert!(is_safe(f.message.as_bytes()) && is_safe(f.fix.as_bytes()), "{f:?}");
    }
    let json = to_json(findings);
    assert!(
        json.chars()
            .all(|c| c == '\n' || !tlspost_proto::escape::is_unsafe_char(c)),
        "{json}"
    );
}

#[test]
fn a_hostile_header_name_value_and_method_show_escaped() {
    let raw = b"P\x1b[2JST /t HTTP/1.1\r\nHost: a.example\r\nX-Evil\x1b[31m : v\r\n\
        X-Val: a\rb\x00c\xff\x1b]0;title\x07\r\nUser-Agent: d/1\r\n\r\n";
    let findings = lint(raw, &Context::default());
    assert_safe(&findings);
    let text: String = findings.iter().map(|f| format!("{f}\n")).collect();
    // TP104: the name with whitespace before its colon, quoted escaped.
    assert!(
        text.contains("header `X-Evil\\x1b[31m` has whitespace before its colon"),
        "{text}"
    );
    // TP105: the value's CR, NUL, invalid byte and OSC sequence.
    assert!(
        text.contains(
            "header `X-Val` contains a bare CR (0x0d) at offset 1 of its value `a\\rb\\x00c\\xff\\x1b]0;title\\x07`"
        ),
        "{text}"
    );
    assert!(text.contains("the method `P\\x1b[2JST`"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\0'),
        "{text:?}"
    );
}

#[test]
fn hostile_bytes_in_every_quoting_rule_show_escaped() {
    let cases: &[&[u8]] = &[
        // TP103 obs-fold, TP106 bad name, colonless line.
        b"POST / HTTP/1.1\r\nHost: a\r\nX-F\x1b[1m: a\r\n b\r\n\x1b[5mnocolon\r\nBad\x9b(: v\r\n\r\n",
        // TP111/TP112 Transfer-Encoding codings, Content-Length garbage.
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gz\x1bip, gz\x1bip\r\nContent-Length: 1\x1b\r\n\r\n",
        // Content-Type and a JSON body with escapes; Expect; Host.
        b"POST / HTTP/1.1\r\nHost: a\x1b\r\nContent-Type: text/\x1b[31m\r\nExpect: \x1b\r\nContent-Length: 10\r\n\r\n{\"a\":\"\x1b\"}",
        // Bytes after the body, a chunked body with hostile sizes.
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx\x1b[31mGET / HTTP/1.1\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\x1b[2J\r\n",
        // A head that never ends, in the middle of an escape sequence.
        b"GET /\x1b[31m HTTP/1.1\r\nHost: a\r\nX: \x1b]8;;",
        // Right-to-left override and C1 CSI in UTF-8.
        "GET / HTTP/1.1\r\nHost: a\u{202e}b\r\nUser-Agent: \u{9b}31m\r\n\r\n".as_bytes(),
    ];
    let ctx = Context {
        tls: true,
        sni: Some("\u{1b}[31mevil"),
        alpn: Some("h2\u{1b}"),
    };
    for raw in cases {
        let findings = lint(raw, &ctx);
        assert!(!findings.is_empty(), "{raw:?}");
        assert_safe(&findings);
        assert_safe(&lint(raw, &Context::default()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn findings_about_any_bytes_are_safe_to_print(
        head in proptest::collection::vec(prop_oneof![Just(0x1bu8), Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), any::<u8>()], 0..200),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut raw = b"POST / HTTP/1.1\r\nHost: a\r\n".to_vec();
        raw.extend_from_slice(&head);
        raw.extend_from_slice(b"\r\n\r\n");
        raw.extend_from_slice(&body);
        assert_safe(&lint(&raw, &Context::default()));
        assert_safe(&lint(&head, &Context::default()));
    }
}

//! The request linter: never panics on any bytes, in any context, and every finding names a code
//! that the documented catalogue knows, with a message and a fix a person can act on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlspost_lint::{Context, find_rule, lint};

fuzz_target!(|input: &[u8]| {
    let Some((&cfg, raw)) = input.split_first() else {
        return;
    };
    let sni = match cfg & 0x3 {
        0 => None,
        1 => Some("api.example.com"),
        2 => Some("127.0.0.1"),
        _ => Some(""),
    };
    let ctx = Context {
        tls: cfg & 0x4 != 0,
        sni,
        alpn: if cfg & 0x8 != 0 { Some("http/1.1") } else { None },
    };
    for finding in lint(raw, &ctx) {
        assert!(find_rule(finding.code).is_some(), "undocumented code {}", finding.code);
        assert!(
            !finding.message.is_empty() && !finding.fix.is_empty(),
            "{}",
            finding.code
        );
    }
});

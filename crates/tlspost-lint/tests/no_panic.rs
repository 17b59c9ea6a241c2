//! The linter accepts any bytes: random input, mutated real requests and every prefix of a real
//! request yield findings (or none) and never panic.

use proptest::prelude::*;
use tlspost_lint::{CapturedRequest, Context, lint, rules};

const SEED: &[u8] = b"POST /oauth/token HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: ESP32HTTPClient\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nContent-Type: application/json\r\nAccept-Encoding: gzip;q=0.5\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n";

fn check(raw: &[u8], ctx: &Context<'_>) {
    let findings = lint(raw, ctx);
    for f in &findings {
        assert!(rules().iter().any(|r| r.code == f.code && r.severity == f.severity));
        assert!(!f.message.is_empty());
    }
    // Sorted: errors first.
    assert!(findings.windows(2).all(|w| w[0].severity >= w[1].severity));
}

#[test]
fn every_prefix_of_a_real_request() {
    let ctx = Context {
        tls: true,
        sni: Some("api.example.com"),
        alpn: None,
    };
    for n in 0..=SEED.len() {
        check(&SEED[..n], &ctx);
    }
}

#[test]
fn empty_input_says_nothing_arrived() {
    let f = lint(b"", &Context::default());
    assert_eq!(f.iter().map(|f| f.code).collect::<Vec<_>>(), ["TP101"]);
}

proptest! {
    // 2000 cases per property by default; PROPTEST_CASES=N for a longer soak.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes(raw in proptest::collection::vec(any::<u8>(), 0..512), tls in any::<bool>()) {
        check(&raw, &Context { tls, sni: None, alpn: None });
    }

    #[test]
    fn random_http_alphabet(raw in proptest::collection::vec(
        prop::sample::select(b"\r\n :;,0123456789abcdefGHPOST/HTTP1.{}[]\"\t\x00\x7f=".to_vec()), 0..400)) {
        check(&raw, &Context { tls: true, sni: Some("1.2.3.4"), alpn: Some("h2") });
    }

    #[test]
    fn mutated_real_request(edits in proptest::collection::vec((0..SEED.len(), any::<u8>()), 1..8)) {
        let mut raw = SEED.to_vec();
        for (i, b) in edits {
            raw[i] = b;
        }
        check(&raw, &Context { tls: true, sni: Some("api.example.com"), alpn: None });
    }

    #[test]
    fn capture_records_never_panic(raw in "[A-Za-z0-9+/= !\n]{0,64}", tls in any::<bool>()) {
        let json = serde_json::json!({ "raw": raw, "tls": tls, "sni": "a.example" }).to_string();
        if let Ok(c) = CapturedRequest::from_json(json.as_bytes()) {
            check(&c.raw, &c.context());
        }
        let _ = CapturedRequest::from_json(raw.as_bytes());
    }
}

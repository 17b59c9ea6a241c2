//! `tlspost serve` lints every request it captures: a request with nothing to report must cost
//! (almost) no allocation. One test in this binary, so the process-wide counter sees only it.

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tlspost_lint::{Context, lint};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn a_clean_request_costs_one_allocation_and_findings_are_still_built() {
    let body = br#"{"device":"sensor-42","fw":"1.4.2","t":21.5,"rh":40.1}"#;
    let mut clean = format!(
        "POST /api/telemetry HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: sensor/1.4.2\r\n\
         Content-Type: application/json\r\nAccept-Encoding: identity\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    clean.extend_from_slice(body);
    let ctx = Context {
        tls: true,
        sni: Some("API.example.com"),
        alpn: Some("http/1.1"),
    };

    let region = Region::new(GLOBAL);
    let findings = lint(&clean, &ctx);
    let stats = region.change();
    assert!(findings.is_empty(), "{findings:?}");
    // The parsed head's field list; everything else borrows from the request.
    assert_eq!(stats.allocations + stats.reallocations, 1, "{stats:?}");

    // The same checks still build their messages when they do find something.
    let noisy = String::from_utf8(clean)
        .unwrap()
        .replace("User-Agent: sensor/1.4.2", "User-Agent: ESP32HTTPClient")
        .replace("Content-Type: application/json\r\n", "")
        .replace("identity", "GZIP");
    let codes: Vec<&str> = lint(noisy.as_bytes(), &ctx).iter().map(|f| f.code).collect();
    assert_eq!(codes, ["TP301", "TP304", "TP305"]);
}

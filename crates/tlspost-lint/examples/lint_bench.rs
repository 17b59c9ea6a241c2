//! Time and allocations per `lint` call: a clean 200-byte JSON POST (what `tlspost serve` lints
//! under load) and a request with findings.
//!
//! `cargo run --release -p tlspost-lint --example lint_bench` (`ROUNDS=N` to change the count)

use std::alloc::System;
use std::hint::black_box;
use std::time::Instant;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tlspost_lint::{Context, lint};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn measure(name: &str, raw: &[u8], ctx: &Context<'_>, rounds: u32) {
    let expected = lint(raw, ctx).len();
    // Allocations of one call, counted apart from the timed loop.
    let region = Region::new(GLOBAL);
    let findings = black_box(lint(black_box(raw), ctx));
    let stats = region.change();
    drop(findings);
    let start = Instant::now();
    for _ in 0..rounds {
        let n = black_box(lint(black_box(raw), ctx)).len();
        assert_eq!(n, expected);
    }
    let per = start.elapsed() / rounds;
    println!(
        "{name}: {} bytes, {expected} finding(s), {} ns per lint, {} allocations ({} bytes) per lint",
        raw.len(),
        per.as_nanos(),
        stats.allocations + stats.reallocations,
        stats.bytes_allocated
    );
}

fn post(head: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!("{head}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn main() {
    let rounds = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200_000u32);
    let ctx = Context {
        tls: true,
        sni: Some("api.example.com"),
        alpn: Some("http/1.1"),
    };
    let json = br#"{"device":"sensor-42","fw":"1.4.2","t":21.5,"rh":40.1,"ts":1764392000}"#;
    let clean = post(
        "POST /api/telemetry HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: sensor/1.4.2\r\n\
         Content-Type: application/json\r\n",
        json,
    );
    measure("clean JSON POST", &clean, &ctx, rounds);
    let findings = post(
        "POST /api/telemetry HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: ESP32HTTPClient\r\n\
         Connection: keep-alive\r\nAccept-Encoding: gzip\r\n",
        json,
    );
    measure("Arduino POST with findings", &findings, &ctx, rounds / 4);
}

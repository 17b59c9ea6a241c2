//! How long `lint` takes: a typical device request, a chunked one, and a 1 MiB head.
//!
//! `cargo run --release -p tlspost-lint --example lint_throughput`

use std::hint::black_box;
use std::time::Instant;

use tlspost_lint::{Context, lint};

fn measure(name: &str, raw: &[u8], ctx: &Context<'_>, rounds: u32) {
    let start = Instant::now();
    let mut n = 0usize;
    for _ in 0..rounds {
        n += black_box(lint(black_box(raw), ctx)).len();
    }
    let per = start.elapsed() / rounds;
    println!(
        "{name}: {} bytes, {} findings, {:.1} µs per lint ({:.0} MB/s)",
        raw.len(),
        n / rounds as usize,
        per.as_secs_f64() * 1e6,
        raw.len() as f64 / per.as_secs_f64() / 1e6
    );
}

fn main() {
    let ctx = Context {
        tls: true,
        sni: Some("api.example.com"),
        alpn: Some("http/1.1"),
    };
    let json = br#"{"grant_type":"client_credentials","client_id":"dev-42","client_secret":"s3cr3t"}"#;
    let mut arduino = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: ESP32HTTPClient\r\n\
         Connection: keep-alive\r\nAccept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\n\
         Content-Length: {}\r\n\r\n",
        json.len()
    )
    .into_bytes();
    arduino.extend_from_slice(json);
    measure("arduino POST", &arduino, &ctx, 100_000);

    let mut chunked = b"POST /ingest HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: s/1\r\n\
        Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..1000 {
        chunked.extend_from_slice(b"2\r\n[]\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    measure("1000 tiny chunks", &chunked, &ctx, 2_000);

    let mut big = b"GET / HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: s/1\r\n".to_vec();
    while big.len() < 1 << 20 {
        big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    big.extend_from_slice(b"\r\n");
    measure("1 MiB head", &big, &ctx, 20);
}

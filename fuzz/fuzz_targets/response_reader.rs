//! The response reader over arbitrary bytes and arbitrary splits: never panics, never consumes or
//! produces more than it was given, and gives the same outcome however the bytes are split.
#![no_main]

#[path = "../../crates/tlspost-proto/tests/feed/mod.rs"]
mod feed;

use libfuzzer_sys::fuzz_target;
use tlspost_proto::{Body, Request};

/// Runs a whole exchange, feeding `data` in pieces whose sizes come from `splits`.
fn run(data: &[u8], splits: &[u8]) -> (Result<(), tlspost_proto::Error>, Vec<u8>) {
    let req = Request::post("h", "/", Body::Json(b"{}"));
    let mut ex = feed::sent(&req);
    ex.set_head_limit(1024);
    let pieces: Vec<usize> = splits.iter().map(|&s| usize::from(s)).collect();
    feed::feed(&mut ex, data, &pieces, &mut [0u8; 13])
}

fuzz_target!(|input: &[u8]| {
    let (splits, data) = input.split_at(input.len().min(4));
    let whole = run(data, &[255]);
    let split = run(data, splits);
    assert_eq!(whole.0.is_ok(), split.0.is_ok(), "outcome depends on the split");
    if whole.0.is_ok() {
        assert_eq!(whole.1, split.1, "body depends on the split");
    }
});

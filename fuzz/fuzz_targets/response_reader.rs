//! The response reader over arbitrary bytes and arbitrary splits: never panics, never consumes or
//! produces more than it was given, and gives the same outcome however the bytes are split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlspost_proto::{Body, Exchange, HeadStatus, Request};

/// Runs a whole exchange, feeding `data` in pieces whose sizes come from `splits`.
fn run(data: &[u8], splits: &[u8]) -> (Result<(), tlspost_proto::Error>, Vec<u8>) {
    let req = Request::post("h", "/", Body::Json(b"{}"));
    let mut ex = Exchange::new(&req).expect("valid request");
    let mut wire = [0u8; 512];
    while !ex.request_done() {
        ex.poll_output(&mut wire).expect("encodes");
    }
    ex.set_head_limit(1024);
    let mut buf: Vec<u8> = Vec::new();
    let mut pos = 0;
    let mut body = Vec::new();
    let mut i = 0;
    let mut in_body = false;
    loop {
        let step = usize::from(splits.get(i % splits.len().max(1)).copied().unwrap_or(255)).max(1);
        i += 1;
        let take = step.min(data.len() - pos);
        buf.extend_from_slice(&data[pos..pos + take]);
        pos += take;
        loop {
            if !in_body {
                let mut hs = [httparse::EMPTY_HEADER; 32];
                match ex.read_head(&buf, &mut hs) {
                    Err(e) => return (Err(e), body),
                    Ok(HeadStatus::Partial) => break,
                    Ok(HeadStatus::Interim { len, .. }) => {
                        assert!(len <= buf.len());
                        buf.drain(..len);
                    }
                    Ok(HeadStatus::Complete(h)) => {
                        assert!(h.len <= buf.len());
                        let len = h.len;
                        buf.drain(..len);
                        in_body = true;
                    }
                }
            } else {
                if ex.is_done() {
                    return (Ok(()), body);
                }
                let mut out = [0u8; 13];
                match ex.read_body(&buf, &mut out) {
                    Err(e) => return (Err(e), body),
                    Ok((c, p)) => {
                        assert!(c <= buf.len() && p <= out.len());
                        body.extend_from_slice(&out[..p]);
                        buf.drain(..c);
                        if c == 0 && p == 0 {
                            break;
                        }
                    }
                }
            }
        }
        if take == 0 {
            return (ex.on_eof(), body);
        }
    }
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

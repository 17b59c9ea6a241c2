//! The request encoder on arbitrary fields: never panics; whatever it accepts parses back with
//! httparse to the same method, target, headers and body length, and never holds CR or LF in a
//! value; small-buffer output equals one-shot output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlspost_proto::{Body, Encoder, Header, Request};

fuzz_target!(|input: &[u8]| {
    let parts: Vec<&[u8]> = input.split(|&b| b == 0xff).collect();
    let get = |i: usize| parts.get(i).copied().unwrap_or(b"");
    let (Ok(method), Ok(host), Ok(target), Ok(name)) = (
        std::str::from_utf8(get(0)),
        std::str::from_utf8(get(1)),
        std::str::from_utf8(get(2)),
        std::str::from_utf8(get(3)),
    ) else {
        return;
    };
    let headers = [Header { name, value: get(4) }];
    let mut req = Request::new(method, host, target);
    req.headers = &headers;
    req.body = Body::Json(get(5));
    let Ok(mut enc) = Encoder::new(&req) else { return };
    let mut small = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = enc.poll_output(&mut buf).expect("poll_output on a 64-byte buffer");
        if n == 0 {
            break;
        }
        small.extend_from_slice(&buf[..n]);
    }
    let mut one = vec![0u8; Encoder::new(&req).unwrap().head_len()];
    let mut enc2 = Encoder::new(&req).unwrap();
    let head_len = enc2.encode_head(&mut one).expect("head fits its own length");
    assert_eq!(&small[..head_len], &one[..head_len]);

    let mut hs = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Request::new(&mut hs);
    let status = parsed.parse(&small).expect("encoder output must parse");
    let httparse::Status::Complete(n) = status else {
        panic!("head incomplete")
    };
    assert_eq!(n, head_len);
    assert_eq!(parsed.method, Some(method));
    assert_eq!(parsed.path, Some(target));
    assert_eq!(small.len() - n, get(5).len());
    let sent = parsed
        .headers
        .iter()
        .find(|h| h.name == name)
        .expect("caller header sent");
    // Recipients drop leading and trailing whitespace from field values (RFC 9110 §5.5).
    assert_eq!(sent.value, get(4).trim_ascii());
    assert!(!sent.value.contains(&b'\r') && !sent.value.contains(&b'\n'));
});

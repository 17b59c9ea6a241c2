//! The token endpoint's answer (a device POSTs its client credentials to api.example.com's
//! /oauth/token): the 200's head and the chunked body's end, as string literals a response is
//! spelled around with `concat!`. The demo's response (src/demo.rs) and bench/proto-parse's 1 KB
//! response (which includes this file by path) are built on them, so the head the device proof
//! parses is the head the instruction counts are measured on.

/// The 200's head as a Cloudflare-fronted API sends it, the blank line included (190 bytes).
macro_rules! token_head {
    () => {
        "HTTP/1.1 200 OK\r\n\
        Date: Sat, 28 Nov 2026 12:00:00 GMT\r\n\
        Content-Type: application/json\r\n\
        Transfer-Encoding: chunked\r\n\
        Connection: keep-alive\r\n\
        Server: cloudflare\r\n\
        CF-RAY: 8f1e2d3c4b5a6978-FRA\r\n\
        \r\n"
    };
}

/// The chunked body's end: the last-chunk, one trailer field and the blank line.
macro_rules! token_end {
    () => {
        "0\r\nX-Checksum: 7a3f\r\n\r\n"
    };
}

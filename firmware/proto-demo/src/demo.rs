//! The exchange itself: what a device's HTTPS POST does between "TLS socket open" and "response in
//! hand", with the socket replaced by the UART (out) and an embedded response (in).
// The baseline build (figures only) prints fixed text, so the request's parts go unused there.
#![cfg_attr(feature = "baseline", allow(dead_code))]

use rv32_virt::Console;

/// The token endpoint a device fetches its access token from (an OAuth client-credentials grant).
pub const HOST: &str = "api.example.com";
/// Its path.
pub const PATH: &str = "/oauth/token";
/// The JSON the device posts.
pub const JSON: &[u8] = br#"{"client_id":"device-42","client_secret":"s3cr3t","grant_type":"client_credentials"}"#;
/// A fixed `User-Agent`, so the expected bytes do not change with the crate version.
pub const USER_AGENT: &str = "tlspost-proto-demo (esp32c3)";

/// What the server answers: a 100 Continue, then a chunked 200 (the token endpoint's head and body
/// end, src/sample.rs) with a chunk extension, a body split across three chunks and a trailer — the parts of chunked coding a hand-written reader gets wrong.
pub const RESPONSE: &[u8] = concat!(
    "HTTP/1.1 100 Continue\r\n\r\n",
    token_head!(),
    "19;note=first\r\n\
    {\"access_token\":\"eyJhbGci\r\n\
    1C\r\n\
    OiJFUzI1NiJ9.demo\",\"token_ty\r\n\
    1f\r\n\
    pe\":\"Bearer\",\"expires_in\":3600}\r\n",
    token_end!(),
)
.as_bytes();

/// The sizes the response arrives in, cycled: small and uneven, as TLS records and TCP segments
/// split a real response.
pub const PIECES: [usize; 9] = [1, 7, 3, 17, 2, 31, 5, 11, 4];

/// The largest piece of request handed out at once: a small socket write.
pub const REQUEST_PIECE: usize = 64;
/// Body bytes decoded per call: less than any chunk, so chunks are split across calls.
pub const BODY_STEP: usize = 9;

#[cfg(not(feature = "baseline"))]
pub use with_proto::run;

#[cfg(feature = "baseline")]
pub use baseline::run;

/// Copies the next piece of [`RESPONSE`] into `buf[*filled..]`; returns how many bytes arrived
/// (0 once the whole response was delivered: the peer closed).
fn feed(buf: &mut [u8], filled: &mut usize, fed: &mut usize, turn: &mut usize) -> usize {
    let want = PIECES[*turn % PIECES.len()];
    *turn += 1;
    let n = want.min(RESPONSE.len() - *fed).min(buf.len() - *filled);
    buf[*filled..*filled + n].copy_from_slice(&RESPONSE[*fed..*fed + n]);
    *filled += n;
    *fed += n;
    n
}

/// Drops `n` bytes from the front of `buf[..*filled]`, moving the rest down. A byte loop rather than
/// `copy_within`, which would link a general `memmove` (about 700 bytes of RV32 code) for a few moves.
fn consume(buf: &mut [u8], filled: &mut usize, n: usize) {
    let rest = *filled - n;
    let mut i = 0;
    while i < rest {
        buf[i] = buf[n + i];
        i += 1;
    }
    *filled = rest;
}

#[cfg(not(feature = "baseline"))]
mod with_proto {
    use core::fmt::Write as _;

    use tlspost_proto::httparse;
    use tlspost_proto::{Body, BodyFraming, Exchange, HeadStatus, Header, Request};

    use super::*;

    const HEADERS: [Header<'static>; 1] = [Header::new("Accept", "application/json")];

    fn fail(u: &mut Console, what: &str, e: &dyn core::fmt::Display) -> bool {
        // The UART never fails to write, so the result carries nothing.
        let _ = writeln!(u, "error: {what}: {e}");
        false
    }

    /// Runs the exchange and prints what happened; `false` on any error.
    pub fn run(u: &mut Console) -> bool {
        let mut req = Request::post(HOST, PATH, Body::Json(JSON));
        req.user_agent = USER_AGENT;
        req.headers = &HEADERS;
        u.line_dec("size_of::<Exchange>: ", core::mem::size_of::<Exchange<'static>>());
        let mut ex = match Exchange::new(&req) {
            Ok(ex) => ex,
            Err(e) => return fail(u, "the request was refused", &e),
        };

        // Send: the request in pieces of at most 64 bytes, each written out as it is produced.
        u.str("----- request -----\n");
        let mut piece = [0u8; REQUEST_PIECE];
        let (mut sent, mut pieces) = (0, 0);
        while !ex.request_done() {
            match ex.poll_output(&mut piece) {
                Ok(0) => return fail(u, "encoding", &"no progress with a 64-byte buffer"),
                Ok(n) => {
                    u.bytes(&piece[..n]);
                    sent += n;
                    pieces += 1;
                }
                Err(e) => return fail(u, "encoding", &e),
            }
        }
        u.str("\n----- end request -----\n");
        u.line_dec("request bytes: ", sent);
        u.line_dec("request pieces: ", pieces);

        // Receive the head: bytes arrive in small uneven pieces into one buffer that bounds it.
        let mut buf = [0u8; 512];
        let (mut filled, mut fed, mut turn) = (0, 0, 0);
        ex.set_head_limit(buf.len());
        let head_len = loop {
            let arrived = feed(&mut buf, &mut filled, &mut fed, &mut turn);
            let mut headers = [httparse::EMPTY_HEADER; 12];
            match ex.read_head(&buf[..filled], &mut headers) {
                Ok(HeadStatus::Partial) if arrived == 0 => match ex.on_eof() {
                    Ok(()) => return fail(u, "reading the head", &"closed before the head"),
                    Err(e) => return fail(u, "reading the head", &e),
                },
                Ok(HeadStatus::Partial) => {}
                Ok(HeadStatus::Interim { status, len }) => {
                    u.line_dec("interim status: ", usize::from(status));
                    consume(&mut buf, &mut filled, len);
                }
                Ok(HeadStatus::Complete(head)) => {
                    u.str("status: ");
                    u.dec(usize::from(head.status));
                    u.byte(b' ');
                    u.str(head.reason);
                    u.byte(b'\n');
                    u.str("content-type: ");
                    u.bytes(head.header("content-type").unwrap_or(b"(none)"));
                    u.byte(b'\n');
                    u.line_dec("head bytes: ", head.len);
                    break head.len;
                }
                Err(e) => return fail(u, "reading the head", &e),
            }
        };
        consume(&mut buf, &mut filled, head_len);
        match ex.framing().map(|f| f.body) {
            Some(BodyFraming::Chunked) => u.str("framing: chunked\n"),
            Some(BodyFraming::Length(n)) => u.line_dec("framing: content-length ", n as usize),
            Some(BodyFraming::Close) => u.str("framing: until close\n"),
            Some(BodyFraming::None) | None => u.str("framing: no body\n"),
        }

        // Receive the body, decoded a few bytes at a time.
        let mut body = [0u8; 256];
        let mut body_len = 0;
        while !ex.is_done() {
            let end = (body_len + BODY_STEP).min(body.len());
            if end == body_len {
                return fail(u, "reading the body", &"larger than the 256-byte body buffer");
            }
            match ex.read_body(&buf[..filled], &mut body[body_len..end]) {
                Ok((used, produced)) => {
                    consume(&mut buf, &mut filled, used);
                    body_len += produced;
                    // Nothing to do with what is buffered: wait for more, or end of file.
                    if used == 0
                        && produced == 0
                        && feed(&mut buf, &mut filled, &mut fed, &mut turn) == 0
                        && let Err(e) = ex.on_eof()
                    {
                        return fail(u, "reading the body", &e);
                    }
                }
                Err(e) => return fail(u, "reading the body", &e),
            }
        }
        u.str("body: ");
        u.bytes(&body[..body_len]);
        u.byte(b'\n');
        u.line_dec("body bytes: ", body_len);
        u.line_dec("unconsumed bytes: ", filled + RESPONSE.len() - fed);
        match ex.close_reason() {
            None => u.str("reusable: yes\n"),
            Some(r) => {
                let _ = writeln!(u, "reusable: no ({r})");
            }
        }
        true
    }
}

/// The same output with every tlspost-proto call left out: request and results are fixed text.
/// Only for measuring what tlspost-proto adds to `.text`.
#[cfg(feature = "baseline")]
mod baseline {
    use core::fmt::Write as _;

    use super::*;

    const REQUEST: &[u8] = include_bytes!("../expected/request.http");
    const HEAD_END: usize = 190;
    const BODY: &[u8] = br#"{"access_token":"eyJhbGciOiJFUzI1NiJ9.demo","token_type":"Bearer","expires_in":3600}"#;

    pub fn run(u: &mut Console) -> bool {
        u.line_dec("size_of::<Exchange>: ", 0);
        u.str("----- request -----\n");
        let mut pieces = 0;
        for piece in REQUEST.chunks(REQUEST_PIECE) {
            u.bytes(core::hint::black_box(piece));
            pieces += 1;
        }
        u.str("\n----- end request -----\n");
        u.line_dec("request bytes: ", REQUEST.len());
        u.line_dec("request pieces: ", pieces);
        let mut buf = [0u8; 512];
        let (mut filled, mut fed, mut turn) = (0, 0, 0);
        while feed(&mut buf, &mut filled, &mut fed, &mut turn) != 0 {
            if filled > 64 {
                consume(&mut buf, &mut filled, core::hint::black_box(64));
            }
        }
        u.line_dec("interim status: ", 100);
        u.str("status: 200 OK\ncontent-type: application/json\n");
        u.line_dec("head bytes: ", HEAD_END);
        core::hint::black_box(&buf);
        u.str("framing: chunked\nbody: ");
        u.bytes(core::hint::black_box(BODY));
        u.byte(b'\n');
        if core::hint::black_box(filled) == usize::MAX {
            // Keeps core::fmt in this build too, as the error paths of the real one do.
            let _ = writeln!(u, "error: {filled}");
            return false;
        }
        u.str("reusable: yes\n");
        true
    }
}

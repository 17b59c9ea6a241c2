//! `proto-parse MODE N`: parses the same 1 KB chunked response N times and checks every result.
//!
//! Modes:
//! - `proto`: tlspost-proto's [`Exchange`], the whole response in one piece (head, framing, chunked
//!   decoding into an output buffer, connection reuse).
//! - `proto-64`: the same, fed 64 bytes at a time, as a device's small socket reads deliver it.
//! - `httparse-head`: the peer for the head: `httparse::Response::parse` only (no body work).
//! - `httparse-chunked`: the peer for the whole job: `httparse::Response::parse` plus a minimal
//!   hand-written de-chunker on `httparse::parse_chunk_size` (no framing rules, no trailers check,
//!   no state across pieces) — what one would write by hand on top of httparse.
//!
//! Run it under `valgrind --tool=callgrind` with N and with 0 and subtract, which leaves the
//! instructions of N parses (see bench/proto-figures.sh).

use std::hint::black_box;
use std::process::ExitCode;

use tlspost_proto::{Exchange, HeadStatus, Request};

// The token endpoint's head and body end: the same bytes the device demo parses.
#[macro_use]
#[path = "../../../firmware/proto-demo/src/sample.rs"]
mod sample;

/// Size of the whole response, head included.
const RESPONSE_LEN: usize = 1024;
/// Data bytes per chunk.
const CHUNK: usize = 128;

/// A 1024-byte chunked response: the token endpoint's head and body end (the device demo's, from
/// its src/sample.rs) around 128-byte chunks, the first with an extension. Returns it with its
/// decoded body.
fn response() -> (Vec<u8>, Vec<u8>) {
    let head = token_head!();
    let tail = token_end!().as_bytes();
    let mut out = head.as_bytes().to_vec();
    let mut body = Vec::new();
    let mut n = 0u32;
    loop {
        let room = RESPONSE_LEN - out.len() - tail.len();
        let ext = if n == 0 { ";note=first" } else { "" };
        // A chunk of `len` data bytes costs its size line, extension and two CRLFs.
        let line = |len: usize| format!("{len:x}{ext}\r\n");
        let mut len = CHUNK.min(room.saturating_sub(line(CHUNK).len() + 2));
        if len == 0 {
            break;
        }
        // The last chunk takes up exactly what is left.
        if room - (line(len).len() + len + 2) < line(1).len() + 3 {
            len = room - line(len).len() - 2;
        }
        out.extend_from_slice(line(len).as_bytes());
        let data: Vec<u8> = (0..len)
            .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i + n as usize) % 36])
            .collect();
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\r\n");
        body.extend_from_slice(&data);
        n += 1;
    }
    out.extend_from_slice(tail);
    (out, body)
}

/// tlspost-proto: returns the body length, or `None` on any error.
fn proto(resp: &[u8], piece: usize, body: &mut [u8]) -> Option<usize> {
    let req = Request::new("GET", "api.example.com", "/oauth/token");
    let mut ex = Exchange::new(&req).ok()?;
    ex.set_head_limit(resp.len());
    let mut avail = piece.min(resp.len());
    let head_len = loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        match ex.read_head(&resp[..avail], &mut headers).ok()? {
            HeadStatus::Complete(h) if h.status == 200 => break h.len,
            HeadStatus::Partial if avail < resp.len() => avail = (avail + piece).min(resp.len()),
            _ => return None,
        }
    };
    let (mut pos, mut produced) = (head_len, 0);
    while !ex.is_done() {
        let (used, made) = ex.read_body(&resp[pos..avail], &mut body[produced..]).ok()?;
        pos += used;
        produced += made;
        if used == 0 && made == 0 {
            if avail == resp.len() {
                return None;
            }
            avail = (avail + piece).min(resp.len());
        }
    }
    // The request side is never sent here (only parsing is measured), so reuse is judged from the
    // response framing rather than `close_reason`, which would also say the request is incomplete.
    ex.framing()?.close.is_none().then_some(produced)
}

/// httparse alone, head only: returns the head length.
fn httparse_head(resp: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(resp).ok()? {
        httparse::Status::Complete(n) if r.code == Some(200) => Some(n),
        _ => None,
    }
}

/// httparse's head parser and chunk-size parser with a minimal de-chunker: returns the body length.
fn httparse_chunked(resp: &[u8], body: &mut [u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut r = httparse::Response::new(&mut headers);
    let mut pos = match r.parse(resp).ok()? {
        httparse::Status::Complete(n) if r.code == Some(200) => n,
        _ => return None,
    };
    let chunked = r
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding") && h.value.eq_ignore_ascii_case(b"chunked"));
    if !chunked {
        return None;
    }
    let mut produced = 0;
    loop {
        let (line, size) = match httparse::parse_chunk_size(resp.get(pos..)?).ok()? {
            httparse::Status::Complete(c) => c,
            httparse::Status::Partial => return None,
        };
        pos += line;
        let size = usize::try_from(size).ok()?;
        if size == 0 {
            // Trailers end at the first empty line.
            let rest = resp.get(pos..)?;
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            if end != 0 {
                let blank = rest.windows(4).position(|w| w == b"\r\n\r\n")?;
                pos += blank + 4;
            } else {
                pos += 2;
            }
            return (pos == resp.len()).then_some(produced);
        }
        body.get_mut(produced..produced + size)?
            .copy_from_slice(resp.get(pos..pos + size)?);
        produced += size;
        pos += size;
        if resp.get(pos..pos + 2)? != b"\r\n" {
            return None;
        }
        pos += 2;
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(Ok(n))) = (args.get(1), args.get(2).map(|s| s.parse::<u64>())) else {
        eprintln!("usage: proto-parse proto|proto-64|httparse-head|httparse-chunked N");
        return ExitCode::from(2);
    };
    let (resp, expected) = response();
    assert_eq!(resp.len(), RESPONSE_LEN, "the generated response must be exactly 1 KB");
    let head_len = httparse_head(&resp).unwrap_or(0);
    let mut body = vec![0u8; RESPONSE_LEN];
    let want = match mode.as_str() {
        "httparse-head" => head_len,
        "proto" | "proto-64" | "httparse-chunked" => expected.len(),
        other => {
            eprintln!("unknown mode {other:?}");
            return ExitCode::from(2);
        }
    };
    // Check the result once outside the measured loop as well, so N = 0 proves the mode works.
    let run = |resp: &[u8], body: &mut [u8]| match mode.as_str() {
        "proto" => proto(resp, resp.len(), body),
        "proto-64" => proto(resp, 64, body),
        "httparse-head" => httparse_head(resp),
        _ => httparse_chunked(resp, body),
    };
    if run(&resp, &mut body) != Some(want) || (want == expected.len() && body[..want] != expected[..]) {
        eprintln!("{mode}: wrong result on the 1 KB response");
        return ExitCode::FAILURE;
    }
    let mut total = 0usize;
    for _ in 0..n {
        match run(black_box(&resp), black_box(&mut body)) {
            Some(len) if len == want => total += len,
            _ => {
                eprintln!("{mode}: wrong result during the loop");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "{mode}: {n} parses of a {}-byte response, {want} bytes each, total {total}",
        resp.len()
    );
    ExitCode::SUCCESS
}

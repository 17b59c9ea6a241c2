//! A response fed to an [`Exchange`] in pieces, as a driver reads it off a socket: the head parsed
//! from what has arrived (interim heads passed over), then the body read through a small buffer,
//! then end of file. The malformed-response corpus (`tests/malformed.rs`) and the response
//! reader's fuzz target (`fuzz/fuzz_targets/response_reader.rs`, which includes this file) drive
//! the reader with it, and each call is checked never to consume or produce more than it was given.

use tlspost_proto::httparse::EMPTY_HEADER;
use tlspost_proto::{Error, Exchange, HeadStatus, Request};

/// An exchange for `req` with the whole request written out: ready for the response.
pub fn sent<'r>(req: &Request<'r>) -> Exchange<'r> {
    let mut ex = Exchange::new(req).expect("valid request");
    let mut wire = [0u8; 512];
    while !ex.request_done() {
        ex.poll_output(&mut wire).expect("the request encodes");
    }
    ex
}

/// Feeds `data` to `ex` in pieces of the sizes in `pieces`, taken in turn (at least one byte each;
/// no sizes: all at once), and reads the body through `out`: the outcome, and the body read.
pub fn feed(ex: &mut Exchange<'_>, data: &[u8], pieces: &[usize], out: &mut [u8]) -> (Result<(), Error>, Vec<u8>) {
    let mut sizes = pieces.iter().copied().cycle();
    let mut buf: Vec<u8> = Vec::new();
    let mut body = Vec::new();
    let mut pos = 0;
    let mut in_body = false;
    loop {
        let take = sizes.next().unwrap_or(data.len()).max(1).min(data.len() - pos);
        buf.extend_from_slice(&data[pos..pos + take]);
        pos += take;
        loop {
            if !in_body {
                let mut hs = [EMPTY_HEADER; 32];
                let len = match ex.read_head(&buf, &mut hs) {
                    Err(e) => return (Err(e), body),
                    Ok(HeadStatus::Partial) => break,
                    Ok(HeadStatus::Interim { len, .. }) => len,
                    Ok(HeadStatus::Complete(h)) => {
                        in_body = true;
                        h.len
                    }
                };
                assert!(len <= buf.len(), "a head of {len} bytes from {}", buf.len());
                buf.drain(..len);
            } else {
                if ex.is_done() {
                    return (Ok(()), body);
                }
                let (c, p) = match ex.read_body(&buf, out) {
                    Err(e) => return (Err(e), body),
                    Ok(cp) => cp,
                };
                assert!(
                    c <= buf.len() && p <= out.len(),
                    "({c}, {p}) from {} into {}",
                    buf.len(),
                    out.len()
                );
                body.extend_from_slice(&out[..p]);
                buf.drain(..c);
                if c == 0 && p == 0 && !ex.is_done() {
                    break;
                }
            }
        }
        if take == 0 {
            return (ex.on_eof(), body);
        }
    }
}

//! One exchange with the upstream: send the request, read the response head, send it on to the
//! device, then relay the body as it arrives (kept in the capture up to the limit), framed as the
//! upstream framed it (RFC 9112 §6.3).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tlspost::client::Answered;
use tlspost_proto::chunked::ChunkedDecoder;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::head::device_head;
use super::io::{Fail, Forwarder, UpIo, micros};
use crate::record::{AnsweredBy, Upstream};

/// Bytes read from the upstream at a time.
const ROOM: usize = 16 * 1024;

/// Largest response head accepted from the upstream.
const MAX_HEAD: usize = 64 * 1024;

/// What the device was sent, and whether its connection stays open.
pub(crate) struct Exchange {
    /// Status sent to the device (the upstream's, or 502 when it gave none; 0: nothing was sent).
    pub status: u16,
    /// Whether the device's connection can carry its next request.
    pub open: bool,
}

/// The request as it goes on, and what the device asked of its connection.
pub(crate) struct Request<'a> {
    pub head: &'a [u8],
    pub body: &'a [u8],
    pub is_head: bool,
    pub minor: u8,
    pub keep_alive: bool,
}

/// How a response body is delimited (RFC 9112 §6.3).
enum Framing {
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Until the upstream closes.
    Close,
}

/// Forward `req`, relay the answer to `device` (each write taken within `wait`) and note it all
/// in `up`. An upstream that gives no response head gets the device a 502 naming the cause.
pub(crate) async fn exchange<D: AsyncWrite + Unpin>(
    fwd: &Arc<Forwarder>,
    req: Request<'_>,
    device: &mut D,
    buf: &mut Vec<u8>,
    wait: Duration,
    up: &mut Upstream,
) -> Exchange {
    let start = Instant::now();
    let mut fresh = false;
    let (mut io, head_len) = loop {
        match attempt(fwd, &req, buf, up, fresh).await {
            Ok(got) => break got,
            // A kept-alive connection the upstream had closed meanwhile: once more on a new one.
            Err((Fail { cause: "closed", .. }, true)) if !fresh => fresh = true,
            Err((f, _)) => {
                up.timing.total_us = Some(micros(start.elapsed()));
                return bad_gateway(fwd, device, wait, up, f).await;
            }
        }
    };
    let first_byte = Instant::now();
    up.head = buf.get(..head_len).map(<[u8]>::to_vec).unwrap_or_default();
    let (status, framing, upstream_close) = match frame(&up.head, req.is_head) {
        Ok(f) => f,
        Err(f) => return bad_gateway(fwd, device, wait, up, f).await,
    };
    up.status = status;
    let close = !req.keep_alive || matches!(framing, Framing::Close);
    let mut out = device_head(&up.head, close, req.minor, &mut up.rewritten);
    buf.drain(..head_len);
    let relayed = relay(
        &mut io,
        framing,
        buf,
        &mut out,
        device,
        wait,
        up,
        fwd.cfg.keep_body,
        fwd.cfg.timeout,
    )
    .await;
    up.timing.body_us = Some(micros(first_byte.elapsed()));
    up.timing.total_us = Some(micros(start.elapsed()));
    up.answered_by = Some(answered_by(status, &up.head, &up.body));
    let open = match relayed {
        Ok(clean) => {
            up.complete = true;
            if clean && !upstream_close {
                fwd.checkin(io);
            }
            !close
        }
        Err(f) => {
            // The device has part of the response: its connection cannot carry another.
            up.error = Some(f.into_record());
            false
        }
    };
    buf.clear();
    Exchange { status, open }
}

/// Send the request on a connection and read the response head into `buf`: the connection and
/// where the head ends. A failure says whether the connection was a kept-alive one.
async fn attempt(
    fwd: &Arc<Forwarder>,
    req: &Request<'_>,
    buf: &mut Vec<u8>,
    up: &mut Upstream,
    fresh: bool,
) -> Result<(UpIo, usize), (Fail, bool)> {
    let (mut io, reused) = fwd.checkout(up, fresh).await.map_err(|f| (f, false))?;
    let sent = Instant::now();
    match tokio::time::timeout(fwd.cfg.timeout, io.write_request(req.head, req.body)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err((Fail::io(&e, "sending the request to the upstream failed"), reused)),
        Err(_) => return Err((timed_out(fwd, "taking the request"), reused)),
    }
    up.timing.send_us = Some(micros(sent.elapsed()));
    let sent = Instant::now();
    buf.clear();
    loop {
        let read = tokio::time::timeout(fwd.cfg.timeout, io.read(buf, ROOM)).await;
        let n = match read {
            Err(_) => return Err((timed_out(fwd, "answering"), reused)),
            Ok(Err(e)) => return Err((Fail::io(&e, &closed_before_head(buf.len())), reused)),
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            let e = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
            return Err((Fail::io(&e, &closed_before_head(buf.len())), reused));
        }
        if up.timing.first_byte_us.is_none() {
            up.timing.first_byte_us = Some(micros(sent.elapsed()));
        }
        // Interim responses (1xx but 101) are read past: the device had its own 100 Continue.
        while let Some(end) = crate::framing::head_end(buf) {
            let status = status_of(buf.get(..end).unwrap_or_default());
            if matches!(status, Some(100..=199)) && status != Some(101) {
                buf.drain(..end);
                continue;
            }
            return Ok((io, end));
        }
        if buf.len() > MAX_HEAD {
            return Err((
                Fail {
                    cause: "protocol",
                    message: format!("the upstream's response head is longer than {MAX_HEAD} bytes"),
                },
                reused,
            ));
        }
    }
}

fn closed_before_head(got: usize) -> String {
    format!("the upstream closed the connection after {got} bytes, before its response head ended")
}

fn timed_out(fwd: &Forwarder, what: &str) -> Fail {
    Fail {
        cause: "timeout",
        message: format!(
            "the upstream {} was not done {what} within {} s",
            fwd.cfg.origin(),
            fwd.cfg.timeout.as_secs_f64()
        ),
    }
}

fn status_of(head: &[u8]) -> Option<u16> {
    let mut headers = [httparse::EMPTY_HEADER; 0];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(head) {
        Ok(_) | Err(httparse::Error::TooManyHeaders) => r.code,
        Err(_) => None,
    }
}

/// The status, how the body is framed, and whether the upstream closes its connection after it.
fn frame(head: &[u8], is_head: bool) -> Result<(u16, Framing, bool), Fail> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Response::new(&mut headers);
    let bad = |e: String| Fail {
        cause: "protocol",
        message: format!("the upstream's response head does not parse as HTTP/1.x: {e}"),
    };
    r.parse(head).map_err(|e| bad(e.to_string()))?;
    let status = r.code.ok_or_else(|| bad("no status".into()))?;
    let minor = r.version.unwrap_or(1);
    let mut close = minor == 0;
    let (mut chunked, mut te, mut length) = (false, false, None);
    for h in r.headers.iter() {
        let v = crate::json::lossy(h.value);
        if h.name.eq_ignore_ascii_case("connection") {
            for t in v.split(',').map(str::trim) {
                if t.eq_ignore_ascii_case("close") {
                    close = true;
                } else if t.eq_ignore_ascii_case("keep-alive") && minor == 0 {
                    close = false;
                }
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            te = true;
            chunked = v
                .rsplit(',')
                .next()
                .is_some_and(|l| l.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = v.trim().parse().map_err(|_| bad(format!("Content-Length `{v}`")))?;
            if length.is_some_and(|l| l != n) {
                return Err(bad("two Content-Length values".into()));
            }
            length = Some(n);
        }
    }
    let framing = if is_head || matches!(status, 100..=199 | 204 | 304) {
        Framing::Length(0)
    } else if te {
        if chunked {
            Framing::Chunked(ChunkedDecoder::new())
        } else {
            Framing::Close
        }
    } else {
        length.map_or(Framing::Close, Framing::Length)
    };
    // Both Transfer-Encoding and Content-Length: framed by the first, and not kept (RFC 9112 §6.3).
    close |= te && length.is_some();
    Ok((status, framing, close))
}

/// Relay the body: what is in `buf` first, then what arrives, to the device behind `out` (the
/// head), keeping up to `keep` bytes of it in `up.body`. `Ok(clean)`: the body ended (`clean`:
/// nothing came after it). A failure says whether the device can still be written to.
#[allow(clippy::too_many_arguments)]
async fn relay<D: AsyncWrite + Unpin>(
    io: &mut UpIo,
    mut framing: Framing,
    buf: &mut Vec<u8>,
    out: &mut Vec<u8>,
    device: &mut D,
    wait: Duration,
    up: &mut Upstream,
    keep: usize,
    timeout: Duration,
) -> Result<bool, Fail> {
    let mut scratch = [0u8; 1024];
    loop {
        // How much of `buf` is body, and whether the body ends within it.
        let (take, done) = match &mut framing {
            Framing::Length(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
                *left -= n as u64;
                (n, *left == 0)
            }
            Framing::Chunked(d) => {
                let mut used = 0;
                while used < buf.len() && !d.is_done() {
                    let rest = buf.get(used..).unwrap_or_default();
                    match d.decode(rest, &mut scratch) {
                        Ok((0, 0)) => break,
                        Ok((c, _)) => used += c,
                        Err(e) => {
                            let f = Fail {
                                cause: "protocol",
                                message: format!("the upstream's chunked body is malformed: {e}"),
                            };
                            return Err(f);
                        }
                    }
                }
                (used, d.is_done())
            }
            Framing::Close => (buf.len(), false),
        };
        let part = buf.get(..take).unwrap_or_default();
        up.body_len += take as u64;
        let room = keep.saturating_sub(up.body.len());
        up.body
            .extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        out.extend_from_slice(part);
        let extra = buf.len() > take;
        buf.clear();
        // Sent before waiting for more: a response that streams reaches the device as it comes.
        if !out.is_empty() {
            if let Err(e) = write_within(device, out, wait).await {
                let f = Fail {
                    cause: "device",
                    message: format!(
                        "the device stopped taking the response after {} bytes of its body: {e}",
                        up.body_len
                    ),
                };
                return Err(f);
            }
            out.clear();
        }
        if done {
            return Ok(!extra);
        }
        let got = tokio::time::timeout(timeout, io.read(buf, ROOM)).await;
        match got {
            // Close-delimited: the end of the stream is the end of the body.
            Ok(Ok(0)) if matches!(framing, Framing::Close) => return Ok(false),
            Ok(Err(e)) if matches!(framing, Framing::Close) && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(false);
            }
            Ok(Ok(0)) => return Err(cut(up, None)),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(cut(up, Some(&e))),
            Err(_) => {
                let f = Fail {
                    cause: "timeout",
                    message: format!(
                        "the upstream sent nothing for {} s after {} bytes of the body",
                        timeout.as_secs_f64(),
                        up.body_len
                    ),
                };
                return Err(f);
            }
        }
    }
}

fn cut(up: &Upstream, e: Option<&std::io::Error>) -> Fail {
    Fail {
        cause: "closed",
        message: format!(
            "the upstream closed the connection after {} bytes of the body, before it ended{}",
            up.body_len,
            e.map(|e| format!(" ({e})")).unwrap_or_default()
        ),
    }
}

/// Write all of `b` to the device, each write taken within `wait`.
async fn write_within<D: AsyncWrite + Unpin>(d: &mut D, b: &[u8], wait: Duration) -> std::io::Result<()> {
    match tokio::time::timeout(wait, async {
        d.write_all(b).await?;
        d.flush().await
    })
    .await
    {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// No response head from the upstream: the device gets a 502 naming the cause, and so does the capture.
async fn bad_gateway<D: AsyncWrite + Unpin>(
    fwd: &Forwarder,
    device: &mut D,
    wait: Duration,
    up: &mut Upstream,
    f: Fail,
) -> Exchange {
    let text = format!(
        "502 Bad Gateway: tlspost serve got no answer from the upstream {} ({}): {}\n",
        fwd.cfg.origin(),
        f.cause,
        f.message
    );
    up.error = Some(f.into_record());
    let head = format!(
        "HTTP/1.1 502 Bad Gateway\r\nServer: tlspost-serve\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        text.len()
    );
    let mut all = head.into_bytes();
    all.extend_from_slice(text.as_bytes());
    let sent = write_within(device, &all, wait).await.is_ok();
    Exchange {
        status: if sent { 502 } else { 0 },
        open: false,
    }
}

/// Who made the response, by the core's edge classification ([`Answered::classify`], as the
/// client's responses say it).
fn answered_by(status: u16, head: &[u8], body: &[u8]) -> AnsweredBy {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Response::new(&mut headers);
    let parsed = r.parse(head).is_ok();
    let headers = if parsed { &*r.headers } else { &[] };
    let a = Answered::classify(status, headers, body.get(..body.len().min(2048)).unwrap_or_default());
    let Some(vendor) = a.edge.map(|v| v.name()) else {
        return AnsweredBy {
            who: "origin".into(),
            text: format!("the upstream answered {status}; no known edge (CDN) is on the path"),
            ..AnsweredBy::default()
        };
    };
    let text = if a.made_by_edge {
        let code = a.code.map(|c| format!(", error {c}")).unwrap_or_default();
        format!(
            "the {vendor} edge answered {status}{code} ({}); the origin never saw the request",
            a.what
        )
    } else {
        format!("the origin answered {status} through the {vendor} edge")
    };
    AnsweredBy {
        who: if a.made_by_edge { "edge" } else { "origin" }.into(),
        vendor: Some(vendor.into()),
        code: a.code,
        ray: a.ray,
        text,
        hint: a.hint.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_framed_as_rfc_9112_says() {
        let f = |h: &[u8], is_head| frame(h, is_head).unwrap();
        assert!(matches!(
            f(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false),
            (200, Framing::Length(5), false)
        ));
        assert!(matches!(
            f(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true),
            (200, Framing::Length(0), false)
        ));
        assert!(matches!(
            f(b"HTTP/1.1 204 No Content\r\n\r\n", false),
            (204, Framing::Length(0), false)
        ));
        assert!(matches!(
            f(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false),
            (200, Framing::Chunked(_), false)
        ));
        assert!(matches!(
            f(b"HTTP/1.1 200 OK\r\n\r\n", false),
            (200, Framing::Close, false)
        ));
        assert!(matches!(
            f(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false),
            (200, Framing::Length(1), true)
        ));
        assert!(matches!(
            f(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                false
            ),
            (200, _, true)
        ));
        assert!(matches!(
            f(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
                false
            ),
            (200, Framing::Chunked(_), true)
        ));
        assert!(frame(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false).is_err());
    }

    #[test]
    fn an_edge_page_is_told_from_the_origins_answer() {
        let edge = answered_by(
            403,
            b"HTTP/1.1 403 Forbidden\r\nCF-RAY: 8f-AMS\r\n\r\n",
            b"error code: 1010",
        );
        assert_eq!(edge.who, "edge");
        assert_eq!(edge.code, Some(1010));
        assert!(
            edge.text.contains("the Cloudflare edge answered 403, error 1010"),
            "{}",
            edge.text
        );
        assert!(edge.text.contains("the origin never saw the request"), "{}", edge.text);
        let origin = answered_by(200, b"HTTP/1.1 200 OK\r\n\r\n", b"{}");
        assert_eq!((origin.who.as_str(), origin.vendor), ("origin", None));
    }
}

//! Writing a response: the status line, headers and body of a plan, built in one buffer.

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::respond::{self, Plan};

/// A plain-text answer that closes the connection.
pub(super) fn simple(status: u16, text: String) -> Plan {
    Plan {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: Some(text.into_bytes()),
        close: true,
        ..Plan::default()
    }
}

/// [`simple`] with `Retry-After: secs`: the server is busy, the request may be sent again.
pub(super) fn busy(status: u16, text: String, secs: u64) -> Plan {
    let mut plan = simple(status, text);
    plan.headers.push(("Retry-After".into(), secs.to_string().into()));
    plan
}

/// Bodies up to this size are copied behind the head and written with it at once; larger ones
/// are written from where they are, so a response never holds a second copy of a large body.
const INLINE_BODY: usize = 16 * 1024;

/// Send `plan` with `body` (for a HEAD request or a status without content, the head only),
/// the head built in `out`. Every write must be taken by the client within `wait` (a client
/// that does not read its answer is let go, and with it what the connection holds).
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_response<S: AsyncWrite + Unpin>(
    s: &mut S,
    out: &mut Vec<u8>,
    minor: u8,
    is_head: bool,
    plan: &Plan,
    body: &[u8],
    id: i64,
    wait: Duration,
) -> std::io::Result<()> {
    let chunked = plan.chunked && minor >= 1;
    let inline = body.len() <= INLINE_BODY;
    out.clear();
    out.reserve(256 + if inline { body.len() } else { 0 });
    out.extend_from_slice(if minor == 0 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    crate::json::uint(out, u64::from(plan.status));
    out.push(b' ');
    out.extend_from_slice(respond::reason(plan.status).as_bytes());
    out.extend_from_slice(b"\r\n");
    if !plan.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("server")) {
        out.extend_from_slice(b"Server: tlspost-serve\r\n");
    }
    for (n, v) in &plan.headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Ok(id @ 1..) = u64::try_from(id) {
        out.extend_from_slice(b"X-Tlspost-Capture: ");
        crate::json::uint(out, id);
        out.extend_from_slice(b"\r\n");
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else {
        out.extend_from_slice(b"Content-Length: ");
        crate::json::uint(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    if plan.close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !is_head && plan.status >= 200 && plan.status != 204 && plan.status != 304 {
        if chunked {
            for part in body.chunks(4096) {
                use std::io::Write as _;
                write!(out, "{:x}\r\n", part.len())?;
                out.extend_from_slice(part);
                out.extend_from_slice(b"\r\n");
                if out.len() >= INLINE_BODY {
                    write_within(s, out, wait).await?;
                    out.clear();
                }
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else if inline {
            out.extend_from_slice(body);
        } else {
            write_within(s, out, wait).await?;
            out.clear();
            for part in body.chunks(64 * 1024) {
                write_within(s, part, wait).await?;
            }
        }
    }
    write_within(s, out, wait).await?;
    match tokio::time::timeout(wait, s.flush()).await {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Write all of `b`, failing when the client takes none of it for `wait`.
async fn write_within<S: AsyncWrite + Unpin>(s: &mut S, b: &[u8], wait: Duration) -> std::io::Result<()> {
    // The timer is only set up when the write has to wait: one the socket takes at once costs none.
    let mut rest = b;
    while !rest.is_empty() {
        match tokio::time::timeout(wait, s.write(rest)).await {
            Ok(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => rest = rest.get(n..).unwrap_or_default(),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn responses_are_framed_exactly() {
        let plan = Plan {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            ..Plan::default()
        };
        let (mut sent, mut out) = (Vec::new(), Vec::new());
        write_response(&mut sent, &mut out, 1, false, &plan, b"{}", 42, WAIT)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.1 200 OK\r\nServer: tlspost-serve\r\nContent-Type: application/json\r\n\
              X-Tlspost-Capture: 42\r\nContent-Length: 2\r\n\r\n{}"
        );
        let plan = Plan {
            status: 503,
            chunked: true,
            close: true,
            ..Plan::default()
        };
        sent.clear();
        write_response(&mut sent, &mut out, 1, false, &plan, b"busy", 0, WAIT)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.1 503 Service Unavailable\r\nServer: tlspost-serve\r\nTransfer-Encoding: chunked\r\n\
              Connection: close\r\n\r\n4\r\nbusy\r\n0\r\n\r\n"
        );
        // HTTP/1.0: no chunked, keep-alive said; HEAD: the head only.
        sent.clear();
        write_response(&mut sent, &mut out, 0, true, &plan_ok(), b"abc", 0, WAIT)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.0 200 OK\r\nServer: tlspost-serve\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn large_bodies_are_written_from_where_they_are() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (mut sent, mut out) = (Vec::new(), Vec::new());
        write_response(&mut sent, &mut out, 1, false, &plan_ok(), &body, 0, WAIT)
            .await
            .unwrap();
        let head = b"HTTP/1.1 200 OK\r\nServer: tlspost-serve\r\nContent-Length: 200000\r\n\r\n";
        assert_eq!(&sent[..head.len()], head);
        assert_eq!(&sent[head.len()..], &body[..]);
        assert!(out.capacity() < 4096, "the head only went through the buffer");
        // Chunked: the same framing as when built at once, in 4096-byte chunks.
        let plan = Plan {
            status: 200,
            chunked: true,
            ..Plan::default()
        };
        sent.clear();
        write_response(&mut sent, &mut out, 1, false, &plan, &body, 0, WAIT)
            .await
            .unwrap();
        let mut want = b"HTTP/1.1 200 OK\r\nServer: tlspost-serve\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for part in body.chunks(4096) {
            want.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            want.extend_from_slice(part);
            want.extend_from_slice(b"\r\n");
        }
        want.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(sent, want);
        assert!(out.capacity() < 64 * 1024, "{}", out.capacity());
    }

    #[tokio::test]
    async fn a_client_that_does_not_read_is_let_go() {
        let (_client, mut server) = tokio::io::duplex(1024);
        let body = vec![b'x'; 100_000];
        let mut out = Vec::new();
        let t = std::time::Instant::now();
        let r = write_response(
            &mut server,
            &mut out,
            1,
            false,
            &plan_ok(),
            &body,
            0,
            Duration::from_millis(200),
        )
        .await;
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }

    fn plan_ok() -> Plan {
        Plan {
            status: 200,
            ..Plan::default()
        }
    }
}

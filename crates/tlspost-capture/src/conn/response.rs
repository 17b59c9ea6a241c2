//! Writing a response: the status line, headers and body of a plan, built in one buffer.

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

/// Send `plan` with `body` (for a HEAD request or a status without content, the head only),
/// built in `out` and written at once.
pub(super) async fn write_response<S: AsyncWrite + Unpin>(
    s: &mut S,
    out: &mut Vec<u8>,
    minor: u8,
    is_head: bool,
    plan: &Plan,
    body: &[u8],
    id: i64,
) -> std::io::Result<()> {
    let chunked = plan.chunked && minor >= 1;
    out.clear();
    out.reserve(256 + body.len());
    out.extend_from_slice(if minor == 0 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    crate::json::uint(out, u64::from(plan.status));
    out.push(b' ');
    out.extend_from_slice(respond::reason(plan.status).as_bytes());
    out.extend_from_slice(b"\r\n");
    if !plan.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("server")) {
        out.extend_from_slice(b"Server: tlspost-capture\r\n");
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
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(body);
        }
    }
    s.write_all(out).await?;
    s.flush().await
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
        write_response(&mut sent, &mut out, 1, false, &plan, b"{}", 42)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.1 200 OK\r\nServer: tlspost-capture\r\nContent-Type: application/json\r\n\
              X-Tlspost-Capture: 42\r\nContent-Length: 2\r\n\r\n{}"
        );
        let plan = Plan {
            status: 503,
            chunked: true,
            close: true,
            ..Plan::default()
        };
        sent.clear();
        write_response(&mut sent, &mut out, 1, false, &plan, b"busy", 0)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.1 503 Service Unavailable\r\nServer: tlspost-capture\r\nTransfer-Encoding: chunked\r\n\
              Connection: close\r\n\r\n4\r\nbusy\r\n0\r\n\r\n"
        );
        // HTTP/1.0: no chunked, keep-alive said; HEAD: the head only.
        sent.clear();
        write_response(&mut sent, &mut out, 0, true, &plan_ok(), b"abc", 0)
            .await
            .unwrap();
        assert_eq!(
            sent,
            b"HTTP/1.0 200 OK\r\nServer: tlspost-capture\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    fn plan_ok() -> Plan {
        Plan {
            status: 200,
            ..Plan::default()
        }
    }
}

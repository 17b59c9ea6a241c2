//! Minimal HTTP/1.1 reading for tests: a request as an origin receives it, a response as a client
//! reads it. Deliberately simple (Content-Length or close-delimited bodies): the code under test is
//! tlspost's, not this.

use std::io::Read;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The head, up to and including the blank line.
    pub head: Vec<u8>,
    /// The body (Content-Length bytes).
    pub body: Vec<u8>,
    /// The request target.
    pub path: String,
}

impl Received {
    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&String::from_utf8_lossy(&self.head), name)
    }
}

fn header_in(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// Reads one request; `None` at end of stream or on an error.
pub fn read_request(s: &mut impl Read) -> Option<Received> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = buf[..head_end].to_vec();
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
    let len: usize = header_in(&text, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Received { head, body, path })
}

/// A response as read.
#[derive(Debug)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The head as text.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response (Content-Length or close-delimited) from a stream, and not one byte more:
/// the head a byte at a time, the body to its length, so the next pipelined response stays in the
/// stream for the next call.
pub fn read_response(s: &mut impl Read) -> std::io::Result<Resp> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before a response head",
            ));
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let mut r = Resp {
        status,
        head,
        body: Vec::new(),
    };
    if let Some(len) = r.header("content-length") {
        let len: u64 = len
            .parse()
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad Content-Length"))?;
        s.take(len).read_to_end(&mut r.body)?;
    } else {
        s.read_to_end(&mut r.body)?;
    }
    Ok(r)
}

/// Sends `request` as it is on a fresh connection to `addr` and reads one response, waiting at
/// most 20 s for each read.
pub fn roundtrip(addr: std::net::SocketAddr, request: &[u8]) -> std::io::Result<Resp> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))?;
    s.write_all(request)?;
    read_response(&mut s)
}

/// A plain-HTTP server on an ephemeral port of 127.0.0.1 for a client's bounds and failures: each
/// request, on each connection (kept alive while `answer` leaves it open), is answered by
/// `answer(path, stream)` once the request has arrived; the connections are counted.
pub struct PathServer {
    /// Its port.
    pub port: u16,
    conns: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl PathServer {
    /// Starts it.
    pub fn start(answer: fn(&str, &mut std::net::TcpStream)) -> PathServer {
        use std::sync::atomic::Ordering;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let conns = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = conns.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    while let Some(r) = read_request(&mut s) {
                        answer(&r.path, &mut s);
                    }
                });
            }
        });
        PathServer { port, conns }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.conns.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Answers with a chunked 200 whose body never ends (64 KiB chunks of `x`), until the peer goes.
pub fn endless_chunked(s: &mut impl std::io::Write) {
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
    chunk.extend_from_slice(&[b'x'; 64 * 1024]);
    chunk.extend_from_slice(b"\r\n");
    while s.write_all(&chunk).is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelined_responses_arriving_together_are_read_one_by_one() {
        let both =
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let mut s = std::io::Cursor::new(&both[..]);
        let first = read_response(&mut s).expect("first");
        assert_eq!((first.status, first.body.as_slice()), (200, &b"abc"[..]));
        let second = read_response(&mut s).expect("second");
        assert_eq!((second.status, second.body.len()), (404, 0));
        assert!(read_response(&mut s).is_err(), "nothing is left");
    }
}

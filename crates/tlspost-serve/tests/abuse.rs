//! Abuse: idle connections, a huge head, oversized bodies, slowloris, garbage instead of a
//! ClientHello. The server records what it can and keeps answering well-formed requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;

fn still_answers(r: &Running) {
    let t = Instant::now();
    let resp = send_raw(
        r.http(),
        &[b"GET /health HTTP/1.1\r\nHost: h\r\nUser-Agent: dev/1\r\n\r\n"],
    );
    assert_eq!(resp.status, 200);
    assert!(t.elapsed() < Duration::from_secs(3), "answered in {:?}", t.elapsed());
}

fn limited() -> Running {
    start_with(|c| {
        c.limits.max_body = 64 * 1024;
        c.limits.read_timeout = Duration::from_secs(2);
        c.limits.request_timeout = Duration::from_secs(3);
    })
}

#[test]
fn five_hundred_idle_connections_do_not_block_service() {
    let r = limited();
    let mut idle = Vec::new();
    for i in 0..500 {
        let addr = if i % 5 == 0 { r.https() } else { r.http() };
        idle.push(TcpStream::connect(addr).unwrap());
    }
    still_answers(&r);
    let (_, err, code) = r.curl("https", "localhost", "/", &[]);
    assert_eq!(code, 0, "{err}");
    // Idle connections are closed by the read timeout.
    let mut s = idle.pop().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(
        s.read(&mut b).unwrap_or(0),
        0,
        "an idle connection is closed after the read timeout"
    );
}

#[test]
fn one_megabyte_head_gets_431_and_is_recorded() {
    let r = limited();
    let mut s = connect(r.http());
    let mut big = b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    let writer = {
        let mut s = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = s.write_all(&big);
        })
    };
    let resp = read_response(&mut s).unwrap();
    assert_eq!(resp.status, 431);
    let _ = writer.join();
    let c = r.capture(resp.capture_id());
    assert!(c.raw.starts_with(b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: aaaa"));
    assert!(c.raw.len() > 64 * 1024, "recorded {} bytes", c.raw.len());
    assert!(c.error.as_deref().unwrap().contains("limit"));
    still_answers(&r);
}

#[test]
fn oversized_bodies_get_413_and_are_recorded() {
    let r = limited();
    let resp = send_raw(
        r.http(),
        &[b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\nstart"],
    );
    assert_eq!(resp.status, 413);
    let c = r.capture(resp.capture_id());
    assert!(c.raw.starts_with(b"POST /up HTTP/1.1\r\n"));
    assert!(c.error.as_deref().unwrap().contains("Content-Length: 10000000"));

    let mut s = connect(r.http());
    s.write_all(b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = [b"4000\r\n".to_vec(), vec![b'z'; 0x4000], b"\r\n".to_vec()].concat();
    let mut status = 0;
    for _ in 0..16 {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    if let Ok(resp) = read_response(&mut s) {
        status = resp.status;
    }
    assert_eq!(status, 413);
    r.wait_for("the chunked oversize", |c| {
        c.status == 413 && c.error.as_deref().is_some_and(|e| e.contains("chunked"))
    });
    still_answers(&r);
}

#[test]
fn slowloris_is_cut_off_and_recorded() {
    let r = limited();
    let mut s = connect(r.http());
    let t = Instant::now();
    let drip = b"GET /slow HTTP/1.1\r\nHost: h\r\nX-Drip: 0123456789012345678901234567890123456789";
    for b in drip.iter() {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        still_answers_quick(&r, t);
        std::thread::sleep(Duration::from_millis(150));
        if t.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(
        String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
    assert!(t.elapsed() < Duration::from_secs(8));
    let c = r.wait_for("the slow request", |c| c.status == 408);
    assert!(c.raw.starts_with(b"GET /slow"));
    assert!(c.error.as_deref().unwrap().contains("timed out"));
}

fn still_answers_quick(r: &Running, since: Instant) {
    // Check once a second, not on every byte.
    if since.elapsed().as_millis() % 1000 < 150 {
        still_answers(r);
    }
}

#[test]
fn malformed_client_hellos_never_take_the_server_down() {
    let r = limited();
    let cases: Vec<Vec<u8>> = vec![
        vec![22, 3, 1, 0, 9, 1, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0],
        vec![22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0],
        vec![22, 3, 3, 0, 6, 2, 0, 0, 2, 0, 0],
        (0..=255u8).cycle().take(4096).collect(),
        vec![0x16; 3],
    ];
    for case in cases {
        if let Ok(mut s) = TcpStream::connect(r.https()) {
            let _ = s.write_all(&case);
            let _ = s.shutdown(std::net::Shutdown::Write);
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        still_answers(&r);
    }
    let (_, err, code) = r.curl("https", "localhost", "/", &[]);
    assert_eq!(code, 0, "{err}");
    let failures = r.server.store().list(100, None).unwrap();
    assert!(
        failures
            .iter()
            .filter(|c| c.scheme == "https" && c.error.is_some())
            .count()
            >= 4
    );
}

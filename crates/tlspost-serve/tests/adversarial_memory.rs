//! Memory stays bounded when clients send large bodies and hold them unfinished: the server-wide
//! memory budget (`--memory-budget`, 256 MiB by default) refuses what it cannot cover with `503`
//! and `Retry-After`, records it with what arrived, gives its bytes back when a request is done,
//! and a small request is answered all the while.
//!
//! `two_hundred_unfinished_8_mb_bodies` runs the real binary with its defaults and reads its
//! resident memory from `/proc`. `TLSPOST_SERVE_BIN=/path/to/tlspost-serve` runs it against
//! another build (to measure one without the budget: the figures are printed before the checks);
//! a `tlspost` binary there runs as `tlspost serve`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::*;
use tlspost_testkit::serve::Serve;

/// `Content-Length: len` head for a POST.
fn head(len: usize) -> Vec<u8> {
    format!("POST /upload HTTP/1.1\r\nHost: h\r\nUser-Agent: dev/1\r\nContent-Length: {len}\r\n\r\n").into_bytes()
}

/// Write `n` bytes of `fill` (reused, never a copy of the whole body).
fn write_n(s: &mut TcpStream, fill: &[u8], mut n: usize) -> std::io::Result<()> {
    while n > 0 {
        let k = n.min(fill.len());
        s.write_all(&fill[..k])?;
        n -= k;
    }
    Ok(())
}

fn small_request_answers(addr: SocketAddr) {
    let t = Instant::now();
    let resp = send_raw(addr, &[b"GET /health HTTP/1.1\r\nHost: h\r\nUser-Agent: dev/1\r\n\r\n"]);
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert!(t.elapsed() < Duration::from_secs(5), "answered in {:?}", t.elapsed());
}

/// A body the budget cannot hold: `503` with `Retry-After` (read by the client, which was still
/// sending), recorded as incomplete with the bytes that arrived and the reason. Afterwards the
/// budget is whole again: bodies that fit it only one at a time are answered one after another,
/// on new connections and on one kept alive.
#[test]
fn a_body_beyond_the_budget_is_refused_with_503_and_recorded() {
    let r = start_with(|c| c.limits.memory_budget = 1 << 20);
    let fill = vec![b'x'; 64 * 1024];
    let mut s = connect(r.http());
    let writer = {
        let mut s = s.try_clone().unwrap();
        let fill = fill.clone();
        std::thread::spawn(move || {
            s.write_all(&head(3_000_000))?;
            write_n(&mut s, &fill, 3_000_000)
        })
    };
    let resp = read_response(&mut s).unwrap();
    assert_eq!(resp.status, 503, "{}", resp.head);
    assert_eq!(resp.header("retry-after").as_deref(), Some("5"));
    assert!(resp.text().contains("memory budget"), "{}", resp.text());
    // The server read on while it answered: the client got to send everything and read the 503.
    writer.join().unwrap().expect("the client could send its whole body");
    let c = r.capture(resp.capture_id());
    assert!(!c.complete);
    assert_eq!(c.status, 503);
    let err = c.error.as_deref().unwrap();
    assert!(err.contains("memory budget for request bytes (1048576 bytes)"), "{err}");
    assert!(c.raw.starts_with(&head(3_000_000)));
    assert!(
        c.raw.len() > 64 * 1024 && c.raw.len() < (1 << 20) + 64 * 1024,
        "recorded {} bytes",
        c.raw.len()
    );
    assert!(err.contains(&format!("refused after {} bytes", c.raw.len())), "{err}");
    assert_eq!(c.method.as_deref(), Some("POST"), "the head that arrived is parsed");

    // A 300 kB request and its echo fit the budget once, not twice: each is answered only if the
    // last one gave its share back. (The last one's echo may still be held for a moment after the
    // client has read it, while the server finishes the write: the sizes leave room for that.)
    let body = vec![b'y'; 300_000];
    for _ in 0..4 {
        let mut req = head(body.len());
        req.extend_from_slice(&body);
        let resp = send_raw(r.http(), &[&req]);
        assert_eq!(resp.status, 200, "{}", resp.head);
    }
    let mut s = connect(r.http());
    for _ in 0..3 {
        s.write_all(&head(body.len())).unwrap();
        s.write_all(&body).unwrap();
        let resp = read_response(&mut s).unwrap();
        assert_eq!(resp.status, 200, "{}", resp.head);
        assert!(resp.text().contains("\"body_bytes\": 300000"));
    }
}

/// One connection holds a third of the budget with an unfinished body: another request that
/// would need the rest for itself and its echo is refused (it arrived whole, so its answer says
/// so), a small request is answered; once the first is done, the refused one goes through.
#[test]
fn a_held_body_leaves_small_requests_answered() {
    let r = start_with(|c| c.limits.memory_budget = 1 << 20);
    let fill = vec![b'z'; 64 * 1024];
    let mut held = connect(r.http());
    held.write_all(&head(400_000)).unwrap();
    write_n(&mut held, &fill, 400_000 - 10).unwrap();
    tcp::wait_read_by_peer(&held);

    let mut big = head(450_000);
    big.extend(std::iter::repeat_n(b'w', 450_000));
    let resp = send_raw(r.http(), &[&big]);
    assert_eq!(resp.status, 503, "{}", resp.head);
    assert_eq!(resp.header("retry-after").as_deref(), Some("5"));
    let c = r.capture(resp.capture_id());
    assert_eq!((c.status, c.body_len, c.raw.len()), (503, 450_000, big.len()));
    assert!(c.error.as_deref().unwrap().contains("arrived whole"), "{:?}", c.error);
    small_request_answers(r.http());

    held.write_all(&fill[..10]).unwrap();
    let resp = read_response(&mut held).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(r.capture(resp.capture_id()).body_len, 400_000);
    // The held one's echo is given back once the server has finished writing it, a moment after
    // the client read it: the refused request goes through then, as Retry-After says.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let resp = send_raw(r.http(), &[&big]);
        if resp.status == 200 {
            break;
        }
        assert_eq!(resp.status, 503, "{}", resp.head);
        assert!(Instant::now() < until, "still refused after 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `kB` of a `/proc/PID/status` field (`VmRSS`, `VmHWM`).
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// How a connection of the flood ended on the client's side.
enum Outcome {
    /// Everything but the last bytes sent, no answer yet: the server holds the body.
    Held(TcpStream),
    /// Answered while sending (the budget could not cover the body): the status.
    Answered(u16, Option<String>),
    /// The connection failed while sending (the server closed it: it may have answered, and
    /// stopped reading before everything was sent).
    Failed(std::io::Error),
}

/// The status of every stored capture, by peer address.
fn statuses(db: &std::path::Path) -> std::collections::HashMap<String, u64> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut st = c.prepare("SELECT meta FROM captures").unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|m| {
            let m: serde_json::Value = serde_json::from_str(&m.unwrap()).unwrap();
            (m["peer"].as_str().unwrap().to_string(), m["status"].as_u64().unwrap())
        })
        .collect()
}

const CONNS: usize = 200;
const BODY: usize = 8_000_000;
const HELD_BACK: usize = 16;
const LIMIT_KB: u64 = 512 * 1024;

/// 200 connections each announce an 8 MB body and send all of it but the last bytes, fast; the
/// server with its defaults (256 MiB budget, 2048 connections) stays under 512 MiB resident,
/// answers a small request while they are held, and records every one of them.
#[test]
fn two_hundred_unfinished_8_mb_bodies() {
    let bin = std::env::var("TLSPOST_SERVE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tlspost-serve").into());
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(&bin);
    if Path::new(&bin).file_name().is_some_and(|n| n == "tlspost") {
        cmd.arg("serve");
    }
    cmd.args(["--http", "127.0.0.1:0", "--https", "off", "--data"])
        .arg(dir.path());
    let mut server = Serve::spawn(cmd, dir.path()).unwrap_or_else(|e| panic!("{bin} did not start: {e}"));
    let (pid, addr) = (server.pid(), server.http());
    let started = Instant::now();

    // Resident memory, sampled; VmHWM (the kernel's high-water mark) misses nothing between samples.
    let stop = Arc::new(AtomicBool::new(false));
    let max_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, max_rss) = (stop.clone(), max_rss.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = status_kb(pid, "VmRSS") {
                    max_rss.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // Eight senders, 25 connections each, one after another; one 64 KiB buffer for all writes.
    let fill: Arc<[u8]> = vec![b'b'; 64 * 1024].into();
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let fill = fill.clone();
            std::thread::spawn(move || {
                (0..CONNS / 8)
                    .map(|_| {
                        let mut s = TcpStream::connect(addr).unwrap();
                        let local = s.local_addr().unwrap().to_string();
                        s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                        let sent = s
                            .write_all(&head(BODY))
                            .and_then(|()| write_n(&mut s, &fill, BODY - HELD_BACK));
                        match sent {
                            Ok(()) => (local, Outcome::Held(s)),
                            Err(e) => (local, Outcome::Failed(e)),
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut outcomes: Vec<(String, Outcome)> = senders.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let sent_in = started.elapsed();

    // While they are held: a small request on a new connection is answered.
    let t = Instant::now();
    let small = std::panic::catch_unwind(|| small_request_answers(addr));
    let small_in = t.elapsed();
    let hwm_held = status_kb(pid, "VmHWM").unwrap_or(0);
    // Once the server has read all that was sent on a connection, it either holds the body or
    // has refused it, and then its answer is waiting (written before it read on). A body held
    // for the read timeout (10 s) since its last bytes is answered 408.
    for (_, o) in &mut outcomes {
        if let Outcome::Held(s) = o {
            tcp::wait_read_by_peer(s);
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            let waiting = !matches!(s.peek(&mut b), Err(ref e) if e.kind() == ErrorKind::WouldBlock);
            s.set_nonblocking(false).unwrap();
            if waiting {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                *o = match read_response(s) {
                    Ok(resp) => Outcome::Answered(resp.status, resp.header("retry-after")),
                    Err(e) => Outcome::Failed(e),
                };
            }
        }
    }
    let held: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Held(_)))
        .map(|(peer, _)| peer.clone())
        .collect();
    let timed_out: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Answered(408, _)))
        .map(|(peer, _)| peer.clone())
        .collect();
    let busy = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Answered(503, Some(_))))
        .count();
    let cut_off = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)))
        .count();
    let other: Vec<String> = outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            Outcome::Answered(503, Some(_)) | Outcome::Answered(408, _) | Outcome::Held(_) => None,
            Outcome::Failed(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => None,
            Outcome::Answered(status, _) => Some(format!("answered {status}")),
            Outcome::Failed(e) => Some(format!("failed: {e}")),
        })
        .collect();
    let peers: Vec<String> = outcomes.iter().map(|(peer, _)| peer.clone()).collect();

    // The held connections close: each is recorded with its 8 MB, one after another.
    let closed = Instant::now();
    drop(outcomes);
    let db = dir.path().join("captures.sqlite3");
    let recorded = || -> i64 {
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT count(*) FROM captures", [], |r| r.get(0)))
            .unwrap_or(0)
    };
    let want = (CONNS + 1) as i64;
    while recorded() < want && closed.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let hwm = status_kb(pid, "VmHWM").unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let count = recorded();
    let stored = statuses(&db);
    eprintln!(
        "{bin}: {CONNS} x {BODY}-byte bodies sent in {sent_in:?}: {} held ({} of them until the read \
         timeout), {busy} refused with 503 and read, {cut_off} cut off while sending (others: \
         {other:?}); a small request answered \
         in {small_in:?}; peak RSS while held {} MiB, overall {} MiB (largest sample {} MiB); \
         {count} captures recorded {:?} after the close; {:?} in all",
        held.len() + timed_out.len(),
        timed_out.len(),
        hwm_held / 1024,
        hwm / 1024,
        max_rss.load(Ordering::Relaxed) / 1024,
        closed.elapsed(),
        started.elapsed()
    );
    server.stop();

    assert!(
        small.is_ok(),
        "a small request was not answered while the bodies were held"
    );
    assert!(
        hwm <= LIMIT_KB,
        "peak RSS {} MiB is over {} MiB",
        hwm / 1024,
        LIMIT_KB / 1024
    );
    assert!(
        !held.is_empty() || !timed_out.is_empty(),
        "some bodies fit the budget and were held"
    );
    assert!(
        busy >= 1,
        "bodies beyond the budget were refused with 503 and Retry-After"
    );
    assert!(other.is_empty(), "every connection was held or refused: {other:?}");
    assert_eq!(count, want, "every connection and the small request were recorded");
    // The server's side: each held body recorded when its connection closed (no answer) or its
    // read timeout passed (408), every other one refused with 503 (the client may have been cut
    // off before it read it).
    for peer in &peers {
        let status = stored.get(peer).copied();
        if held.contains(peer) {
            assert!(matches!(status, Some(0 | 408)), "the capture of {peer}: {status:?}");
        } else if timed_out.contains(peer) {
            assert_eq!(status, Some(408), "the capture of {peer}");
        } else {
            assert_eq!(status, Some(503), "the capture of {peer}");
        }
    }
}

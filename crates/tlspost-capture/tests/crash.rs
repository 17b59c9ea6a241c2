//! `kill -9` during a bounded load run loses no capture whose response was sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::read_response;

/// (capture id, bytes sent) of every request whose response arrived.
type Acked = Vec<(i64, Vec<u8>)>;

fn start_process(dir: &std::path::Path, sync: &str) -> (std::process::Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tlspost-capture"))
        .args([
            "--http",
            "127.0.0.1:0",
            "--https",
            "off",
            "--workers",
            "2",
            "--sync",
            sync,
            "--data",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// The default: commits written to the WAL without an fsync; the OS keeps them when the process dies.
#[test]
fn kill_9_loses_no_acknowledged_capture() {
    kill_9_during_load("normal");
}

#[test]
fn kill_9_loses_no_acknowledged_capture_with_sync_full() {
    kill_9_during_load("full");
}

fn kill_9_during_load(sync: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_process(dir.path(), sync);
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for t in 0..4 {
        let (acked, stop) = (acked.clone(), stop.clone());
        clients.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(addr) else { return };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 5000 {
                let body = format!("{{\"client\":{t},\"n\":{i}}}");
                let req = format!(
                    "POST /load HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(req.as_bytes()).is_err() {
                    return;
                }
                match read_response(&mut s) {
                    Ok(r) if r.status == 200 => acked.lock().unwrap().push((r.capture_id(), req.into_bytes())),
                    _ => return,
                }
                i += 1;
            }
        }));
    }
    // Let load build up, then kill -9 mid-run.
    let t = Instant::now();
    while acked.lock().unwrap().len() < 200 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() >= 200,
        "--sync {sync}: load ran: {} acknowledged",
        acked.len()
    );

    let store = tlspost_capture::store::Store::open(dir.path(), None).unwrap();
    for (id, sent) in acked.iter() {
        let c = store
            .get(*id)
            .unwrap()
            .unwrap_or_else(|| panic!("--sync {sync}: acknowledged capture {id} lost"));
        assert_eq!(&c.raw, sent, "--sync {sync}: capture {id} bytes");
    }
    assert!(store.count().unwrap() >= i64::try_from(acked.len()).unwrap());
}

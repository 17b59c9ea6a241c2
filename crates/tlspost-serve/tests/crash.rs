//! `kill -9` during a bounded load run loses no capture whose response was sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{CaptureId, read_response};
use tlspost_testkit::serve::Serve;

/// (capture id, bytes sent) of every request whose response arrived.
type Acked = Vec<(i64, Vec<u8>)>;

/// The `tlspost-serve` binary on an ephemeral port, proven listening on it (its banner names the
/// address, `/proc` shows the listener is the child's own); stopped by pid on drop.
fn start_process(dir: &std::path::Path, sync: &str) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlspost-serve"));
    cmd.args([
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
    .arg(dir);
    Serve::spawn(cmd, dir).unwrap_or_else(|e| panic!("tlspost-serve --sync {sync} did not start: {e}"))
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
    let mut server = start_process(dir.path(), sync);
    let addr = server.http();
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
    server.kill(); // SIGKILL, and reaped
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

    let store = tlspost_serve::store::Store::open(dir.path(), None).unwrap();
    for (id, sent) in acked.iter() {
        let c = store
            .get(*id)
            .unwrap()
            .unwrap_or_else(|| panic!("--sync {sync}: acknowledged capture {id} lost"));
        assert_eq!(&c.raw, sent, "--sync {sync}: capture {id} bytes");
    }
    assert!(store.count().unwrap() >= i64::try_from(acked.len()).unwrap());
}

//! The jobs: each a connection through the relay, the device's TLS handshake with the job's roots,
//! host name and clock, optionally a POST; one outcome line each.

use core::fmt::Write as _;

use rv32_virt::relay::{Channel, Relay};
use rv32_virt::{Console, mtime};
use tlspost::driver::{self, Buffers, Hooks};
use tlspost_device::embedded_tls::{Aes128GcmSha256, blocking::TlsConnection};
use tlspost_device::{DeviceProvider, PinnedVerifier, config, open_blocking};
use tlspost_proto::{Body, Budgets, Deadlines, Millis, Request};

use crate::job::Job;
use crate::rng::InsecureTestRng;

const BODY: &[u8] = br#"{"device":"rv32-harness","t":21.5}"#;

type Tls<'a, 'r> = TlsConnection<'a, Channel<'r>, Aes128GcmSha256>;

/// Runs every job the host has; true when there was at least one and each could be read.
pub fn all(con: &mut Console) -> bool {
    let mut relay = Relay::new();
    let mut jobs = 0;
    loop {
        // The job's roots live here while it runs.
        let mut answer = [0u8; 8192];
        let bytes = match relay.ask(b"job", &mut answer) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(con, "no job: {e:?}");
                return false;
            }
        };
        if bytes.is_empty() {
            break;
        }
        let Some(job) = Job::parse(bytes) else {
            con.str("a job the firmware cannot read\n");
            return false;
        };
        one(con, &mut relay, &job);
        jobs += 1;
    }
    con.line_dec("jobs: ", jobs);
    jobs > 0
}

/// One job: connect, handshake, optionally POST; prints `job ID ok …` or `job ID fail CAUSE`.
#[inline(never)]
fn one(con: &mut Console, relay: &mut Relay, job: &Job<'_>) {
    let _ = write!(con, "job {} ", job.id);
    let channel = match relay.open(job.id, job.target) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(con, "fail Relay({e:?})");
            return;
        }
    };
    let mut rx = [0u8; 16_640];
    let mut tx = [0u8; 512];
    let mut tls: Tls<'_, '_> = TlsConnection::new(channel, &mut rx, &mut tx);
    if handshake(con, &mut tls, job) && !job.path.is_empty() {
        post(con, &mut tls, job);
    }
    con.str("\n");
    con.flush();
    let _ = tls.close();
}

/// The device's handshake, exactly as rv32-qemu does it, with the job's roots, host and clock.
#[inline(never)]
fn handshake(con: &mut Console, tls: &mut Tls<'_, '_>, job: &Job<'_>) -> bool {
    let verifier = match PinnedVerifier::new(job.roots(), job.now_unix) {
        Ok(v) => v,
        Err(e) => {
            let _ = write!(con, "fail Roots({e:?})");
            return false;
        }
    };
    let mut provider = DeviceProvider::new(InsecureTestRng::new(mtime()), verifier);
    let cfg = config(job.host);
    let t0 = mtime();
    match open_blocking(tls, &cfg, &mut provider) {
        Ok(()) => {
            let ms = (mtime() - t0) / 10_000;
            let _ = write!(con, "ok suite=TLS_AES_128_GCM_SHA256 handshake_ms={ms}");
            true
        }
        Err(e) => {
            let _ = write!(con, "fail {e:?}");
            false
        }
    }
}

/// The CLINT's 10 MHz timer in milliseconds; the body is counted, not kept.
struct Clock(u64);

impl Hooks for Clock {
    fn now(&mut self) -> Millis {
        Millis(mtime() / 10_000)
    }

    fn body(&mut self, data: &[u8]) -> bool {
        self.0 += data.len() as u64;
        true
    }
}

/// A JSON POST to the job's path through tlspost's blocking driver; adds ` status=N body=N`.
#[inline(never)]
fn post(con: &mut Console, tls: &mut Tls<'_, '_>, job: &Job<'_>) {
    let req = Request::post(job.host, job.path, Body::Json(BODY));
    let mut clock = Clock(0);
    let mut deadlines = Deadlines::new(Budgets::default(), clock.now());
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 512]);
    let bufs = Buffers {
        rx: &mut rx,
        tx: &mut tx,
    };
    match driver::exchange(tls, &req, &mut deadlines, bufs, &mut clock) {
        Ok(out) => {
            let _ = write!(con, " status={} body={}", out.status, clock.0);
        }
        Err(e) => {
            let _ = write!(con, " post-failed {:?}", e.error);
        }
    }
}

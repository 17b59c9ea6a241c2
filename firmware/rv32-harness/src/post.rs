//! The job's POST: JSON to the job's path through tlspost's blocking driver over whatever TLS
//! stream the firmware opened (embedded-tls here, rustls in rv32-rustls, which includes this file
//! by path). The body names the firmware (its crate name).

use core::fmt::Write as _;

use embedded_io::{Read, Write};
use rv32_virt::{Console, mtime};
use tlspost::driver::{self, Buffers, Hooks};
use tlspost_proto::{Body, Budgets, Deadlines, Millis, Request};

use crate::job::Job;

const BODY: &[u8] = concat!(r#"{"device":""#, env!("CARGO_PKG_NAME"), r#"","t":21.5}"#).as_bytes();

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
pub fn post<T: Read + Write>(con: &mut Console, tls: &mut T, job: &Job<'_>) {
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

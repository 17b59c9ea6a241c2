//! The jobs: each a connection through the relay over tlspost-device's rustls backend, with the
//! job's roots, host name and clock and the run's one session slot; optionally a POST; one outcome
//! line each with the handshake's bytes, instructions and the heap's high-water mark.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt::Write as _;

use rv32_virt::relay::Relay;
use rv32_virt::{Console, instret};
use tlspost_device::rustls_backend::{INCOMING_LEN, RecordBuffers, RustlsClient, SessionSlot};

use crate::counted::{Counted, Io};
use crate::heap;
use crate::job::Job;
use crate::post::post;

/// The outgoing record buffer: a ClientHello with a resumption ticket fits.
const OUTGOING: usize = 1024;

/// A client and the roots it pins (kept for the run: rustls resumes only with the client, and so
/// the verifier, that made the session).
type Pinned = (RustlsClient, &'static [&'static [u8]]);

/// A job once its roots are in the client (the heap): id, clock, host, target and path (at most
/// 255 bytes each), no roots, the optional fragment.
const SMALL_JOB: usize = 1 + 8 + 3 * 256 + 1 + 3;

/// What [`next`] got from the host.
enum Next {
    /// A job, re-encoded without its roots in this many bytes of the small buffer.
    Job(usize),
    /// The job's roots were refused (its outcome line is printed).
    Refused,
    /// No more jobs.
    Done,
    /// The relay failed or the job could not be read.
    Bad,
}

/// Runs every job the host has; true when there was at least one and each could be read.
pub fn all(con: &mut Console) -> bool {
    let sessions = Arc::new(SessionSlot::new());
    let mut client: Option<Pinned> = None;
    let mut relay = Relay::new();
    let mut jobs = 0;
    loop {
        let mut small = [0u8; SMALL_JOB];
        match next(con, &mut relay, &mut client, &sessions, &mut small) {
            Next::Job(n) => {
                let (Some(job), Some((c, _))) = (small.get(..n).and_then(Job::parse), client.as_ref()) else {
                    return false;
                };
                let _ = write!(con, "job {} ", job.id);
                one(con, &mut relay, c, &job);
                con.str("\n");
                con.flush();
            }
            Next::Refused => {}
            Next::Done => break,
            Next::Bad => return false,
        }
        jobs += 1;
    }
    con.line_dec("jobs: ", jobs);
    jobs > 0
}

/// Asks for the next job, puts its roots in the client (a new one when they differ) and re-encodes
/// the rest into `small`: the 8 KB answer buffer is on the stack only here, not during the
/// connection (a device's roots are in flash, not in a buffer).
#[inline(never)]
fn next(
    con: &mut Console,
    relay: &mut Relay,
    client: &mut Option<Pinned>,
    sessions: &Arc<SessionSlot>,
    small: &mut [u8; SMALL_JOB],
) -> Next {
    let mut answer = [0u8; 8192];
    let bytes = match relay.ask(b"job", &mut answer) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(con, "no job: {e:?}");
            return Next::Bad;
        }
    };
    if bytes.is_empty() {
        return Next::Done;
    }
    let Some(job) = Job::parse(bytes) else {
        con.str("a job the firmware cannot read\n");
        return Next::Bad;
    };
    if let Err(e) = pinned(client, &job, sessions) {
        let _ = writeln!(con, "job {} fail {e:?}", job.id);
        return Next::Refused;
    }
    match without_roots(&job, small) {
        Some(n) => Next::Job(n),
        None => Next::Bad,
    }
}

/// `job` in rv32-harness' job layout with no roots; its length.
fn without_roots(job: &Job<'_>, out: &mut [u8]) -> Option<usize> {
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
        at += bytes.len();
        Some(())
    };
    put(&[job.id])?;
    put(&job.now_unix.to_be_bytes())?;
    for text in [job.host, job.target, job.path] {
        put(&[u8::try_from(text.len()).ok()?])?;
        put(text.as_bytes())?;
    }
    put(&[0])?;
    if let Some((exponent, read)) = job.fragment {
        put(&[exponent])?;
        put(&read.to_be_bytes())?;
    }
    Some(at)
}

/// The client for the job's roots: the one before when they are the same, else a new one (the
/// roots copied to the heap for the rest of the run).
fn pinned<'c>(
    client: &'c mut Option<Pinned>,
    job: &Job<'_>,
    sessions: &Arc<SessionSlot>,
) -> Result<&'c RustlsClient, tlspost_device::rustls_backend::RustlsError<core::convert::Infallible>> {
    let pinned = match client.take().filter(|(_, roots)| *roots == job.roots()) {
        Some(same) => same,
        None => {
            let roots: Vec<&'static [u8]> = job.roots().iter().map(|r| &*Box::leak(Box::<[u8]>::from(*r))).collect();
            let roots: &'static [&'static [u8]] = Box::leak(roots.into_boxed_slice());
            (
                RustlsClient::new(roots, sessions.clone())?.with_limits(heap::LIMITS),
                roots,
            )
        }
    };
    Ok(&client.insert(pinned).0)
}

/// One job: connect, handshake (resuming when the slot holds a session for the host), optionally
/// POST; prints `ok …` or `fail CAUSE`.
#[inline(never)]
fn one(con: &mut Console, relay: &mut Relay, client: &RustlsClient, job: &Job<'_>) {
    let channel = match relay.open(job.id, job.target) {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(con, "fail Relay({e:?})");
            return;
        }
    };
    let io = Cell::new(Io::default());
    let socket = Counted { channel, io: &io };
    let mut incoming = [0u8; INCOMING_LEN];
    let mut outgoing = [0u8; OUTGOING];
    let buffers = RecordBuffers {
        incoming: &mut incoming,
        outgoing: &mut outgoing,
    };
    heap::reset_peak();
    let t0 = instret();
    let mut tls = match client.connect(socket, job.host, job.now_unix, buffers) {
        Ok(tls) => tls,
        Err(e) => {
            let _ = write!(con, "fail {e:?}");
            return;
        }
    };
    let spent = instret() - t0;
    let io = io.get();
    let version = match tls.protocol_version() {
        Some(0x0304) => "1.3",
        Some(0x0303) => "1.2",
        _ => "?",
    };
    let _ = write!(
        con,
        "ok version={version} resumed={} hs_rx={} hs_tx={} hs_instret={}",
        u8::from(tls.resumed()),
        io.rx,
        io.tx,
        spent - io.instret
    );
    if !job.path.is_empty() {
        post(con, &mut tls, job);
    }
    let _ = write!(con, " heap_peak={}", heap::peak());
    if job.fragment.is_some() {
        // rustls' client has no max_fragment_length extension: records stay up to 2^14 bytes.
        con.str(" fragment=not-offered");
    }
    let _ = tls.close();
}

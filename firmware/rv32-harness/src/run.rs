//! The jobs: each a connection through the relay, the device's TLS handshake with the job's roots,
//! host name and clock (and max_fragment_length with a smaller read buffer when the job asks),
//! optionally a POST; one outcome line each.

use core::cell::Cell;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicUsize, Ordering};

use rv32_virt::relay::{Channel, Relay};
use rv32_virt::{Console, instret, mtime};
use tlspost_device::embedded_tls::{Aes128GcmSha256, MaxFragmentLength, blocking::TlsConnection};
use tlspost_device::{
    DeviceProvider, FULL_READ_BUFFER, PinnedVerifier, config, config_fragment, open_blocking, read_buffer_for,
};

use crate::counted::{Counted, Io};
use crate::job::Job;
use crate::post::post;
use crate::rng::InsecureTestRng;

type Tls<'a, 'c, 'r> = TlsConnection<'a, Counted<'c, 'r>, Aes128GcmSha256>;

/// The read buffer of a job that asks for a 4,096-byte fragment (or less): a stack array of this
/// size instead of a full record's, so the run's peak stack is what such a device needs.
const SMALL_READ: usize = read_buffer_for(MaxFragmentLength::Bits12);

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
    con.line_dec(
        "stack above a job bytes (the harness' job buffer included): ",
        ABOVE.load(Ordering::Relaxed),
    );
    jobs > 0
}

/// The most stack in use when a job begins (what the harness holds: its 8 KB job buffer, the
/// relay); the peak stack less this is the connection's own.
static ABOVE: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    static _stack_top: u32;
}

/// Records how much stack is in use here (from the linker script's top to the stack pointer).
#[inline(always)]
fn note_stack_above() {
    let sp: usize;
    // SAFETY: reads the stack pointer into a register; no memory is touched.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp) };
    let above = (core::ptr::addr_of!(_stack_top) as usize).saturating_sub(sp);
    if above > ABOVE.load(Ordering::Relaxed) {
        ABOVE.store(above, Ordering::Relaxed);
    }
}

/// One job: connect, handshake, optionally POST; prints `job ID ok …` or `job ID fail CAUSE`.
#[inline(never)]
fn one(con: &mut Console, relay: &mut Relay, job: &Job<'_>) {
    note_stack_above();
    let _ = write!(con, "job {} ", job.id);
    let channel = match relay.open(job.id, job.target) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(con, "fail Relay({e:?})");
            return;
        }
    };
    let read = job.fragment.map_or(FULL_READ_BUFFER, |(_, bytes)| usize::from(bytes));
    if read <= SMALL_READ {
        connect::<SMALL_READ>(con, channel, job, read);
    } else {
        connect::<FULL_READ_BUFFER>(con, channel, job, read);
    }
    // The stack's high-water mark so far: after the jobs with a small read buffer, theirs.
    let _ = writeln!(con, "job {} stack peak={}", job.id, rv32_virt::rt::peak_stack());
}

/// The connection in a read buffer of `read` bytes (at most `RX`) and a 512-byte write buffer.
#[inline(never)]
fn connect<const RX: usize>(con: &mut Console, channel: Channel<'_>, job: &Job<'_>, read: usize) {
    let mut rx = [0u8; RX];
    let mut tx = [0u8; 512];
    let read = read.min(RX);
    let io = Cell::new(Io::default());
    let socket = Counted { channel, io: &io };
    let mut tls: Tls<'_, '_, '_> = TlsConnection::new(socket, &mut rx[..read], &mut tx);
    if handshake(con, &mut tls, &io, job, read) && !job.path.is_empty() {
        post(con, &mut tls, job);
    }
    con.str("\n");
    con.flush();
    let _ = tls.close();
}

/// The device's handshake, exactly as rv32-qemu does it, with the job's roots, host and clock; with
/// the job's fragment, max_fragment_length offered and the error read against the `read` buffer.
/// Adds the handshake's bytes each way and its instructions (the relay's own left out).
#[inline(never)]
fn handshake(con: &mut Console, tls: &mut Tls<'_, '_, '_>, io: &Cell<Io>, job: &Job<'_>, read: usize) -> bool {
    let verifier = match PinnedVerifier::new(job.roots(), job.now_unix) {
        Ok(v) => v,
        Err(e) => {
            let _ = write!(con, "fail Roots({e:?})");
            return false;
        }
    };
    let mut provider = DeviceProvider::new(InsecureTestRng::new(mtime()), verifier);
    let cfg = match job.fragment {
        Some((exponent, _)) => config_fragment(job.host, fragment(exponent)),
        None => config(job.host),
    };
    let t0 = mtime();
    let i0 = instret();
    match open_blocking(tls, &cfg, &mut provider) {
        Ok(()) => {
            let spent = instret() - i0;
            let ms = (mtime() - t0) / 10_000;
            let io = io.get();
            let _ = write!(
                con,
                "ok suite=TLS_AES_128_GCM_SHA256 handshake_ms={ms} hs_rx={} hs_tx={} hs_instret={}",
                io.rx,
                io.tx,
                spent - io.instret
            );
            true
        }
        Err(e) => {
            let _ = write!(con, "fail {:?}", e.with_read_buffer(read));
            false
        }
    }
}

/// max_fragment_length for 2^`exponent` bytes (the job's reader allows 9 to 12).
fn fragment(exponent: u8) -> MaxFragmentLength {
    match exponent {
        9 => MaxFragmentLength::Bits9,
        10 => MaxFragmentLength::Bits10,
        11 => MaxFragmentLength::Bits11,
        _ => MaxFragmentLength::Bits12,
    }
}

//! The ESP32-C3 firmware's application logic, `tlspost_app::post`, on bare-metal RV32IMC under
//! `qemu-system-riscv32 -machine virt -bios none`: the runtime proof of the code the board runs.
//!
//! Only the board differs: the UART is the network (QEMU's `-serial tcp:127.0.0.1:PORT` connects it
//! to `tlspost serve`'s HTTPS listener, so every "connection" is that one), the clock is the CLINT
//! timer plus the build time, the executor is `embassy_futures::block_on` (the UART blocks, so the
//! future is polled until it is ready), and the random numbers come from a timer-seeded ChaCha20:
//! insecure, and the banner says so. `run.sh` builds it with the capture server's CA pinned, runs
//! it and checks both sides.
#![no_std]
#![no_main]

use core::fmt::Write as _;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rv32_virt::{Console, UartLink, mtime};
use tlspost_app::{Clock, Job, Memory, Net, Parts, TLS_RX, TLS_TX, post};

/// The capture server's CA (DER), chosen at build time by `run.sh`.
static ROOTS: &[&[u8]] = &[include_bytes!(env!("TLSPOST_FW_ROOT_DER"))];
/// Where the report goes: the host is the SNI and the name checked against the certificate.
const URL: &str = concat!("https://", env!("TLSPOST_FW_HOST"), "/api/v1/readings");
/// The firmware's build time (seconds since 1970): the floor for validity checks, no SNTP here.
const BUILD_TIME: &str = env!("TLSPOST_FW_BUILD_TIME");
const BODY: &[u8] = br#"{"device":"rv32-app","t":21.5}"#;

/// The CLINT timer runs at 10 MHz.
const TICKS_PER_MS: u64 = 10_000;

rv32_virt::entry!(
    concat!(
        "rv32-app: tlspost-app's HTTPS POST (the ESP32-C3 firmware's logic), RV32IMC bare metal, no heap\n",
        "WARNING: INSECURE TEST RNG (ChaCha20 seeded from the timer); the board uses its TRNG\n"
    ),
    "peak stack bytes (TLS buffers included): ",
    run
);

/// Sends the report once (with the app's retries); true on a 200.
fn run(con: &mut Console) -> bool {
    let job = match Job::new(URL, BODY, ROOTS) {
        Ok(job) => job,
        Err(e) => {
            let _ = writeln!(con, "{e}");
            return false;
        }
    };
    con.line_dec("TLS buffer bytes (read + write): ", TLS_RX + TLS_TX);
    con.line_dec("app buffer bytes (Memory): ", core::mem::size_of::<Memory>());
    let mut mem = Memory::new();
    let mut rng = ChaCha20Rng::seed_from_u64(mtime());
    let mut clock = VirtClock;
    let mut bufs = mem.buffers();
    let parts = Parts {
        net: &mut UartNet,
        clock: &mut clock,
        rng: &mut rng,
        out: &mut *con,
    };
    let report = post(parts, &job, &mut bufs);
    let future_bytes = core::mem::size_of_val(&report);
    let result = embassy_futures::block_on(report);
    con.line_dec("app future bytes: ", future_bytes);
    match result {
        Ok(report) => report.status == 200,
        Err(failed) => {
            let _ = writeln!(con, "report failed: {failed}");
            false
        }
    }
}

/// The UART as the one TCP connection QEMU bridges it to.
struct UartNet;

/// [`UartLink`] as an `embedded_io_async` stream: each call completes when first polled.
struct AsyncUart(UartLink);

impl embedded_io_async::ErrorType for AsyncUart {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Read for AsyncUart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(&mut self.0, buf)
    }
}

impl embedded_io_async::Write for AsyncUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(&mut self.0, buf)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl Net for UartNet {
    type Socket<'s> = AsyncUart;
    type Error = core::convert::Infallible;

    async fn connect(&mut self, _host: &str, _port: u16) -> Result<AsyncUart, Self::Error> {
        Ok(AsyncUart(UartLink::new()))
    }

    async fn close<'s>(_socket: Self::Socket<'s>)
    where
        Self: 's,
    {
    }
}

/// The CLINT timer for durations, the build time plus uptime for the time of day.
struct VirtClock;

impl Clock for VirtClock {
    fn now_ms(&mut self) -> u64 {
        mtime() / TICKS_PER_MS
    }

    fn unix_time(&mut self) -> u64 {
        let floor = BUILD_TIME
            .bytes()
            .filter(u8::is_ascii_digit)
            .fold(0u64, |a, d| a.wrapping_mul(10).wrapping_add(u64::from(d - b'0')));
        floor + mtime() / (TICKS_PER_MS * 1000)
    }

    async fn sleep_ms(&mut self, ms: u64) {
        let until = mtime() + ms * TICKS_PER_MS;
        while mtime() < until {
            core::hint::spin_loop();
        }
    }
}

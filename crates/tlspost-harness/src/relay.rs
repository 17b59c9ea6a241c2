//! The relay: runs the firmware under QEMU with its UART on a local socket, answers its
//! questions with the jobs, and opens, feeds and closes real TCP connections for it. What each
//! server sent is scanned on the way (its records), so an outcome can be read beside the wire.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tlspost::probe::hello::{RecordScan, RecordStats};

use crate::job::{Job, JobError};
use crate::wire::{self, Frame};

/// How long the relay waits for a TCP connect, and for a server's next bytes.
pub const NET_TIMEOUT: Duration = Duration::from_secs(10);

/// A finished run.
#[derive(Debug, Clone)]
pub struct Run {
    /// What the firmware printed (semihosting), then QEMU's own messages.
    pub console: String,
    /// QEMU's exit status (`Some(124)`: killed at the time limit; `None`: by a signal).
    pub status: Option<i32>,
    /// Per connection id, the records its server sent.
    pub wire: BTreeMap<u8, RecordStats>,
    /// What the relay noticed (connections that failed to open, writes that failed).
    pub notes: Vec<String>,
}

/// Why a run could not be made.
#[derive(Debug)]
pub enum RunError {
    /// A job cannot be encoded.
    Job(JobError),
    /// Starting QEMU, or the relay's socket, failed.
    Io(io::Error),
    /// QEMU never connected its UART to the relay.
    NoUart {
        /// What QEMU printed.
        console: String,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Job(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "starting QEMU or the relay failed: {e}"),
            RunError::NoUart { console } => write!(f, "QEMU did not connect its UART to the relay:\n{console}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Io(e)
    }
}

/// `-icount shift=0` when `TLSPOST_HARNESS_ICOUNT` is `1`: QEMU then retires one instruction per
/// virtual nanosecond and the RISC-V instret counter counts them (without it, it follows the host's
/// clock).
fn icount() -> &'static [&'static str] {
    match std::env::var("TLSPOST_HARNESS_ICOUNT").as_deref() {
        Ok("1") => &["-icount", "shift=0"],
        _ => &[],
    }
}

/// Runs `elf` once under `qemu-system-riscv32 -machine virt` with `jobs`; stops QEMU after
/// `limit` (through `timeout`, so nothing outlives the run).
pub fn run(elf: &Path, jobs: &[Job], limit: Duration) -> Result<Run, RunError> {
    let encoded = jobs.iter().map(Job::encode).collect::<Result<VecDeque<_>, _>>();
    let encoded = encoded.map_err(RunError::Job)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut child = Command::new("timeout")
        .arg(limit.as_secs().max(1).to_string())
        .args([
            "qemu-system-riscv32",
            "-machine",
            "virt",
            "-bios",
            "none",
            "-display",
            "none",
        ])
        .args(["-monitor", "none", "-semihosting-config", "enable=on,target=native"])
        // Instructions counted exactly (a firmware's `rdinstret`), for the figures.
        .args(icount())
        .arg("-serial")
        .arg(format!("tcp:127.0.0.1:{port}"))
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = collect(child.stdout.take());
    let err = collect(child.stderr.take());
    let uart = accept(&listener, &mut child)?;
    let (wire, notes) = match uart {
        Some(uart) => Relay::new(uart, encoded)?.serve()?,
        None => (BTreeMap::new(), Vec::new()),
    };
    let status = child.wait()?.code();
    let console = joined(out) + &joined(err);
    if wire.is_empty() && notes.is_empty() && status != Some(0) && !console.contains("job ") {
        return Err(RunError::NoUart { console });
    }
    Ok(Run {
        console,
        status,
        wire,
        notes,
    })
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let mut bytes = Vec::new();
            let _ = p.read_to_end(&mut bytes);
            s = String::from_utf8_lossy(&bytes).into_owned();
        }
        s
    })
}

fn joined(h: JoinHandle<String>) -> String {
    h.join().unwrap_or_default()
}

/// Waits for QEMU's UART connection; `None` when QEMU ended (or 10 s passed) first.
fn accept(listener: &TcpListener, child: &mut std::process::Child) -> io::Result<Option<TcpStream>> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + NET_TIMEOUT;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                s.set_nodelay(true)?;
                return Ok(Some(s));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if child.try_wait()?.is_some() {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(None)
}

type Uart = Arc<Mutex<TcpStream>>;

fn send(uart: &Uart, kind: u8, id: u8, payload: &[u8]) -> io::Result<()> {
    let mut s = uart.lock().unwrap_or_else(PoisonError::into_inner);
    wire::write(&mut *s, kind, id, payload)
}

struct Relay {
    from_device: BufReader<TcpStream>,
    to_device: Uart,
    jobs: VecDeque<Vec<u8>>,
    conns: HashMap<u8, TcpStream>,
    readers: Vec<JoinHandle<(u8, RecordStats)>>,
    notes: Vec<String>,
}

impl Relay {
    fn new(uart: TcpStream, jobs: VecDeque<Vec<u8>>) -> io::Result<Relay> {
        Ok(Relay {
            from_device: BufReader::new(uart.try_clone()?),
            to_device: Arc::new(Mutex::new(uart)),
            jobs,
            conns: HashMap::new(),
            readers: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// Answers frames until QEMU closes the UART (the firmware powered off).
    fn serve(mut self) -> io::Result<(BTreeMap<u8, RecordStats>, Vec<String>)> {
        loop {
            let frame = match wire::read(&mut self.from_device) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                // QEMU ended (the firmware powered off), maybe with bytes it never read.
                Err(e) if matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset) => break,
                Err(e) => return Err(e),
            };
            self.handle(frame)?;
        }
        for c in self.conns.values() {
            let _ = c.shutdown(Shutdown::Both);
        }
        let wire = self.readers.into_iter().filter_map(|h| h.join().ok()).collect();
        Ok((wire, self.notes))
    }

    fn handle(&mut self, f: Frame) -> io::Result<()> {
        match f.kind {
            wire::ASK => {
                let answer = match &f.payload[..] {
                    b"job" => self.jobs.pop_front().unwrap_or_default(),
                    _ => Vec::new(),
                };
                send(&self.to_device, wire::ANSWER, 0, &answer)
            }
            wire::OPEN => {
                let target = String::from_utf8_lossy(&f.payload).into_owned();
                let why = match self.open(f.id, &target) {
                    Ok(()) => String::new(),
                    Err(e) => {
                        self.notes.push(format!("connection {} to {target}: {e}", f.id));
                        e.to_string()
                    }
                };
                send(&self.to_device, wire::OPENED, f.id, why.as_bytes())
            }
            wire::SEND => {
                if let Some(c) = self.conns.get_mut(&f.id)
                    && let Err(e) = c.write_all(&f.payload)
                {
                    self.notes.push(format!("connection {}: write failed: {e}", f.id));
                }
                Ok(())
            }
            wire::CLOSE => {
                if let Some(c) = self.conns.remove(&f.id) {
                    let _ = c.shutdown(Shutdown::Both);
                }
                Ok(())
            }
            other => {
                self.notes.push(format!("unknown frame kind 0x{other:02x}"));
                Ok(())
            }
        }
    }

    fn open(&mut self, id: u8, target: &str) -> io::Result<()> {
        let addr = target
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
        let conn = TcpStream::connect_timeout(&addr, NET_TIMEOUT)?;
        conn.set_read_timeout(Some(NET_TIMEOUT))?;
        conn.set_nodelay(true)?;
        let reading = conn.try_clone()?;
        let uart = Arc::clone(&self.to_device);
        self.readers.push(thread::spawn(move || forward(id, reading, &uart)));
        self.conns.insert(id, conn);
        Ok(())
    }
}

/// The server's bytes to the device, as they come, scanned for records; then how it ended.
fn forward(id: u8, mut conn: TcpStream, uart: &Uart) -> (u8, RecordStats) {
    let mut scan = RecordScan::default();
    let mut buf = vec![0u8; wire::MAX_PAYLOAD];
    let ended = loop {
        match conn.read(&mut buf) {
            Ok(0) => break String::new(),
            Ok(n) => {
                let got = buf.get(..n).unwrap_or_default();
                scan.feed(got);
                if send(uart, wire::RECEIVED, id, got).is_err() {
                    break String::new();
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break e.to_string(),
        }
    };
    let _ = send(uart, wire::ENDED, id, ended.as_bytes());
    (id, scan.stats())
}

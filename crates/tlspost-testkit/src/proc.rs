//! A server process the kit started: proven to be listening on its own ports, stopped by pid.
//!
//! Readiness is never "something accepts on the port". Linux lists every listening TCP socket in
//! `/proc/net/tcp` and `/proc/net/tcp6` with its inode, and every socket a process holds appears in
//! `/proc/PID/fd` as `socket:[INODE]`: a port is the child's own only when a LISTEN socket on it is
//! one of the child's descriptors. A port that another process listens on is reported as
//! [`StartError::PortTaken`], naming that process when it can be found.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

/// How long a server may take to listen before the fixture gives up.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a fixture did not start.
#[derive(Debug)]
pub enum StartError {
    /// Another process listens on the port the fixture chose.
    PortTaken {
        /// The port.
        port: u16,
        /// The process holding it, when `/proc` tells.
        holder: Option<u32>,
        /// What the fixture's own server wrote.
        output: String,
    },
    /// The server exited before it listened.
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// What it wrote (stderr and its log).
        output: String,
    },
    /// The server did not listen within [`START_TIMEOUT`].
    Timeout {
        /// What it wrote.
        output: String,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::PortTaken {
                port,
                holder: Some(pid),
                output,
            } => write!(
                f,
                "port {port} is held by another process (pid {pid}), not by this fixture's server: {output}"
            ),
            StartError::PortTaken { port, output, .. } => write!(
                f,
                "port {port} is held by another process, not by this fixture's server: {output}"
            ),
            StartError::Exited { status, output } => {
                write!(f, "the server exited with {status} before listening: {output}")
            }
            StartError::Timeout { output } => {
                write!(f, "the server did not listen within {START_TIMEOUT:?}: {output}")
            }
        }
    }
}

impl std::error::Error for StartError {}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`, …); `None` once the process is gone.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A port nobody listens on right now, chosen by the kernel. Another process may take it before
/// the server binds it: the fixtures then see [`StartError::PortTaken`] and try another.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port on 127.0.0.1")
}

/// `n` distinct ports nobody listens on right now, chosen by the kernel: each is held until all are
/// chosen, so none comes twice (as it may from `n` calls of [`free_port`]).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("an ephemeral port on 127.0.0.1"))
        .collect();
    held.iter().map(|l| l.local_addr().expect("addr").port()).collect()
}

/// An address that refuses connections for as long as it is held: a TCP socket bound to a port of
/// 127.0.0.2 (an address no fixture listens on) that never listens. A connection to it is reset,
/// and no other process can listen on that address and port meanwhile, whereas a port from
/// [`free_port`] may become another server's before the test connects to it.
pub struct RefusedAddr {
    _socket: rustix::fd::OwnedFd,
    addr: std::net::SocketAddrV4,
}

impl RefusedAddr {
    /// The address, 127.0.0.2:PORT.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr.into()
    }

    /// Its IP address, 127.0.0.2.
    pub fn ip(&self) -> std::net::Ipv4Addr {
        *self.addr.ip()
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// A new [`RefusedAddr`].
pub fn refused_addr() -> RefusedAddr {
    use rustix::net::{AddressFamily, SocketType, bind, getsockname, socket};
    let socket = socket(AddressFamily::INET, SocketType::STREAM, None).expect("a TCP socket");
    bind(&socket, &std::net::SocketAddrV4::new([127, 0, 0, 2].into(), 0)).expect("bind 127.0.0.2:0");
    let addr = getsockname(&socket)
        .ok()
        .and_then(|a| std::net::SocketAddrV4::try_from(a).ok())
        .expect("the bound address");
    RefusedAddr { _socket: socket, addr }
}

/// Inodes of the TCP sockets in LISTEN state on `port` (IPv4 and IPv6, any address).
pub fn listening_inodes(port: u16) -> HashSet<u64> {
    let mut out = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let local_port = cols[1].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port)
                && let Ok(inode) = cols[9].parse::<u64>()
            {
                out.insert(inode);
            }
        }
    }
    out
}

/// Inodes of the sockets process `pid` holds.
pub fn socket_inodes(pid: u32) -> HashSet<u64> {
    let mut out = HashSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return out;
    };
    for e in dir.flatten() {
        if let Ok(target) = std::fs::read_link(e.path())
            && let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        {
            out.insert(inode);
        }
    }
    out
}

/// Whether process `pid` holds a listening socket on `port`.
pub fn owns_listener(pid: u32, port: u16) -> bool {
    let listening = listening_inodes(port);
    !listening.is_empty() && !socket_inodes(pid).is_disjoint(&listening)
}

/// The process holding a listening socket on `port`, if `/proc` shows one this user may see.
pub fn listener_holder(port: u16) -> Option<u32> {
    let listening = listening_inodes(port);
    if listening.is_empty() {
        return None;
    }
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| !socket_inodes(pid).is_disjoint(&listening))
}

/// A child process the kit started; stopped on drop (SIGTERM by pid, SIGKILL after 5 s).
pub struct Proc {
    name: String,
    child: Child,
    stderr: tempfile::NamedTempFile,
    log: Option<PathBuf>,
}

impl Proc {
    /// Starts `cmd` (stdin from /dev/null, stderr into a temporary file; stdout as `cmd` set it).
    /// `log` is a log file of the server's own to show in errors.
    pub fn spawn(name: &str, mut cmd: Command, log: Option<PathBuf>) -> Proc {
        let stderr = tempfile::NamedTempFile::new().expect("stderr file");
        cmd.stdin(Stdio::null()).stderr(stderr.reopen().expect("stderr file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e} (install the Debian package that provides it)"));
        Proc {
            name: name.to_string(),
            child,
            stderr,
            log,
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child, e.g. to take its stdout.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// What the server wrote to stderr and to its log so far.
    pub fn output(&self) -> String {
        let mut s = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
        if let Some(log) = &self.log {
            s.push_str(&std::fs::read_to_string(log).unwrap_or_default());
        }
        format!("[{}] {}", self.name, s.trim())
    }

    /// Whether it has exited (and how).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until the child itself listens on every port in `ports`.
    pub fn wait_listening(&mut self, ports: &[u16]) -> Result<(), StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let mut all = true;
            for &port in ports {
                if owns_listener(self.pid(), port) {
                    continue;
                }
                all = false;
                // Someone else listens there: this server cannot get the port.
                if !listening_inodes(port).is_empty() && !owns_listener(self.pid(), port) {
                    let holder = listener_holder(port).filter(|&h| h != self.pid());
                    if holder.is_some() || self.exited().is_some() {
                        return Err(StartError::PortTaken {
                            port,
                            holder,
                            output: self.output(),
                        });
                    }
                }
            }
            if all {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                let output = self.output();
                // Its bind failed: another socket had the port then, and may be gone by now (another
                // fixture's port pick, held for an instant) or not be listening (a connection's
                // local port), so nothing above saw a holder.
                if output.to_ascii_lowercase().contains("address already in use") {
                    let port = ports
                        .iter()
                        .copied()
                        .find(|p| output.contains(&format!(":{p}")))
                        .unwrap_or(ports[0]);
                    return Err(StartError::PortTaken {
                        port,
                        holder: None,
                        output,
                    });
                }
                return Err(StartError::Exited { status, output });
            }
            if Instant::now() > deadline {
                return Err(StartError::Timeout { output: self.output() });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the child by pid.
    pub fn signal(&self, signal: Signal) {
        if let Some(pid) = Pid::from_raw(self.pid() as i32) {
            let _ = kill_process(pid, signal);
        }
    }

    /// SIGKILL now, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; SIGKILL if it has not exited after 5 s.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        self.signal(Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `attempt` with fresh ports until it does not fail with [`StartError::PortTaken`] (at most
/// 10 times); any other failure panics with the server's output.
pub fn start_retrying<T>(what: &str, mut attempt: impl FnMut() -> Result<T, StartError>) -> T {
    let mut last = None;
    for _ in 0..10 {
        match attempt() {
            Ok(t) => return t,
            Err(e @ StartError::PortTaken { .. }) => last = Some(e),
            Err(e) => panic!("{what} did not start: {e}"),
        }
    }
    panic!("{what} did not start: {}", last.expect("an attempt"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_of_this_process_is_found_and_named() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        assert!(owns_listener(std::process::id(), port));
        assert_eq!(listener_holder(port), Some(std::process::id()));
        drop(l);
        assert!(!owns_listener(std::process::id(), port));
    }

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(64);
        assert_eq!(ports.iter().collect::<HashSet<_>>().len(), 64);
    }

    #[test]
    fn a_refused_addr_refuses_and_cannot_be_listened_on() {
        let r = refused_addr();
        let e = std::net::TcpStream::connect(r.addr()).expect_err("refused");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(std::net::TcpListener::bind(r.addr()).is_err(), "{} is held", r.addr());
    }

    #[test]
    fn a_server_whose_bind_failed_reports_the_port_taken() {
        let port = free_port();
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!(
            "echo 'bind() to 127.0.0.1:{port} failed (98: Address already in use)' >&2; exit 1"
        ));
        let mut p = Proc::spawn("sh", cmd, None);
        match p.wait_listening(&[port]) {
            Err(StartError::PortTaken { port: p, holder, .. }) => assert_eq!((p, holder), (port, None)),
            Err(e) => panic!("expected PortTaken, got {e}"),
            Ok(()) => panic!("sh listened"),
        }
    }

    #[test]
    fn a_connected_socket_is_not_a_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let _c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (_s, _) = l.accept().expect("accept");
        drop(l);
        // Established sockets on the port remain; none listens.
        assert!(listening_inodes(port).is_empty());
    }
}

//! The tlspost capture server: point a device at it and see exactly what it sent.
//!
//! It listens on plain HTTP and HTTPS, keeps the exact bytes of every request (also those that do
//! not parse) with arrival times, read counts, the peer and the TLS ClientHello facts (SNI, ALPN,
//! versions, cipher suites, groups, signature algorithms, JA4), lints each request with
//! `tlspost-lint`, stores it in SQLite before answering, and shows it all in a web UI and a JSON API
//! under `/_tlspost/` on the HTTP listener.
//!
//! ```no_run
//! use tlspost_capture::{Config, Server};
//!
//! let dir = std::env::temp_dir().join("tlspost-doc");
//! let mut config = Config::new(&dir);
//! config.http = Some("127.0.0.1:0".parse().unwrap());
//! config.https = Some("127.0.0.1:0".parse().unwrap());
//! let server = Server::start(config).unwrap();
//! println!("UI at http://{}/_tlspost/", server.http_addr().unwrap());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

pub mod clienthello;
mod conn;
pub mod framing;
mod json;
mod mask;
pub mod pki;
pub mod record;
pub mod respond;
pub mod store;
mod tls;
mod ui;

pub use record::{Capture, FindingRecord, TlsFacts};
pub use respond::{Profile, RespondRule, RuleError};
pub use store::SyncMode;

/// Limits that keep a misbehaving client from taking the server down.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request head, in bytes (larger: 431, recorded).
    pub max_head: usize,
    /// Largest request body, in bytes (larger: 413, recorded).
    pub max_body: u64,
    /// Longest wait for the next bytes of a request (and for the first byte on a kept-alive connection).
    pub read_timeout: Duration,
    /// Longest time one request (head and body) may take to arrive (slowloris).
    pub request_timeout: Duration,
    /// Most connections served at once; more wait in the accept queue.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 64 * 1024,
            max_body: 8 * 1024 * 1024,
            read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 2048,
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Plain HTTP listener (captures, plus the UI and API under `/_tlspost/`).
    pub http: Option<SocketAddr>,
    /// HTTPS listener (captures).
    pub https: Option<SocketAddr>,
    /// Data directory: CA, server certificate, SQLite store.
    pub data_dir: PathBuf,
    /// Extra names (DNS or IP) for the server certificate, besides localhost, 127.0.0.1 and ::1.
    pub names: Vec<String>,
    /// Keep at most this many captures (oldest deleted first; 0 counts as 1).
    pub keep: Option<u64>,
    /// Scripted responses, first match wins.
    pub rules: Vec<RespondRule>,
    /// Strictness profile.
    pub profile: Profile,
    /// Limits.
    pub limits: Limits,
    /// Connection threads, each running its own single-threaded runtime; connections are handed
    /// to them in turn (0: one per core).
    pub workers: usize,
    /// What a commit (and so a response) waits for.
    pub sync: SyncMode,
}

impl Config {
    /// The defaults: HTTP on 127.0.0.1:8080, HTTPS on 127.0.0.1:8443, data in `data_dir`.
    pub fn new(data_dir: impl AsRef<Path>) -> Self {
        Config {
            http: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            https: Some(SocketAddr::from(([127, 0, 0, 1], 8443))),
            data_dir: data_dir.as_ref().to_path_buf(),
            names: Vec::new(),
            keep: None,
            rules: Vec::new(),
            profile: Profile::Default,
            limits: Limits::default(),
            workers: 0,
            sync: SyncMode::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or socket operation failed.
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path or address.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Creating or loading a certificate or key failed.
    Cert {
        /// What was being done.
        what: &'static str,
        /// The library's message.
        detail: String,
    },
    /// Opening the SQLite store failed.
    Store {
        /// What was being done.
        what: &'static str,
        /// Database path.
        path: String,
        /// SQLite's message.
        detail: String,
    },
    /// The TLS configuration was refused.
    Tls(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { what, path, source } => write!(f, "cannot {what} ({path}): {source}"),
            Error::Cert { what, detail } => write!(
                f,
                "cannot {what}: {detail}; remove the data directory's *.pem/*.key files to regenerate"
            ),
            Error::Store { what, path, detail } => write!(
                f,
                "cannot {what} at {path}: {detail}; is another `tlspost serve` using this --data directory?"
            ),
            Error::Tls(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub(crate) struct State {
    pub cfg: Config,
    pub store: store::Store,
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub ca_pem: String,
    pub conns: AtomicU64,
    pub slots: Arc<tokio::sync::Semaphore>,
    pub http_addr: Option<SocketAddr>,
    pub https_addr: Option<SocketAddr>,
    /// The worker runtimes connections are handed to, in turn.
    pub workers: Vec<tokio::runtime::Handle>,
    pub next_worker: AtomicUsize,
}

impl State {
    /// The worker runtime for the next connection (round robin).
    pub(crate) fn worker(&self) -> Option<&tokio::runtime::Handle> {
        let n = self.next_worker.fetch_add(1, Ordering::Relaxed);
        self.workers.get(n % self.workers.len().max(1))
    }
}

/// The connection threads: each runs a single-threaded runtime that owns the connections handed
/// to it, as nginx's worker processes do. Per request, nothing moves between threads but the
/// capture to the store and its acknowledgement: no work stealing, no waking a second worker to
/// look for work (with tokio's multi-threaded scheduler that cost more CPU than the requests'
/// TLS records).
struct Workers {
    handles: Vec<tokio::runtime::Handle>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    /// `n` workers (0: one per core).
    fn start(n: usize) -> Result<Workers, Error> {
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            n
        };
        let mut w = Workers {
            handles: Vec::with_capacity(n),
            stops: Vec::with_capacity(n),
            threads: Vec::with_capacity(n),
        };
        for i in 0..n {
            let failed = |source| Error::Io {
                what: "start the async runtime",
                path: String::new(),
                source,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("tlspost-serve")
                .build()
                .map_err(failed)?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            w.handles.push(rt.handle().clone());
            w.stops.push(stop);
            let thread = std::thread::Builder::new()
                .name("tlspost-serve".into())
                .spawn(move || {
                    store::Store::mark_lane(i);
                    rt.block_on(async {
                        let _ = stopped.await;
                    });
                    rt.shutdown_timeout(Duration::from_secs(2));
                })
                .map_err(failed)?;
            w.threads.push(thread);
        }
        Ok(w)
    }

    fn stop(&mut self) {
        for s in self.stops.drain(..) {
            let _ = s.send(());
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A listening socket on `addr` (address reuse on, as `TcpListener::bind` sets it), in the
/// current runtime.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// A running capture server; dropping it stops it.
pub struct Server {
    workers: Option<Workers>,
    state: Arc<State>,
}

impl Server {
    /// Create the data directory, PKI and store, bind the listeners and start serving in the background.
    pub fn start(config: Config) -> Result<Server, Error> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
            what: "create the data directory",
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let pki = pki::load_or_create(&config.data_dir, &config.names)?;
        let store = store::Store::open_with(&config.data_dir, config.keep, config.sync)?;
        let acceptor = tls::acceptor(&pki)?;
        let workers = Workers::start(config.workers)?;
        let lanes = workers
            .handles
            .iter()
            .map(|h| {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                h.spawn(store::deliver(rx));
                tx
            })
            .collect();
        store.set_lanes(lanes);
        let first = workers.handles.first().cloned().ok_or_else(|| Error::Io {
            what: "start the async runtime",
            path: String::new(),
            source: std::io::Error::other("no worker runtime"),
        })?;
        let bind = |addr: Option<SocketAddr>| -> Result<Option<tokio::net::TcpListener>, Error> {
            addr.map(|a| {
                // Registered with the first worker, which runs the accept loops.
                let _in_runtime = first.enter();
                listen(a).map_err(|source| Error::Io {
                    what: "listen",
                    path: a.to_string(),
                    source,
                })
            })
            .transpose()
        };
        let http = bind(config.http)?;
        let https = bind(config.https)?;
        let state = Arc::new(State {
            slots: Arc::new(tokio::sync::Semaphore::new(config.limits.max_connections.max(1))),
            http_addr: http.as_ref().and_then(|l| l.local_addr().ok()),
            https_addr: https.as_ref().and_then(|l| l.local_addr().ok()),
            cfg: config,
            store,
            acceptor,
            ca_pem: pki.ca_pem,
            conns: AtomicU64::new(0),
            workers: workers.handles.clone(),
            next_worker: AtomicUsize::new(0),
        });
        if let Some(l) = http {
            first.spawn(conn::accept_loop(state.clone(), l, false));
        }
        if let Some(l) = https {
            first.spawn(conn::accept_loop(state.clone(), l, true));
        }
        Ok(Server {
            workers: Some(workers),
            state,
        })
    }

    /// The bound HTTP address (the real port when configured with port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.state.http_addr
    }

    /// The bound HTTPS address.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.state.https_addr
    }

    /// The local CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.state.ca_pem
    }

    /// The store (for reading captures in-process).
    pub fn store(&self) -> &store::Store {
        &self.state.store
    }

    /// How many clients are subscribed to the live list.
    pub fn live_subscribers(&self) -> usize {
        self.state.store.events.receiver_count()
    }

    /// What to print at start: where to point a device, the CA in Arduino form.
    pub fn banner(&self) -> String {
        let mut s = String::new();
        if let Some(a) = self.http_addr() {
            s += &format!("tlspost serve: HTTP  on http://{a}/   (UI and API: http://{a}/_tlspost/)\n");
        }
        if let Some(a) = self.https_addr() {
            s += &format!("tlspost serve: HTTPS on https://{a}/\n");
        }
        s += &format!(
            "data: {} (ca.pem, captures.sqlite3); profile: {}; sync: {}\n\n",
            self.state.cfg.data_dir.display(),
            self.state.cfg.profile.name(),
            self.state.cfg.sync.name()
        );
        s += &pki::arduino_ca(&self.state.ca_pem);
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut w) = self.workers.take() {
            w.stop();
        }
    }
}

/// Start the server, print [`Server::banner`] to stdout and serve until the process ends.
pub fn serve_blocking(config: Config) -> Result<std::convert::Infallible, Error> {
    let server = Server::start(config)?;
    println!("{}", server.banner());
    loop {
        std::thread::park();
    }
}

//! Listening, accepting and the worker runtimes: the server's threads and sockets. Each accepted
//! connection goes to a worker, then to the TLS layer (HTTPS) or straight to the connection
//! handler (HTTP).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::access::Access;
use crate::budget::Budget;
use crate::config::Config;
use crate::conn::{self, ConnInfo};
use crate::error::Error;
use crate::forward::Forwarder;
use crate::line::Lines;
use crate::lock::DataLock;
use crate::pki;
use crate::state::State;
use crate::store::{self, Store};
use crate::tls;

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
                    Store::mark_lane(i);
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
    /// Let go last, once the workers have stopped.
    _lock: DataLock,
}

impl Server {
    /// Create the data directory, PKI and store, bind the listeners and start serving in the background.
    pub fn start(config: Config) -> Result<Server, Error> {
        config.validate().map_err(Error::Config)?;
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
            what: "create the data directory",
            path: config.data_dir.display().to_string(),
            source,
        })?;
        // Before anything in it is read or made: one server per data directory.
        let lock = DataLock::acquire(&config.data_dir)?;
        let pki = pki::load_or_create(&config.data_dir, &config.names)?;
        let store = Store::open_with(&config.data_dir, config.keep, config.sync)?;
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
        let http_addr = http.as_ref().and_then(|l| l.local_addr().ok());
        let ui = Access::new(http_addr, &config.names).map_err(|e| Error::Io {
            what: "make the UI's token",
            path: String::new(),
            source: std::io::Error::other(e),
        })?;
        let forward = match &config.forward {
            Some(f) => Some(Arc::new(
                Forwarder::new(f.clone()).map_err(|e| Error::Upstream(e.to_string()))?,
            )),
            None => None,
        };
        let lines = if config.lines { Lines::start() } else { None };
        let state = Arc::new(State {
            forward,
            lines,
            slots: Arc::new(tokio::sync::Semaphore::new(config.limits.max_connections.max(1))),
            budget: Budget::new(config.limits.memory_budget),
            http_addr,
            https_addr: https.as_ref().and_then(|l| l.local_addr().ok()),
            cfg: config,
            store,
            acceptor,
            ca_pem: pki.ca_pem,
            conns: AtomicU64::new(0),
            workers: workers.handles.clone(),
            next_worker: AtomicUsize::new(0),
            ui,
        });
        if let Some(l) = http {
            first.spawn(accept_loop(state.clone(), l, false));
        }
        if let Some(l) = https {
            first.spawn(accept_loop(state.clone(), l, true));
        }
        Ok(Server {
            workers: Some(workers),
            state,
            _lock: lock,
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

    /// The token the UI and API ask for when the HTTP listener is not loopback-only (`None` on
    /// loopback, where the `Host` check is enough): `?token=` once in a browser, then a cookie, or
    /// `Authorization: Bearer` from an API client. New at each start.
    pub fn ui_token(&self) -> Option<&str> {
        self.state.ui.token()
    }

    /// The local CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.state.ca_pem
    }

    /// The store (for reading captures in-process).
    pub fn store(&self) -> &Store {
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
            if self.ui_token().is_some() {
                s += &format!(
                    "tlspost serve: HTTP  on http://{a}/   (UI and API under /_tlspost/, with the token below)\n"
                );
            } else {
                s += &format!("tlspost serve: HTTP  on http://{a}/   (UI and API: http://{a}/_tlspost/)\n");
            }
        }
        if let Some(a) = self.https_addr() {
            s += &format!("tlspost serve: HTTPS on https://{a}/\n");
        }
        if self.http_addr().is_some() && self.ui_token().is_some() {
            s += &format!(
                "UI: {}\n    The HTTP listener is not loopback-only, so the UI and API ask for this token (new at \
                 each start): open the address once and the browser keeps it in a cookie; API clients send \
                 `Authorization: Bearer TOKEN`.\n",
                self.state.ui.ui_url(&self.state.cfg.names)
            );
        }
        if let Some(f) = &self.state.forward {
            s += &format!(
                "forward: each request, once recorded, goes on to {} and its answer comes back (recorded too)\n",
                f.cfg.origin()
            );
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

/// An accepted connection on its way to a worker.
enum Socket {
    /// The worker is the accepting runtime.
    Here(tokio::net::TcpStream),
    /// Taken out of the accepting runtime, to be registered with the worker's.
    Moved(std::net::TcpStream),
}

/// Accept connections on `listener` and hand each to a worker: to the TLS layer when `https`,
/// else to the connection handler.
async fn accept_loop(state: Arc<State>, listener: tokio::net::TcpListener, https: bool) {
    loop {
        let Ok(permit) = state.slots.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // Out of descriptors or a connection reset before accept: back off, keep serving.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let st = state.clone();
        let here = tokio::runtime::Handle::current();
        let worker = state.worker().cloned().unwrap_or_else(|| here.clone());
        // To another worker's runtime the socket moves as a plain one and is registered there.
        let socket = if worker.id() == here.id() {
            Socket::Here(tcp)
        } else {
            match tcp.into_std() {
                Ok(s) => Socket::Moved(s),
                Err(_) => continue,
            }
        };
        worker.spawn(async move {
            let _permit = permit;
            let tcp = match socket {
                Socket::Here(t) => t,
                Socket::Moved(s) => match tokio::net::TcpStream::from_std(s) {
                    Ok(t) => t,
                    Err(_) => return,
                },
            };
            let info = ConnInfo {
                peer: peer.to_string(),
                tls: None,
                accepted: Instant::now(),
                id: st.conns.fetch_add(1, Ordering::Relaxed) + 1,
            };
            if https {
                tls::handle(st, tcp, info).await;
            } else {
                conn::serve(st, tcp, Vec::new(), info).await;
            }
        });
    }
}

//! What every connection shares: the configuration, the store, the TLS acceptor, the CA, the
//! connection slots, the worker runtimes connections are handed to and the UI's access rules.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::access::Access;
use crate::budget::Budget;
use crate::config::Config;
use crate::forward::Forwarder;
use crate::line::Lines;
use crate::record::Capture;
use crate::store::Store;

pub(crate) struct State {
    pub cfg: Config,
    pub store: Store,
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub ca_pem: String,
    pub conns: AtomicU64,
    pub slots: Arc<tokio::sync::Semaphore>,
    /// Request bytes held in memory, over all connections (`Limits::memory_budget`).
    pub budget: Arc<Budget>,
    pub http_addr: Option<SocketAddr>,
    pub https_addr: Option<SocketAddr>,
    /// The worker runtimes connections are handed to, in turn.
    pub workers: Vec<tokio::runtime::Handle>,
    pub next_worker: AtomicUsize,
    /// Who may use the UI and API: the names `Host` may carry, the token beyond loopback.
    pub ui: Access,
    /// Forward mode: the upstream and its connections.
    pub forward: Option<Arc<Forwarder>>,
    /// The terminal lines (off: `None`).
    pub lines: Option<Lines>,
}

impl State {
    /// The worker runtime for the next connection (round robin).
    pub(crate) fn worker(&self) -> Option<&tokio::runtime::Handle> {
        let n = self.next_worker.fetch_add(1, Ordering::Relaxed);
        self.workers.get(n % self.workers.len().max(1))
    }

    /// Store a capture's final record and print its terminal line: the stored capture.
    pub(crate) async fn record(&self, cap: Capture) -> Result<Arc<Capture>, String> {
        let stored = self.store.put(cap).await;
        if let (Some(lines), Ok(c)) = (&self.lines, &stored) {
            lines.say(c);
        }
        stored
    }
}

//! What to run: listeners, data directory, rules, profile, limits, workers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::respond::{Profile, RespondRule};
use crate::store::SyncMode;

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

//! What to run: listeners, data directory, rules, profile, limits, workers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::forward::Forward;
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
    /// Bytes of request buffers all connections together may hold beyond each one's small fixed
    /// allowance (32 KiB); a request that needs more while the rest is taken is refused with
    /// `503` and `Retry-After`, and recorded with what arrived. More than 0.
    pub memory_budget: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 64 * 1024,
            max_body: 8 * 1024 * 1024,
            read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 2048,
            memory_budget: 256 * 1024 * 1024,
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Plain HTTP listener (captures, plus the UI and API under `/_tlspost/`, which answer only to
    /// its own names and, when it is not loopback-only, ask for [`crate::Server::ui_token`]).
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
    /// Forward mode: each request, once recorded, goes on to this upstream, and the upstream's
    /// response comes back (recorded too) instead of the server's own answer.
    pub forward: Option<Forward>,
    /// One line per capture and per failed handshake on stdout, as they happen.
    pub lines: bool,
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
            forward: None,
            lines: false,
        }
    }
}

/// The smallest request head limit ([`Limits::max_head`]): a browser's requests for the UI, the
/// cookie with the UI's token included, take about 1 KiB of head; this leaves room to spare.
pub const MIN_HEAD: usize = 4096;

/// Why a [`Config`] cannot run, as facts about its values; [`Config::validate`] finds it and
/// [`crate::Server::start`] refuses to start with it ([`crate::Error::Config`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`Limits::max_connections`] is 0: no connection would ever be served.
    NoConnections,
    /// [`Limits::max_head`] is below [`MIN_HEAD`].
    HeadTooSmall {
        /// The limit given.
        max_head: usize,
        /// The least it may be ([`MIN_HEAD`]).
        least: usize,
    },
    /// A name for the server certificate ([`Config::names`]) is empty, or neither a DNS name
    /// nor an IP address.
    BadName(String),
    /// [`Limits::memory_budget`] is 0: every request past a connection's allowance would be refused.
    NoMemoryBudget,
    /// A rule's header ([`RespondRule::headers`]) has a name that is not a token, or a CR, LF or
    /// NUL in its value.
    RuleHeader {
        /// Which rule (0-based, in [`Config::rules`]).
        rule: usize,
        /// The header's name.
        name: String,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::NoConnections => write!(
                f,
                "at most 0 connections at once (max_connections) would serve no connection at all: allow at least 1"
            ),
            ConfigError::HeadTooSmall { max_head, least } => write!(
                f,
                "a request head limit (max_head) of {max_head} bytes is below {least}: the UI's own \
                 requests from a browser would be refused"
            ),
            ConfigError::NoMemoryBudget => write!(
                f,
                "a memory budget (memory_budget) of 0 bytes would refuse every request larger than a \
                 connection's 32 KiB allowance: give more than 0 (the default is 256 MiB)"
            ),
            ConfigError::BadName(n) if n.is_empty() => write!(
                f,
                "a name for the server certificate is empty: give a DNS name or an IP address the clients connect to"
            ),
            ConfigError::BadName(n) => write!(
                f,
                "the name `{}` for the server certificate is neither a DNS name nor an IP address",
                n.escape_debug()
            ),
            ConfigError::RuleHeader { rule, name } => write!(
                f,
                "rule {}: header `{}` is not a header line (a name of token characters, a value without \
                 CR, LF or NUL, RFC 9110 §5.5): it would split the response's head",
                rule + 1,
                name.escape_debug()
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Whether `name` can be a name in the server certificate: an IP address, or a DNS name
/// (a leading `*.` allowed).
fn cert_name_ok(name: &str) -> bool {
    use rustls::pki_types::ServerName;
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let dns = name.strip_prefix("*.").unwrap_or(name);
    !dns.is_empty() && matches!(ServerName::try_from(dns), Ok(ServerName::DnsName(_)))
}

impl Config {
    /// Whether this configuration can run: the first value that cannot, as a fact about it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.limits.max_connections == 0 {
            return Err(ConfigError::NoConnections);
        }
        if self.limits.memory_budget == 0 {
            return Err(ConfigError::NoMemoryBudget);
        }
        if self.limits.max_head < MIN_HEAD {
            return Err(ConfigError::HeadTooSmall {
                max_head: self.limits.max_head,
                least: MIN_HEAD,
            });
        }
        if let Some(n) = self.names.iter().find(|n| !cert_name_ok(n)) {
            return Err(ConfigError::BadName(n.clone()));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some((name, _)) = rule.headers.iter().find(|(n, v)| !crate::respond::header_ok(n, v)) {
                return Err(ConfigError::RuleHeader {
                    rule: i,
                    name: name.clone(),
                });
            }
        }
        Ok(())
    }
}

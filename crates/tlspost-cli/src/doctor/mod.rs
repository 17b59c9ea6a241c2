//! `tlspost doctor`: walk the path a device's HTTPS POST takes — DNS, TCP, TLS, the request, the
//! edge — and say per step whether it is fine, and if not, why and what to change.
//!
//! The steps only read facts and hand them to the libraries that judge them: `tlspost-certs`
//! (chain, pinned roots, what to pin), `tlspost-lint` (the request bytes), `tlspost_proto::edge`
//! (who answered). The real request is sent only with `--send`, once, never retried.

mod edge;
mod net;
mod render;
mod request;
mod tls;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use render::{json, text};
pub use request::DeviceRequest;

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Nothing to change.
    Ok,
    /// Works today, but will break or breaks for some devices.
    Warn,
    /// The device's POST fails here.
    Fail,
    /// Not run, because an earlier step failed or a flag turned it off.
    Skip,
}

impl Mark {
    /// `ok`, `warn`, `FAIL` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Ok => "ok",
            Mark::Warn => "warn",
            Mark::Fail => "FAIL",
            Mark::Skip => "skip",
        }
    }
}

/// The steps, in the order the device meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// 1: the host name resolves.
    Dns,
    /// 2: a TCP connection opens.
    Tcp,
    /// 3: TLS: handshake, chain, pinned roots, SNI.
    Tls,
    /// 4: the request bytes the device sends.
    Request,
    /// 5: the CDN edge (probes, or the real request with `--send`).
    Edge,
}

impl Step {
    /// The step's number, 1 to 5.
    pub fn number(self) -> u8 {
        match self {
            Step::Dns => 1,
            Step::Tcp => 2,
            Step::Tls => 3,
            Step::Request => 4,
            Step::Edge => 5,
        }
    }

    /// The step's short name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Dns => "dns",
            Step::Tcp => "tcp",
            Step::Tls => "tls",
            Step::Request => "request",
            Step::Edge => "edge",
        }
    }
}

/// One line of the report: a step's verdict on one thing.
#[derive(Clone, Debug)]
pub struct Check {
    /// Which step.
    pub step: Step,
    /// The verdict.
    pub mark: Mark,
    /// What was checked and found, in one line.
    pub title: String,
    /// Facts worth showing under the line (addresses, the chain, findings' codes).
    pub details: Vec<String>,
    /// Why it is a problem (non-ok only).
    pub why: Option<String>,
    /// What to change (non-ok only).
    pub fix: Option<String>,
}

impl Check {
    fn new(step: Step, mark: Mark, title: impl Into<String>) -> Self {
        Check {
            step,
            mark,
            title: title.into(),
            details: Vec::new(),
            why: None,
            fix: None,
        }
    }

    fn ok(step: Step, title: impl Into<String>) -> Self {
        Self::new(step, Mark::Ok, title)
    }

    fn bad(step: Step, mark: Mark, title: impl Into<String>, why: impl Into<String>, fix: impl Into<String>) -> Self {
        let mut c = Self::new(step, mark, title);
        c.why = Some(why.into());
        c.fix = Some(fix.into());
        c
    }

    fn skip(step: Step, title: impl Into<String>) -> Self {
        Self::new(step, Mark::Skip, title)
    }

    fn detail(mut self, d: impl Into<String>) -> Self {
        self.details.push(d.into());
        self
    }
}

/// Everything `tlspost doctor` was asked to look at.
#[derive(Clone, Debug)]
pub struct Options {
    /// The URL the device posts to.
    pub url: String,
    /// `HOST:PORT:ADDR` overrides, like curl's `--resolve`.
    pub resolve: Vec<String>,
    /// Budget for each TCP connect and each TLS handshake.
    pub connect_timeout: Duration,
    /// The roots the device pins (PEM or DER files).
    pub cacert: Vec<PathBuf>,
    /// More candidate roots for the recommendation (e.g. a private CA).
    pub roots: Vec<PathBuf>,
    /// Warn when a root expires within this many days.
    pub warn_days: i64,
    /// What the device sends.
    pub request: DeviceRequest,
    /// Send the device's request once (it may have side effects).
    pub send: bool,
}

/// Why the doctor could not start: a usage problem (exit 2), not a finding about the server.
#[derive(Debug)]
#[non_exhaustive]
pub enum DoctorError {
    /// The URL cannot be used.
    Url {
        /// As given.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// A `--resolve` entry cannot be used.
    Resolve {
        /// As given.
        given: String,
        /// What is wrong.
        why: String,
    },
    /// A file could not be read.
    File {
        /// Which option.
        flag: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        why: String,
    },
    /// A flag's value cannot be used.
    Flag {
        /// Which option.
        flag: &'static str,
        /// What is wrong and what to give instead.
        why: String,
    },
}

impl fmt::Display for DoctorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DoctorError::Url { url, why } => write!(
                f,
                "cannot use URL {url:?}: {why}; give the URL the device posts to, e.g. https://api.example.com/oauth/token"
            ),
            DoctorError::Resolve { given, why } => write!(
                f,
                "--resolve {given:?}: {why}; expected HOST:PORT:ADDR, e.g. api.example.com:443:192.0.2.10"
            ),
            DoctorError::File { flag, path, why } => write!(f, "{flag} {}: {why}", path.display()),
            DoctorError::Flag { flag, why } => write!(f, "{flag}: {why}"),
        }
    }
}

impl std::error::Error for DoctorError {}

/// The URL's parts the steps need (owned).
#[derive(Clone, Debug)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    /// The port as written in the URL, when not the scheme's default.
    explicit_port: Option<u16>,
    path: String,
    host_ip: Option<IpAddr>,
}

impl Target {
    fn parse(url: &str) -> Result<Target, DoctorError> {
        let u = tlspost_proto::url::Url::parse(url).map_err(|e| DoctorError::Url {
            url: url.to_string(),
            why: e.to_string(),
        })?;
        Ok(Target {
            https: u.scheme == tlspost_proto::Scheme::Https,
            host: u.host.to_string(),
            port: u.port_or_default(),
            explicit_port: u.port,
            path: u.target.to_string(),
            host_ip: u.host.parse().ok(),
        })
    }

    /// `host:port`, IPv6 in brackets.
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `scheme://host[:port]` for building URLs with another path.
    fn origin(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = self.explicit_port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}://{host}{port}", if self.https { "https" } else { "http" })
    }
}

/// The report: every check, in step order.
#[derive(Clone, Debug)]
pub struct Report {
    /// The URL examined.
    pub url: String,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.mark == Mark::Fail)
    }

    fn count(&self, m: Mark) -> usize {
        self.checks.iter().filter(|c| c.mark == m).count()
    }
}

/// Runs every step. Usage problems (bad URL, unreadable files) come back as `Err` before any I/O.
pub fn run(opts: &Options) -> Result<Report, DoctorError> {
    let target = Target::parse(&opts.url)?;
    let overrides = net::overrides(&opts.resolve, &target)?;
    let trust = tls::Pinned::load(&opts.cacert, &opts.roots)?;
    let req = request::build(&opts.request, &opts.url)?;

    let mut checks = Vec::new();
    let addrs = net::dns(&target, overrides, &mut checks);
    let connected: Option<SocketAddr> = match addrs {
        Some(a) => net::tcp(&a, opts.connect_timeout, &mut checks),
        None => {
            checks.push(Check::skip(Step::Tcp, "not tried: the host did not resolve"));
            None
        }
    };
    let tls_state = tls::run(&target, connected, opts, &trust, &mut checks);
    request::lint(&req, &target, &mut checks);
    edge::run(&target, connected, opts, &req, &tls_state, &mut checks);
    Ok(Report {
        url: opts.url.clone(),
        checks,
    })
}

//! The report: verdicts in the order the device meets them, each a cause with its facts, the
//! consequences that follow from it, how bad it is, why, and the fix.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tlspost::probe::ConnectFailure;
use tlspost_proto::Phase;

use crate::ser;

/// How a verdict came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Nothing to change.
    Ok,
    /// Works today, but will break, or breaks for some devices.
    Warn,
    /// The device's POST fails here.
    Fail,
    /// Not run, because an earlier step failed or it was not asked for.
    Skip,
}

impl Severity {
    /// `ok`, `warn`, `FAIL` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warn => "warn",
            Severity::Fail => "FAIL",
            Severity::Skip => "skip",
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
    /// 5: the CDN edge (probes, or the device's request sent once).
    Edge,
    /// 6: the device's TLS stack (the profiles of [`crate::profile`]).
    Device,
}

impl Step {
    /// The step's number, 1 to 6.
    pub fn number(self) -> u8 {
        match self {
            Step::Dns => 1,
            Step::Tcp => 2,
            Step::Tls => 3,
            Step::Request => 4,
            Step::Edge => 5,
            Step::Device => 6,
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
            Step::Device => "device",
        }
    }
}

/// Who is affected by a cause. Room for the device profiles of a later version (a TLS stack each:
/// embedded-tls, mbedTLS, BearSSL…), which will each be a party with its own verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Party {
    /// The device, with the certificates it pins.
    Device,
    /// A client that trusts Mozilla's roots (browsers, curl, a device with a public root bundle).
    Mozilla,
}

/// What follows from a cause, for one party.
#[derive(Clone, Debug)]
pub struct Consequence {
    /// Who.
    pub party: Party,
    /// What happens to it, in one sentence.
    pub text: String,
}

/// How the body of an answer was delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// The status says there is none (1xx, 204, 304).
    NoBody,
    /// Chunked, ended by the last chunk.
    Chunked,
    /// `Content-Length`, all bytes read.
    Length,
    /// Neither: the body ended when the server closed the connection.
    Close,
}

/// Why the device's request was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Withheld {
    /// The device would refuse the server's certificate.
    DeviceRefuses,
    /// The device trusts Mozilla's roots, and they do not verify the chain.
    MozillaRefuses,
}

/// The cause behind a verdict, with its facts. What a verdict is about; the CLI keys its own
/// advice (flags to try) on it. Serialized (e.g. as JSON) it is an object whose `kind` names the
/// cause in snake_case (`missing_intermediate`, `expired`…), with the facts beside it; durations
/// are milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", rename_all_fields = "snake_case")]
#[non_exhaustive]
pub enum Cause {
    /// The step did not run; the title says why.
    NotRun,
    /// The host's addresses were given (not asked of DNS).
    Overridden {
        /// The host.
        host: String,
        /// The addresses given for it.
        addrs: Vec<IpAddr>,
    },
    /// The host is an IP address.
    IpAddress,
    /// DNS answered with addresses.
    Resolved {
        /// The host.
        host: String,
        /// The addresses.
        addrs: Vec<IpAddr>,
        /// How long the lookup took.
        #[serde(serialize_with = "ser::ms")]
        took: Duration,
    },
    /// The resolver answered, but with no address.
    NoAddress {
        /// The host.
        host: String,
    },
    /// The name does not resolve.
    DnsFailed {
        /// The host.
        host: String,
        /// The resolver's message.
        error: String,
    },
    /// A TCP connection opened.
    Connected {
        /// The address.
        addr: SocketAddr,
        /// How long the connect took.
        #[serde(serialize_with = "ser::ms")]
        took: Duration,
        /// Whether it took so long that a device's connect timeout is at risk.
        slow: bool,
    },
    /// No TCP connection: every address refused.
    Refused {
        /// The port.
        port: u16,
    },
    /// A phase did not finish within its budget.
    Timeout {
        /// Which phase.
        #[serde(serialize_with = "ser::phase")]
        phase: Phase,
        /// The budget.
        #[serde(serialize_with = "ser::ms")]
        after: Duration,
    },
    /// No TCP connection for another reason (no route, an OS error).
    ConnectFailed {
        /// The first address's failure.
        #[serde(serialize_with = "ser::display")]
        first: ConnectFailure,
    },
    /// The URL is plain HTTP.
    PlainHttp,
    /// The URL is `http://` but the port answers with TLS.
    HttpToTlsPort {
        /// The port.
        port: u16,
    },
    /// The URL is `https://` but the port answers a ClientHello with plain HTTP.
    TlsToHttpPort {
        /// The port.
        port: u16,
    },
    /// The handshake completed.
    Handshake {
        /// The SNI name sent, if any.
        sni: Option<String>,
        /// How many certificates the server sent.
        certificates: usize,
    },
    /// The server refused the SNI name with an alert.
    SniRefused {
        /// The name sent.
        sni: String,
    },
    /// The URL is an IP address, so no SNI is sent, and the server refuses a handshake without it.
    SniRequired,
    /// The handshake failed otherwise.
    HandshakeFailed,
    /// A served certificate does not parse.
    BadCertificate,
    /// The chain verifies to Mozilla's roots.
    PublicChain {
        /// The roots' names.
        roots: Vec<String>,
    },
    /// The chain verifies to a private root given as a candidate or pinned.
    PrivateChain {
        /// The root's name.
        root: String,
    },
    /// Only the device's pinned (non-root) certificates verify the chain.
    PinnedOnly,
    /// The server does not send an intermediate the leaf needs.
    MissingIntermediate {
        /// The missing issuer's name.
        issuer: String,
        /// The certificate it issued.
        of: String,
    },
    /// The chain ends at a root nobody trusts here.
    UntrustedRoot {
        /// The issuer at the top of the chain.
        top: String,
    },
    /// A served certificate has expired.
    Expired {
        /// Its position in the chain, from 0.
        index: usize,
        /// Its name.
        name: String,
        /// Its `notAfter`, Unix seconds.
        not_after: i64,
    },
    /// A served certificate is not valid yet.
    NotYetValid {
        /// Its position in the chain, from 0.
        index: usize,
        /// Its name.
        name: String,
        /// Its `notBefore`, Unix seconds.
        not_before: i64,
    },
    /// The leaf is not valid for the host.
    NameMismatch {
        /// The host.
        host: String,
        /// The names the leaf holds.
        names: Vec<String>,
    },
    /// The chain is sent out of order.
    OutOfOrder,
    /// The server sends a certificate on no path.
    ExtraCertificate,
    /// The device's pinned certificates verify the chain.
    DeviceAccepts,
    /// The device's pinned certificates do not verify the chain.
    PinMismatch,
    /// The device pins a certificate that is not a root.
    PinnedNotRoot {
        /// Its name.
        name: String,
        /// Whether it is a leaf (else an intermediate).
        leaf: bool,
    },
    /// A pinned root has expired.
    PinnedRootExpired {
        /// Its name.
        name: String,
        /// Its `notAfter`, Unix seconds.
        not_after: i64,
    },
    /// A pinned root expires within the warning window.
    PinnedRootExpiring {
        /// Its name.
        name: String,
        /// Days left.
        days_left: i64,
    },
    /// The roots to pin.
    RootsToPin {
        /// Their names.
        roots: Vec<String>,
    },
    /// No root to recommend.
    NoRootToRecommend,
    /// Without SNI the server answers the same.
    NoSniSame,
    /// Without SNI the server sends another certificate.
    NoSniDifferent,
    /// Without SNI the handshake fails.
    NoSniRefused,
    /// The URL's host is an IP address, so no SNI is sent.
    NoSniIpUrl,
    /// The device's request as built or read.
    DeviceRequest {
        /// Its length.
        bytes: usize,
        /// Whether it was given as exact bytes (else built from fields).
        raw: bool,
    },
    /// The linter found nothing.
    LintClean,
    /// A lint finding.
    Lint {
        /// Its code, e.g. `TP301`.
        code: &'static str,
    },
    /// The probe reached the API.
    Reached {
        /// The status.
        status: u16,
    },
    /// An edge blocks the device's `User-Agent` (tlspost's gets through).
    EdgeBlocksUserAgent {
        /// The edge, e.g. `Cloudflare`.
        edge: String,
        /// The status.
        status: u16,
        /// The edge's error code.
        code: Option<u16>,
    },
    /// An edge refuses the device's request (for every `User-Agent` tried, or with none to compare).
    EdgeRefuses {
        /// The edge.
        edge: String,
        /// The status.
        status: u16,
        /// The edge's error code.
        code: Option<u16>,
    },
    /// A filter on the path refuses the device's `User-Agent` while tlspost's gets through.
    FilterBlocksUserAgent {
        /// The status.
        status: u16,
    },
    /// The URL redirects.
    Redirect {
        /// The status.
        status: u16,
        /// Where to.
        location: Option<String>,
    },
    /// The server answered with an error of its own (5xx).
    ServerError {
        /// The status.
        status: u16,
    },
    /// The probe failed.
    ProbeFailed,
    /// The request given as bytes cannot be re-sent faithfully by tlspost's client.
    NotResendable,
    /// The device's request was not sent, to protect it.
    SendWithheld {
        /// Why.
        reason: Withheld,
    },
    /// The device's request was sent once and answered.
    Sent {
        /// The status.
        status: u16,
        /// How the body was delimited.
        framing: Framing,
        /// Whether an edge made the answer.
        by_edge: bool,
    },
    /// The device's request failed.
    SendFailed {
        /// Request bytes written before it failed.
        written: u64,
        /// The answer was shorter than its framing said.
        truncated: bool,
        /// The phase that timed out, if one did.
        #[serde(serialize_with = "ser::maybe_phase")]
        timeout: Option<Phase>,
    },
}

/// One verdict of the report.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Which step.
    pub step: Step,
    /// Judged from the bodiless probes of step 5, not from the device's own request (which goes
    /// out only when asked, [`crate::Request::send`]).
    pub from_probes: bool,
    /// How bad.
    pub severity: Severity,
    /// What it is about, with the facts.
    pub cause: Cause,
    /// What was checked and found, in one line.
    pub title: String,
    /// Facts worth showing under the line (addresses, the chain, a request's head).
    pub details: Vec<String>,
    /// What follows from the cause, per party (folded under it instead of lines of their own).
    pub consequences: Vec<Consequence>,
    /// Why it is a problem (non-ok only).
    pub why: Option<String>,
    /// What to change (non-ok only); names no command-line flag.
    pub fix: Option<String>,
}

impl Verdict {
    /// A verdict with no why, fix, details or consequences.
    pub fn new(step: Step, severity: Severity, cause: Cause, title: impl Into<String>) -> Self {
        Verdict {
            step,
            from_probes: false,
            severity,
            cause,
            title: title.into(),
            details: Vec::new(),
            consequences: Vec::new(),
            why: None,
            fix: None,
        }
    }

    pub(crate) fn ok(step: Step, cause: Cause, title: impl Into<String>) -> Self {
        Self::new(step, Severity::Ok, cause, title)
    }

    /// A warning or a FAIL, with why and fix.
    pub(crate) fn judged(
        step: Step,
        severity: Severity,
        cause: Cause,
        title: impl Into<String>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(step, severity, cause, title).bad(severity, why, fix)
    }

    pub(crate) fn skip(step: Step, title: impl Into<String>) -> Self {
        Self::new(step, Severity::Skip, Cause::NotRun, title)
    }

    /// Sets severity, why and fix.
    pub(crate) fn bad(mut self, severity: Severity, why: impl Into<String>, fix: impl Into<String>) -> Self {
        self.severity = severity;
        self.why = Some(why.into());
        self.fix = Some(fix.into());
        self
    }

    /// Adds a detail line.
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.details.push(d.into());
        self
    }
}

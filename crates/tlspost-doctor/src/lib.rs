//! Why does a device's HTTPS POST fail? `tlspost-doctor` walks the path the POST takes — DNS, TCP,
//! TLS, the request bytes, the CDN edge — and returns a [`Report`] of typed verdicts: each a
//! [`Cause`] with its facts, the consequences that follow from it (folded under it instead of
//! lines of their own), a [`Severity`], and `why`/`fix` texts that name no command-line flag.
//!
//! The steps read facts and hand them to the libraries that judge them: `tlspost-certs` (chain,
//! pinned roots, what to pin), `tlspost-lint` (the request bytes), `tlspost`'s client and
//! `tlspost_proto::edge` (who answered). The device's real request is sent only when asked, once,
//! never retried.
//!
//! ```no_run
//! let mut req = tlspost_doctor::Request::new("https://api.example.com/oauth/token");
//! req.connect_timeout = std::time::Duration::from_secs(5);
//! let report = tlspost_doctor::run(&req)?;
//! for v in &report.verdicts {
//!     println!("[{}] {} {}", v.severity.as_str(), v.step.name(), v.title);
//! }
//! # Ok::<(), tlspost_doctor::DoctorError>(())
//! ```
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod chain;
mod device;
mod edge;
mod error;
mod http;
mod input;
mod lint;
mod net;
mod outcome;
pub mod profile;
mod report;
mod request;
mod send;
mod ser;
mod state;
mod target;
mod tls;

pub use device::{Anchors, DeviceCause, DeviceVerdict, Devices};
pub use error::DoctorError;
pub use input::{DeviceRequest, DeviceTrust, Pinned, Request};
pub use outcome::{FirstFail, Report};
pub use report::{Cause, Consequence, Framing, Party, Severity, Step, Verdict, Withheld};
pub use tlspost::probe::{ConnectFailure, Override};

/// A lint finding that restates a cause a network step found (TP401, TLS without SNI, when the
/// server refuses a handshake without it) is folded under that cause instead of a FAIL of its own.
fn fold_lint(out: &mut Vec<Verdict>) {
    let Some(at) = out.iter().position(|v| v.cause == Cause::SniRequired) else {
        return;
    };
    let (same, rest): (Vec<Verdict>, Vec<Verdict>) = std::mem::take(out)
        .into_iter()
        .partition(|v| v.cause == Cause::Lint { code: "TP401" });
    *out = rest;
    if let Some(v) = out.get_mut(at) {
        v.consequences.extend(same.into_iter().map(|l| Consequence {
            party: Party::Device,
            text: format!("step 4 finds it in the request too ({})", l.title),
        }));
    }
}

/// What [`run_observed`] reports as it goes, so that a caller can show progress.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// The request is usable; the steps start.
    Begin {
        /// The URL examined.
        url: &'a str,
        /// The device's method.
        method: &'a str,
        /// Whether the device's request will be sent.
        send: bool,
    },
    /// A verdict, as its step completes (step 3's once step 4's lint has been folded into it).
    Verdict(&'a Verdict),
    /// A device stack's verdict (step 6), as it is judged.
    Device {
        /// The verdict.
        verdict: &'a DeviceVerdict,
        /// What its verifier was anchored at.
        anchors: Anchors,
        /// Whether it is the stack the request named (judged in full), else one of every profile.
        named: bool,
    },
}

/// Hands the verdicts from `from` on to `seen`, and moves `from` past them.
fn emit(out: &[Verdict], from: &mut usize, seen: &mut dyn FnMut(Progress<'_>)) {
    for v in out.get(*from..).unwrap_or_default() {
        seen(Progress::Verdict(v));
    }
    *from = out.len();
}

/// Runs every step. A request that cannot be used (a bad URL, addresses for another host, a
/// request the encoder refuses) comes back as `Err` before any I/O.
pub fn run(req: &Request) -> Result<Report, DoctorError> {
    run_observed(req, &mut |_| {})
}

/// [`run`], handing each verdict to `seen` as its step completes: the library prints nothing,
/// the caller shows progress.
pub fn run_observed(req: &Request, seen: &mut dyn FnMut(Progress<'_>)) -> Result<Report, DoctorError> {
    let target = target::Target::parse(&req.url)?;
    let overrides = net::overrides(&req.overrides, &target)?;
    let built = request::build(&req.device, &target)?;

    seen(Progress::Begin {
        url: &req.url,
        method: &built.method,
        send: req.send,
    });
    let mut out = Vec::new();
    let mut shown = 0;
    let connected = match net::dns(&target, &overrides, &mut out) {
        Some(a) => {
            emit(&out, &mut shown, seen);
            net::tcp(&a, req.connect_timeout, &mut out)
        }
        None => {
            out.push(Verdict::skip(Step::Tcp, "not tried: the host did not resolve"));
            None
        }
    };
    emit(&out, &mut shown, seen);
    let addr = connected.as_ref().map(|c| c.addr);
    let tls = tls::run(&target, connected, req, &mut out);
    let tls_verdicts = shown..out.len();
    // Step 4 reads no network: it runs at once, so that what it restates of step 3 folds there
    // before step 3 is shown.
    lint::run(&built, &target, &mut out);
    fold_lint(&mut out);
    emit(&out, &mut shown, seen);
    edge::run(&target, addr, req, &built, &tls, &mut out);
    emit(&out, &mut shown, seen);
    let step3 = out.get(tls_verdicts).unwrap_or_default();
    let before = device::Before {
        host: &target.host,
        addr,
        https: target.https,
        pinned: &tls.pinned,
        timeout: req.connect_timeout,
        tls_failed: step3.iter().any(|v| v.severity == Severity::Fail),
        tls_unanswered: step3
            .iter()
            .any(|v| matches!(v.cause, Cause::Timeout { .. } | Cause::TlsToHttpPort { .. })),
    };
    let devices = device::run(req.profile, &before, &mut out, &mut |verdict, anchors, named| {
        seen(Progress::Device {
            verdict,
            anchors,
            named,
        });
    });
    emit(&out, &mut shown, seen);
    Ok(Report {
        url: req.url.clone(),
        method: built.method,
        sent: req.send,
        verdicts: out,
        devices,
    })
}

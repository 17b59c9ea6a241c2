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

mod chain;
mod edge;
mod error;
mod http;
mod input;
mod lint;
mod net;
pub mod profile;
mod report;
mod request;
mod send;
mod state;
mod target;
mod tls;

pub use error::DoctorError;
pub use input::{DeviceRequest, DeviceTrust, Pinned, Request};
pub use report::{Cause, Consequence, Framing, Party, Report, Severity, Step, Verdict, Withheld};
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

/// Runs every step. A request that cannot be used (a bad URL, addresses for another host, a
/// request the encoder refuses) comes back as `Err` before any I/O.
pub fn run(req: &Request) -> Result<Report, DoctorError> {
    let target = target::Target::parse(&req.url)?;
    let overrides = net::overrides(&req.overrides, &target)?;
    let built = request::build(&req.device, &target)?;

    let mut out = Vec::new();
    let connected = match net::dns(&target, &overrides, &mut out) {
        Some(a) => net::tcp(&a, req.connect_timeout, &mut out),
        None => {
            out.push(Verdict::skip(Step::Tcp, "not tried: the host did not resolve"));
            None
        }
    };
    let addr = connected.as_ref().map(|c| c.addr);
    let tls = tls::run(&target, connected, req, &mut out);
    lint::run(&built, &target, &mut out);
    edge::run(&target, addr, req, &built, &tls, &mut out);
    fold_lint(&mut out);
    Ok(Report {
        url: req.url.clone(),
        method: built.method,
        sent: req.send,
        verdicts: out,
    })
}

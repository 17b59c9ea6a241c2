//! Steps 1 and 2: the name resolves, a TCP connection opens (`tlspost::probe`'s resolve and
//! connect, judged).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tlspost::probe::{self, ConnectError, ConnectFailure, Connected, Override, ResolveError, Source};
use tlspost::trace::Ms;
use tlspost_proto::Phase;

use crate::error::DoctorError;
use crate::report::{Cause, Severity, Step, Verdict};
use crate::target::Target;

/// The overrides for the URL's host and port; an error when some are given but none is for it.
pub(crate) fn overrides(entries: &[Override], target: &Target) -> Result<Vec<Override>, DoctorError> {
    let mine: Vec<Override> = entries
        .iter()
        .filter(|e| e.matches(&target.host, target.port))
        .cloned()
        .collect();
    if mine.is_empty() && !entries.is_empty() {
        return Err(DoctorError::NoOverrideForTarget {
            authority: target.authority(),
        });
    }
    Ok(mine)
}

fn ips(addrs: &[SocketAddr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !out.contains(&a.ip()) {
            out.push(a.ip());
        }
    }
    out
}

fn list(ips: &[IpAddr]) -> String {
    ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
}

/// Step 1. Returns the addresses to connect to, or `None` after a FAIL.
pub(crate) fn dns(target: &Target, overrides: &[Override], out: &mut Vec<Verdict>) -> Option<Vec<SocketAddr>> {
    let host = &target.host;
    match probe::resolve(host, target.port, overrides) {
        Ok(r) => {
            let addrs = ips(&r.addrs);
            out.push(match r.source {
                Source::Override => Verdict::ok(
                    Step::Dns,
                    Cause::Overridden {
                        host: host.clone(),
                        addrs: addrs.clone(),
                    },
                    format!("{host} → {} (given; DNS not asked)", list(&addrs)),
                ),
                Source::Literal => Verdict::ok(
                    Step::Dns,
                    Cause::IpAddress,
                    format!("{host} is an IP address: nothing to resolve"),
                ),
                Source::Dns => Verdict::ok(
                    Step::Dns,
                    Cause::Resolved {
                        host: host.clone(),
                        addrs: addrs.clone(),
                        took: r.took,
                    },
                    format!("{host} → {} ({})", list(&addrs), Ms(r.took)),
                ),
            });
            Some(r.addrs)
        }
        Err(e) => {
            out.push(dns_failed(&e));
            None
        }
    }
}

fn dns_failed(e: &ResolveError) -> Verdict {
    let host = &e.host;
    match e.kind {
        None => Verdict::judged(
            Step::Dns,
            Severity::Fail,
            Cause::NoAddress { host: host.clone() },
            format!("{host} resolves to no address"),
            "the resolver answered, but with no A or AAAA record",
            format!("check the DNS records of {host}"),
        ),
        Some(_) => Verdict::judged(
            Step::Dns,
            Severity::Fail,
            Cause::DnsFailed {
                host: host.clone(),
                error: e.detail.clone(),
            },
            format!("{host} does not resolve"),
            format!("the resolver said: {}", e.detail),
            "check the spelling of the host and the DNS server the device uses (DHCP)",
        ),
    }
}

fn explain(f: ConnectFailure, timeout: Duration) -> String {
    match f {
        ConnectFailure::Refused => "nothing listens on that port: the host answered with a reset".into(),
        ConnectFailure::TimedOut => format!(
            "no answer within {:.1} s: a firewall drops the packets or the host is down",
            timeout.as_secs_f64()
        ),
        ConnectFailure::Unreachable => "there is no route to that address from here".into(),
        _ => "the operating system refused the connection".into(),
    }
}

/// Step 2. Returns the connection, or `None` after a FAIL.
pub(crate) fn tcp(addrs: &[SocketAddr], timeout: Duration, out: &mut Vec<Verdict>) -> Option<Connected> {
    match probe::connect(addrs, Some(timeout)) {
        Ok(c) => {
            out.push(connected(&c, timeout));
            Some(c)
        }
        Err(e) => {
            out.push(refused(&e, addrs, timeout));
            None
        }
    }
}

fn refused(e: &ConnectError, addrs: &[SocketAddr], timeout: Duration) -> Verdict {
    let first = e.attempts.first().map_or(ConnectFailure::Other, |a| a.failure);
    let port = addrs.first().map(SocketAddr::port).unwrap_or_default();
    let why: Vec<String> = e
        .attempts
        .iter()
        .map(|a| format!("{}: {} [{}]", a.addr, explain(a.failure, timeout), a.detail))
        .collect();
    let (cause, fix) = match first {
        ConnectFailure::Refused => (
            Cause::Refused { port },
            format!("check the port ({port}) in the URL, and that the server (or the edge) listens on it"),
        ),
        ConnectFailure::TimedOut => (
            Cause::Timeout {
                phase: Phase::Connect,
                after: timeout,
            },
            "check firewalls between the device and the server, and that the address is right".to_string(),
        ),
        f => (
            Cause::ConnectFailed { first: f },
            "check the address and the network route".to_string(),
        ),
    };
    Verdict::judged(
        Step::Tcp,
        Severity::Fail,
        cause,
        format!("cannot connect: {first}"),
        why.join("; "),
        fix,
    )
}

fn connected(c: &Connected, timeout: Duration) -> Verdict {
    let slow = c.took > Duration::from_secs(1);
    let mut v = Verdict::ok(
        Step::Tcp,
        Cause::Connected {
            addr: c.addr,
            took: c.took,
            slow,
        },
        format!("connected to {} in {}", c.addr, Ms(c.took)),
    );
    for a in &c.failed {
        v = v.detail(format!(
            "{}: {} first ({})",
            a.addr,
            a.failure,
            explain(a.failure, timeout)
        ));
    }
    if slow {
        v = v.bad(
            Severity::Warn,
            format!(
                "the TCP connect alone took {}: a device's connect timeout (Arduino HTTPClient: 5 s) leaves little \
                 room for the TLS handshake (1.2–2.6 s on an ESP32)",
                Ms(c.took)
            ),
            "check the network path; give the device a connect timeout with margin",
        );
    }
    v
}

//! Steps 1 and 2: the name resolves, a TCP connection opens.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::{Check, DoctorError, Mark, Step, Target};

/// The addresses `--resolve` gives for the URL's host and port (empty when none matches).
pub(super) fn overrides(entries: &[String], target: &Target) -> Result<Vec<IpAddr>, DoctorError> {
    let mut out = Vec::new();
    for e in entries {
        let (host, port, addr) = tlspost_certs::fetch::parse_resolve(e).map_err(|err| DoctorError::Resolve {
            given: e.clone(),
            why: err.to_string(),
        })?;
        if host.eq_ignore_ascii_case(&target.host) && port == target.port && !out.contains(&addr) {
            out.push(addr);
        }
    }
    if out.is_empty() && !entries.is_empty() {
        return Err(DoctorError::Resolve {
            given: entries.join(" "),
            why: format!(
                "no entry is for the URL's host and port {} (HOST and PORT must match the URL)",
                target.authority()
            ),
        });
    }
    Ok(out)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Step 1. Returns the addresses to connect to, or `None` after a FAIL.
pub(super) fn dns(target: &Target, overrides: Vec<IpAddr>, checks: &mut Vec<Check>) -> Option<Vec<SocketAddr>> {
    let port = target.port;
    if !overrides.is_empty() {
        let list: Vec<String> = overrides.iter().map(IpAddr::to_string).collect();
        checks.push(Check::ok(
            Step::Dns,
            format!("{} → {} (from --resolve; DNS not asked)", target.host, list.join(", ")),
        ));
        return Some(overrides.into_iter().map(|ip| SocketAddr::new(ip, port)).collect());
    }
    if let Some(ip) = target.host_ip {
        checks.push(Check::ok(
            Step::Dns,
            format!("{} is an IP address: nothing to resolve", target.host),
        ));
        return Some(vec![SocketAddr::new(ip, port)]);
    }
    let start = Instant::now();
    match (target.host.as_str(), port).to_socket_addrs() {
        Ok(it) => {
            let addrs: Vec<SocketAddr> = it.collect();
            if addrs.is_empty() {
                checks.push(Check::bad(
                    Step::Dns,
                    Mark::Fail,
                    format!("{} resolves to no address", target.host),
                    "the resolver answered, but with no A or AAAA record",
                    format!(
                        "check the DNS records of {}; to test a known address, give --resolve {}:{port}:ADDR",
                        target.host, target.host
                    ),
                ));
                return None;
            }
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            checks.push(Check::ok(
                Step::Dns,
                format!("{} → {} ({})", target.host, list.join(", "), ms(start.elapsed())),
            ));
            Some(addrs)
        }
        Err(e) => {
            checks.push(Check::bad(
                Step::Dns,
                Mark::Fail,
                format!("{} does not resolve", target.host),
                format!("the resolver said: {e}"),
                format!(
                    "check the spelling of the host and the DNS server the device uses (DHCP); to test a known \
                     address, give --resolve {}:{port}:ADDR",
                    target.host
                ),
            ));
            None
        }
    }
}

fn cause(kind: ErrorKind, timeout: Duration) -> (&'static str, String) {
    match kind {
        ErrorKind::ConnectionRefused => (
            "refused",
            "nothing listens on that port: the host answered with a reset".to_string(),
        ),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => (
            "timed out",
            format!(
                "no answer within {:.1} s: a firewall drops the packets or the host is down",
                timeout.as_secs_f64()
            ),
        ),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            ("unreachable", "there is no route to that address from here".to_string())
        }
        _ => ("failed", "the operating system refused the connection".to_string()),
    }
}

/// Step 2. Returns the address connected to, or `None` after a FAIL.
pub(super) fn tcp(addrs: &[SocketAddr], timeout: Duration, checks: &mut Vec<Check>) -> Option<SocketAddr> {
    let mut failures = Vec::new();
    for addr in addrs {
        let start = Instant::now();
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                let took = start.elapsed();
                drop(s);
                let mut c = Check::ok(Step::Tcp, format!("connected to {addr} in {}", ms(took)));
                for (a, what, _) in &failures {
                    c = c.detail(format!("{a}: {what} first"));
                }
                if took > Duration::from_secs(1) {
                    c.mark = Mark::Warn;
                    c.why = Some(format!(
                        "the TCP connect alone took {}: a device's connect timeout (Arduino HTTPClient: 5 s) \
                         leaves little room for the TLS handshake (1.2–2.6 s on an ESP32)",
                        ms(took)
                    ));
                    c.fix = Some("check the network path; give the device a connect timeout with margin".into());
                }
                checks.push(c);
                return Some(*addr);
            }
            Err(e) => {
                let (what, why) = cause(e.kind(), timeout);
                failures.push((*addr, what, format!("{why} [{e}]")));
            }
        }
    }
    let first = failures.first().map(|(_, w, _)| *w).unwrap_or("failed");
    let port = addrs.first().map(SocketAddr::port).unwrap_or_default();
    let why: Vec<String> = failures.iter().map(|(a, _, w)| format!("{a}: {w}")).collect();
    let fix = match first {
        "refused" => format!(
            "check the port ({port}) in the URL, and that the server (or the edge) listens on it; with --resolve, \
             check the address"
        ),
        "timed out" => "check firewalls between the device and the server, and that the address is right; raise \
                        --connect-timeout only if the network is merely slow"
            .to_string(),
        _ => "check the address (--resolve) and the network route".to_string(),
    };
    checks.push(Check::bad(
        Step::Tcp,
        Mark::Fail,
        format!("cannot connect: {first}"),
        why.join("; "),
        fix,
    ));
    None
}

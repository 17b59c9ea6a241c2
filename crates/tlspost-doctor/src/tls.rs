//! Step 3: the TLS handshake with SNI, then (in [`crate::chain`]) the chain as served against what
//! the device pins and Mozilla's roots, and whether the server also answers a device that sends no SNI.

use std::net::SocketAddr;
use std::time::Duration;

use tlspost::probe::{self, Alert, Connected, HandshakeError, Limits, TlsFacts, TlsFailure, TlsSetup};
use tlspost_certs::CertInfo;
use tlspost_proto::Phase;

use crate::chain;
use crate::input::Request;
use crate::report::{Cause, Severity, Step, Verdict};
use crate::state::TlsState;
use crate::target::Target;

/// How a handshake failed, as facts.
struct Failure {
    cause: Cause,
    text: String,
}

/// Sorts a failed handshake into its cause, from the probe's typed failure.
fn failure(e: &HandshakeError, target: &Target, at: &str, timeout: Duration) -> Failure {
    let cause = match (&e.failure, &e.sni) {
        (TlsFailure::TimedOut, _) => Cause::Timeout {
            phase: Phase::Handshake,
            after: timeout,
        },
        (TlsFailure::NotTls, _) => Cause::TlsToHttpPort { port: target.port },
        (TlsFailure::Alert(Alert::UnrecognizedName), Some(s)) => Cause::SniRefused { sni: s.clone() },
        (TlsFailure::Alert(_) | TlsFailure::Closed { .. }, None) => Cause::SniRequired,
        _ => Cause::HandshakeFailed,
    };
    let text = match &cause {
        Cause::Timeout { after, .. } => format!(
            "the server at {at} accepted the TCP connection but did not answer the ClientHello within {:.1} s",
            after.as_secs_f64()
        ),
        _ => format!("TLS handshake with {at} failed: {e}"),
    };
    Failure { cause, text }
}

/// One handshake that only records what the server sends, over `stream`, for `name` (an IP
/// address: no SNI).
fn record(c: Connected, name: &str, timeout: Duration) -> Result<TlsFacts, HandshakeError> {
    let setup = TlsSetup::recording(&[]).map_err(|e| HandshakeError {
        failure: TlsFailure::Other(e.to_string()),
        chain: Vec::new(),
        sni: None,
        took: Duration::ZERO,
    })?;
    let session = probe::handshake(&setup, c.stream, name, Limits::within(timeout), &mut |_, _| {})?;
    let facts = session.facts.clone();
    session.close();
    Ok(facts)
}

fn handshake_failed(target: &Target, f: Failure) -> Verdict {
    let title = match (&f.cause, target.sni()) {
        (Cause::Timeout { .. }, _) => "TLS handshake timed out: the server never answered the ClientHello".to_string(),
        (Cause::TlsToHttpPort { port }, _) => {
            format!("port {port} answers TLS with plain HTTP: it is an HTTP port, not HTTPS")
        }
        (_, Some(sni)) => format!("TLS handshake with SNI {sni} failed"),
        (_, None) => "TLS handshake (no SNI: the URL is an IP address) failed".to_string(),
    };
    let fix = match &f.cause {
        Cause::TlsToHttpPort { port } => format!(
            "use http:// for port {port}, or the server's HTTPS port (443 by default) with https://; a device that \
             speaks TLS to an HTTP port sees a handshake error and nothing else"
        ),
        Cause::Timeout { .. } => format!(
            "check that port {} is the server's TLS port and the server is not overloaded; a proxy or load balancer \
             that accepts connections for a dead backend looks like this",
            target.port
        ),
        Cause::SniRequired => "use the API's host name in the URL: the server picks its certificate by SNI, and a \
                               device that connects by IP address sends none (the device may still resolve the \
                               name to a fixed address)"
            .to_string(),
        Cause::SniRefused { sni } => format!(
            "the server does not serve {sni}: check the host in the URL, or configure the server (nginx: \
             server_name {sni}) to serve it"
        ),
        _ => format!("check that port {} speaks TLS and serves {}", target.port, target.host),
    };
    Verdict::judged(Step::Tls, Severity::Fail, f.cause, title, f.text, fix)
}

/// Step 3. Pushes its verdicts and returns what step 5 needs.
pub(crate) fn run(target: &Target, connected: Option<Connected>, req: &Request, out: &mut Vec<Verdict>) -> TlsState {
    let mut state = TlsState {
        pinned: req.trust.pinned.iter().map(|p| p.cert.der.clone()).collect(),
        ..TlsState::default()
    };
    if !target.https {
        out.push(Verdict::judged(
            Step::Tls,
            Severity::Warn,
            Cause::PlainHttp,
            "plain HTTP: nothing is encrypted or authenticated",
            "anyone on the path (Wi-Fi, ISP, a proxy) can read and change the request, credentials included; \
                     most APIs and every CDN edge redirect or refuse plain HTTP",
            "use the https:// URL",
        ));
        state.reachable = true;
        return state;
    }
    let Some(conn) = connected else {
        out.push(Verdict::skip(Step::Tls, "not tried: no TCP connection"));
        return state;
    };
    let addr = conn.addr;
    let served = match record(conn, &target.host, req.connect_timeout) {
        Ok(s) => s,
        Err(e) => {
            out.push(handshake_failed(
                target,
                failure(&e, target, &target.authority(), req.connect_timeout),
            ));
            return state;
        }
    };
    state.reachable = true;
    let mut certs = Vec::new();
    for (i, der) in served.chain.iter().enumerate() {
        match CertInfo::parse(der, &format!("{} #{}", target.authority(), i + 1)) {
            Ok(c) => certs.push(c),
            Err(e) => {
                out.push(Verdict::judged(
                    Step::Tls,
                    Severity::Fail,
                    Cause::BadCertificate,
                    "the server sends a certificate that cannot be parsed",
                    e.to_string(),
                    "fix the server's certificate file; no device will accept it",
                ));
                return state;
            }
        }
    }
    out.push(chain::handshake_verdict(&served, &certs));
    chain::judge(target, req, certs, &mut state, out);
    out.push(no_sni(target, addr, req.connect_timeout, &served));
    state
}

/// What a device that sends no SNI gets.
fn no_sni(target: &Target, addr: SocketAddr, timeout: Duration, served: &TlsFacts) -> Verdict {
    let host = &target.host;
    if target.sni().is_none() {
        return Verdict::judged(
            Step::Tls,
            Severity::Warn,
            Cause::NoSniIpUrl,
            "the URL is an IP address, so the device sends no SNI",
            "servers behind CDNs need SNI to pick the certificate and the site; Cloudflare refuses direct IP \
             access (error 1003)",
            "use the API's host name in the URL (the device may still connect to a fixed address)",
        );
    }
    let leaf = served.chain.first();
    let again = probe::connect(&[addr], Some(timeout))
        .map_err(|e| HandshakeError {
            failure: TlsFailure::Other(e.to_string()),
            chain: Vec::new(),
            sni: None,
            took: Duration::ZERO,
        })
        .and_then(|c| record(c, &addr.ip().to_string(), timeout));
    match again {
        Ok(s) if s.chain.first() == leaf => Verdict::ok(
            Step::Tls,
            Cause::NoSniSame,
            "without SNI the server answers with the same certificate",
        ),
        Ok(s) => {
            let other = s
                .chain
                .first()
                .and_then(|d| CertInfo::parse(d, "no-SNI leaf").ok())
                .map_or_else(
                    || "another certificate".to_string(),
                    |c| format!("{:?} for [{}]", c.short_name(), c.sans.join(", ")),
                );
            Verdict::judged(
                Step::Tls,
                Severity::Warn,
                Cause::NoSniDifferent,
                "without SNI the server sends a different certificate",
                format!(
                    "a device that sends no SNI (it connects by IP address, or its TLS stack has SNI off) gets \
                     {other} and refuses it, or talks to the wrong site"
                ),
                format!("make sure the device sends SNI {host}: connect by host name, not by IP address"),
            )
        }
        Err(e) => Verdict::judged(
            Step::Tls,
            Severity::Warn,
            Cause::NoSniRefused,
            "the server refuses a handshake without SNI",
            format!(
                "a device that sends no SNI (connects by IP address) fails here: {}",
                failure(&e, target, &addr.to_string(), timeout).text
            ),
            format!(
                "make sure the device sends SNI {host}: connect by host name (WiFiClientSecure::connect(host, \
                 port), esp_http_client with .host or .url), never by IP address"
            ),
        ),
    }
}

/// Whether `addr` completes a TLS handshake: for an `http://` URL whose port answers plain HTTP
/// with an error, or not at all.
pub(crate) fn speaks_tls(addr: SocketAddr, host: &str, timeout: Duration) -> bool {
    probe::connect(&[addr], Some(timeout)).is_ok_and(|c| record(c, host, timeout).is_ok())
}

//! Step 5: the edge. Without `--send`, two `HEAD` probes on the URL's path — one with the device's
//! `User-Agent`, one with tlspost's — say whether an edge stands in front of the API and whether it
//! refuses the device. With `--send`, the device's own request goes out once, never retried.

use std::net::SocketAddr;

use tlspost::client::{Answered, RequestSpec, Response};
use tlspost::{Client, Error, Trust};
use tlspost_proto::request::DEFAULT_USER_AGENT;
use tlspost_proto::{Budgets, Phase};

use super::request::Built;
use super::tls::TlsState;
use super::{Check, Mark, Options, Step, Target};

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A client bound to the connected address. `keep_alive` decides the `Connection` header: the probes
/// close, the device's own request is sent with what the device sends.
fn client(
    target: &Target,
    addr: SocketAddr,
    opts: &Options,
    trust: Trust,
    ua: Option<&str>,
    keep_alive: bool,
) -> Result<Client, Error> {
    let mut budgets = Budgets::default();
    let t = ms(opts.connect_timeout);
    budgets.connect = Some(t);
    budgets.handshake = Some(t);
    if !keep_alive {
        // A probe is a HEAD or GET: half a minute is plenty, and the doctor must not hang for long.
        budgets.total = Some(30_000);
        budgets.first_byte = Some(15_000);
    }
    let mut b = Client::builder()
        .trust(trust)
        .resolve(&target.host, target.port, addr)
        .budgets(budgets)
        .keep_alive(keep_alive);
    if let Some(ua) = ua {
        b = b.user_agent(ua);
    }
    b.build()
}

/// One bodiless request with this `User-Agent`.
fn probe(
    target: &Target,
    addr: SocketAddr,
    opts: &Options,
    trust: &Trust,
    method: &str,
    ua: &str,
) -> Result<Response, Error> {
    let mut c = client(target, addr, opts, trust.clone(), Some(ua), false)?;
    c.send(&RequestSpec {
        method: method.to_string(),
        url: opts.url.clone(),
        headers: Vec::new(),
        omit: tlspost_proto::Omit::NONE,
        body: tlspost::client::BodySpec::None,
    })
}

fn who(a: &Answered, status: u16) -> String {
    a.sentence(status)
}

fn ua_text(ua: Option<&str>) -> String {
    ua.map_or_else(|| "(none: probed with tlspost's)".to_string(), |u| format!("{u:?}"))
}

const UA_FIX: &str = "give the device a User-Agent naming your product and version, e.g. `acme-sensor/1.2` \
     (Arduino HTTPClient: http.setUserAgent(\"acme-sensor/1.2\"); ESP-IDF: esp_http_client_set_header(client, \
     \"User-Agent\", \"acme-sensor/1.2\")), then run tlspost doctor again with -A; or ask the API owner to exempt \
     the API from the edge's browser check";

/// Step 5.
pub(super) fn run(
    target: &Target,
    connected: Option<SocketAddr>,
    opts: &Options,
    built: &Built,
    tls: &TlsState,
    checks: &mut Vec<Check>,
) {
    let Some(addr) = connected.filter(|_| tls.reachable) else {
        checks.push(Check::skip(Step::Edge, "not probed: no connection (see above)"));
        return;
    };
    // The probes carry no body and no credentials, so they may go out even when the device's trust
    // fails; what the device would accept is step 3's verdict.
    let (trust, trust_note) = if tls.device_ok == Some(true) {
        (pinned(tls), "")
    } else if tls.mozilla_ok || !target.https {
        (Trust::Mozilla, "")
    } else {
        (
            Trust::InsecureAcceptAnyCertificate,
            " (probes without certificate checks: they carry no body and no credentials)",
        )
    };
    probes(target, addr, opts, built, &trust, trust_note, checks);
    if opts.send {
        send(target, addr, opts, built, tls, checks);
    }
}

fn pinned(tls: &TlsState) -> Trust {
    Trust::Pinned(tls.pinned.iter().map(|d| d.clone().into()).collect())
}

fn probes(
    target: &Target,
    addr: SocketAddr,
    opts: &Options,
    built: &Built,
    trust: &Trust,
    note: &str,
    checks: &mut Vec<Check>,
) {
    let dev_ua = built.user_agent.as_deref();
    // tlspost's client cannot send a request without a User-Agent; step 4's TP303 covers that device.
    let probe_ua = dev_ua.unwrap_or(DEFAULT_USER_AGENT);
    let path = &target.path;
    let dev = match probe(target, addr, opts, trust, "HEAD", probe_ua) {
        Ok(r) => r,
        Err(e) => {
            checks.push(Check::bad(
                Step::Edge,
                Mark::Warn,
                format!("HEAD {path} with the device's User-Agent failed{note}"),
                e.to_string(),
                "the device's POST likely fails the same way: fix what the message names first",
            ));
            return;
        }
    };
    let own = (probe_ua != DEFAULT_USER_AGENT).then(|| probe(target, addr, opts, trust, "HEAD", DEFAULT_USER_AGENT));
    let own_line = match &own {
        Some(Ok(o)) => format!(
            "HEAD {path} with {DEFAULT_USER_AGENT}: {} {}, {}",
            o.status,
            o.reason,
            who(&o.answered_by, o.status)
        ),
        Some(Err(e)) => format!("HEAD {path} with {DEFAULT_USER_AGENT} failed: {e}"),
        None if dev_ua.is_none() => "the device sends no User-Agent (see TP303 in step 4): edges refuse such \
                                     requests, but tlspost's client always sends one, so the probe used tlspost's"
            .to_string(),
        None => format!("the device's User-Agent is {DEFAULT_USER_AGENT}: one probe is enough"),
    };
    let own_ok = match &own {
        Some(Ok(o)) => Some(o.status < 400),
        _ => None,
    };
    let blocked = dev.status >= 400;
    let mut verdict = dev.answered_by.clone();
    let mut read_by_get = false;
    if blocked && verdict.edge.is_some() && !(verdict.made_by_edge && verdict.code.is_some()) {
        // An edge is on the path and refused the HEAD, whose answer has no body; the edge's error code
        // is in the body: read the same page with a GET (no side effects by definition), still with
        // the device's User-Agent.
        if let Ok(g) = probe(target, addr, opts, trust, "GET", probe_ua)
            && g.status == dev.status
            && g.answered_by.made_by_edge
        {
            verdict = g.answered_by;
            read_by_get = true;
        }
    }
    let dev_line = format!(
        "HEAD {path} with the device's User-Agent {}: {} {}",
        ua_text(dev_ua),
        dev.status,
        dev.reason
    );
    let mut c = if blocked && verdict.made_by_edge {
        let edge = verdict.edge.clone().unwrap_or_else(|| "CDN".into());
        let code = verdict.code.map(|c| format!(" (error {c})")).unwrap_or_default();
        // tlspost's User-Agent gets through: the device's is what the edge refuses. Without that
        // comparison, error 1010 (the browser signature) says the same.
        let ua_block = own_ok == Some(true) || (own_ok.is_none() && verdict.code == Some(1010));
        let title = if ua_block {
            format!(
                "the {edge} edge blocks the device's User-Agent {}: {}{code}, never reaching the API",
                ua_text(dev_ua),
                dev.status
            )
        } else {
            let too = if own_ok == Some(false) {
                ", and tlspost's User-Agent too"
            } else {
                ""
            };
            format!(
                "the {edge} edge refuses the device's request: {}{code}{too}",
                dev.status
            )
        };
        let fix = if ua_block {
            UA_FIX.to_string()
        } else {
            verdict.hint.clone()
        };
        Check::bad(Step::Edge, Mark::Fail, title, who(&verdict, dev.status), fix)
    } else if blocked && own_ok == Some(true) {
        Check::bad(
            Step::Edge,
            Mark::Fail,
            format!(
                "the server refuses the device's User-Agent {}: {} while tlspost's gets through",
                ua_text(dev_ua),
                dev.status
            ),
            format!(
                "the same HEAD with another User-Agent is answered: a bot filter on the path judges the User-Agent; \
                 {}",
                who(&verdict, dev.status)
            ),
            UA_FIX,
        )
    } else if (300..400).contains(&dev.status) {
        Check::bad(
            Step::Edge,
            Mark::Warn,
            format!("{dev_line}: the URL redirects"),
            format!(
                "to {}; Arduino's HTTPClient does not follow redirects, ESP-IDF's does, and a POST redirected \
                 with 301, 302 or 303 turns into a GET without its body",
                dev.header_str("location").unwrap_or_else(|| "(no Location)".into())
            ),
            "post to the final URL directly (mind http→https and a trailing slash)",
        )
    } else if dev.status >= 500 {
        Check::bad(
            Step::Edge,
            Mark::Warn,
            format!("{dev_line}: a server error"),
            format!(
                "{}; even a HEAD fails, so the server may be down or the edge cannot reach it",
                who(&verdict, dev.status)
            ),
            "retry later; if it persists, give the API owner the time and the ray id",
        )
    } else {
        let mut c = Check::ok(Step::Edge, format!("{dev_line}, {}", who(&verdict, dev.status)));
        if blocked {
            c = c.detail(format!(
                "{} to a HEAD is normal for an endpoint that takes only POST: the probe shows the device's \
                 requests get through to the origin",
                dev.status
            ));
        }
        c
    };
    if read_by_get {
        c = c.detail("the edge's error page was read with a GET (a HEAD answer has no body)");
    }
    c = c.detail(own_line);
    if !note.is_empty() {
        c = c.detail(note.trim().trim_start_matches('(').trim_end_matches(')'));
    }
    if !opts.send {
        c = c.detail(format!(
            "the real {} was not sent (it may have side effects); --send sends it once",
            built.method
        ));
    }
    checks.push(c);
}

/// Whether the body of `r` was delimited by the server closing the connection.
fn close_delimited(r: &Response) -> bool {
    !(matches!(r.status, 204 | 304) || (100..200).contains(&r.status))
        && r.header_str("transfer-encoding")
            .is_none_or(|t| !t.to_ascii_lowercase().contains("chunked"))
        && r.header("content-length").is_none()
}

fn framing(r: &Response) -> String {
    let te = r.header_str("transfer-encoding");
    let cl = r.header_str("content-length");
    if matches!(r.status, 204 | 304) || (100..200).contains(&r.status) {
        "no body by status".to_string()
    } else if te
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        format!("chunked, {} bytes, ended by the last chunk", r.body.len())
    } else if let Some(n) = cl {
        format!("Content-Length {}, all {} bytes read", n.trim(), r.body.len())
    } else {
        format!(
            "no Content-Length: the body ({} bytes) ended when the server closed the connection; the device must \
             read until then and cannot tell a cut-off body from a whole one",
            r.body.len()
        )
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body.get(..body.len().min(200)).unwrap_or_default()).into_owned();
    let more = if body.len() > 200 { "…" } else { "" };
    format!("{}{more}", text.escape_debug())
}

fn send(target: &Target, addr: SocketAddr, opts: &Options, built: &Built, tls: &TlsState, checks: &mut Vec<Check>) {
    let (spec, ua) = match &built.spec {
        Ok(s) => s,
        Err(why) => {
            checks.push(Check::bad(
                Step::Edge,
                Mark::Warn,
                "--send: the request file cannot be re-sent as it is",
                why.clone(),
                "fix what step 4 reports, or send the request from the device itself to `tlspost serve`",
            ));
            return;
        }
    };
    let trust = if !opts.cacert.is_empty() {
        if tls.device_ok != Some(true) {
            checks.push(Check::skip(
                Step::Edge,
                "--send: not sent, because the device would refuse the server's certificate (step 3)",
            ));
            return;
        }
        pinned(tls)
    } else {
        if target.https && !tls.mozilla_ok {
            checks.push(Check::skip(
                Step::Edge,
                "--send: not sent, because the chain does not verify against Mozilla's roots (step 3)",
            ));
            return;
        }
        Trust::Mozilla
    };
    let result = client(target, addr, opts, trust, ua.as_deref(), true).and_then(|mut c| c.send(spec));
    match result {
        Ok(r) => {
            let by = if r.answered_by.made_by_edge {
                "the edge"
            } else {
                "the origin"
            };
            let title = format!(
                "--send: {} {} sent once ({} bytes): {} {}, made by {by}; body read completely ({})",
                spec.method,
                target.path,
                r.request_bytes,
                r.status,
                r.reason,
                framing(&r)
            );
            let c = match r.status {
                200..=299 if close_delimited(&r) => Check::bad(
                    Step::Edge,
                    Mark::Warn,
                    title,
                    "the answer has no Content-Length and is not chunked: it ends when the server closes the \
                     connection, so a device that stops at its first empty read (-1 on Arduino's WiFiClient means \
                     no data yet, not the end) gets it cut short without noticing",
                    "on the device, read until the connection closes (or ask the API to send Content-Length)",
                ),
                200..=299 => Check::ok(Step::Edge, title),
                300..=399 => Check::bad(
                    Step::Edge,
                    Mark::Warn,
                    title,
                    format!(
                        "a redirect to {}; a POST redirected with 301/302/303 turns into a GET without the body",
                        r.header_str("location").unwrap_or_else(|| "(no Location)".into())
                    ),
                    "post to the final URL directly",
                ),
                _ if r.answered_by.made_by_edge => Check::bad(
                    Step::Edge,
                    Mark::Fail,
                    title,
                    who(&r.answered_by, r.status),
                    r.answered_by.hint.clone(),
                ),
                _ => Check::bad(
                    Step::Edge,
                    Mark::Fail,
                    title,
                    format!("the API refused the request; it says: {}", excerpt(&r.body)),
                    "read what the API says; compare this request with one that works (`tlspost serve` shows and \
                     diffs both)",
                ),
            };
            checks.push(c.detail(who(&r.answered_by, r.status)));
        }
        Err(e) => {
            let written = e.request_written();
            let fix = match &e {
                Error::Http {
                    error: tlspost_proto::Error::Body(tlspost_proto::BodyError::Truncated { .. }),
                    ..
                } => "the response ended before its framing said it would: check the server and any proxy; on the \
                      device, read until Content-Length bytes (or the last chunk) have arrived, and never stop at a \
                      read that returns no data yet (-1 on Arduino's WiFiClient)"
                    .to_string(),
                Error::Timeout {
                    phase: Phase::FirstByte,
                    ..
                } => "the server takes too long to answer: check it; give the device a first-byte timeout longer than \
                      the server's usual answer time"
                    .to_string(),
                _ => {
                    "fix what the message names; run tlspost post -v with the same flags for the wire trace".to_string()
                }
            };
            checks.push(Check::bad(
                Step::Edge,
                Mark::Fail,
                match written {
                    0 => format!("--send: {} {} failed (not retried)", spec.method, target.path),
                    n => format!(
                        "--send: {} {} failed after {n} request byte(s) were written (not retried)",
                        spec.method, target.path
                    ),
                },
                e.to_string(),
                fix,
            ));
        }
    }
}

//! Step 5: the edge. Two `HEAD` probes on the URL's path — one with the device's `User-Agent`, one
//! with tlspost's — say whether an edge stands in front of the API and whether it refuses the
//! device. When asked, the device's own request goes out once, never retried ([`crate::send`]).

use std::net::SocketAddr;

use tlspost::client::{Answered, BodySpec, RequestSpec, Response};
use tlspost::{Error, Trust};
use tlspost_proto::Omit;
use tlspost_proto::request::DEFAULT_USER_AGENT;

use crate::http::{client, pinned, who};
use crate::input::Request;
use crate::report::{Cause, Severity, Step, Verdict};
use crate::request::Built;
use crate::send;
use crate::state::TlsState;
use crate::target::Target;
use crate::tls;

/// What the probes run with.
struct Probe<'a> {
    target: &'a Target,
    addr: SocketAddr,
    req: &'a Request,
    trust: Trust,
}

impl Probe<'_> {
    /// One bodiless request with this `User-Agent`.
    fn send(&self, method: &str, ua: &str) -> Result<Response, Error> {
        let mut c = client(self.target, self.addr, self.req, self.trust.clone(), Some(ua), false)?;
        c.send(&RequestSpec {
            method: method.to_string(),
            url: self.target.url.clone(),
            headers: Vec::new(),
            omit: Omit::NONE,
            body: BodySpec::None,
        })
    }
}

fn ua_text(ua: Option<&str>) -> String {
    ua.map_or_else(|| "(none: probed with tlspost's)".to_string(), |u| format!("{u:?}"))
}

const UA_FIX: &str = "give the device a User-Agent naming your product and version, e.g. `acme-sensor/1.2` \
     (Arduino HTTPClient: http.setUserAgent(\"acme-sensor/1.2\"); ESP-IDF: esp_http_client_set_header(client, \
     \"User-Agent\", \"acme-sensor/1.2\")); or ask the API owner to exempt the API from the edge's browser check";

/// Step 5.
pub(crate) fn run(
    target: &Target,
    connected: Option<SocketAddr>,
    req: &Request,
    built: &Built,
    tls: &TlsState,
    out: &mut Vec<Verdict>,
) {
    let Some(addr) = connected.filter(|_| tls.reachable) else {
        out.push(Verdict::skip(Step::Edge, "not probed: no connection (see above)"));
        return;
    };
    // The probes carry no body and no credentials, so they may go out even when the device's trust
    // fails; what the device would accept is step 3's verdict.
    let (trust, unverified) = if tls.device_ok == Some(true) {
        (pinned(tls), false)
    } else if tls.mozilla_ok || !target.https {
        (Trust::Mozilla, false)
    } else {
        (Trust::InsecureAcceptAnyCertificate, true)
    };
    let p = Probe {
        target,
        addr,
        req,
        trust,
    };
    let mut v = probes(&p, built);
    if unverified {
        v = v.detail("probes without certificate checks: they carry no body and no credentials");
    }
    out.push(v);
    if req.send {
        out.push(send::run(target, addr, req, built, tls));
    }
}

/// The probes' verdict.
fn probes(p: &Probe<'_>, built: &Built) -> Verdict {
    let dev_ua = built.user_agent.as_deref();
    // tlspost's client cannot send a request without a User-Agent; step 4's TP303 covers that device.
    let probe_ua = dev_ua.unwrap_or(DEFAULT_USER_AGENT);
    let path = &p.target.path;
    let first = p.send("HEAD", probe_ua);
    let plain_refused = match &first {
        Ok(r) => r.status == 400,
        Err(_) => true,
    };
    if !p.target.https && plain_refused && tls::speaks_tls(p.addr, &p.target.host, p.req.connect_timeout) {
        return http_to_tls(p.target, &first);
    }
    let dev = match first {
        Ok(r) => r,
        Err(e) => {
            return Verdict::judged(
                Step::Edge,
                Severity::Warn,
                Cause::ProbeFailed,
                format!("HEAD {path} with the device's User-Agent failed"),
                e.to_string(),
                "the device's POST likely fails the same way: fix what the message names first",
            );
        }
    };
    let own = (probe_ua != DEFAULT_USER_AGENT).then(|| p.send("HEAD", DEFAULT_USER_AGENT));
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
    let mut verdict = dev.answered_by.clone();
    let mut read_by_get = false;
    if dev.status >= 400 && verdict.edge.is_some() && !(verdict.made_by_edge && verdict.code.is_some()) {
        // An edge is on the path and refused the HEAD, whose answer has no body; the edge's error code
        // is in the body: read the same page with a GET (no side effects by definition), still with
        // the device's User-Agent.
        if let Ok(g) = p.send("GET", probe_ua)
            && g.status == dev.status
            && g.answered_by.made_by_edge
        {
            verdict = g.answered_by;
            read_by_get = true;
        }
    }
    let mut v = judge(&dev, &verdict, own_ok, dev_ua, path);
    v.from_probes = true;
    if read_by_get {
        v = v.detail("the edge's error page was read with a GET (a HEAD answer has no body)");
    }
    v.detail(own_line)
}

/// The device's User-Agent is what is refused: a FAIL at the edge step whose fix is [`UA_FIX`].
fn ua_blocked(cause: Cause, title: String, why: String) -> Verdict {
    Verdict::judged(Step::Edge, Severity::Fail, cause, title, why, UA_FIX)
}

/// The verdict on the device's probe, given who answered and how tlspost's own probe fared.
fn judge(dev: &Response, verdict: &Answered, own_ok: Option<bool>, dev_ua: Option<&str>, path: &str) -> Verdict {
    let status = dev.status;
    let blocked = status >= 400;
    let dev_line = format!(
        "HEAD {path} with the device's User-Agent {}: {} {}",
        ua_text(dev_ua),
        status,
        dev.reason
    );
    if blocked && verdict.made_by_edge {
        let edge = verdict.edge.map_or("CDN", |v| v.name()).to_string();
        let code = verdict.code;
        let shown = code.map(|c| format!(" (error {c})")).unwrap_or_default();
        // tlspost's User-Agent gets through: the device's is what the edge refuses. Without that
        // comparison, error 1010 (the browser signature) says the same.
        if own_ok == Some(true) || (own_ok.is_none() && code == Some(1010)) {
            let ua = ua_text(dev_ua);
            let title =
                format!("the {edge} edge blocks the device's User-Agent {ua}: {status}{shown}, never reaching the API");
            return ua_blocked(
                Cause::EdgeBlocksUserAgent { edge, status, code },
                title,
                who(verdict, status),
            );
        }
        let too = if own_ok == Some(false) {
            ", and tlspost's User-Agent too"
        } else {
            ""
        };
        let title = format!("the {edge} edge refuses the device's request: {status}{shown}{too}");
        return Verdict::judged(
            Step::Edge,
            Severity::Fail,
            Cause::EdgeRefuses { edge, status, code },
            title,
            who(verdict, status),
            verdict.hint,
        );
    }
    if blocked && own_ok == Some(true) {
        let ua = ua_text(dev_ua);
        let title = format!("the server refuses the device's User-Agent {ua}: {status} while tlspost's gets through");
        let why = format!(
            "the same HEAD with another User-Agent is answered: a bot filter on the path judges the User-Agent; {}",
            who(verdict, status)
        );
        return ua_blocked(Cause::FilterBlocksUserAgent { status }, title, why);
    }
    if (300..400).contains(&status) {
        let location = dev.header_str("location");
        let to = location.clone().unwrap_or_else(|| "(no Location)".into());
        return Verdict::judged(
            Step::Edge,
            Severity::Warn,
            Cause::Redirect { status, location },
            format!("{dev_line}: the URL redirects"),
            format!(
                "to {to}; Arduino's HTTPClient does not follow redirects, ESP-IDF's does, and a POST redirected \
                 with 301, 302 or 303 turns into a GET without its body"
            ),
            "post to the final URL directly (mind http→https and a trailing slash)",
        );
    }
    if status >= 500 {
        return Verdict::judged(
            Step::Edge,
            Severity::Warn,
            Cause::ServerError { status },
            format!("{dev_line}: a server error"),
            format!(
                "{}; even a HEAD fails, so the server may be down or the edge cannot reach it",
                who(verdict, status)
            ),
            "retry later; if it persists, give the API owner the time and the ray id",
        );
    }
    let v = Verdict::ok(
        Step::Edge,
        Cause::Reached { status },
        format!("{dev_line}, {}", who(verdict, status)),
    );
    if blocked {
        return v.detail(format!(
            "{status} to a HEAD is normal for an endpoint that takes only POST: the probe shows the device's requests \
             get through to the origin"
        ));
    }
    v
}

/// Plain HTTP spoken to a port that speaks TLS.
fn http_to_tls(target: &Target, first: &Result<Response, Error>) -> Verdict {
    let port = target.port;
    let got = match first {
        Ok(r) => format!("answers {} {}", r.status, r.reason),
        Err(e) => format!("fails: {e}"),
    };
    Verdict::judged(
        Step::Edge,
        Severity::Fail,
        Cause::HttpToTlsPort { port },
        format!("port {port} speaks TLS, but the URL is http://: plain HTTP to an HTTPS port"),
        format!("a TLS handshake on port {port} completes, and a plain HTTP request there {got}"),
        format!(
            "use https://{}{} (the device must speak TLS on this port)",
            target.authority(),
            target.path
        ),
    )
}

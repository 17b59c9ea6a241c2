//! Step 5 when asked: the device's own request, sent once (never retried) with the device's trust,
//! and how its answer was framed.

use std::net::SocketAddr;

use tlspost::client::Response;
use tlspost::{Error, Trust};
use tlspost_proto::Phase;

use crate::http::{client, pinned, who};
use crate::input::Request;
use crate::report::{Cause, Framing, Severity, Step, Verdict, Withheld};
use crate::request::Built;
use crate::state::TlsState;
use crate::target::Target;

fn framing(r: &Response) -> Framing {
    if matches!(r.status, 204 | 304) || (100..200).contains(&r.status) {
        Framing::NoBody
    } else if r
        .header_str("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        Framing::Chunked
    } else if r.header("content-length").is_some() {
        Framing::Length
    } else {
        Framing::Close
    }
}

fn framing_text(r: &Response, f: Framing) -> String {
    match f {
        Framing::NoBody => "no body by status".to_string(),
        Framing::Chunked => format!("chunked, {} bytes, ended by the last chunk", r.body.len()),
        Framing::Length => format!(
            "Content-Length {}, all {} bytes read",
            r.header_str("content-length").unwrap_or_default().trim(),
            r.body.len()
        ),
        Framing::Close => format!(
            "no Content-Length: the body ({} bytes) ended when the server closed the connection; the device must \
             read until then and cannot tell a cut-off body from a whole one",
            r.body.len()
        ),
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body.get(..body.len().min(200)).unwrap_or_default()).into_owned();
    let more = if body.len() > 200 { "…" } else { "" };
    format!("{}{more}", text.escape_debug())
}

/// The trust the device's request is sent with, or why it is withheld.
fn trust(target: &Target, req: &Request, tls: &TlsState) -> Result<Trust, Withheld> {
    if !req.trust.pinned.is_empty() {
        return match tls.device_ok {
            Some(true) => Ok(pinned(tls)),
            _ => Err(Withheld::DeviceRefuses),
        };
    }
    if target.https && !tls.mozilla_ok {
        return Err(Withheld::MozillaRefuses);
    }
    Ok(Trust::Mozilla)
}

fn withheld(w: Withheld) -> Verdict {
    let title = match w {
        Withheld::DeviceRefuses => "not sent, because the device would refuse the server's certificate (step 3)",
        Withheld::MozillaRefuses => "not sent, because the chain does not verify against Mozilla's roots (step 3)",
    };
    Verdict::new(Step::Edge, Severity::Skip, Cause::SendWithheld { reason: w }, title)
}

/// Sends the device's request once and judges the answer.
pub(crate) fn run(target: &Target, addr: SocketAddr, req: &Request, built: &Built, tls: &TlsState) -> Verdict {
    let (spec, ua) = match &built.spec {
        Ok(s) => s,
        Err(why) => {
            return Verdict::judged(
                Step::Edge,
                Severity::Warn,
                Cause::NotResendable,
                "the request file cannot be re-sent as it is",
                why.clone(),
                "fix what step 4 reports, or send the request from the device itself to a capture server, which records it as it arrives",
            );
        }
    };
    let trust = match trust(target, req, tls) {
        Ok(t) => t,
        Err(w) => return withheld(w),
    };
    match client(target, addr, req, trust, ua.as_deref(), true).and_then(|mut c| c.send(spec)) {
        Ok(r) => answered(&spec.method, &target.path, &r),
        Err(e) => failed(&spec.method, &target.path, &e),
    }
}

fn answered(method: &str, path: &str, r: &Response) -> Verdict {
    let by_edge = r.answered_by.made_by_edge;
    let f = framing(r);
    let title = format!(
        "{method} {path} sent once ({} bytes): {} {}, made by {}; body read completely ({})",
        r.request_bytes,
        r.status,
        r.reason,
        if by_edge { "the edge" } else { "the origin" },
        framing_text(r, f)
    );
    let v = Verdict::ok(
        Step::Edge,
        Cause::Sent {
            status: r.status,
            framing: f,
            by_edge,
        },
        title,
    );
    let v = match r.status {
        200..=299 if f == Framing::Close => v.bad(
            Severity::Warn,
            "the answer has no Content-Length and is not chunked: it ends when the server closes the connection, so \
             a device that stops at its first empty read (-1 on Arduino's WiFiClient means no data yet, not the \
             end) gets it cut short without noticing",
            "on the device, read until the connection closes (or ask the API to send Content-Length)",
        ),
        200..=299 => v,
        300..=399 => v.bad(
            Severity::Warn,
            format!(
                "a redirect to {}; a POST redirected with 301/302/303 turns into a GET without the body",
                r.header_str("location").unwrap_or_else(|| "(no Location)".into())
            ),
            "post to the final URL directly",
        ),
        _ if by_edge => v.bad(Severity::Fail, who(&r.answered_by, r.status), r.answered_by.hint),
        _ => v.bad(
            Severity::Fail,
            format!("the API refused the request; it says: {}", excerpt(&r.body)),
            "read what the API says; compare this request with one that works (a capture server shows and diffs \
             both)",
        ),
    };
    v.detail(who(&r.answered_by, r.status))
}

fn failed(method: &str, path: &str, e: &Error) -> Verdict {
    let written = e.request_written();
    let truncated = matches!(
        e,
        Error::Http {
            error: tlspost_proto::Error::Body(tlspost_proto::BodyError::Truncated { .. }),
            ..
        }
    );
    let timeout = match e {
        Error::Timeout { phase, .. } => Some(*phase),
        _ => None,
    };
    let fix = if truncated {
        "the response ended before its framing said it would: check the server and any proxy; on the device, read \
         until Content-Length bytes (or the last chunk) have arrived, and never stop at a read that returns no data \
         yet (-1 on Arduino's WiFiClient)"
    } else if timeout == Some(Phase::FirstByte) {
        "the server takes too long to answer: check it; give the device a first-byte timeout longer than the \
         server's usual answer time"
    } else {
        "fix what the message names"
    };
    let title = match written {
        0 => format!("{method} {path} failed (not retried)"),
        n => format!("{method} {path} failed after {n} request byte(s) were written (not retried)"),
    };
    Verdict::judged(
        Step::Edge,
        Severity::Fail,
        Cause::SendFailed {
            written,
            truncated,
            timeout,
        },
        title,
        e.to_string(),
        fix,
    )
}

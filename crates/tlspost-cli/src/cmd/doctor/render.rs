//! The report for people (one line per verdict; what follows from it, why and the fix indented
//! under it) and as JSON. The library's texts name no flag; the flags to try are added here, keyed
//! on the typed cause.

use serde_json::{Value, json};
use tlspost::proto::escape::EscapedText;
use tlspost_doctor::{Cause, Report, Severity, Verdict};
use tlspost_proto::Phase;

const WIDTH: usize = 8;

/// The line's title: the library's, except where a flag says it better.
fn title(v: &Verdict) -> String {
    match &v.cause {
        Cause::Overridden { host, addrs } => {
            let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            format!("{host} → {} (from --resolve; DNS not asked)", list.join(", "))
        }
        Cause::NotResendable | Cause::SendWithheld { .. } | Cause::Sent { .. } | Cause::SendFailed { .. } => {
            format!("--send: {}", v.title)
        }
        _ => v.title.clone(),
    }
}

/// The URL's host and port, for advice that names them.
fn host_port(url: &str) -> (String, u16) {
    tlspost_proto::url::Url::parse(url)
        .map_or_else(|_| (String::new(), 443), |u| (u.host.to_string(), u.port_or_default()))
}

/// What to try with `tlspost`'s own flags and commands, after the library's fix.
fn advice(v: &Verdict, r: &Report) -> Option<String> {
    let (host, port) = host_port(&r.url);
    Some(match &v.cause {
        Cause::DnsFailed { .. } | Cause::NoAddress { .. } => {
            format!("to test a known address, give --resolve {host}:{port}:ADDR")
        }
        Cause::Refused { .. } => "with --resolve, check the address".into(),
        Cause::Timeout {
            phase: Phase::Connect | Phase::Handshake,
            ..
        } => "raise --connect-timeout only if the network is merely slow".into(),
        Cause::ConnectFailed { .. } => "with --resolve, check the address".into(),
        Cause::SniRequired => format!("to test the name at this address, give --resolve NAME:{port}:{host}"),
        Cause::HandshakeFailed | Cause::SniRefused { .. } => {
            format!("`tlspost certs {host}:{port}` shows the chain when the handshake works")
        }
        Cause::MissingIntermediate { .. } => "give a private root here with --cacert (or --roots)".into(),
        Cause::UntrustedRoot { .. }
        | Cause::PinMismatch
        | Cause::PinnedNotRoot { .. }
        | Cause::PinnedRootExpired { .. }
        | Cause::PinnedRootExpiring { .. }
        | Cause::NoRootToRecommend => format!(
            "`tlspost doctor --roots FILE` checks a candidate root; `tlspost certs {host} --format arduino` prints \
             one for the sketch"
        ),
        Cause::EdgeBlocksUserAgent { .. } | Cause::FilterBlocksUserAgent { .. } => {
            "then run tlspost doctor again with -A".into()
        }
        Cause::SendFailed {
            truncated: false,
            timeout: None | Some(Phase::Connect | Phase::Handshake | Phase::Send | Phase::Body | Phase::Total),
            ..
        } => "run tlspost post -v with the same flags for the wire trace".into(),
        _ => return None,
    })
}

/// Whether `v` is the probes' verdict, which says the real request was not sent.
fn is_probe(v: &Verdict) -> bool {
    matches!(
        v.cause,
        Cause::Reached { .. }
            | Cause::EdgeBlocksUserAgent { .. }
            | Cause::EdgeRefuses { .. }
            | Cause::FilterBlocksUserAgent { .. }
            | Cause::Redirect { .. }
            | Cause::ServerError { .. }
    )
}

/// The lines under a verdict: details, consequences, why, fix (with the flags to try).
fn under(v: &Verdict, r: &Report) -> Vec<String> {
    let mut lines: Vec<String> = v.details.clone();
    if is_probe(v) && !r.sent {
        lines.push(format!(
            "the real {} was not sent (it may have side effects); --send sends it once",
            r.method
        ));
    }
    lines.extend(v.consequences.iter().map(|c| format!("→ {}", c.text)));
    if let Some(w) = &v.why {
        lines.push(format!("why: {w}"));
    }
    if let Some(f) = &v.fix {
        lines.push(match advice(v, r) {
            Some(a) => format!("fix: {f}; {a}"),
            None => format!("fix: {f}"),
        });
    }
    lines
}

/// The report as text: a header, one line per verdict, then a summary line. Verdicts quote what
/// servers sent (reason phrases, `Location`, certificate names, body excerpts): every text is
/// escaped for the terminal here, once.
pub fn text(r: &Report) -> String {
    let mut s = format!("tlspost doctor {}\n", EscapedText(&r.url));
    let pad = " ".repeat(6 + 1 + 2 + WIDTH + 1);
    for v in &r.verdicts {
        let mark = format!("[{}]", v.severity.as_str());
        s.push_str(&format!(
            "{mark:<6} {} {:<WIDTH$} {}\n",
            v.step.number(),
            v.step.name(),
            EscapedText(&title(v))
        ));
        for l in under(v, r) {
            s.push_str(&format!("{pad}{}\n", EscapedText(&l)));
        }
    }
    let fails = r.count(Severity::Fail);
    let warns = r.count(Severity::Warn);
    if fails > 0 {
        s.push_str(&format!(
            "\n{fails} FAIL, {warns} warn: fix the FAIL lines from the top; the first one is usually the cause\n"
        ));
    } else if warns > 0 {
        s.push_str(&format!(
            "\nno FAIL, {warns} warn: the POST should work; the warnings say what will break it later or for some devices\n"
        ));
    } else {
        s.push_str("\nall ok\n");
    }
    s
}

/// The report as one JSON document: `url`, `ok`, `fail`, `warn` and `steps` (one object per verdict,
/// with its `cause` and `consequences`).
pub fn json(r: &Report) -> Value {
    let steps: Vec<Value> = r
        .verdicts
        .iter()
        .map(|v| {
            let mut details = v.details.clone();
            if is_probe(v) && !r.sent {
                details.push(format!("the real {} was not sent (it may have side effects)", r.method));
            }
            json!({
                "step": v.step.number(),
                "name": v.step.name(),
                "mark": v.severity.as_str().to_ascii_lowercase(),
                "cause": v.cause,
                "title": title(v),
                "details": details,
                "consequences": v.consequences.iter().map(|c| c.text.clone()).collect::<Vec<_>>(),
                "why": v.why,
                "fix": v.fix.as_ref().map(|f| match advice(v, r) {
                    Some(a) => format!("{f}; {a}"),
                    None => f.clone(),
                }),
            })
        })
        .collect();
    json!({
        "url": r.url,
        "ok": !r.failed(),
        "fail": r.count(Severity::Fail),
        "warn": r.count(Severity::Warn),
        "steps": steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlspost_doctor::Step;

    fn report(verdicts: Vec<Verdict>) -> Report {
        Report {
            url: "https://h/".into(),
            method: "POST".into(),
            sent: false,
            verdicts,
        }
    }

    #[test]
    fn text_puts_why_and_fix_under_the_line_with_the_flag_to_try_and_json_lists_every_verdict() {
        let mut dns = Verdict::new(Step::Dns, Severity::Ok, Cause::IpAddress, "h → 192.0.2.1");
        dns.details.push("fact".into());
        let mut tcp = Verdict::new(
            Step::Tcp,
            Severity::Fail,
            Cause::Refused { port: 443 },
            "cannot connect: refused",
        );
        tcp.why = Some("nothing listens".into());
        tcp.fix = Some("check the port".into());
        let r = report(vec![dns, tcp]);
        let t = text(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1], "[ok]   1 dns      h → 192.0.2.1");
        assert_eq!(lines[2].trim(), "fact");
        assert_eq!(lines[3], "[FAIL] 2 tcp      cannot connect: refused");
        assert_eq!(lines[4].trim(), "why: nothing listens");
        assert_eq!(
            lines[5].trim(),
            "fix: check the port; with --resolve, check the address"
        );
        assert!(t.contains("1 FAIL, 0 warn"));
        let j = json(&r);
        assert_eq!(j["ok"], false);
        assert_eq!(j["steps"][1]["mark"], "fail");
        assert_eq!(j["steps"][1]["cause"], json!({"kind": "refused", "port": 443}));
        assert_eq!(j["steps"][0]["details"][0], "fact");
        // What a server wrote into a verdict shows escaped.
        let mut hostile = Verdict::new(
            Step::Edge,
            Severity::Ok,
            Cause::Reached { status: 200 },
            "HEAD / 200 \u{1b}[31mOK",
        );
        hostile.details.push("Location: /\r\u{9b}x".into());
        let shown = text(&report(vec![hostile]));
        assert!(shown.contains("HEAD / 200 \\x1b[31mOK\n"), "{shown}");
        assert!(shown.contains("Location: /\\r\\xc2\\x9bx\n"), "{shown}");
        assert!(
            shown.contains("the real POST was not sent (it may have side effects); --send sends it once"),
            "{shown}"
        );
    }
}

//! The report for people (one line per verdict; what follows from it, why and the fix indented
//! under it) and as JSON. The library's texts name no flag; the flags to try are added here, keyed
//! on the typed cause. Text is made block by block, as the library reports each verdict, so that
//! a terminal shows the steps as they complete; [`Style`] wraps and colours it for a terminal.

use serde_json::{Value, json};
use tlspost::proto::escape::EscapedText;
use tlspost_doctor::profile::Finding;
use tlspost_doctor::{Anchors, Cause, DeviceVerdict, FirstFail, Report, Severity, Step, Verdict};
use tlspost_proto::Phase;

use super::style::{Block, Mark, Style};

/// What every block may need of the request: its URL, method, and whether it is sent.
#[derive(Clone, Debug)]
pub struct Meta {
    /// The URL examined.
    pub url: String,
    /// The device's method.
    pub method: String,
    /// Whether the device's request is sent.
    pub sent: bool,
}

impl Meta {
    fn of(r: &Report) -> Meta {
        Meta {
            url: r.url.clone(),
            method: r.method.clone(),
            sent: r.sent,
        }
    }
}

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
fn advice(v: &Verdict, m: &Meta) -> Option<String> {
    let (host, port) = host_port(&m.url);
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

/// The fix with the flags to try.
fn fix(v: &Verdict, m: &Meta) -> Option<String> {
    v.fix.as_ref().map(|f| match advice(v, m) {
        Some(a) => format!("{f}; {a}"),
        None => f.clone(),
    })
}

/// A verdict as a block: details, consequences, why, fix (with the flags to try) under it.
pub fn verdict(v: &Verdict, m: &Meta) -> Block {
    let mut under: Vec<String> = v.details.clone();
    if v.from_probes && !m.sent {
        under.push(format!(
            "the real {} was not sent (it may have side effects); --send sends it once",
            m.method
        ));
    }
    under.extend(v.consequences.iter().map(|c| format!("→ {}", c.text)));
    if let Some(w) = &v.why {
        under.push(format!("why: {w}"));
    }
    if let Some(f) = fix(v, m) {
        under.push(format!("fix: {f}"));
    }
    Block {
        mark: Mark::Severity(v.severity),
        step: v.step,
        title: title(v),
        under,
    }
}

fn device_fix(f: &Finding, under: &mut Vec<String>) {
    if let Some(fx) = &f.fix {
        under.push(format!("fix on the server: {}", fx.server));
        under.push(format!("fix on the device: {}", fx.device));
    }
}

/// A stack's line in the summary (no stack named): whether it can talk, and the first reason
/// it cannot.
pub fn device_summary(d: &DeviceVerdict) -> Block {
    let v = &d.verdict;
    let name = v.profile.name;
    let (mark, title) = match &v.first {
        _ if v.can_talk => {
            let warns = v.warnings().count();
            let title = match warns {
                0 => format!("{name} can talk to this server"),
                n => format!("{name} can talk to this server ({n} warn: --device {name} shows them)"),
            };
            (Mark::Severity(Severity::Ok), title)
        }
        Some(f) if d.follows_tls => (Mark::No, format!("{name} cannot talk, for step 3's FAIL: {}", f.why())),
        Some(f) => (Mark::No, format!("{name} cannot talk: {}", f.why())),
        None => (Mark::No, format!("{name} cannot talk")),
    };
    Block {
        mark,
        step: Step::Device,
        title,
        under: Vec::new(),
    }
}

/// The named stack's full verdict: whether it can talk (the first cause, its why and a fix on
/// each side, first), then every other cause and fact.
pub fn device_full(d: &DeviceVerdict, anchors: Option<Anchors>) -> Vec<Block> {
    let v = &d.verdict;
    let p = v.profile;
    let causes = d.causes();
    // The library puts the cause of the first FAIL first.
    let first = (!v.can_talk && !causes.is_empty()).then_some(0);
    let mut under = vec![format!("profile: {}, as of {}", p.stack, p.describes)];
    under.push(
        match (p.device_code, anchors) {
            (true, Some(Anchors::Pinned)) => "the device's own TLS code ran, anchored at the pinned certificates",
            (true, _) => {
                "the device's own TLS code ran; the device pins nothing, so the served chain's top stood in: trust is \
                 step 3's verdict"
            }
            (false, _) => {
                "judged from its own ClientHellos (versions, suites, groups, keys, sizes); trust is step 3's verdict"
            }
        }
        .to_owned(),
    );
    let head = match first.and_then(|i| causes.get(i)) {
        Some(c) => {
            under.push(format!("why: {}", c.finding.why()));
            under.extend(c.same.iter().map(|s| format!("→ also seen by the probes: {}", s.why())));
            device_fix(c.finding, &mut under);
            let (mark, title) = if d.follows_tls {
                (
                    Mark::Severity(Severity::Skip),
                    format!("{} cannot talk to this server, for step 3's FAIL", p.name),
                )
            } else {
                (
                    Mark::Severity(Severity::Fail),
                    format!("{} cannot talk to this server", p.name),
                )
            };
            Block {
                mark,
                step: Step::Device,
                title,
                under,
            }
        }
        None => Block {
            mark: Mark::Severity(Severity::Ok),
            step: Step::Device,
            title: format!("{} can talk to this server", p.name),
            under,
        },
    };
    let mut out = vec![head];
    for (i, c) in causes.iter().enumerate() {
        if Some(i) == first {
            continue;
        }
        let mut under: Vec<String> = c
            .same
            .iter()
            .map(|s| format!("→ also seen by the probes: {}", s.why()))
            .collect();
        device_fix(c.finding, &mut under);
        out.push(Block {
            mark: Mark::Severity(c.finding.severity),
            step: Step::Device,
            title: c.finding.why(),
            under,
        });
    }
    out
}

/// The report's header line.
pub fn header(url: &str, style: &Style) -> String {
    style.line(&format!("tlspost doctor {}", EscapedText(url)))
}

/// The closing line: the counts, and the first FAIL named.
pub fn closing(r: &Report, style: &Style) -> String {
    let fails = r.count(Severity::Fail);
    let warns = r.count(Severity::Warn);
    let text = match r.first_fail() {
        Some(first) => {
            let named = match first {
                FirstFail::Verdict(v) => format!("{} {}: {}", v.step.number(), v.step.name(), title(v)),
                FirstFail::Device(d, f) => {
                    format!(
                        "6 device: {} cannot talk to this server: {}",
                        d.verdict.profile.name,
                        f.why()
                    )
                }
            };
            format!(
                "{fails} FAIL, {warns} warn: fix the first FAIL first, the others may follow from it: {}",
                EscapedText(&named)
            )
        }
        None if warns > 0 => format!(
            "no FAIL, {warns} warn: the POST should work; the warnings say what will break it later or for some devices"
        ),
        None => "all ok".to_owned(),
    };
    format!("\n{}", style.closing(&text, fails > 0))
}

/// The report as text, whole (what the streamed output adds up to).
#[cfg(test)]
pub fn text(r: &Report, style: &Style) -> String {
    let m = Meta::of(r);
    let mut s = header(&r.url, style);
    for v in &r.verdicts {
        s.push_str(&style.block(&verdict(v, &m)));
    }
    for d in &r.devices.verdicts {
        let blocks = match r.devices.named {
            Some(_) => device_full(d, r.devices.anchors),
            None => vec![device_summary(d)],
        };
        for b in blocks {
            s.push_str(&style.block(&b));
        }
    }
    s.push_str(&closing(r, style));
    s
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "mark": f.severity.as_str().to_ascii_lowercase(),
        "cause": f.cause,
        "why": f.why(),
        "fix": f.fix,
    })
}

fn device_json(d: &DeviceVerdict) -> Value {
    let v = &d.verdict;
    json!({
        "name": v.profile.name,
        "stack": v.profile.stack,
        "describes": v.profile.describes,
        "can_talk": v.can_talk,
        "follows_tls": d.follows_tls,
        "first": v.first.as_ref().map(finding_json),
        "findings": v.findings.iter().map(finding_json).collect::<Vec<_>>(),
    })
}

/// The report as one JSON document: `url`, `ok`, `fail`, `warn`, `steps` (one object per verdict,
/// with its `cause` and `consequences`), `device` (the stack named, or null), `anchors` and
/// `profiles` (one object per stack judged).
pub fn json(r: &Report) -> Value {
    let m = Meta::of(r);
    let steps: Vec<Value> = r
        .verdicts
        .iter()
        .map(|v| {
            let mut details = v.details.clone();
            if v.from_probes && !r.sent {
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
                "fix": fix(v, &m),
            })
        })
        .collect();
    json!({
        "url": r.url,
        "ok": !r.failed(),
        "fail": r.count(Severity::Fail),
        "warn": r.count(Severity::Warn),
        "steps": steps,
        "device": r.devices.named.map(|p| p.name),
        "anchors": r.devices.anchors.map(|a| match a {
            Anchors::Pinned => "pinned",
            Anchors::ServedTop => "served_top",
        }),
        "profiles": r.devices.verdicts.iter().map(device_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlspost_doctor::Devices;

    fn report(verdicts: Vec<Verdict>) -> Report {
        Report {
            url: "https://h/".into(),
            method: "POST".into(),
            sent: false,
            verdicts,
            devices: Devices::default(),
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
        let t = text(&r, &Style::plain());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1], "[ok]   1 dns      h → 192.0.2.1");
        assert_eq!(lines[2].trim(), "fact");
        assert_eq!(lines[3], "[FAIL] 2 tcp      cannot connect: refused");
        assert_eq!(lines[4].trim(), "why: nothing listens");
        assert_eq!(
            lines[5].trim(),
            "fix: check the port; with --resolve, check the address"
        );
        assert_eq!(
            lines.last().copied(),
            Some(
                "1 FAIL, 0 warn: fix the first FAIL first, the others may follow from it: 2 tcp: cannot connect: refused"
            )
        );
        let j = json(&r);
        assert_eq!(j["ok"], false);
        assert_eq!(j["steps"][1]["mark"], "fail");
        assert_eq!(j["steps"][1]["cause"], json!({"kind": "refused", "port": 443}));
        assert_eq!(j["steps"][0]["details"][0], "fact");
        assert_eq!(j["device"], Value::Null);
        assert_eq!(j["profiles"], json!([]));
        // What a server wrote into a verdict shows escaped.
        let mut hostile = Verdict::new(
            Step::Edge,
            Severity::Ok,
            Cause::Reached { status: 200 },
            "HEAD / 200 \u{1b}[31mOK",
        );
        hostile.details.push("Location: /\r\u{9b}x".into());
        // A probe's verdict: the note that the real request was not sent goes under it.
        hostile.from_probes = true;
        let shown = text(&report(vec![hostile]), &Style::plain());
        assert!(shown.contains("HEAD / 200 \\x1b[31mOK\n"), "{shown}");
        assert!(shown.contains("Location: /\\r\\xc2\\x9bx\n"), "{shown}");
        assert!(
            shown.contains("the real POST was not sent (it may have side effects); --send sends it once"),
            "{shown}"
        );
    }
}

//! The terminal line: one per capture and per failed handshake, as they happen (time, peer, SNI,
//! method, target, status, finding codes, forward outcome), printed by a thread of its own so that
//! a connection never waits for the terminal.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::mpsc;

use crate::record::Capture;

/// How long the printer pauses after a write. A line shows within this of its capture; a person
/// reading sees no delay, and the connections under load do not pay a thread wake-up per line
/// (`bench/serve-forward.sh`, `LINES=1`).
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);

/// Where the lines go: a printer thread writing stdout.
pub(crate) struct Lines {
    tx: mpsc::Sender<String>,
}

impl Lines {
    /// Start the printer thread (`None` when no thread can be started: no lines then).
    pub(crate) fn start() -> Option<Lines> {
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name("tlspost-lines".into())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(std::io::stdout());
                while let Ok(first) = rx.recv() {
                    let _ = out.write_all(first.as_bytes());
                    // Lines that came meanwhile go in the same write.
                    while let Ok(more) = rx.try_recv() {
                        let _ = out.write_all(more.as_bytes());
                    }
                    let _ = out.flush();
                    // Lines that come during the pause wait for it without waking this thread:
                    // under load, one wake-up and one write per pause rather than per capture.
                    std::thread::sleep(GATHER);
                }
            })
            .ok()?;
        Some(Lines { tx })
    }

    /// Print the line of `c`.
    pub(crate) fn say(&self, c: &Capture) {
        let _ = self.tx.send(line(c));
    }
}

/// Text from the network, safe for a terminal: control characters (escape sequences among them)
/// shown escaped, at most `max` characters.
fn safe(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// One capture as one line (with its newline).
pub(crate) fn line(c: &Capture) -> String {
    let mut s = String::with_capacity(160);
    let time = c.time.get(11..23).unwrap_or(&c.time);
    let _ = write!(s, "{time} #{} {} {}", c.id, safe(&c.peer, 60), c.scheme);
    if let Some(sni) = &c.sni {
        let _ = write!(s, " sni={}", safe(sni, 80));
    }
    match (&c.method, &c.target) {
        (Some(m), Some(t)) => {
            let _ = write!(s, " {} {}", safe(m, 20), safe(t, 120));
        }
        _ => s.push_str(" (no request)"),
    }
    if c.status == 0 {
        s.push_str(" → no answer");
    } else {
        let _ = write!(s, " → {}", c.status);
    }
    if !c.findings.is_empty() {
        let codes: Vec<&str> = c.findings.iter().map(|f| f.code.as_str()).collect();
        let _ = write!(s, " [{}]", codes.join(","));
    }
    if let Some(id) = c.replay_of {
        let _ = write!(s, " replay of #{id}");
    }
    if let Some(u) = &c.upstream {
        s.push_str(" | upstream ");
        match (&u.error, &u.answered_by) {
            (Some(e), _) if u.status == 0 => {
                let _ = write!(s, "failed ({}): {}", e.cause, safe(&e.message, 160));
            }
            (e, who) => {
                let _ = write!(s, "{}", u.status);
                if let Some(a) = who.as_ref().filter(|a| a.who == "edge") {
                    let code = a.code.map(|c| format!(" error {c}")).unwrap_or_default();
                    let _ = write!(s, " by the {} edge{code}", a.vendor.as_deref().unwrap_or("an"));
                }
                if let Some(ms) = u.timing.total_us {
                    let _ = write!(s, " in {:.1} ms", ms as f64 / 1000.0);
                }
                if let Some(e) = e {
                    let _ = write!(s, ", cut ({}): {}", e.cause, safe(&e.message, 160));
                }
            }
        }
    } else if let Some(e) = &c.error {
        let _ = write!(s, " | {}", safe(e, 200));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{AnsweredBy, FindingRecord, Upstream, UpstreamError, UpstreamTiming};

    fn base() -> Capture {
        Capture {
            id: 7,
            time: "2025-01-02T10:11:12.345Z".into(),
            peer: "127.0.0.1:5000".into(),
            scheme: "https".into(),
            sni: Some("api.example".into()),
            method: Some("POST".into()),
            target: Some("/v1/t\u{1b}[2J".into()),
            status: 200,
            ..Capture::default()
        }
    }

    #[test]
    fn a_line_says_who_sent_what_and_what_came_back() {
        let mut c = base();
        c.findings.push(FindingRecord {
            code: "TP101".into(),
            severity: "warning".into(),
            title: String::new(),
            message: String::new(),
            fix: String::new(),
        });
        assert_eq!(
            line(&c),
            "10:11:12.345 #7 127.0.0.1:5000 https sni=api.example POST /v1/t\\u{1b}[2J → 200 [TP101]\n"
        );
        c.upstream = Some(Upstream {
            status: 403,
            answered_by: Some(AnsweredBy {
                who: "edge".into(),
                vendor: Some("Cloudflare".into()),
                code: Some(1010),
                ..AnsweredBy::default()
            }),
            timing: UpstreamTiming {
                total_us: Some(2500),
                ..UpstreamTiming::default()
            },
            ..Upstream::default()
        });
        assert!(
            line(&c).ends_with(" | upstream 403 by the Cloudflare edge error 1010 in 2.5 ms\n"),
            "{}",
            line(&c)
        );
        c.status = 502;
        c.upstream = Some(Upstream {
            error: Some(UpstreamError {
                cause: "dns".into(),
                message: "no such name".into(),
            }),
            ..Upstream::default()
        });
        assert!(
            line(&c).ends_with("→ 502 [TP101] | upstream failed (dns): no such name\n"),
            "{}",
            line(&c)
        );
    }

    #[test]
    fn a_failed_handshake_is_a_line_too() {
        let c = Capture {
            method: None,
            target: None,
            status: 0,
            error: Some("the client refused the certificate".into()),
            ..base()
        };
        assert!(
            line(&c).ends_with("sni=api.example (no request) → no answer | the client refused the certificate\n"),
            "{}",
            line(&c)
        );
    }
}

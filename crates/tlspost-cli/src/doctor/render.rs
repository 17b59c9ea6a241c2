//! The report for people (one line per check, `why` and `fix` indented) and as JSON.

use serde_json::{Value, json};
use tlspost::proto::escape::EscapedText;

use super::{Mark, Report};

const WIDTH: usize = 8;

/// The report as text: a header, one line per check, then a summary line. Checks quote what servers
/// sent (reason phrases, `Location`, certificate names, body excerpts): every text is escaped for
/// the terminal here, once, whatever a step put in it.
pub fn text(r: &Report) -> String {
    let mut s = format!("tlspost doctor {}\n", EscapedText(&r.url));
    for c in &r.checks {
        let mark = format!("[{}]", c.mark.as_str());
        s.push_str(&format!(
            "{mark:<6} {} {:<WIDTH$} {}\n",
            c.step.number(),
            c.step.name(),
            EscapedText(&c.title)
        ));
        let pad = " ".repeat(6 + 1 + 2 + WIDTH + 1);
        for d in &c.details {
            s.push_str(&format!("{pad}{}\n", EscapedText(d)));
        }
        if let Some(w) = &c.why {
            s.push_str(&format!("{pad}why: {}\n", EscapedText(w)));
        }
        if let Some(f) = &c.fix {
            s.push_str(&format!("{pad}fix: {}\n", EscapedText(f)));
        }
    }
    let fails = r.count(Mark::Fail);
    let warns = r.count(Mark::Warn);
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

/// The report as one JSON document: `url`, `ok`, `fail`, `warn` and `steps` (one object per check).
pub fn json(r: &Report) -> Value {
    let steps: Vec<Value> = r
        .checks
        .iter()
        .map(|c| {
            json!({
                "step": c.step.number(),
                "name": c.step.name(),
                "mark": c.mark.as_str().to_ascii_lowercase(),
                "title": c.title,
                "details": c.details,
                "why": c.why,
                "fix": c.fix,
            })
        })
        .collect();
    json!({
        "url": r.url,
        "ok": !r.failed(),
        "fail": r.count(Mark::Fail),
        "warn": r.count(Mark::Warn),
        "steps": steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Check, Step};

    #[test]
    fn text_puts_why_and_fix_under_the_line_and_json_lists_every_check() {
        let r = Report {
            url: "https://h/".into(),
            checks: vec![
                Check::ok(Step::Dns, "h → 192.0.2.1").detail("fact"),
                Check::bad(
                    Step::Tcp,
                    Mark::Fail,
                    "cannot connect: refused",
                    "nothing listens",
                    "check the port",
                ),
            ],
        };
        let t = text(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1], "[ok]   1 dns      h → 192.0.2.1");
        assert_eq!(lines[2].trim(), "fact");
        assert_eq!(lines[3], "[FAIL] 2 tcp      cannot connect: refused");
        assert_eq!(lines[4].trim(), "why: nothing listens");
        assert_eq!(lines[5].trim(), "fix: check the port");
        assert!(t.contains("1 FAIL, 0 warn"));
        // What a server wrote into a check shows escaped.
        let hostile = Report {
            url: "https://h/".into(),
            checks: vec![Check::ok(Step::Edge, "HEAD / 200 \u{1b}[31mOK").detail("Location: /\r\u{9b}x")],
        };
        let shown = text(&hostile);
        assert!(shown.contains("HEAD / 200 \\x1b[31mOK\n"), "{shown}");
        assert!(shown.contains("Location: /\\r\\xc2\\x9bx\n"), "{shown}");
        let j = json(&r);
        assert_eq!(j["ok"], false);
        assert_eq!(j["steps"][1]["mark"], "fail");
        assert_eq!(j["steps"][0]["details"][0], "fact");
    }
}

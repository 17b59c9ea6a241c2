//! How the report looks where it goes. On a terminal: lines wrap at its width (`COLUMNS`, else
//! the terminal's own) with continuation lines indented under their text, and the marks are in
//! colour unless `NO_COLOR` is set (<https://no-color.org>). Piped: neither, one line per line.

use std::io::IsTerminal;

use tlspost::proto::escape::EscapedText;
use tlspost_doctor::{Severity, Step};

/// One printed check: a mark, the step, a title, and the lines under it.
#[derive(Clone, Debug)]
pub struct Block {
    /// ok, warn, FAIL, skip, or "no" (a stack that cannot talk, in the summary).
    pub mark: Mark,
    /// The step.
    pub step: Step,
    /// The line's text.
    pub title: String,
    /// The lines under it.
    pub under: Vec<String>,
}

/// A line's mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// `ok`, `warn`, `FAIL` or `skip`.
    Severity(Severity),
    /// `no`: a device stack that cannot talk to the server, in the summary (not a FAIL: no stack
    /// was named).
    No,
}

impl Mark {
    fn text(self) -> &'static str {
        match self {
            Mark::Severity(s) => s.as_str(),
            Mark::No => "no",
        }
    }

    /// The SGR parameters of its colour.
    fn colour(self) -> &'static str {
        match self {
            Mark::Severity(Severity::Ok) => "32",
            Mark::Severity(Severity::Warn) | Mark::No => "33",
            Mark::Severity(Severity::Fail) => "1;31",
            Mark::Severity(Severity::Skip) => "2",
        }
    }
}

/// The step's name is padded to this width.
const NAME: usize = 8;
/// Where a line's text starts: `[FAIL] 3 request  `.
const TEXT: usize = 6 + 1 + 2 + NAME + 1;
/// A terminal narrower than this is treated as this wide (the text column needs room).
const NARROWEST: usize = TEXT + 20;

/// Labels of the lines under a check; their continuation lines hang under the text after them.
const LABELS: &[&str] = &[
    "why: ",
    "fix: ",
    "fix on the server: ",
    "fix on the device: ",
    "→ also seen by the probes: ",
    "→ ",
    "> ",
];

/// Where the report is going: wrap width and colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Wrap at this many columns (a terminal), or not at all (piped).
    pub width: Option<usize>,
    /// Colour the marks.
    pub colour: bool,
}

impl Style {
    /// Plain: no wrapping, no colour (piped output, and JSON).
    pub fn plain() -> Style {
        Style {
            width: None,
            colour: false,
        }
    }

    /// For standard output: a terminal's width and colour, or plain when piped.
    pub fn detect() -> Style {
        if !std::io::stdout().is_terminal() {
            return Style::plain();
        }
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|w| *w > 0)
            .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .unwrap_or(80);
        Style {
            width: Some(width.max(NARROWEST)),
            colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    /// `text` after `first` (already on the line), wrapped: continuation lines start with `hang`
    /// spaces. Words longer than a line stay whole.
    fn wrap(&self, first: &str, text: &str, hang: usize) -> String {
        let mut out = String::from(first);
        let Some(width) = self.width else {
            out.push_str(text);
            return out;
        };
        let indent = " ".repeat(hang);
        let mut col = first.chars().count();
        let mut words_on_line = false;
        for word in text.split(' ') {
            let w = word.chars().count();
            if words_on_line && col + 1 + w > width {
                out.push('\n');
                out.push_str(&indent);
                col = hang;
                words_on_line = false;
            }
            if words_on_line {
                out.push(' ');
                col += 1;
            }
            out.push_str(word);
            col += w;
            words_on_line = true;
        }
        out
    }

    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.colour {
            format!("\u{1b}[{sgr}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    /// One line of text (escaped by the caller), wrapped, with its line break.
    pub fn line(&self, text: &str) -> String {
        format!("{}\n", self.wrap("", text, 0))
    }

    /// The closing line, red when something FAILed, green when all is ok.
    pub fn closing(&self, text: &str, failed: bool) -> String {
        let wrapped = self.wrap("", text, 0);
        let sgr = if failed { "1;31" } else { "1" };
        format!("{}\n", self.paint(sgr, &wrapped))
    }

    /// A check: `[mark] N step title`, the lines under it indented to the title. Every text is
    /// escaped for the terminal here, once (verdicts quote what servers sent).
    pub fn block(&self, b: &Block) -> String {
        let mark = format!("[{}]", b.mark.text());
        let head = format!("{mark:<6} {} {:<NAME$} ", b.step.number(), b.step.name());
        let mut s = self.wrap(&head, &EscapedText(&b.title).to_string(), TEXT);
        if self.colour {
            s = s.replacen(&mark, &self.paint(b.mark.colour(), &mark), 1);
        }
        s.push('\n');
        let pad = " ".repeat(TEXT);
        for l in &b.under {
            let l = EscapedText(l).to_string();
            let label = LABELS
                .iter()
                .find(|p| l.starts_with(*p))
                .map_or(0, |p| p.chars().count());
            s.push_str(&self.wrap(&pad, &l, TEXT + label));
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_wraps_under_the_text_and_colours_the_mark_and_a_pipe_does_neither() {
        let b = Block {
            mark: Mark::Severity(Severity::Fail),
            step: Step::Tls,
            title: "the server sends a chain that the device cannot verify at all".into(),
            under: vec!["why: the intermediate is missing from what the server sends".into()],
        };
        let tty = Style {
            width: Some(40),
            colour: true,
        };
        let shown = tty.block(&b);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], "\u{1b}[1;31m[FAIL]\u{1b}[0m 3 tls      the server sends a");
        assert_eq!(lines[1], "                  chain that the device");
        assert_eq!(lines[3], "                  why: the intermediate");
        // Under its text, after the label.
        assert_eq!(lines[4], "                       is missing from");
        assert!(lines[1..].iter().all(|l| l.chars().count() <= 40), "{shown}");
        let piped = Style::plain().block(&b);
        assert_eq!(piped.lines().count(), 2, "{piped}");
        assert!(!piped.contains('\u{1b}'));
    }
}

//! Explain what is wrong with a raw HTTP/1.1 request, the way a strict server or a CDN edge would see it.
//!
//! `tlspost-lint` takes the exact bytes of one request as received (head and body, possibly
//! truncated or malformed) plus a few TLS facts, and returns findings: a stable code, a severity,
//! a message with the facts, and a fix. It never does I/O and never panics on any input.
//!
//! ```
//! use tlspost_lint::{lint, Context, Severity};
//!
//! // What Arduino-ESP32's HTTPClient sends for `http.POST(json)` without `addHeader`.
//! let raw = b"POST /oauth/token HTTP/1.1\r\n\
//!     Host: api.example.com\r\n\
//!     User-Agent: ESP32HTTPClient\r\n\
//!     Connection: keep-alive\r\n\
//!     Accept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\n\
//!     Content-Length: 21\r\n\
//!     \r\n\
//!     {\"grant_type\":\"x\"}   ";
//! let ctx = Context { tls: true, sni: Some("api.example.com"), alpn: None };
//! let findings = lint(raw, &ctx);
//! let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
//! assert_eq!(codes, ["TP301", "TP304"]); // JSON without Content-Type; default User-Agent
//! assert!(findings.iter().all(|f| f.severity == Severity::Error));
//! println!("{}", findings[0]); // error[TP301] ... then the message and `fix: ...`
//! ```
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// No unsafe code and documented items come from the workspace's lints; never panic on any input:
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unreachable
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

use core::fmt;

use tlspost_proto::escape;

mod checks;
mod chunked;
mod parse;
mod record;
mod rules;

pub use record::{CapturedRequest, RecordError};
pub use rules::{Rule, find_rule, rules};

/// What is known about the connection the request arrived on.
///
/// `Context::default()` means plain HTTP (no TLS, so no SNI and no ALPN).
#[derive(Clone, Debug, Default)]
pub struct Context<'a> {
    /// The request arrived over TLS.
    pub tls: bool,
    /// The SNI name from the ClientHello, if any.
    pub sni: Option<&'a str>,
    /// The negotiated ALPN protocol, if any (e.g. `http/1.1`).
    pub alpn: Option<&'a str>,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Notable, usually harmless.
    Info,
    /// Likely trouble with some servers or later.
    Warning,
    /// A strict server or CDN edge rejects or misreads the request.
    Error,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong (or notable) with a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Stable code from [`rules()`], e.g. `TP301`.
    pub code: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The rule's short title.
    pub title: &'static str,
    /// What was found in this request, with the facts (which header, how many bytes).
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    pub(crate) fn new(rule: &Rule, message: impl Into<String>) -> Self {
        Finding {
            code: rule.code,
            severity: rule.severity,
            title: rule.title,
            message: terminal_safe(message.into()),
            fix: rule.fix_summary.to_string(),
        }
    }

    pub(crate) fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = terminal_safe(fix.into());
        self
    }
}

/// Every message quotes request bytes through an escaping excerpt; this is the backstop: whatever
/// reaches a finding's text is safe to print on a terminal (no control bytes, no bidirectional
/// overrides), so the command line (for a file or a capture) and the capture server's pages can print
/// it as it is. Text that is already safe is returned unchanged (and not copied).
fn terminal_safe(text: String) -> String {
    if escape::is_safe(text.as_bytes()) {
        text
    } else {
        escape::Escaped(text.as_bytes()).to_string()
    }
}

/// The human form: `error[TP101] title`, the message, then `fix: ...`, one per line.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] {}\n  {}\n  fix: {}",
            self.severity, self.code, self.title, self.message, self.fix
        )
    }
}

/// Lint the exact bytes of one request as received (head and body, maybe truncated).
///
/// Findings come sorted: errors first, then warnings, then info; by code within a severity.
/// Any input is accepted: garbage yields findings, never a panic.
pub fn lint(raw: &[u8], ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let head = parse::parse(raw);
    checks::run(&head, raw, ctx, &mut out);
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(b.code)));
    out
}

/// `true` when any finding is an error (what the CLI turns into exit code 1).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The findings as a JSON array of `{code, severity, title, message, fix}` objects.
pub fn to_json(findings: &[Finding]) -> String {
    // Serializing plain strings and enums into a String cannot fail; fall back to an empty array anyway.
    serde_json::to_string_pretty(findings).unwrap_or_else(|_| String::from("[]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARDUINO: &[u8] = b"POST /t HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: ESP32HTTPClient\r\n\
        Accept-Encoding: gzip\r\nContent-Length: 7\r\n\r\n{\"a\":1}";

    #[test]
    fn human_form_is_one_block_per_finding() {
        let f = lint(ARDUINO, &Context::default());
        let text = f[0].to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "error[TP301] JSON body without Content-Type: application/json"
        );
        assert!(lines[1].contains("7-byte body is JSON"), "{text}");
        assert!(
            lines[2]
                .trim_start()
                .starts_with("fix: add `Content-Type: application/json`")
        );
    }

    #[test]
    fn sorted_errors_first_then_by_code() {
        let f = lint(ARDUINO, &Context::default());
        let got: Vec<(Severity, &str)> = f.iter().map(|f| (f.severity, f.code)).collect();
        assert_eq!(
            got,
            [
                (Severity::Error, "TP301"),
                (Severity::Error, "TP304"),
                (Severity::Warning, "TP305")
            ]
        );
        assert!(has_errors(&f));
        assert!(!has_errors(&f[2..]));
    }

    #[test]
    fn json_form_has_the_fields_and_lowercase_severity() {
        let f = lint(ARDUINO, &Context::default());
        let v: serde_json::Value = serde_json::from_str(&to_json(&f)).unwrap();
        let first = &v[0];
        assert_eq!(first["code"], "TP301");
        assert_eq!(first["severity"], "error");
        assert_eq!(v[2]["severity"], "warning");
        for k in ["title", "message", "fix"] {
            assert!(first[k].as_str().is_some_and(|s| !s.is_empty()), "{k}");
        }
        assert_eq!(to_json(&[]), "[]");
    }

    #[test]
    fn find_rule_looks_codes_up() {
        assert_eq!(find_rule("TP301").map(|r| r.severity), Some(Severity::Error));
        assert!(find_rule("TP999").is_none());
    }

    #[test]
    fn default_context_is_plain_http() {
        let c = Context::default();
        assert!(!c.tls && c.sni.is_none() && c.alpn.is_none());
        // Over plain HTTP no TLS rule fires even without SNI.
        let f = lint(b"GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: s/1\r\n\r\n", &c);
        assert!(f.is_empty(), "{f:?}");
    }
}

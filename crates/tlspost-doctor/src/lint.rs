//! Step 4: the bytes the device sends, shown (secrets masked) and linted with the TLS facts of the
//! connection.

use tlspost_lint::Context;
use tlspost_proto::escape::Escaped;

use crate::report::{Cause, Severity, Step, Verdict};
use crate::request::Built;
use crate::target::Target;

/// The head of `bytes` as text lines, secrets masked, for display.
fn head_lines(bytes: &[u8]) -> Vec<String> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len().min(2048));
    let head = tlspost::trace::mask_secrets(bytes.get(..end).unwrap_or_default());
    head.split(|&b| b == b'\n')
        .take(40)
        .map(|l| format!("> {}", Escaped(l.strip_suffix(b"\r").unwrap_or(l))))
        .collect()
}

/// Step 4: one verdict for the request, then one per lint finding.
pub(crate) fn run(built: &Built, target: &Target, out: &mut Vec<Verdict>) {
    let ctx = Context {
        tls: target.https,
        sni: target.sni(),
        alpn: None,
    };
    let findings = tlspost_lint::lint(&built.bytes, &ctx);
    let mut head = Verdict::ok(
        Step::Request,
        Cause::DeviceRequest {
            bytes: built.bytes.len(),
            raw: built.raw,
        },
        format!("the device's request: {} bytes, {}", built.bytes.len(), built.source),
    );
    for l in head_lines(&built.bytes) {
        head = head.detail(l);
    }
    out.push(head);
    if findings.is_empty() {
        out.push(Verdict::ok(Step::Request, Cause::LintClean, "lint: no findings"));
    }
    for f in findings {
        let v = Verdict::ok(
            Step::Request,
            Cause::Lint { code: f.code },
            format!("lint {}: {}", f.code, f.title),
        );
        out.push(match f.severity {
            tlspost_lint::Severity::Error => v.bad(Severity::Fail, f.message, f.fix),
            tlspost_lint::Severity::Warning => v.bad(Severity::Warn, f.message, f.fix),
            _ => v.detail(f.message),
        });
    }
}

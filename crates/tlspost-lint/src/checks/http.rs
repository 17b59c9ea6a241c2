//! HTTP semantics (TP2xx): request line, Host, Expect.

use super::excerpt;
use crate::Finding;
use tlspost_proto::syntax::is_tchar;

use crate::parse::{Head, Version};
use crate::rules::*;

pub(super) fn check(head: &Head<'_>, out: &mut Vec<Finding>) {
    if head.request_line.is_empty() {
        return; // nothing arrived; TP101 says so
    }
    request_line(head, out);
    host(head, out);
    expect(head, out);
    singletons(head, out);
}

/// Headers that must have one value; a second copy is joined, or one of them wins, depending on
/// the hop.
const SINGLETONS: &[&str] = &["Content-Type", "Authorization", "User-Agent"];

fn singletons(head: &Head<'_>, out: &mut Vec<Finding>) {
    for name in SINGLETONS {
        if head.all(name).nth(1).is_some() {
            let values: Vec<String> = head.all(name).map(|f| format!("`{}`", excerpt(&f.value, 40))).collect();
            out.push(Finding::new(
                &SINGLETON_REPEATED,
                format!(
                    "{name} is sent {} times ({}); some servers use the first, some the last, \
                     and some join them into one invalid value such as `a, b`",
                    values.len(),
                    values.join(", ")
                ),
            ));
        }
    }
}

/// `true` when `s` starts with `prefix`, ignoring ASCII case.
fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn request_line(head: &Head<'_>, out: &mut Vec<Finding>) {
    let line = || excerpt(head.request_line, 80);
    if head.request_line.starts_with(&[0x16, 0x03]) {
        out.push(
            Finding::new(
                &BAD_REQUEST_LINE,
                "the bytes start with a TLS handshake record (0x16 0x03): the client speaks HTTPS to a \
             plain HTTP port; the server answers 400 or closes the connection",
            )
            .with_fix("connect to the HTTPS port, or use http:// (no TLS) for this port"),
        );
    } else if head.request_line_irregular {
        out.push(Finding::new(
            &BAD_REQUEST_LINE,
            format!(
                "the request line `{}` is not `METHOD SP target SP HTTP/1.1` with single \
                 spaces; servers answer 400 (or read a part as the wrong thing)",
                line()
            ),
        ));
    } else if head.method.iter().any(|&b| !is_tchar(b)) {
        out.push(Finding::new(
            &BAD_REQUEST_LINE,
            format!(
                "the method `{}` contains bytes a method cannot contain; servers answer 400",
                excerpt(head.method, 32)
            ),
        ));
    } else if head.version == Some(Version::Invalid) {
        out.push(Finding::new(
            &BAD_REQUEST_LINE,
            format!(
                "`{}` in the request line `{}` is not an HTTP version (expected `HTTP/1.1`); \
                 servers answer 400",
                excerpt(head.version_raw, 32),
                line()
            ),
        ));
    }
    if head.method.iter().any(u8::is_ascii_lowercase) && head.method.iter().all(|&b| is_tchar(b)) {
        out.push(
            Finding::new(
                &METHOD_CASE,
                format!(
                    "the method `{}` is not upper case; methods are case-sensitive (RFC 9110 §9.1), \
                 so servers answer 405 or 501 instead of running {}",
                    excerpt(head.method, 32),
                    head.method.to_ascii_uppercase().escape_ascii()
                ),
            )
            .with_fix(format!("send `{}`", head.method.to_ascii_uppercase().escape_ascii())),
        );
    }
    if head.version == Some(Version::Other) {
        out.push(Finding::new(
            &VERSION_UNSUPPORTED,
            format!(
                "the request line says `{}`; an HTTP/1.x server answers 505 HTTP Version Not \
                 Supported or 400 (HTTP/2 is never sent as text)",
                excerpt(head.version_raw, 32)
            ),
        ));
    }
    let target = head.target;
    if target.is_empty() {
        // already reported as an irregular request line
    } else if starts_with_ignore_case(target, b"http://") || starts_with_ignore_case(target, b"https://") {
        out.push(Finding::new(
            &ABSOLUTE_FORM,
            format!(
                "the target `{}` is in absolute form, which is meant for proxies; origin servers \
                 must accept it and then ignore the Host header, but some frameworks route it wrong",
                excerpt(target, 64)
            ),
        ));
    } else if !(target.starts_with(b"/") || (target == b"*" && head.method_is("OPTIONS")) || head.method_is("CONNECT"))
    {
        out.push(Finding::new(
            &BAD_REQUEST_LINE,
            format!(
                "the target `{}` does not start with `/`; servers answer 400 (send the path, \
                 e.g. `/oauth/token`)",
                excerpt(target, 64)
            ),
        ));
    } else if let Some(&b) = target.iter().find(|&&b| b <= b' ' || b >= 0x7f) {
        out.push(Finding::new(
            &BAD_REQUEST_LINE,
            format!(
                "the target `{}` contains the byte 0x{b:02x}, which must be percent-encoded; \
                 servers answer 400",
                excerpt(target, 64)
            ),
        ));
    }
}

/// Why a Host value is not `name[:port]`, if it is not.
fn host_problem(v: &[u8]) -> Option<&'static str> {
    if v.is_empty() {
        return Some("it is empty");
    }
    if v.contains(&b',') {
        return Some("it is a list of several hosts");
    }
    if v.windows(3).any(|w| w == b"://") {
        return Some("it contains a scheme (`http://`); send only the name");
    }
    if v.contains(&b'/') {
        return Some("it contains a path; send only the name");
    }
    if v.contains(&b'@') {
        return Some("it contains user information (`@`)");
    }
    if v.iter().any(|&b| b <= b' ' || b >= 0x7f) {
        return Some("it contains spaces, control bytes or non-ASCII bytes");
    }
    let (name, port) = if let Some(rest) = v.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return Some("an IPv6 literal is missing its `]`");
        };
        let after = rest.get(close.saturating_add(1)..).unwrap_or_default();
        match after {
            [] => (&b"x"[..], None),
            [b':', port @ ..] => (&b"x"[..], Some(port)),
            _ => return Some("bytes follow the IPv6 literal's `]`"),
        }
    } else {
        match v.iter().filter(|&&b| b == b':').count() {
            0 => (v, None),
            1 => {
                let i = v.iter().position(|&b| b == b':').unwrap_or(v.len());
                (
                    v.get(..i).unwrap_or_default(),
                    Some(v.get(i.saturating_add(1)..).unwrap_or_default()),
                )
            }
            _ => return Some("it has several colons (an IPv6 address must be in brackets)"),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.iter().all(u8::is_ascii_digit) || port.len() > 5 {
            return Some("the port is not a number");
        }
    }
    if name.is_empty() {
        return Some("the name before the port is empty");
    }
    if !name
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+;=%".contains(&b))
    {
        return Some("the name contains bytes a host name cannot contain");
    }
    None
}

fn host(head: &Head<'_>, out: &mut Vec<Finding>) {
    let count = head.all("host").count();
    if count == 0 {
        if head.complete {
            let why = if head.version == Some(Version::Http10) {
                "HTTP/1.0 does not require Host, but a CDN or any server with more than one site \
                 cannot route the request without it and answers with an error page of its own"
            } else {
                "RFC 9112 §3.2 requires a 400 for an HTTP/1.1 request without Host, and a CDN \
                 cannot route it to your site"
            };
            out.push(Finding::new(
                &HOST_MISSING,
                format!("the request has no Host header; {why}"),
            ));
        }
        return;
    }
    if count > 1 {
        let values: Vec<String> = head
            .all("host")
            .map(|f| format!("`{}`", excerpt(&f.value, 40)))
            .collect();
        out.push(Finding::new(
            &HOST_DUPLICATE,
            format!(
                "Host appears {} times ({}); RFC 9112 §3.2 requires a 400, and hops that pick \
                 different ones route the request to different sites",
                count,
                values.join(", ")
            ),
        ));
    }
    for f in head.all("host") {
        if let Some(why) = host_problem(&f.value) {
            out.push(Finding::new(
                &HOST_INVALID,
                format!(
                    "Host `{}` is not `name` or `name:port`: {why}; servers answer 400",
                    excerpt(&f.value, 64)
                ),
            ));
        }
    }
}

fn expect(head: &Head<'_>, out: &mut Vec<Finding>) {
    for v in head.list("expect") {
        let message = if v.eq_ignore_ascii_case(b"100-continue") {
            "the client asks the server to answer `100 Continue` before it sends the body; \
             embedded clients rarely wait for it correctly (the body is sent anyway, or never), \
             and some servers and proxies answer 417 Expectation Failed"
                .to_string()
        } else {
            format!(
                "`Expect: {}` is not an expectation servers know; they answer 417 \
                 Expectation Failed",
                excerpt(v, 40)
            )
        };
        out.push(Finding::new(&EXPECT_CONTINUE, message));
    }
}

#[cfg(test)]
mod tests {
    use super::host_problem;

    #[test]
    fn host_values() {
        // Valid, then invalid values, each list separated by `|`.
        let valid = "api.example.com|api.example.com:8443|[::1]|[::1]:80|10.0.0.1";
        let invalid = "|http://a.com|a.com/x|u@a.com|a b|a:b|::1|a.com:|[::1|a,b";
        for (list, ok) in [(valid, true), (invalid, false)] {
            for v in list.split('|') {
                assert_eq!(
                    host_problem(v.as_bytes()).is_none(),
                    ok,
                    "{v:?}: {:?}",
                    host_problem(v.as_bytes())
                );
            }
        }
    }
}

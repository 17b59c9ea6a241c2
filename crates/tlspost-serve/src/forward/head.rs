//! The heads as they go on: the device's request head towards the upstream, the upstream's response
//! head towards the device. Lines are kept byte for byte and in order; a line is only dropped or
//! replaced, and each change is listed.

use crate::record::Rewrite;

use super::Forward;

/// Hop-by-hop fields (RFC 9110 §7.6.1) besides the ones `Connection` names: they belong to one
/// connection and do not go on. `Transfer-Encoding` is hop-by-hop too, but the body goes on as it
/// came, framing and all, so it stays.
const HOP_BY_HOP: [&str; 5] = ["connection", "keep-alive", "proxy-connection", "te", "upgrade"];

/// One line of a head: its bytes (line ending included) and its field name (`None`: the start
/// line, a continuation line, or the blank line at the end).
fn lines(head: &[u8]) -> impl Iterator<Item = (&[u8], Option<&str>)> {
    head.split_inclusive(|&b| b == b'\n').enumerate().map(|(i, line)| {
        let name = (i > 0 && !line.starts_with(b" ") && !line.starts_with(b"\t"))
            .then(|| line.iter().position(|&b| b == b':'))
            .flatten()
            .and_then(|c| std::str::from_utf8(line.get(..c).unwrap_or_default()).ok());
        (line, name)
    })
}

/// A field's value as text, for the list of changes.
fn value(line: &[u8]) -> String {
    let v = line
        .iter()
        .position(|&b| b == b':')
        .and_then(|c| line.get(c + 1..))
        .unwrap_or_default();
    crate::json::lossy(v).trim().to_string()
}

/// The field names the `Connection` fields of `head` list.
fn nominated(head: &[u8]) -> Vec<String> {
    lines(head)
        .filter(|(_, n)| n.is_some_and(|n| n.eq_ignore_ascii_case("connection")))
        .flat_map(|(l, _)| {
            value(l)
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn hop_by_hop(name: &str, nominated: &[String]) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) || nominated.iter().any(|n| name.eq_ignore_ascii_case(n))
}

fn rewrite(toward: &str, name: &str, from: Option<String>, to: Option<String>, why: &str) -> Rewrite {
    Rewrite {
        toward: toward.into(),
        name: name.into(),
        from,
        to,
        why: why.into(),
    }
}

/// The line ending the start line uses (the one added lines take).
fn eol(head: &[u8]) -> &'static [u8] {
    match head.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && head.get(i - 1) == Some(&b'\r') => b"\r\n",
        Some(_) => b"\n",
        None => b"\r\n",
    }
}

/// The request head to send to the upstream, from the device's `head` (the exact bytes, blank
/// line included): `Host` names the upstream, hop-by-hop fields are dropped, the upstream URL's
/// base path goes in front of the target. Everything else as received, in order.
pub(crate) fn upstream_head(head: &[u8], fwd: &Forward) -> (Vec<u8>, Vec<Rewrite>) {
    const UP: &str = "upstream";
    let host = fwd.authority();
    let nominated = nominated(head);
    let mut out = Vec::with_capacity(head.len() + 32);
    let mut changes = Vec::new();
    let mut host_seen = false;
    let mut dropping = false;
    let end = eol(head);
    for (i, (line, name)) in lines(head).enumerate() {
        if i == 0 {
            out.extend_from_slice(&request_line(line, fwd, &mut changes));
            continue;
        }
        let continuation = line.starts_with(b" ") || line.starts_with(b"\t");
        if continuation && dropping {
            continue;
        }
        dropping = false;
        let is_end = line == b"\r\n" || line == b"\n";
        if is_end && !host_seen {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(host.as_bytes());
            out.extend_from_slice(end);
            changes.push(rewrite(
                UP,
                "Host",
                None,
                Some(host.clone()),
                "the request had none; the upstream needs one",
            ));
        }
        match name {
            Some(n) if n.eq_ignore_ascii_case("host") => {
                host_seen = true;
                let was = value(line);
                if was.eq_ignore_ascii_case(&host) {
                    out.extend_from_slice(line);
                } else {
                    out.extend_from_slice(n.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(host.as_bytes());
                    out.extend_from_slice(if line.ends_with(b"\r\n") { b"\r\n" } else { b"\n" });
                    changes.push(rewrite(UP, n, Some(was), Some(host.clone()), "names the upstream"));
                }
            }
            Some(n) if hop_by_hop(n, &nominated) => {
                dropping = true;
                changes.push(rewrite(
                    UP,
                    n,
                    Some(value(line)),
                    None,
                    "hop-by-hop (RFC 9110 §7.6.1): it is about the device's connection, not the upstream's",
                ));
            }
            _ => out.extend_from_slice(line),
        }
    }
    (out, changes)
}

/// The request line, with the upstream's base path in front of an origin-form target.
fn request_line(line: &[u8], fwd: &Forward, changes: &mut Vec<Rewrite>) -> Vec<u8> {
    let base = fwd.url.target().split('?').next().unwrap_or("/").trim_end_matches('/');
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(method), Some(target), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return line.to_vec();
    };
    if base.is_empty() || !target.starts_with(b"/") {
        return line.to_vec();
    }
    let mut out = Vec::with_capacity(line.len() + base.len());
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(base.as_bytes());
    out.extend_from_slice(target);
    out.push(b' ');
    out.extend_from_slice(rest);
    changes.push(rewrite(
        "upstream",
        "request-target",
        Some(crate::json::lossy(target).into_owned()),
        Some(format!("{base}{}", crate::json::lossy(target))),
        "the upstream's URL has a base path",
    ));
    out
}

/// The response head to send to the device, from the upstream's `head`: its hop-by-hop fields
/// dropped, and the device's connection said as it is (`Connection: close` when it closes after
/// this response; `keep-alive` to an HTTP/1.0 device that keeps it).
pub(crate) fn device_head(head: &[u8], close: bool, device_minor: u8, changes: &mut Vec<Rewrite>) -> Vec<u8> {
    const DEV: &str = "device";
    let nominated = nominated(head);
    let mut out = Vec::with_capacity(head.len() + 24);
    let mut dropping = false;
    let mut dropped_connection: Option<String> = None;
    let end = eol(head);
    let ours = match (close, device_minor) {
        (true, _) => Some("close"),
        (false, 0) => Some("keep-alive"),
        (false, _) => None,
    };
    for (i, (line, name)) in lines(head).enumerate() {
        let continuation = i > 0 && (line.starts_with(b" ") || line.starts_with(b"\t"));
        if continuation && dropping {
            continue;
        }
        dropping = false;
        let is_end = i > 0 && (line == b"\r\n" || line == b"\n");
        if is_end {
            if let Some(v) = ours {
                out.extend_from_slice(b"Connection: ");
                out.extend_from_slice(v.as_bytes());
                out.extend_from_slice(end);
                if !dropped_connection.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(v)) {
                    changes.push(rewrite(
                        DEV,
                        "Connection",
                        dropped_connection.take(),
                        Some(v.into()),
                        "says what happens to the device's connection after this response",
                    ));
                }
                dropped_connection = None;
            }
            if let Some(was) = dropped_connection.take() {
                changes.push(rewrite(DEV, "Connection", Some(was), None, HOP));
            }
        }
        match name {
            Some(n) if n.eq_ignore_ascii_case("connection") => {
                dropping = true;
                let v = value(line);
                dropped_connection = Some(match dropped_connection.take() {
                    Some(d) => format!("{d}, {v}"),
                    None => v,
                });
            }
            Some(n) if hop_by_hop(n, &nominated) => {
                dropping = true;
                changes.push(rewrite(DEV, n, Some(value(line)), None, HOP));
            }
            _ => out.extend_from_slice(line),
        }
    }
    out
}

const HOP: &str = "hop-by-hop (RFC 9110 §7.6.1): it is about the upstream's connection, not the device's";

#[cfg(test)]
mod tests {
    use super::*;
    use tlspost::url::HttpUrl;

    fn fwd(url: &str) -> Forward {
        Forward::new(HttpUrl::parse(url).unwrap())
    }

    #[test]
    fn the_request_goes_on_as_sent_but_for_host_and_hop_by_hop_fields() {
        let head = b"POST /v1/t?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8443\r\nX-B: 1\r\nConnection: close, X-Hop\r\n\
                     X-Hop: a\r\n  folded\r\nKeep-Alive: 5\r\nUser-Agent: dev/1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (out, changes) = upstream_head(head, &fwd("https://api.example.com"));
        assert_eq!(
            out,
            b"POST /v1/t?x=1 HTTP/1.1\r\nhost: api.example.com\r\nX-B: 1\r\nUser-Agent: dev/1\r\n\
              Transfer-Encoding: chunked\r\n\r\n"
        );
        let named: Vec<(&str, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.from.as_deref(), c.to.as_deref()))
            .collect();
        assert_eq!(
            named,
            [
                ("host", Some("127.0.0.1:8443"), Some("api.example.com")),
                ("Connection", Some("close, X-Hop"), None),
                ("X-Hop", Some("a"), None),
                ("Keep-Alive", Some("5"), None),
            ]
        );
        assert!(changes.iter().all(|c| c.toward == "upstream"));
    }

    #[test]
    fn an_unchanged_request_is_byte_for_byte_the_same_and_a_missing_host_is_added() {
        let head = b"GET / HTTP/1.1\nHost: api.example.com:8443\nA:b\n\n";
        let (out, changes) = upstream_head(head, &fwd("https://api.example.com:8443"));
        assert_eq!(out, head);
        assert!(changes.is_empty());
        let (out, changes) = upstream_head(b"GET /x HTTP/1.0\r\n\r\n", &fwd("http://h.test/base/"));
        assert_eq!(out, b"GET /base/x HTTP/1.0\r\nHost: h.test\r\n\r\n");
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].to.as_deref(), Some("/base/x"));
    }

    #[test]
    fn the_response_goes_back_with_the_devices_connection_said() {
        let head = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nCF-RAY: x\r\n\r\n";
        let mut changes = Vec::new();
        let out = device_head(head, false, 1, &mut changes);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nCF-RAY: x\r\n\r\n");
        assert_eq!(changes.len(), 2, "{changes:?}");
        let mut changes = Vec::new();
        let out = device_head(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", true, 1, &mut changes);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        assert!(changes.is_empty(), "the same value is no change: {changes:?}");
        let out = device_head(b"HTTP/1.1 204 No Content\r\n\r\n", true, 1, &mut changes);
        assert_eq!(out, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        assert_eq!(changes[0].from, None);
    }
}

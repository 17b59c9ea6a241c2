//! API and CDN traps (TP3xx): content types, user agents, compression, IP hosts, credentials.

use tlspost_proto::syntax::trim_ows;

use super::{BodyView, excerpt, host_part, is_ip};
use crate::parse::Head;
use crate::rules::*;
use crate::{Context, Finding};

/// User-Agent values that HTTP libraries for devices send by default (matched case-insensitively);
/// a trailing `*` matches any rest.
const LIBRARY_USER_AGENTS: &[(&str, &str)] = &[
    ("ESP32HTTPClient", "Arduino-ESP32 HTTPClient"),
    ("ESP8266HTTPClient", "Arduino-ESP8266 HTTPClient"),
    ("ESP32 HTTP Client/*", "ESP-IDF esp_http_client"),
    ("arduino*", "an Arduino HTTP library"),
];

/// Content codings a device usually cannot decode.
const COMPRESSED: &[&str] = &["gzip", "x-gzip", "br", "deflate", "zstd", "compress", "x-compress", "*"];

pub(super) fn check(head: &Head<'_>, body: &BodyView<'_>, ctx: &Context<'_>, out: &mut Vec<Finding>) {
    json(head, body, out);
    if head.complete {
        user_agent(head, out);
    }
    accept_encoding(head, out);
    for f in head.all("host") {
        // The IP parser takes hex digits in either case, so the name need not be lowercased.
        if is_ip(host_part(&f.value_str())) {
            out.push(Finding::new(
                &HOST_IP,
                format!(
                    "Host is the IP address `{}`; Cloudflare answers error 1003 (Direct IP access \
                     not allowed) and any server hosting several sites cannot pick yours",
                    excerpt(&f.value, 48)
                ),
            ));
        }
    }
    if !ctx.tls {
        let secrets: Vec<&str> = ["authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"]
            .into_iter()
            .filter(|n| head.has(n))
            .collect();
        if !secrets.is_empty() {
            out.push(Finding::new(
                &AUTH_PLAINTEXT,
                format!(
                    "the request carries {} over plain HTTP; anyone on the path (Wi-Fi, ISP, \
                     proxy) can read and replay it",
                    secrets.join(", ")
                ),
            ));
        }
    }
}

/// The Content-Type's media type as sent (parameters and whitespace removed).
fn media_type<'h>(head: &'h Head<'_>) -> Option<&'h [u8]> {
    head.first("content-type").map(|f| {
        let mt = f.value.split(|&b| b == b';').next().unwrap_or_default();
        trim_ows(mt)
    })
}

/// A media type as messages show it: lower case, escaped like every excerpt.
fn media_type_text(mt: &[u8]) -> String {
    excerpt(&mt.to_ascii_lowercase(), 64)
}

/// `true` when `s` ends with `suffix`, ignoring ASCII case.
fn ends_with_ignore_case(s: &[u8], suffix: &[u8]) -> bool {
    s.len()
        .checked_sub(suffix.len())
        .and_then(|start| s.get(start..))
        .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
}

fn skip_ws(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

fn json(head: &Head<'_>, body: &BodyView<'_>, out: &mut Vec<Finding>) {
    if head.has("content-encoding") || body.bytes.is_empty() {
        return; // a compressed body cannot be judged; an empty one has nothing to judge
    }
    let mt = media_type(head);
    let ct_is_json =
        mt.is_some_and(|m| m.eq_ignore_ascii_case(b"application/json") || ends_with_ignore_case(m, b"+json"));
    let starts_json = skip_ws(&body.bytes).first().is_some_and(|&b| b == b'{' || b == b'[');
    let parsed = serde_json::from_slice::<serde::de::IgnoredAny>(&body.bytes);
    let n = body.bytes.len();
    let json_without_ct = !ct_is_json && starts_json && (parsed.is_ok() || !body.complete);
    if json_without_ct {
        let ct = match mt {
            None => "there is no Content-Type, so servers treat it as application/octet-stream or \
                     guess"
                .to_string(),
            Some(m) if m.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") => format!(
                "Content-Type is `{}` (ESP-IDF's esp_http_client default), so the server parses \
                 it as form fields",
                media_type_text(m)
            ),
            Some(m) => format!("Content-Type is `{}`", media_type_text(m)),
        };
        out.push(Finding::new(
            &JSON_WITHOUT_CT,
            format!(
                "the {n}-byte body is JSON (`{}`) but {ct}; OAuth token endpoints and many APIs \
                 then read it as form data and answer that the parameters (e.g. grant_type) are \
                 missing, though they are right there in the body",
                excerpt(skip_ws(&body.bytes), 40)
            ),
        ));
    }
    if mt.is_none() && !json_without_ct && body.complete {
        out.push(Finding::new(
            &BODY_WITHOUT_CT,
            format!(
                "the {n}-byte body (`{}`) has no Content-Type; servers treat it as \
                 application/octet-stream, so frameworks that parse forms or JSON see no fields",
                excerpt(skip_ws(&body.bytes), 40)
            ),
        ));
    }
    if ct_is_json && body.complete {
        if let Err(e) = parsed {
            let hint = if !starts_json && body.bytes.contains(&b'=') {
                " (it looks like form data)"
            } else {
                ""
            };
            out.push(Finding::new(
                &CT_JSON_NOT_JSON,
                format!(
                    "Content-Type is `{}` but the {n}-byte body is not valid JSON{hint}: {e} \
                     (body starts `{}`); the API answers 400 or reports missing fields",
                    media_type_text(mt.unwrap_or_default()),
                    excerpt(&body.bytes, 40)
                ),
            ));
        }
    }
}

fn library_default(ua: &str) -> Option<&'static str> {
    let ua = ua.as_bytes();
    LIBRARY_USER_AGENTS.iter().find_map(|&(pat, lib)| {
        let hit = match pat.strip_suffix('*') {
            Some(prefix) => ua
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes())),
            None => ua.eq_ignore_ascii_case(pat.as_bytes()),
        };
        hit.then_some(lib)
    })
}

fn user_agent(head: &Head<'_>, out: &mut Vec<Finding>) {
    let Some(ua) = head.first("user-agent") else {
        out.push(Finding::new(
            &UA_MISSING,
            "the request has no User-Agent; Cloudflare's Browser Integrity Check (on by default) \
             and other bot filters block such requests with a 403 (Cloudflare error 1010) that \
             never reaches the API's server or logs",
        ));
        return;
    };
    let value = ua.value_str();
    if value.trim().is_empty() {
        out.push(Finding::new(
            &UA_MISSING,
            "the User-Agent is empty; Cloudflare's Browser Integrity Check and other bot filters \
             block such requests with a 403 (Cloudflare error 1010) that never reaches the API",
        ));
    } else if let Some(lib) = library_default(&value) {
        out.push(Finding::new(
            &UA_LIBRARY_DEFAULT,
            format!(
                "User-Agent `{}` is {lib}'s default; CDN bot checks block known library \
                 signatures with a 403 (Cloudflare error 1010) that never reaches the API's \
                 server, so its logs show nothing",
                excerpt(&ua.value, 48)
            ),
        ));
    }
}

/// `true` when a qvalue is zero (`0`, `0.`, `0.000`).
fn q_is_zero(q: &str) -> bool {
    let q = q.trim();
    match q.strip_prefix('0') {
        Some(rest) => rest.is_empty() || rest.strip_prefix('.').is_some_and(|d| d.bytes().all(|b| b == b'0')),
        None => false,
    }
}

fn accept_encoding(head: &Head<'_>, out: &mut Vec<Finding>) {
    let mut allowed: Vec<&str> = Vec::new();
    for item in head.list("accept-encoding") {
        let item = String::from_utf8_lossy(item);
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let zero = parts.any(|p| {
            let p = p.trim();
            p.get(..2).is_some_and(|q| q.eq_ignore_ascii_case("q=")) && q_is_zero(p.get(2..).unwrap_or_default())
        });
        if zero {
            continue;
        }
        // The list's own (lower-case) spelling, so `GZIP` and `gzip` count once.
        if let Some(&known) = COMPRESSED.iter().find(|c| c.eq_ignore_ascii_case(coding)) {
            if !allowed.contains(&known) {
                allowed.push(known);
            }
        }
    }
    if allowed.is_empty() {
        return;
    }
    let value = head
        .all("accept-encoding")
        .map(|f| f.value_str())
        .collect::<Vec<_>>()
        .join(", ");
    out.push(Finding::new(
        &ACCEPT_ENCODING_COMPRESSED,
        format!(
            "`Accept-Encoding: {}` lets the server (or CDN edge) compress the response with {}; \
             a device that cannot decode it reads binary garbage where it expects JSON",
            excerpt(value.as_bytes(), 64),
            allowed.join(", ")
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues() {
        for z in ["0", "0.", "0.0", "0.000", " 0 "] {
            assert!(q_is_zero(z), "{z}");
        }
        for nz in ["1", "0.1", "0.001", "1.0", "x"] {
            assert!(!q_is_zero(nz), "{nz}");
        }
    }

    #[test]
    fn library_user_agents() {
        assert!(library_default("ESP32HTTPClient").is_some());
        assert!(library_default("esp32httpclient").is_some());
        assert!(library_default("ESP32 HTTP Client/1.0").is_some());
        assert!(library_default("arduino-esp32/2.0").is_some());
        assert!(library_default("ESP8266HTTPClient").is_some());
        assert!(library_default("my-sensor/1.4 (esp32)").is_none());
        assert!(library_default("ESP32HTTPClient-fork").is_none());
    }
}

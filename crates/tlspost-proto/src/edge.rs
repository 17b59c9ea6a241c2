//! Who answered: the origin server, or an edge (CDN / reverse proxy) in front of it.
//!
//! Behind an edge such as Cloudflare, a request can be refused before it ever reaches the API:
//! a 403 "Error 1010" because the `User-Agent` looks like a bot, a challenge page a device cannot
//! solve, a 1013 because SNI and `Host` differ. The API's operators then see nothing in their
//! logs. [`classify`] looks at a response's status, headers and first body bytes and says whether
//! an edge is on the path, whether the edge itself made the response, which error it is, and what
//! to change.
//!
//! Detection is a two-step table lookup, both tables static and easy to extend: [`PRESENCE`]
//! says which vendor's edge the response passed through (e.g. a `CF-RAY` header), then the first
//! matching row of [`SIGNATURES`] for that vendor says the edge made the response and why. A
//! vendor present with no matching signature means the origin answered through the edge.
//!
//! ```
//! use tlspost_proto::edge::{classify, AnsweredBy, Vendor};
//! use tlspost_proto::httparse::Header;
//!
//! let headers = [
//!     Header { name: "Server", value: b"cloudflare" },
//!     Header { name: "CF-RAY", value: b"8f1c2a3b4c5d6e7f-AMS" },
//! ];
//! let body = b"<title>Access denied</title>... <span>Error</span> <span>1010</span>";
//! match classify(403, &headers, body) {
//!     AnsweredBy::Edge(v) => {
//!         assert_eq!((v.vendor, v.code, v.made_by_edge), (Vendor::Cloudflare, Some(1010), true));
//!         assert!(v.hint.contains("User-Agent"));
//!         assert_eq!(v.ray, Some(&b"8f1c2a3b4c5d6e7f-AMS"[..]));
//!     }
//!     AnsweredBy::Origin => unreachable!(),
//! }
//! ```

use core::fmt;

use crate::syntax::{find_ci, header, header_values, trim_ows};

/// An edge vendor.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// Cloudflare.
    Cloudflare,
    /// Amazon CloudFront.
    CloudFront,
    /// Akamai.
    Akamai,
}

impl Vendor {
    /// The vendor's name as people write it.
    pub const fn name(self) -> &'static str {
        match self {
            Vendor::Cloudflare => "Cloudflare",
            Vendor::CloudFront => "CloudFront",
            Vendor::Akamai => "Akamai",
        }
    }

    /// The response header holding the edge's id for this request, which the API owner (or the
    /// vendor's support) can look up: `CF-RAY`, `X-Amz-Cf-Id`. Akamai puts its "Reference #" in
    /// the body instead.
    pub const fn ray_header(self) -> Option<&'static str> {
        match self {
            Vendor::Cloudflare => Some("cf-ray"),
            Vendor::CloudFront => Some("x-amz-cf-id"),
            Vendor::Akamai => None,
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a table row looks for. Header names and all text comparisons ignore ASCII case.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    /// The response has this header.
    HeaderPresent(&'static str),
    /// A header with this name has exactly this value (surrounding spaces ignored).
    HeaderIs(&'static str, &'static str),
    /// A header with this name has a value containing this text.
    HeaderHas(&'static str, &'static str),
    /// The body prefix contains this text.
    BodyHas(&'static str),
    /// The body prefix carries this Cloudflare-style 1xxx error code (see [`body_error_code`]).
    BodyCode(u16),
    /// The body prefix carries any 1xxx error code; the verdict reports the code found.
    AnyBodyCode,
    /// Nothing beyond the status range.
    Always,
}

/// One row of [`SIGNATURES`]: if the response passed through `vendor`, its status is within
/// `statuses` and `matcher` matches, then the edge made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The vendor whose edge makes this response.
    pub vendor: Vendor,
    /// The status range, inclusive.
    pub statuses: (u16, u16),
    /// What else must hold.
    pub matcher: Matcher,
    /// The vendor's error code to report (for [`Matcher::AnyBodyCode`], the code found wins).
    pub code: Option<u16>,
    /// A few words naming the error.
    pub what: &'static str,
    /// One sentence: which header or setting to change, or whom to ask.
    pub hint: &'static str,
}

/// A row that reports no code of its own.
const fn sig(
    vendor: Vendor,
    statuses: (u16, u16),
    matcher: Matcher,
    what: &'static str,
    hint: &'static str,
) -> Signature {
    Signature {
        vendor,
        statuses,
        matcher,
        code: None,
        what,
        hint,
    }
}

/// A Cloudflare 1xxx error: any error status whose body carries `code`.
const fn cf_code(code: u16, what: &'static str, hint: &'static str) -> Signature {
    Signature {
        code: Some(code),
        ..sig(Vendor::Cloudflare, ERRORS, Matcher::BodyCode(code), what, hint)
    }
}

/// A Cloudflare 52x/530: the status alone says the edge made it.
const fn cf_status(status: u16, what: &'static str, hint: &'static str) -> Signature {
    Signature {
        code: Some(status),
        ..sig(Vendor::Cloudflare, (status, status), Matcher::Always, what, hint)
    }
}

const ERRORS: (u16, u16) = (400, 599);

/// Signs that a response passed through a vendor's edge. `Server: cloudflare` and `CF-RAY` are
/// on every proxied response, whoever made it, so they prove presence, not authorship.
pub static PRESENCE: &[(Vendor, Matcher)] = &[
    (Vendor::Cloudflare, Matcher::HeaderPresent("cf-ray")),
    (Vendor::Cloudflare, Matcher::HeaderIs("server", "cloudflare")),
    (Vendor::Cloudflare, Matcher::HeaderPresent("cf-mitigated")),
    // CloudFront and Akamai: from public reports of their responses; less field-tested.
    (Vendor::CloudFront, Matcher::HeaderPresent("x-amz-cf-id")),
    (Vendor::CloudFront, Matcher::HeaderPresent("x-amz-cf-pop")),
    (Vendor::CloudFront, Matcher::HeaderHas("via", "(cloudfront)")),
    (Vendor::CloudFront, Matcher::HeaderHas("x-cache", "cloudfront")),
    (Vendor::CloudFront, Matcher::HeaderIs("server", "cloudfront")),
    (Vendor::Akamai, Matcher::HeaderHas("server", "akamaighost")),
    (Vendor::Akamai, Matcher::HeaderHas("server", "akamainetstorage")),
];

const CF_ORIGIN: &str = "the edge could not get a good answer from the origin server: nothing to change on the \
     device; retry later (idempotent requests only) and give the API owner the CF-RAY value";
const CF_IP_BANNED: &str = "the API owner's security settings ban this device's IP address: ask them to allow it";
const CF_CHALLENGE: &str = "a device cannot solve a browser challenge: ask the API owner to exempt this endpoint from \
     challenges (Bot Fight Mode, Under Attack mode, Managed Challenge rules)";
const CLOUDFRONT_REFUSED: &str = "CloudFront refused or could not forward the request: check the Host header and URL, \
     then ask the API owner, giving the X-Amz-Cf-Id value";
const AKAMAI_REFUSED: &str =
    "the Akamai edge refused or could not forward the request: ask the API owner, quoting the Reference # in the body";

/// Responses made by an edge itself, in the order they are tried (the first match wins).
pub static SIGNATURES: &[Signature] = &[
    // ---- Cloudflare 1xxx errors, found in the body (HTML page, plain text or JSON problem document).
    cf_code(
        1003,
        "direct IP access not allowed",
        "use the host name in the URL, Host header and SNI, not the IP address",
    ),
    cf_code(1006, "IP address banned", CF_IP_BANNED),
    cf_code(1007, "IP address banned", CF_IP_BANNED),
    cf_code(1008, "IP address banned", CF_IP_BANNED),
    cf_code(
        1009,
        "country or region banned",
        "the API owner blocks the country or region of this device's IP address: ask them to allow it",
    ),
    cf_code(
        1010,
        "access denied based on the browser signature",
        "set a real User-Agent naming your product (e.g. `tlspost/0.1` or `acme-sensor/1.2`), not \
         ESP32HTTPClient or an empty one, or ask the API owner to turn off Browser Integrity Check for the API",
    ),
    cf_code(
        1012,
        "access denied by the site owner",
        "the API owner's security settings deny this client (often by its IP address): ask them, giving the CF-RAY value",
    ),
    cf_code(
        1013,
        "SNI host name differs from the Host header",
        "send the same host name in TLS SNI and in the Host header",
    ),
    cf_code(
        1015,
        "rate limited",
        "send fewer requests: back off and wait as long as Retry-After says",
    ),
    cf_code(
        1016,
        "origin DNS error",
        "the edge cannot resolve the API's origin server: the API owner must fix their DNS records",
    ),
    cf_code(
        1020,
        "blocked by a firewall rule",
        "a firewall rule of the API owner blocks this request: ask them to exempt it, giving the CF-RAY value",
    ),
    sig(
        Vendor::Cloudflare,
        ERRORS,
        Matcher::AnyBodyCode,
        "Cloudflare 1xxx error",
        "look the code up in Cloudflare's 1xxx error documentation and give the API owner the CF-RAY value",
    ),
    // ---- Cloudflare challenges: the request needs a browser.
    sig(
        Vendor::Cloudflare,
        ERRORS,
        Matcher::HeaderIs("cf-mitigated", "challenge"),
        "challenge page (cf-mitigated: challenge)",
        CF_CHALLENGE,
    ),
    sig(
        Vendor::Cloudflare,
        ERRORS,
        Matcher::BodyHas("<title>just a moment...</title>"),
        "challenge page",
        CF_CHALLENGE,
    ),
    sig(
        Vendor::Cloudflare,
        ERRORS,
        Matcher::BodyHas("attention required! | cloudflare"),
        "challenge page",
        CF_CHALLENGE,
    ),
    // ---- Cloudflare 5xx: the edge reports a problem between itself and the origin.
    cf_status(520, "origin returned an unknown error", CF_ORIGIN),
    cf_status(521, "origin web server is down", CF_ORIGIN),
    cf_status(522, "connection to the origin timed out", CF_ORIGIN),
    cf_status(523, "origin is unreachable", CF_ORIGIN),
    cf_status(
        524,
        "origin accepted the connection but did not answer in time",
        "the origin took too long (it may still have processed the request): do not resend a POST \
         blindly; ask the API owner to answer faster",
    ),
    cf_status(525, "TLS handshake between the edge and the origin failed", CF_ORIGIN),
    cf_status(526, "origin's certificate is invalid", CF_ORIGIN),
    cf_status(527, "Railgun connection to the origin failed", CF_ORIGIN),
    cf_status(530, "origin error (a 1xxx code in the body says which)", CF_ORIGIN),
    // ---- Amazon CloudFront (from public reports; less field-tested). Responses CloudFront makes
    // itself say `Server: CloudFront` and "Generated by cloudfront (CloudFront)"; an origin's
    // error passed through only gets `X-Cache: Error from cloudfront`, so that is not used here.
    sig(
        Vendor::CloudFront,
        (403, 403),
        Matcher::BodyHas("request blocked"),
        "request blocked at the edge",
        "the distribution's WAF or geographic restriction blocked the request: ask the API owner, giving the X-Amz-Cf-Id value",
    ),
    sig(
        Vendor::CloudFront,
        (502, 504),
        Matcher::HeaderIs("server", "cloudfront"),
        "CloudFront could not get an answer from the origin",
        "nothing to change on the device: retry later (idempotent requests only) and give the API owner the X-Amz-Cf-Id value",
    ),
    sig(
        Vendor::CloudFront,
        ERRORS,
        Matcher::BodyHas("generated by cloudfront"),
        "error page made by CloudFront",
        CLOUDFRONT_REFUSED,
    ),
    sig(
        Vendor::CloudFront,
        ERRORS,
        Matcher::HeaderIs("server", "cloudfront"),
        "error made by CloudFront",
        CLOUDFRONT_REFUSED,
    ),
    // ---- Akamai (from public reports; less field-tested). Its edge error pages carry a
    // "Reference #18.xxxx" id in the body; 18 means access denied by a security product.
    sig(
        Vendor::Akamai,
        (403, 403),
        Matcher::BodyHas("access denied"),
        "access denied at the edge (WAF, bot manager or IP reputation)",
        "the API owner's Akamai security rules block this request: ask them, quoting the Reference # in the body",
    ),
    sig(
        Vendor::Akamai,
        ERRORS,
        Matcher::BodyHas("reference&#32;&#35;"),
        "error page made by Akamai",
        AKAMAI_REFUSED,
    ),
    sig(
        Vendor::Akamai,
        ERRORS,
        Matcher::BodyHas("reference #"),
        "error page made by Akamai",
        AKAMAI_REFUSED,
    ),
];

/// The verdict when a response passed through an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeVerdict<'h> {
    /// Whose edge.
    pub vendor: Vendor,
    /// The vendor's error code (Cloudflare 1xxx, or 52x), if any.
    pub code: Option<u16>,
    /// `true`: the edge made this response and the origin never saw the request (or never
    /// answered it). `false`: the response came from the origin, through the edge.
    pub made_by_edge: bool,
    /// A few words naming the error (empty when the origin answered).
    pub what: &'static str,
    /// One sentence on what to change.
    pub hint: &'static str,
    /// The edge's id for this request (see [`Vendor::ray_header`]), to give to the API owner.
    pub ray: Option<&'h [u8]>,
}

/// Who made a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredBy<'h> {
    /// No known edge is on the path: the origin (or an unknown proxy) answered.
    Origin,
    /// The response passed through an edge; the verdict says whether the edge made it.
    Edge(EdgeVerdict<'h>),
}

impl AnsweredBy<'_> {
    /// Whether an edge made the response itself.
    pub fn made_by_edge(&self) -> bool {
        matches!(self, AnsweredBy::Edge(EdgeVerdict { made_by_edge: true, .. }))
    }
}

const PASSED_THROUGH: &str = "the origin answered through the edge: read the response itself; the edge \
     rewrites Accept-Encoding and Connection on the way, so the origin never saw the device's own values";

/// Classifies a response from its status, headers and the first bytes of its body (a few hundred
/// bytes are enough; pass an empty slice when there is no body yet). Never panics.
pub fn classify<'h>(status: u16, headers: &[httparse::Header<'h>], body_prefix: &[u8]) -> AnsweredBy<'h> {
    let Some(vendor) = PRESENCE
        .iter()
        .find(|(_, m)| matches(*m, headers, body_prefix).is_some())
        .map(|&(v, _)| v)
    else {
        return AnsweredBy::Origin;
    };
    let ray = vendor.ray_header().and_then(|name| header(headers, name)).map(trim_ows);
    for s in SIGNATURES.iter().filter(|s| s.vendor == vendor) {
        if status < s.statuses.0 || status > s.statuses.1 {
            continue;
        }
        if let Some(found) = matches(s.matcher, headers, body_prefix) {
            return AnsweredBy::Edge(EdgeVerdict {
                vendor,
                code: found.or(s.code),
                made_by_edge: true,
                what: s.what,
                hint: s.hint,
                ray,
            });
        }
    }
    AnsweredBy::Edge(EdgeVerdict {
        vendor,
        code: None,
        made_by_edge: false,
        what: "",
        hint: PASSED_THROUGH,
        ray,
    })
}

/// `Some(code found in the body, if the matcher finds codes)` when the matcher matches.
fn matches(m: Matcher, headers: &[httparse::Header<'_>], body: &[u8]) -> Option<Option<u16>> {
    let hit = match m {
        Matcher::HeaderPresent(name) => header(headers, name).is_some(),
        Matcher::HeaderIs(name, value) => {
            header_values(headers, name).any(|v| trim_ows(v).eq_ignore_ascii_case(value.as_bytes()))
        }
        Matcher::HeaderHas(name, text) => header_values(headers, name).any(|v| find_ci(v, text.as_bytes()).is_some()),
        Matcher::BodyHas(text) => find_ci(body, text.as_bytes()).is_some(),
        Matcher::BodyCode(code) => return (body_error_code(body) == Some(code)).then_some(None),
        Matcher::AnyBodyCode => return body_error_code(body).map(Some),
        Matcher::Always => true,
    };
    hit.then_some(None)
}

/// Finds a Cloudflare-style 1xxx error code (1000..=1999) in a body prefix, as the edge writes it:
/// `error code: 1020` (plain text), `Error 1010` (titles, and the JSON problem document's
/// `"title":"Error 1010: Access denied"`), `"error_code":1010` (JSON), `cf-error-code">1020` and
/// `Error</span> <span>1010` (HTML). The word "error" must be followed only by spaces, `:`, `-`,
/// HTML tags or the word "code" before the four digits, so `{"error":1500}` does not count.
pub fn body_error_code(body: &[u8]) -> Option<u16> {
    let mut from = 0;
    while let Some(at) = find_ci_from(body, b"error", from) {
        let after = at.saturating_add(5);
        if let Some(code) = body.get(after..).and_then(code_after_error) {
            return Some(code);
        }
        from = after;
    }
    None
}

fn code_after_error(rest: &[u8]) -> Option<u16> {
    const SKIP_LIMIT: usize = 64;
    let mut i = 0usize;
    let suffix = [&b"_code"[..], b" code", b"-code"]
        .iter()
        .any(|s| rest.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
    if suffix {
        i = 5;
    }
    loop {
        if i > SKIP_LIMIT {
            return None;
        }
        match *rest.get(i)? {
            b' ' | b'\t' | b'\r' | b'\n' | b':' | b'-' => i = i.saturating_add(1),
            b'"' | b'>' if suffix => i = i.saturating_add(1),
            b'<' => {
                let tag_len = rest.get(i..)?.iter().take(40).position(|&b| b == b'>')?;
                i = i.saturating_add(tag_len).saturating_add(1);
            }
            b'0'..=b'9' => break,
            _ => return None,
        }
    }
    let digits = rest.get(i..i.saturating_add(4))?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if rest.get(i.saturating_add(4)).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0u16, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u16::from(d.saturating_sub(b'0')))
    });
    (1000..=1999).contains(&value).then_some(value)
}

/// The position of `needle` (ASCII case-insensitive) in `hay` at or after `from`.
fn find_ci_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    find_ci(hay.get(from..)?, needle).map(|p| p.saturating_add(from))
}

impl fmt::Display for EdgeVerdict<'_> {
    /// One line, e.g. `Cloudflare error 1010 (access denied based on the browser signature), made by
    /// the edge, ray 8f1c…-AMS: set a real User-Agent …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.made_by_edge {
            write!(f, "{} ", self.vendor)?;
            if let Some(code) = self.code {
                write!(f, "error {code} ")?;
            }
            write!(f, "({}), made by the edge", self.what)?;
        } else {
            write!(f, "passed through {}", self.vendor)?;
        }
        if let Some(ray) = self.ray {
            f.write_str(", ray ")?;
            for &b in ray.iter().take(64) {
                if b.is_ascii_graphic() {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "\\x{b:02x}")?;
                }
            }
        }
        write!(f, ": {}", self.hint)
    }
}

impl fmt::Display for AnsweredBy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnsweredBy::Origin => f.write_str("answered by the origin (no known edge on the path)"),
            AnsweredBy::Edge(v) => v.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use httparse::Header as H;
    use std::string::ToString;

    const RAY: &[u8] = b"8f1c2a3b4c5d6e7f-AMS";

    const fn h(name: &'static str, value: &'static [u8]) -> H<'static> {
        H { name, value }
    }

    fn cf() -> [H<'static>; 3] {
        [
            h("Server", b"cloudflare"),
            h("CF-RAY", RAY),
            h("Content-Type", b"text/html; charset=UTF-8"),
        ]
    }

    fn edge(a: AnsweredBy<'_>) -> EdgeVerdict<'_> {
        match a {
            AnsweredBy::Edge(v) => v,
            AnsweredBy::Origin => panic!("expected an edge verdict"),
        }
    }

    const HTML_1010: &[u8] = b"<!DOCTYPE html>\n<html><head><title>Access denied | api.example.com used Cloudflare to restrict access</title></head><body>\n<h1 class=\"inline-block\">\n  <span class=\"cf-error-type\" data-translate=\"error\">Error</span>\n  <span>1010</span>\n</h1>\n<h2 data-translate=\"blocked_why_headline\">The owner of this website (api.example.com) has banned your access based on your browser's signature (8f1c2a3b4c5d6e7f-ams-ua).</h2>";
    const JSON_1010: &[u8] = br#"{"type":"https://developers.cloudflare.com/support/troubleshooting/http-status-codes/cloudflare-1xxx-errors/error-1010/","title":"Error 1010: Access denied","status":403,"detail":"The site owner has blocked access based on your browser's signature.","instance":"8f1c2a3b4c5d6e7f"}"#;

    #[test]
    fn cloudflare_codes_in_bodies() {
        // (status, body, code)
        let cases: &[(u16, &[u8], u16)] = &[
            (403, HTML_1010, 1010),
            (403, JSON_1010, 1010),
            (403, br#"{"title": "Error 1010: Access denied", "status": 403}"#, 1010),
            (403, br#"{"error_code": 1020, "error_name": "access_denied"}"#, 1020),
            (403, br#"{"error_code":1010}"#, 1010),
            (403, b"error code: 1020", 1020),
            (403, b"Error Code: 1003\n", 1003),
            (403, b"<span class=\"cf-error-code\">1020</span>", 1020),
            (
                403,
                b"<h1><span>Error</span><span class=\"code-label\">Error code</span> <span>1013</span></h1>",
                1013,
            ),
            (429, b"<title>Access denied | Error 1015 | Cloudflare</title>", 1015),
            (409, b"error code: 1012", 1012),
            (530, b"<title>Error 1016</title>", 1016),
            (403, b"error code: 1006", 1006),
            (403, b"error code: 1007", 1007),
            (403, b"error code: 1008", 1008),
            (403, b"error code: 1009", 1009),
            (403, b"error code: 1999", 1999),
        ];
        for &(status, body, code) in cases {
            let v = edge(classify(status, &cf(), body));
            assert!(v.made_by_edge, "{:?}", std::str::from_utf8(body));
            assert_eq!(v.code, Some(code), "{:?}", std::str::from_utf8(body));
            assert_eq!(v.vendor, Vendor::Cloudflare);
            assert_eq!(v.ray, Some(RAY));
            assert!(!v.hint.is_empty() && !v.what.is_empty());
        }
    }

    #[test]
    fn hints_name_the_fix() {
        let cases: &[(u16, &[u8], &str)] = &[
            (403, b"error code: 1003", "host name"),
            (403, b"error code: 1010", "User-Agent"),
            (403, b"error code: 1010", "ESP32HTTPClient"),
            (403, b"error code: 1013", "SNI"),
            (403, b"error code: 1013", "Host header"),
            (429, b"error code: 1015", "Retry-After"),
            (403, b"error code: 1020", "firewall rule"),
            (403, b"error code: 1012", "CF-RAY"),
            (403, b"error code: 1234", "1xxx"),
        ];
        for &(status, body, needle) in cases {
            let v = edge(classify(status, &cf(), body));
            assert!(v.hint.contains(needle), "{:?}: {}", std::str::from_utf8(body), v.hint);
        }
    }

    #[test]
    fn challenges() {
        let mut headers = cf().to_vec();
        headers.push(h("cf-mitigated", b"challenge"));
        for status in [403, 429, 503] {
            let v = edge(classify(status, &headers, b"<!DOCTYPE html><html>..."));
            assert!(v.made_by_edge);
            assert_eq!(v.code, None);
            assert!(v.what.contains("challenge"));
            assert!(v.hint.contains("exempt"));
        }
        // Old-style challenge pages, recognised by their title.
        for body in [
            &b"<html><head><title>Just a moment...</title>"[..],
            b"<title>Attention Required! | Cloudflare</title>",
        ] {
            let v = edge(classify(403, &cf(), body));
            assert!(v.made_by_edge && v.what.contains("challenge"), "{v:?}");
        }
        // cf-mitigated alone proves Cloudflare is there.
        let only = [h("CF-Mitigated", b" Challenge ")];
        let v = edge(classify(403, &only, b""));
        assert!(v.made_by_edge);
        assert_eq!(v.ray, None);
    }

    #[test]
    fn cloudflare_5xx() {
        for status in 520..=527u16 {
            let v = edge(classify(status, &cf(), b"<html>whatever</html>"));
            assert!(v.made_by_edge, "{status}");
            assert_eq!(v.code, Some(status));
        }
        let v = edge(classify(524, &cf(), b""));
        assert!(v.hint.contains("POST"));
        // 530 with a 1xxx code in the body reports the 1xxx code.
        assert_eq!(edge(classify(530, &cf(), b"error code: 1016")).code, Some(1016));
        assert_eq!(edge(classify(530, &cf(), b"")).code, Some(530));
        // An origin 500/502/503 passed through is the origin's.
        for status in [500, 502, 503, 504, 528, 529] {
            let v = edge(classify(status, &cf(), b"<html>upstream error</html>"));
            assert!(!v.made_by_edge, "{status}");
        }
    }

    #[test]
    fn cf_ray_only_means_origin_answered_through_the_edge() {
        let headers = [
            h("cf-ray", b" 8f1c2a3b4c5d6e7f-FRA "),
            h("Content-Type", b"application/json"),
        ];
        let cases: &[(u16, &[u8])] = &[
            (200, br#"{"access_token":"x"}"#),
            (
                400,
                br#"{"error":"invalid_request","error_description":"missing parameters"}"#,
            ),
            (401, br#"{"error":1010}"#),
            (403, br#"{"error": 1500}"#),
            (422, b"errors: 10100 rows"),
            (404, b""),
        ];
        for &(status, body) in cases {
            let v = edge(classify(status, &headers, body));
            assert!(!v.made_by_edge, "{status} {:?}", std::str::from_utf8(body));
            assert_eq!(v.vendor, Vendor::Cloudflare);
            assert_eq!(v.code, None);
            assert_eq!(v.ray, Some(&b"8f1c2a3b4c5d6e7f-FRA"[..]));
            assert!(v.hint.contains("origin"));
        }
        // A 1xxx body on a 2xx is not an edge error page.
        assert!(!edge(classify(200, &cf(), b"error code: 1020")).made_by_edge);
    }

    #[test]
    fn no_edge_is_origin() {
        let headers = [h("Server", b"nginx"), h("Content-Type", b"text/html")];
        assert_eq!(classify(403, &headers, HTML_1010), AnsweredBy::Origin);
        assert_eq!(classify(200, &[], b""), AnsweredBy::Origin);
        assert_eq!(classify(522, &headers, b""), AnsweredBy::Origin);
        // "cloudflare" must be the whole Server value.
        let lookalike = [h("Server", b"not-cloudflare")];
        assert_eq!(classify(403, &lookalike, b"error code: 1020"), AnsweredBy::Origin);
        assert!(!classify(403, &headers, b"").made_by_edge());
    }

    #[test]
    fn cloudfront() {
        let made = [
            h("Server", b"CloudFront"),
            h(
                "Via",
                b"1.1 f319e8962c0268d31d3828d4b9d41f98.cloudfront.net (CloudFront)",
            ),
            h(
                "X-Amz-Cf-Id",
                b"H_HGBG3sTOqEomHzHubi8ruLbGXe2MRyVhGBn4apM0y_LjQa_9W2Jg==",
            ),
            h("X-Cache", b"Error from cloudfront"),
        ];
        let page = b"<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE>\n<H2>The request could not be satisfied.</H2>\nGenerated by cloudfront (CloudFront)";
        let v = edge(classify(502, &made, page));
        assert_eq!((v.vendor, v.made_by_edge), (Vendor::CloudFront, true));
        assert_eq!(
            v.ray,
            Some(&b"H_HGBG3sTOqEomHzHubi8ruLbGXe2MRyVhGBn4apM0y_LjQa_9W2Jg=="[..])
        );
        assert!(v.hint.contains("X-Amz-Cf-Id"));
        let blocked = edge(classify(
            403,
            &made,
            b"<H2>The request could not be satisfied.</H2>\nRequest blocked.",
        ));
        assert!(blocked.made_by_edge && blocked.hint.contains("WAF"));
        // The origin's own 404 passed through CloudFront: origin's Server header, X-Cache still says Error.
        let passed = [
            h("Server", b"nginx"),
            h("Via", b"1.1 abc.cloudfront.net (CloudFront)"),
            h("X-Cache", b"Error from cloudfront"),
            h("X-Amz-Cf-Pop", b"AMS50-C1"),
        ];
        let v = edge(classify(404, &passed, b"{\"error\":\"not found\"}"));
        assert_eq!((v.vendor, v.made_by_edge, v.ray), (Vendor::CloudFront, false, None));
    }

    #[test]
    fn akamai() {
        let headers = [h("Server", b"AkamaiGHost"), h("Mime-Version", b"1.0")];
        let page = b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \nYou don't have permission to access \"http&#58;&#47;&#47;api&#46;example&#46;com&#47;\" on this server.<P>\nReference&#32;&#35;18&#46;c6a50517&#46;1514639126&#46;176b29a\n</BODY>\n</HTML>";
        let v = edge(classify(403, &headers, page));
        assert_eq!((v.vendor, v.made_by_edge), (Vendor::Akamai, true));
        assert!(v.hint.contains("Reference #"));
        let v = edge(classify(503, &headers, page));
        assert!(v.made_by_edge && v.what.contains("Akamai"));
        let v = edge(classify(200, &headers, b"ok"));
        assert!(!v.made_by_edge);
    }

    #[test]
    fn body_codes() {
        let cases: &[(&[u8], Option<u16>)] = &[
            (b"error code: 1020", Some(1020)),
            (b"ERROR CODE:1020", Some(1020)),
            (b"Error 1010", Some(1010)),
            (b"Error 1010: Access denied", Some(1010)),
            (b"\"error_code\" : 1015,", Some(1015)),
            (b"error-1010/", Some(1010)),
            (b"Error</span>\n <span>1003</span>", Some(1003)),
            (b"Error 10100", None),
            (b"Error 101", None),
            (b"Error 2010", None),
            (b"Error 0999", None),
            (b"{\"error\":1500}", None),
            (b"{\"error\": \"1020\"}", None),
            (b"errors 1020", None),
            (b"error", None),
            (b"", None),
            (b"error code: ", None),
            (b"error <unterminated tag 1020", None),
            (b"error <span>", None),
            (b"errorerrorerror 1020", Some(1020)),
            (b"error x then Error 1013", Some(1013)),
        ];
        for &(body, expected) in cases {
            assert_eq!(body_error_code(body), expected, "{:?}", std::str::from_utf8(body));
        }
        // Too much markup between "error" and the digits.
        let mut far = b"error".to_vec();
        far.extend(std::iter::repeat_n(b' ', 80));
        far.extend(b"1020");
        assert_eq!(body_error_code(&far), None);
    }

    #[test]
    fn never_panics_on_any_prefix() {
        for body in [
            HTML_1010,
            JSON_1010,
            b"error code: 1020".as_slice(),
            b"Error</span><span>1010",
        ] {
            for end in 0..=body.len() {
                let _ = classify(403, &cf(), &body[..end]);
                let _ = body_error_code(&body[..end]);
            }
            for start in 0..=body.len() {
                let _ = body_error_code(&body[start..]);
            }
        }
        for b in 0..=255u8 {
            let body = [b'e', b'r', b'r', b'o', b'r', b, b'1', b'0', b'1', b'0'];
            let _ = classify(403, &cf(), &body);
        }
    }

    #[test]
    fn table_is_consistent() {
        for s in SIGNATURES {
            assert!(s.statuses.0 <= s.statuses.1, "{s:?}");
            assert!(!s.what.is_empty() && !s.hint.is_empty(), "{s:?}");
            assert!(
                !s.hint.ends_with('.'),
                "hints are one sentence without a final stop: {s:?}"
            );
            if let Matcher::BodyCode(c) = s.matcher {
                assert_eq!(s.code, Some(c), "{s:?}");
                assert!((1000..=1999).contains(&c));
            }
            if let Matcher::BodyHas(t) | Matcher::HeaderIs(_, t) | Matcher::HeaderHas(_, t) = s.matcher {
                assert_eq!(t, t.to_ascii_lowercase(), "table text is lower case: {s:?}");
            }
            // Every vendor with signatures can be detected.
            assert!(PRESENCE.iter().any(|(v, _)| *v == s.vendor));
        }
        // Required Cloudflare codes are covered.
        for code in [1003, 1010, 1012, 1013, 1015, 1020] {
            assert!(
                SIGNATURES.iter().any(|s| s.matcher == Matcher::BodyCode(code)),
                "{code}"
            );
        }
    }

    #[test]
    fn display() {
        let v = classify(403, &cf(), b"error code: 1010");
        let text = v.to_string();
        assert!(text.starts_with("Cloudflare error 1010 (access denied based on the browser signature), made by the edge, ray 8f1c2a3b4c5d6e7f-AMS: set a real User-Agent"), "{text}");
        let passed = classify(200, &cf(), b"").to_string();
        assert!(
            passed.starts_with("passed through Cloudflare, ray 8f1c2a3b4c5d6e7f-AMS: the origin answered"),
            "{passed}"
        );
        assert_eq!(
            AnsweredBy::Origin.to_string(),
            "answered by the origin (no known edge on the path)"
        );
        let odd = [h("cf-ray", b"a\x01b")];
        assert!(classify(200, &odd, b"").to_string().contains("a\\x01b"));
    }
}

//! What the server answers: a JSON echo by default, scripted `--respond` rules, or what a strict CDN
//! edge would answer (`--profile edge`).

use std::borrow::Cow;
use std::time::Duration;

use crate::framing::Head;
use crate::html::Visible;
use crate::record::Capture;

/// How strict the server acts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// Answer everything (echo or rules).
    #[default]
    Default,
    /// Act like a strict CDN edge: no SNI → handshake failure, IP as Host → 1003, default user
    /// agents → 1010, SNI ≠ Host → 1013.
    Edge,
}

impl Profile {
    /// `default` or `edge`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Edge => "edge",
        }
    }

    /// Parse `default` or `edge`.
    pub fn parse(s: &str) -> Result<Profile, RuleError> {
        match s {
            "default" | "none" | "off" => Ok(Profile::Default),
            "edge" => Ok(Profile::Edge),
            other => Err(RuleError::UnknownProfile(other.to_string())),
        }
    }
}

/// One scripted answer: `METHOD PATH=STATUS;name:value;delay=MS;chunked;body=TEXT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RespondRule {
    /// Method to match (`*` for any).
    pub method: String,
    /// Path to match (exact, or a prefix when it ends in `*`); the query is ignored.
    pub path: String,
    /// Status to send.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// Body to send.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Send the body chunked.
    pub chunked: bool,
}

/// Why a scripted-response rule, a profile name or a sync mode does not parse (facts only: the
/// command line that read it names its own option).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleError {
    /// No `=` after `METHOD PATH`.
    NoStatus(String),
    /// No space between method and path.
    NoPath(String),
    /// Status is not 100..=999.
    BadStatus(String),
    /// An item is not `name:value`, `delay=MS`, `chunked` or `body=TEXT`.
    BadItem(String),
    /// A header value holds a CR, LF or NUL.
    BadHeaderValue {
        /// The header's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// Unknown profile name.
    UnknownProfile(String),
    /// Unknown sync mode ([`crate::SyncMode`]).
    UnknownSync(String),
    /// A rule in a rules file ([`RespondRule::parse_file`]) does not parse.
    AtLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with the rule on it.
        error: Box<RuleError>,
    },
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const FORM: &str = "write `METHOD PATH=STATUS[;name:value][;delay=MS][;chunked][;body=TEXT]`, e.g. \
             'POST /oauth/token=200;content-type:application/json;body={\"ok\":1}'";
        match self {
            RuleError::NoStatus(r) => write!(f, "the rule `{r}` has no `=STATUS`: {FORM}"),
            RuleError::NoPath(r) => write!(f, "the rule `{r}` has no path after the method: {FORM}"),
            RuleError::BadStatus(s) => write!(f, "the status `{s}` is not a number from 100 to 999: {FORM}"),
            RuleError::BadItem(i) => write!(f, "the item `{i}` is not understood: {FORM}"),
            RuleError::BadHeaderValue { name, value } => write!(
                f,
                "the header `{name}` has a CR, LF or NUL in its value `{}`: a header value is one \
                 line (RFC 9110 §5.5); a CR/LF would split the response's head",
                value.escape_debug()
            ),
            RuleError::UnknownProfile(p) => write!(f, "the profile `{p}` is unknown: use `default` or `edge`"),
            RuleError::AtLine { line, error } => write!(f, "line {line}: {error}"),
            RuleError::UnknownSync(m) => write!(
                f,
                "the sync mode `{m}` is unknown: use `normal` (a stored capture survives the server being killed) \
                 or `full` (it survives a power loss too; slower under load)"
            ),
        }
    }
}

impl std::error::Error for RuleError {}

impl RespondRule {
    /// Parse `METHOD PATH=STATUS;items`. `body=` takes the rest of the rule, `;` included.
    pub fn parse(s: &str) -> Result<RespondRule, RuleError> {
        let s = s.trim();
        let (method, rest) = s.split_once(' ').ok_or_else(|| RuleError::NoPath(s.to_string()))?;
        let rest = rest.trim_start();
        // The status follows the last `=` before the first `;` (paths may hold `=` in a query).
        let spec_start = rest.find(';').unwrap_or(rest.len());
        let eq = rest
            .get(..spec_start)
            .and_then(|p| p.rfind('='))
            .ok_or_else(|| RuleError::NoStatus(s.to_string()))?;
        let path = rest.get(..eq).unwrap_or_default().trim();
        if path.is_empty() {
            return Err(RuleError::NoPath(s.to_string()));
        }
        let tail = rest.get(eq + 1..).unwrap_or_default();
        let (status_s, mut items) = tail.split_once(';').unwrap_or((tail, ""));
        let status: u16 = status_s
            .trim()
            .parse()
            .ok()
            .filter(|n| (100..=999).contains(n))
            .ok_or_else(|| RuleError::BadStatus(status_s.to_string()))?;
        let mut rule = RespondRule {
            method: method.to_string(),
            path: path.to_string(),
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            chunked: false,
        };
        while !items.is_empty() {
            if let Some(body) = items.strip_prefix("body=") {
                rule.body = body.as_bytes().to_vec();
                break;
            }
            let (item, rest) = items.split_once(';').unwrap_or((items, ""));
            items = rest;
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if item == "chunked" {
                rule.chunked = true;
            } else if let Some(ms) = item.strip_prefix("delay=") {
                let ms = ms.trim_end_matches("ms");
                rule.delay = Duration::from_millis(ms.parse().map_err(|_| RuleError::BadItem(item.to_string()))?);
            } else if let Some((n, v)) = item.split_once(':') {
                let n = n.trim();
                if !header_ok(n, "") {
                    return Err(RuleError::BadItem(item.to_string()));
                }
                let v = v.trim();
                if !header_ok(n, v) {
                    return Err(RuleError::BadHeaderValue {
                        name: n.to_string(),
                        value: v.to_string(),
                    });
                }
                rule.headers.push((n.to_string(), v.to_string()));
            } else {
                return Err(RuleError::BadItem(item.to_string()));
            }
        }
        Ok(rule)
    }

    /// Rules from the text of a rules file: one rule per line in the `--respond` form; blank lines
    /// and lines starting with `#` are skipped. An error names the line.
    pub fn parse_file(text: &str) -> Result<Vec<RespondRule>, RuleError> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(i, l)| {
                RespondRule::parse(l).map_err(|e| RuleError::AtLine {
                    line: i + 1,
                    error: Box::new(e),
                })
            })
            .collect()
    }

    fn matches(&self, head: &Head) -> bool {
        let path = head.target.split('?').next().unwrap_or("");
        let method_ok = self.method == "*" || self.method.eq_ignore_ascii_case(&head.method);
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        method_ok && path_ok
    }
}

/// Whether `name: value` can be a header line: a name of token characters (RFC 9110 §5.1), a
/// value without CR, LF or NUL (RFC 9110 §5.5).
pub(crate) fn header_ok(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
        && !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The answer to send for one request.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Status code.
    pub status: u16,
    /// Extra headers (names and values mostly fixed text, so not copied per response).
    pub headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// Body; `None` means the JSON echo (built once the capture has its id).
    pub body: Option<Vec<u8>>,
    /// Delay before answering.
    pub delay: Duration,
    /// Chunked body.
    pub chunked: bool,
    /// Close the connection afterwards.
    pub close: bool,
}

fn ray() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0x7a3c_0000_0000_0000);
    let n = N.fetch_add(0x9e37_79b9, Ordering::Relaxed);
    format!("{n:016x}-TLP")
}

/// The HTML error page of the edge profile. `why` may quote the request (its Host, SNI or
/// User-Agent): the template escapes it, as everything it writes, and shows its control
/// characters as `\xNN`.
fn edge_page(status: u16, code: u32, title: &str, why: &str) -> Plan {
    let body = maud::html! {
        (maud::DOCTYPE) "\n"
        html {
            head { meta charset="utf-8"; title { (title) " | tlspost-edge" } }
            body {
                h1 { "Error " (code) }
                p { (title) }
                p { "error code: " (code) }
                p { (Visible(why)) }
                p { "tlspost-edge imitates a strict CDN edge (tlspost serve --profile edge)." }
            }
        }
        "\n"
    }
    .into_string();
    Plan {
        status,
        headers: vec![
            ("Content-Type".into(), "text/html; charset=UTF-8".into()),
            ("Server".into(), "tlspost-edge".into()),
            ("CF-RAY".into(), ray().into()),
            // The page quotes the request and is served from the UI's origin: beside the escaping,
            // nothing in it may run, load, be sniffed as something else or be framed.
            (
                "Content-Security-Policy".into(),
                "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'".into(),
            ),
            ("X-Content-Type-Options".into(), "nosniff".into()),
            ("X-Frame-Options".into(), "DENY".into()),
        ],
        body: Some(body.into_bytes()),
        ..Plan::default()
    }
}

fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

/// Decide the answer for a request whose head parsed.
pub fn plan(profile: Profile, rules: &[RespondRule], head: &Head, capture: &Capture) -> Plan {
    if profile == Profile::Edge {
        let host = head.header("host").map(|h| host_name(h.trim()).to_string());
        if let (Some(sni), Some(host)) = (capture.sni.as_deref(), host.as_deref()) {
            if !sni.eq_ignore_ascii_case(host) {
                return edge_page(
                    421,
                    1013,
                    "HTTP hostname and TLS SNI hostname mismatch",
                    &format!(
                        "The TLS SNI name `{sni}` differs from the Host header `{host}`: send the same name in both."
                    ),
                );
            }
        }
        if host.as_deref().is_some_and(|h| h.parse::<std::net::IpAddr>().is_ok()) {
            return edge_page(
                403,
                1003,
                "Direct IP access not allowed",
                "The Host header is an IP address: use the API's host name in the URL.",
            );
        }
        if let Some(f) = capture.findings.iter().find(|f| f.code == "TP303" || f.code == "TP304") {
            return edge_page(
                403,
                1010,
                "The owner of this website has banned your access based on your browser's signature",
                &format!("{} Fix: {}", f.message, f.fix),
            );
        }
    }
    if let Some(r) = rules.iter().find(|r| r.matches(head)) {
        return Plan {
            status: r.status,
            headers: r
                .headers
                .iter()
                .map(|(n, v)| (Cow::Owned(n.clone()), Cow::Owned(v.clone())))
                .collect(),
            body: Some(r.body.clone()),
            delay: r.delay,
            chunked: r.chunked,
            close: false,
        };
    }
    Plan {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: None,
        ..Plan::default()
    }
}

/// The JSON echo of a stored capture.
pub fn echo(c: &Capture) -> Vec<u8> {
    let mut out = Vec::new();
    echo_into(c, &mut out);
    out
}

/// The JSON echo of a stored capture, appended to `out` (a buffer reused per connection).
///
/// Written by hand (it is made for every request the server answers by default), in the layout
/// of `serde_json`'s pretty printer: two-space indents, one element per line. A test holds it to
/// that printer's output.
pub fn echo_into(c: &Capture, out: &mut Vec<u8>) {
    use crate::json;
    let body = c.raw_body();
    out.reserve(512 + c.raw.len() + c.headers.len() * 32);
    out.extend_from_slice(b"{\n  \"id\": ");
    json::int(out, c.id);
    let request_line = [("method", &c.method), ("target", &c.target), ("version", &c.version)];
    for (name, value) in request_line {
        out.extend_from_slice(b",\n  \"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\": ");
        json::opt_str(out, value.as_deref());
    }
    out.extend_from_slice(b",\n  \"headers\": ");
    pretty_array(out, &c.headers, |out, (n, v)| {
        out.extend_from_slice(b"[\n      ");
        json::str(out, n);
        out.extend_from_slice(b",\n      ");
        json::str(out, v);
        out.extend_from_slice(b"\n    ]");
    });
    out.extend_from_slice(b",\n  \"body\": ");
    json::str(out, &json::lossy(body));
    out.extend_from_slice(b",\n  \"body_bytes\": ");
    json::int(out, i64::try_from(body.len()).unwrap_or(i64::MAX));
    out.extend_from_slice(b",\n  \"peer\": ");
    json::str(out, &c.peer);
    out.extend_from_slice(b",\n  \"tls\": ");
    match &c.tls {
        None => out.extend_from_slice(b"null"),
        Some(t) => {
            let fields = [
                ("sni", t.hello.sni.as_deref()),
                ("alpn", t.alpn.as_deref()),
                ("version", t.version.as_deref()),
                ("cipher", t.cipher.as_deref()),
                ("ja4", Some(t.ja4.as_str())),
            ];
            pretty_object(out, 2, fields);
        }
    }
    out.extend_from_slice(b",\n  \"findings\": ");
    pretty_array(out, &c.findings, |out, f| {
        let fields = [
            ("code", Some(f.code.as_str())),
            ("severity", Some(f.severity.as_str())),
            ("title", Some(f.title.as_str())),
            ("message", Some(f.message.as_str())),
            ("fix", Some(f.fix.as_str())),
        ];
        pretty_object(out, 3, fields);
    });
    out.extend_from_slice(b",\n  \"capture\": \"/_tlspost/captures/");
    json::int(out, c.id);
    out.extend_from_slice(b"\"\n}\n");
}

/// A top-level field's array, laid out as `serde_json`'s pretty printer does: each element on its
/// own line at the second indent level, `[]` when empty.
fn pretty_array<T>(out: &mut Vec<u8>, items: &[T], mut element: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
        element(out, item);
    }
    if !items.is_empty() {
        out.extend_from_slice(b"\n  ");
    }
    out.push(b']');
}

/// An object of text fields (`null` for `None`) whose fields sit at indent level `level`, laid
/// out as `serde_json`'s pretty printer does.
fn pretty_object<'a>(out: &mut Vec<u8>, level: usize, fields: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) {
    const PAD: &[u8] = b"        ";
    let pad = PAD.get(..2 * level).unwrap_or(PAD);
    for (j, (name, value)) in fields.into_iter().enumerate() {
        out.extend_from_slice(if j == 0 { b"{\n" } else { b",\n" });
        out.extend_from_slice(pad);
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\": ");
        crate::json::opt_str(out, value);
    }
    out.push(b'\n');
    out.extend_from_slice(pad.get(2..).unwrap_or_default());
    out.push(b'}');
}

/// Reason phrase for a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Content Too Large",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The echo as `serde_json`'s pretty printer writes it: what the hand-written one must match.
    fn echo_by_serde(c: &Capture) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct EchoTls<'a> {
            sni: &'a Option<String>,
            alpn: &'a Option<String>,
            version: &'a Option<String>,
            cipher: &'a Option<String>,
            ja4: &'a str,
        }
        #[derive(serde::Serialize)]
        struct Echo<'a> {
            id: i64,
            method: &'a Option<String>,
            target: &'a Option<String>,
            version: &'a Option<String>,
            headers: &'a [(String, String)],
            body: std::borrow::Cow<'a, str>,
            body_bytes: usize,
            peer: &'a str,
            tls: Option<EchoTls<'a>>,
            findings: &'a [crate::record::FindingRecord],
            capture: String,
        }
        let body = c.raw_body();
        let e = Echo {
            id: c.id,
            method: &c.method,
            target: &c.target,
            version: &c.version,
            headers: &c.headers,
            body: String::from_utf8_lossy(body),
            body_bytes: body.len(),
            peer: &c.peer,
            tls: c.tls.as_ref().map(|t| EchoTls {
                sni: &t.hello.sni,
                alpn: &t.alpn,
                version: &t.version,
                cipher: &t.cipher,
                ja4: &t.ja4,
            }),
            findings: &c.findings,
            capture: format!("/_tlspost/captures/{}", c.id),
        };
        let mut out = serde_json::to_vec_pretty(&e).unwrap();
        out.push(b'\n');
        out
    }

    #[test]
    fn echo_matches_the_pretty_printer() {
        let head = "POST /a?b=\"c\" HTTP/1.1\r\nHost: h\r\n\r\n";
        let mut c = Capture {
            id: 1234,
            method: Some("POST".into()),
            target: Some("/a?b=\"c\"".into()),
            version: Some("HTTP/1.1".into()),
            headers: vec![
                ("Host".into(), "h".into()),
                (
                    "X-Odd".into(),
                    "tab\there \\ \u{1} \u{1f} \u{7f} é 😀 \u{8}\u{c}\r\n".into(),
                ),
            ],
            peer: "[::1]:5000".into(),
            head_len: head.len(),
            raw: [head.as_bytes(), b"{\"k\":\"v\"}\n\xff\x00 end"].concat(),
            ..Capture::default()
        };
        assert_eq!(
            String::from_utf8(echo(&c)).unwrap(),
            String::from_utf8(echo_by_serde(&c)).unwrap()
        );
        c.tls = Some(std::sync::Arc::new(crate::record::TlsFacts {
            hello: crate::clienthello::ClientHello {
                sni: Some("api.example".into()),
                ..Default::default()
            },
            alpn: None,
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS13_AES_128_GCM_SHA256".into()),
            ja4: "t13d1516h2_8daaf6152771_b0da82dd1658".into(),
            ..Default::default()
        }));
        c.findings = vec![
            crate::record::FindingRecord {
                code: "TP301".into(),
                severity: "error".into(),
                title: "t".into(),
                message: "the \"quoted\" value".into(),
                fix: "f\nx".into(),
            };
            2
        ];
        assert_eq!(
            String::from_utf8(echo(&c)).unwrap(),
            String::from_utf8(echo_by_serde(&c)).unwrap()
        );
        // Nothing parsed (a request that never framed), no peer, no body.
        let bare = Capture {
            id: 0,
            ..Capture::default()
        };
        assert_eq!(echo(&bare), echo_by_serde(&bare));
        let big = Capture {
            id: i64::MIN,
            ..Capture::default()
        };
        assert_eq!(echo(&big), echo_by_serde(&big));
    }

    #[test]
    fn rule_syntax() {
        let r =
            RespondRule::parse(r#"POST /oauth/token=200;content-type:application/json;delay=5;body={"ok":1;"x":2}"#)
                .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.status),
            ("POST", "/oauth/token", 200)
        );
        assert_eq!(r.headers, vec![("content-type".into(), "application/json".into())]);
        assert_eq!(r.body, br#"{"ok":1;"x":2}"#);
        assert_eq!(r.delay, Duration::from_millis(5));
        let r = RespondRule::parse("* /api/*=503;chunked").unwrap();
        assert!(r.chunked && r.path == "/api/*");
        assert!(matches!(RespondRule::parse("POST /x"), Err(RuleError::NoStatus(_))));
        assert!(matches!(
            RespondRule::parse("POST /x=abc"),
            Err(RuleError::BadStatus(_))
        ));
        assert!(matches!(
            RespondRule::parse("POST /x=200;bogus"),
            Err(RuleError::BadItem(_))
        ));
        assert!(
            RuleError::NoStatus("x".into())
                .to_string()
                .contains("METHOD PATH=STATUS")
        );
    }

    #[test]
    fn rules_files() {
        let text = "# scripted answers\n\nPOST /oauth/token=200;content-type:application/json;body={\"a\":1}\n  * /api/*=503;delay=5\n";
        let rules = RespondRule::parse_file(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].path.as_str(), rules[0].status), ("/oauth/token", 200));
        assert_eq!(rules[0].body, br#"{"a":1}"#);
        assert_eq!(
            (rules[1].method.as_str(), rules[1].delay),
            ("*", Duration::from_millis(5))
        );
        let e = RespondRule::parse_file("GET /a=200\n\nGET /b=abc\n").unwrap_err();
        assert!(matches!(e, RuleError::AtLine { line: 3, .. }), "{e:?}");
        assert!(e.to_string().starts_with("line 3: the status `abc`"), "{e}");
        assert_eq!(RespondRule::parse_file("# nothing\n").unwrap(), vec![]);
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name("a.example:8443"), "a.example");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("10.0.0.1"), "10.0.0.1");
    }
}

//! The rule catalogue: every code the linter can emit, its severity, title and fix.
//!
//! Codes are stable: a code is never reused for a different meaning. Categories: framing `TP1xx`,
//! HTTP semantics `TP2xx`, API/CDN traps `TP3xx`, TLS `TP4xx`. `docs/lint.md` documents every code;
//! a test checks both directions.

use crate::Severity::{self, Error, Info, Warning};

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Stable code, e.g. `TP101`.
    pub code: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// A short title.
    pub title: &'static str,
    /// What to do about it, in one sentence.
    pub fix_summary: &'static str,
}

const fn rule(code: &'static str, severity: Severity, title: &'static str, fix_summary: &'static str) -> Rule {
    Rule {
        code,
        severity,
        title,
        fix_summary,
    }
}

// ---- framing (TP1xx) ----
pub(crate) const HEAD_UNTERMINATED: Rule = rule(
    "TP101",
    Error,
    "request head never ends",
    "end the head with an empty line: CRLF CRLF after the last header, then the body",
);
pub(crate) const BARE_LF: Rule = rule(
    "TP102",
    Error,
    "bare LF line ending",
    "end every request line and header line with CRLF (\\r\\n), not LF alone",
);
pub(crate) const OBS_FOLD: Rule = rule(
    "TP103",
    Error,
    "header line folded (obs-fold)",
    "put each header on one line; never start a line with a space or tab",
);
pub(crate) const SPACE_BEFORE_COLON: Rule = rule(
    "TP104",
    Error,
    "whitespace between header name and colon",
    "write `Name: value` with the colon right after the name",
);
pub(crate) const CTL_IN_VALUE: Rule = rule(
    "TP105",
    Error,
    "control byte in a header value",
    "remove CR, LF, NUL and other control bytes from header values (only tab is allowed)",
);
pub(crate) const BAD_FIELD_NAME: Rule = rule(
    "TP106",
    Error,
    "malformed header line",
    "every header line must be `token: value`; check string concatenation and line endings",
);
pub(crate) const BAD_REQUEST_LINE: Rule = rule(
    "TP107",
    Error,
    "malformed request line",
    "send exactly `METHOD SP /path SP HTTP/1.1` followed by CRLF",
);
pub(crate) const CL_DUPLICATE: Rule = rule(
    "TP110",
    Warning,
    "Content-Length sent more than once",
    "send Content-Length exactly once",
);
pub(crate) const CL_CONFLICT: Rule = rule(
    "TP111",
    Error,
    "differing Content-Length values",
    "send one Content-Length equal to the exact body size in bytes",
);
pub(crate) const CL_INVALID: Rule = rule(
    "TP112",
    Error,
    "invalid Content-Length value",
    "Content-Length must be plain decimal digits (no sign, no spaces, no hex) that fit in 64 bits",
);
pub(crate) const CL_WITH_TE: Rule = rule(
    "TP113",
    Error,
    "Content-Length together with Transfer-Encoding",
    "send either Content-Length or Transfer-Encoding: chunked, never both",
);
pub(crate) const TE_UNKNOWN: Rule = rule(
    "TP114",
    Error,
    "unknown transfer coding",
    "use `Transfer-Encoding: chunked` (or drop it and send Content-Length)",
);
pub(crate) const TE_REPEATED: Rule = rule(
    "TP115",
    Error,
    "transfer coding repeated",
    "list each transfer coding once; normally just `Transfer-Encoding: chunked`",
);
pub(crate) const TE_CHUNKED_NOT_LAST: Rule = rule(
    "TP116",
    Error,
    "chunked is not the last transfer coding",
    "make `chunked` the final transfer coding, or send Content-Length instead",
);
pub(crate) const BODY_ON_GET: Rule = rule(
    "TP117",
    Warning,
    "body on a GET or HEAD request",
    "send data in a POST/PUT body, or in the query string of a GET without a body",
);
pub(crate) const BODY_SHORT: Rule = rule(
    "TP118",
    Error,
    "body shorter than Content-Length",
    "send the whole body (check write() return values and flush), or fix Content-Length to the byte count",
);
pub(crate) const BODY_EXTRA: Rule = rule(
    "TP119",
    Error,
    "bytes after the end of the body",
    "make Content-Length equal to the body's byte count (UTF-8 bytes, not characters) and send nothing after it",
);
pub(crate) const CHUNKED_MALFORMED: Rule = rule(
    "TP120",
    Error,
    "malformed chunked body",
    "frame each chunk as `<hex size>CRLF<data>CRLF` and end with `0CRLF CRLF`",
);
pub(crate) const CHUNKED_INCOMPLETE: Rule = rule(
    "TP121",
    Error,
    "chunked body incomplete",
    "send every chunk completely and finish with the last chunk `0\\r\\n\\r\\n`",
);
pub(crate) const BODY_UNFRAMED: Rule = rule(
    "TP122",
    Error,
    "body without Content-Length or Transfer-Encoding",
    "send `Content-Length: <body bytes>` before the body",
);
pub(crate) const NO_LENGTH: Rule = rule(
    "TP123",
    Warning,
    "POST/PUT/PATCH without Content-Length",
    "send `Content-Length: 0` for an empty body, or the body's byte count",
);
pub(crate) const HEAD_LARGE: Rule = rule(
    "TP124",
    Warning,
    "very large request head",
    "keep the head under 8 KiB: move large tokens or data into the body",
);
pub(crate) const CHUNKED_REQUEST: Rule = rule(
    "TP125",
    Info,
    "chunked request body",
    "when the body size is known, send Content-Length instead of chunked",
);

// ---- HTTP (TP2xx) ----
pub(crate) const HOST_MISSING: Rule = rule(
    "TP201",
    Error,
    "Host header missing",
    "send `Host: <name the device connects to>` (with `:port` only when it is not 80/443)",
);
pub(crate) const HOST_DUPLICATE: Rule = rule(
    "TP202",
    Error,
    "Host header sent more than once",
    "send exactly one Host header",
);
pub(crate) const HOST_SNI_MISMATCH: Rule = rule(
    "TP203",
    Error,
    "Host differs from the TLS SNI name",
    "use the same host name for the TLS connection (SNI) and the Host header",
);
pub(crate) const HTTP10_CHUNKED: Rule = rule(
    "TP204",
    Error,
    "Transfer-Encoding in an HTTP/1.0 request",
    "send HTTP/1.1, or keep HTTP/1.0 and frame the body with Content-Length",
);
pub(crate) const EXPECT_CONTINUE: Rule = rule(
    "TP205",
    Warning,
    "Expect: 100-continue",
    "drop the Expect header, or wait for `100 Continue` (with a timeout) before sending the body",
);
pub(crate) const VERSION_UNSUPPORTED: Rule = rule(
    "TP206",
    Error,
    "unsupported HTTP version",
    "send `HTTP/1.1` (or `HTTP/1.0`) as the request line's version",
);
pub(crate) const ABSOLUTE_FORM: Rule = rule(
    "TP207",
    Info,
    "absolute-form request target",
    "send only the path (`POST /oauth/token HTTP/1.1`) and the host in the Host header",
);
pub(crate) const HOST_INVALID: Rule = rule(
    "TP208",
    Error,
    "invalid Host value",
    "Host must be `name` or `name:port` with nothing else (no scheme, path, user or spaces)",
);
pub(crate) const METHOD_CASE: Rule = rule(
    "TP209",
    Warning,
    "method not in upper case",
    "methods are case-sensitive: send `POST`, not `post`",
);
pub(crate) const SINGLETON_REPEATED: Rule = rule(
    "TP210",
    Warning,
    "single-value header repeated",
    "send Content-Type, Authorization and User-Agent once each (Arduino: call addHeader once per name)",
);

// ---- API / CDN traps (TP3xx) ----
pub(crate) const JSON_WITHOUT_CT: Rule = rule(
    "TP301",
    Error,
    "JSON body without Content-Type: application/json",
    "add `Content-Type: application/json` (Arduino: http.addHeader(\"Content-Type\", \"application/json\"))",
);
pub(crate) const CT_JSON_NOT_JSON: Rule = rule(
    "TP302",
    Error,
    "Content-Type says JSON but the body is not JSON",
    "send a valid JSON body (check quoting/escaping and truncation) or the right Content-Type",
);
pub(crate) const UA_MISSING: Rule = rule(
    "TP303",
    Error,
    "no User-Agent",
    "send a descriptive User-Agent such as `my-sensor/1.4 (esp32)`",
);
pub(crate) const UA_LIBRARY_DEFAULT: Rule = rule(
    "TP304",
    Error,
    "library default User-Agent",
    "set your own User-Agent such as `my-sensor/1.4 (esp32)` (Arduino: http.setUserAgent(...))",
);
pub(crate) const ACCEPT_ENCODING_COMPRESSED: Rule = rule(
    "TP305",
    Warning,
    "Accept-Encoding allows compressed responses",
    "send `Accept-Encoding: identity` unless the device really decodes gzip/br",
);
pub(crate) const HOST_IP: Rule = rule(
    "TP306",
    Error,
    "IP address as Host",
    "connect by name and send that name in Host (and SNI), not the server's IP address",
);
pub(crate) const AUTH_PLAINTEXT: Rule = rule(
    "TP307",
    Warning,
    "credentials over plain HTTP",
    "send Authorization and tokens only over HTTPS",
);
pub(crate) const BODY_WITHOUT_CT: Rule = rule(
    "TP308",
    Warning,
    "body without Content-Type",
    "send the body's media type, e.g. `Content-Type: application/x-www-form-urlencoded` for `a=1&b=2`",
);

// ---- TLS (TP4xx) ----
pub(crate) const SNI_MISSING: Rule = rule(
    "TP401",
    Error,
    "TLS without SNI",
    "send SNI: connect by host name (WiFiClientSecure::connect(host, 443), not an IPAddress)",
);
pub(crate) const SNI_IP: Rule = rule(
    "TP402",
    Error,
    "IP address as the SNI name",
    "connect by host name so the TLS library sends that name as SNI",
);
pub(crate) const ALPN_H2: Rule = rule(
    "TP403",
    Error,
    "HTTP/1.1 sent on an h2 connection",
    "offer only `http/1.1` in ALPN, or speak HTTP/2 after negotiating `h2`",
);

static RULES: &[Rule] = &[
    HEAD_UNTERMINATED,
    BARE_LF,
    OBS_FOLD,
    SPACE_BEFORE_COLON,
    CTL_IN_VALUE,
    BAD_FIELD_NAME,
    BAD_REQUEST_LINE,
    CL_DUPLICATE,
    CL_CONFLICT,
    CL_INVALID,
    CL_WITH_TE,
    TE_UNKNOWN,
    TE_REPEATED,
    TE_CHUNKED_NOT_LAST,
    BODY_ON_GET,
    BODY_SHORT,
    BODY_EXTRA,
    CHUNKED_MALFORMED,
    CHUNKED_INCOMPLETE,
    BODY_UNFRAMED,
    NO_LENGTH,
    HEAD_LARGE,
    CHUNKED_REQUEST,
    HOST_MISSING,
    HOST_DUPLICATE,
    HOST_SNI_MISMATCH,
    HTTP10_CHUNKED,
    EXPECT_CONTINUE,
    VERSION_UNSUPPORTED,
    ABSOLUTE_FORM,
    HOST_INVALID,
    METHOD_CASE,
    SINGLETON_REPEATED,
    JSON_WITHOUT_CT,
    CT_JSON_NOT_JSON,
    UA_MISSING,
    UA_LIBRARY_DEFAULT,
    ACCEPT_ENCODING_COMPRESSED,
    HOST_IP,
    AUTH_PLAINTEXT,
    BODY_WITHOUT_CT,
    SNI_MISSING,
    SNI_IP,
    ALPN_H2,
];

/// The whole catalogue, ordered by code.
pub fn rules() -> &'static [Rule] {
    RULES
}

/// The catalogue entry for a code such as `TP301`.
pub fn find_rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

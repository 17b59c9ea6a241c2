//! One captured request: the exact bytes and everything known about how they arrived.

use base64::Engine;
use serde::{Deserialize, Serialize};
use tlspost_proto::date::{DateTime, Style};

use crate::clienthello::ClientHello;

/// TLS facts of the connection a request arrived on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TlsFacts {
    /// What the ClientHello offered (its fields stand in the JSON beside these).
    #[serde(flatten)]
    pub hello: ClientHello,
    /// JA4 fingerprint of the ClientHello.
    pub ja4: String,
    /// JA4 with unhashed lists.
    pub ja4_r: String,
    /// ALPN protocol negotiated.
    pub alpn: Option<String>,
    /// Negotiated protocol version, e.g. `TLSv1.3` (absent when the handshake failed).
    pub version: Option<String>,
    /// Negotiated cipher suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher: Option<String>,
    /// Whether the handshake resumed an earlier session (a TLS 1.3 PSK from a ticket, or a TLS 1.2
    /// session id or ticket): no certificate was sent.
    #[serde(default)]
    pub resumed: bool,
    /// These facts as JSON, made once per connection (every request on it stores them).
    #[serde(skip)]
    pub(crate) json: std::sync::OnceLock<Box<serde_json::value::RawValue>>,
    #[serde(skip)]
    pub(crate) key: std::sync::OnceLock<String>,
}

impl TlsFacts {
    /// What is known before the handshake: the ClientHello and its JA4.
    pub(crate) fn offered(hello: ClientHello) -> TlsFacts {
        TlsFacts {
            ja4: hello.ja4(),
            ja4_r: hello.ja4_r(),
            hello,
            ..TlsFacts::default()
        }
    }

    fn raw_json(&self) -> Result<&serde_json::value::RawValue, serde_json::Error> {
        if let Some(raw) = self.json.get() {
            return Ok(raw);
        }
        let raw = serde_json::value::to_raw_value(self)?;
        Ok(self.json.get_or_init(|| raw))
    }

    /// A content key (SHA-256 prefix of the JSON) and the JSON, both made once.
    pub(crate) fn keyed_json(&self) -> Result<(&str, &str), serde_json::Error> {
        let json = self.raw_json()?.get();
        let key = self.key.get_or_init(|| {
            let d = ring::digest::digest(&ring::digest::SHA256, json.as_bytes());
            d.as_ref().iter().take(12).map(|b| format!("{b:02x}")).collect()
        });
        Ok((key, json))
    }
}

/// Serialize shared TLS facts from their cached JSON.
fn ser_tls<S: serde::Serializer>(v: &Option<std::sync::Arc<TlsFacts>>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    match v {
        None => s.serialize_none(),
        Some(t) => t.raw_json().map_err(S::Error::custom)?.serialize(s),
    }
}

/// A lint finding as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Stable code, e.g. `TP301`.
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// Rule title.
    pub title: String,
    /// What was found.
    pub message: String,
    /// What to do.
    pub fix: String,
}

impl From<&tlspost_lint::Finding> for FindingRecord {
    fn from(f: &tlspost_lint::Finding) -> Self {
        FindingRecord {
            code: f.code.into(),
            severity: f.severity.as_str().into(),
            title: f.title.into(),
            message: f.message.clone(),
            fix: f.fix.clone(),
        }
    }
}

/// Arrival times, in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// From the connection's accept to this request's first byte.
    pub first_byte_us: u64,
    /// From the first byte to the end of the head (absent when the head never completed).
    pub head_us: Option<u64>,
    /// From the first byte to the end of the body.
    pub body_us: Option<u64>,
}

/// One captured request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Capture {
    /// Store id (0 until stored).
    pub id: i64,
    /// Arrival of the first byte, RFC 3339 UTC.
    pub time: String,
    /// Arrival of the first byte, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Peer address.
    pub peer: String,
    /// `http` or `https`.
    pub scheme: String,
    /// The exact bytes received for this request (head and body), base64 in JSON.
    #[serde(with = "b64")]
    pub raw: Vec<u8>,
    /// Whether a whole request arrived and was framed.
    pub complete: bool,
    /// Why not, or what went wrong (parse error, timeout, limit, TLS failure).
    pub error: Option<String>,
    /// Method, if the head parsed.
    pub method: Option<String>,
    /// Request target, if the head parsed.
    pub target: Option<String>,
    /// `HTTP/1.1` or `HTTP/1.0`, if the head parsed.
    pub version: Option<String>,
    /// Header fields as received, in order.
    pub headers: Vec<(String, String)>,
    /// Length of the head in bytes.
    pub head_len: usize,
    /// Payload bytes of the body (after chunked decoding).
    pub body_len: u64,
    /// Arrival times.
    pub timing: Timing,
    /// How many reads (socket reads, or TLS plaintext reads) the request came in.
    pub reads: usize,
    /// Connection number (per server run) and position of the request on it (pipelining, keep-alive).
    pub conn: u64,
    /// 0 for the first request of a connection.
    pub seq: u32,
    /// TLS facts (HTTPS only).
    #[serde(serialize_with = "ser_tls")]
    pub tls: Option<std::sync::Arc<TlsFacts>>,
    /// SNI (copy of `tls.sni`, for simple clients).
    pub sni: Option<String>,
    /// Lint findings.
    pub findings: Vec<FindingRecord>,
    /// Status of the response sent (0 when none was sent).
    pub status: u16,
    /// Forward mode and replays: the upstream exchange this request went on to (absent when the
    /// server answered by itself, or refused the request before forwarding it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// A replay: the capture whose request bytes this one sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<i64>,
}

/// What happened to a request sent on to the upstream, and what came back, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    /// Where it went: the upstream's scheme, host and port, e.g. `https://api.example.com:443`.
    pub url: String,
    /// The address connected to (absent when none was reached).
    pub addr: Option<String>,
    /// Whether a connection kept alive from an earlier request carried it (no connect, no handshake).
    pub reused: bool,
    /// Header fields changed on the way, in either direction (everything else went as received).
    pub rewritten: Vec<Rewrite>,
    /// The response's status (0: no response head arrived).
    pub status: u16,
    /// The response head as received, base64 in JSON.
    #[serde(with = "b64")]
    pub head: Vec<u8>,
    /// The response body as received (a chunked one with its framing), up to the server's limit;
    /// base64 in JSON.
    #[serde(with = "b64")]
    pub body: Vec<u8>,
    /// Bytes of the body that arrived (more than `body` holds when it was longer than the limit).
    pub body_len: u64,
    /// Whether the response ended. `false` without `error`: the server stopped before it did (a
    /// crash, or the process killed), so the record has what was committed before.
    pub complete: bool,
    /// Times of the exchange's phases.
    pub timing: UpstreamTiming,
    /// The upstream connection's TLS facts (`https` upstreams).
    pub tls: Option<UpstreamTls>,
    /// Who made the response: the origin, or an edge in front of it.
    pub answered_by: Option<AnsweredBy>,
    /// Why no (whole) response came back.
    pub error: Option<UpstreamError>,
}

/// One header field changed on the way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// `upstream` (in the request sent on) or `device` (in the response sent back).
    pub toward: String,
    /// The field's name.
    pub name: String,
    /// Its value as received (absent: added).
    pub from: Option<String>,
    /// Its value as sent (absent: removed).
    pub to: Option<String>,
    /// Why.
    pub why: String,
}

/// Times of an upstream exchange, in microseconds (absent: the phase did not happen).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamTiming {
    /// Name resolution and TCP connect (absent on a kept-alive connection).
    pub connect_us: Option<u64>,
    /// The TLS handshake (absent on a kept-alive connection or a plain upstream).
    pub tls_us: Option<u64>,
    /// Writing the request.
    pub send_us: Option<u64>,
    /// From the request written to the response's first byte.
    pub first_byte_us: Option<u64>,
    /// From the response's first byte to its end.
    pub body_us: Option<u64>,
    /// From the start of forwarding to the response's end (or the failure).
    pub total_us: Option<u64>,
}

/// TLS facts of the upstream connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamTls {
    /// Protocol version, e.g. `TLSv1.3`.
    pub version: String,
    /// Cipher suite name (hex when unknown).
    pub cipher: String,
    /// Key exchange group, when known.
    pub group: Option<String>,
    /// ALPN protocol negotiated.
    pub alpn: Option<String>,
    /// SNI sent (absent for an IP address).
    pub sni: Option<String>,
    /// Whether the session was resumed.
    pub resumed: bool,
    /// Certificates the upstream sent, leaf first, as subject names.
    pub chain: Vec<String>,
}

/// Who made a response (the core's edge classification, `tlspost_proto::edge`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnsweredBy {
    /// `origin`, or `edge` when an edge (CDN, reverse proxy) made the response itself.
    pub who: String,
    /// The edge's vendor, when one is on the path (also when the origin answered through it).
    pub vendor: Option<String>,
    /// The vendor's error code (e.g. Cloudflare's 1010).
    pub code: Option<u16>,
    /// The edge's id for the request (e.g. `CF-RAY`), to give to the API's owner.
    pub ray: Option<String>,
    /// The verdict in words, e.g. "the Cloudflare edge answered 403, error 1010 (…); the origin never saw it".
    pub text: String,
    /// What to change.
    pub hint: String,
}

/// Why an upstream exchange did not end with a whole response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamError {
    /// The kind: `dns`, `refused`, `timeout`, `unreachable`, `tls`, `closed`, `protocol`, `connect`.
    pub cause: String,
    /// What happened, in words.
    pub message: String,
}

impl UpstreamError {
    /// What a forwarded request's record says until its response has ended (and so forever, when
    /// the server stopped before it did).
    pub(crate) fn unfinished() -> UpstreamError {
        UpstreamError {
            cause: "unfinished".into(),
            message: "the response did not end while this server ran: the request was recorded and sent on, \
                      then the server stopped (a crash or a kill) before the upstream's response ended"
                .into(),
        }
    }
}

/// Bytes as standard base64 in JSON (`#[serde(with = …)]`).
pub(crate) mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        decode(&String::deserialize(d)?)
    }

    fn decode<E: serde::de::Error>(s: &str) -> Result<Vec<u8>, E> {
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(E::custom)
    }

    /// The same for an optional field: `null` (or absent, with `#[serde(default)]`) is `None`.
    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            Option::<String>::deserialize(d)?.map(|s| super::decode(&s)).transpose()
        }
    }
}

impl Capture {
    /// Lint the request bytes, with the connection's TLS facts, into `findings`.
    pub(crate) fn lint(&mut self) {
        let ctx = tlspost_lint::Context {
            tls: self.tls.is_some(),
            sni: self.sni.as_deref(),
            alpn: self.tls.as_ref().and_then(|t| t.alpn.as_deref()),
        };
        self.findings = tlspost_lint::lint(&self.raw, &ctx)
            .iter()
            .map(FindingRecord::from)
            .collect();
    }

    /// Body bytes as received (still chunk-encoded when chunked).
    pub fn raw_body(&self) -> &[u8] {
        self.raw.get(self.head_len.min(self.raw.len())..).unwrap_or_default()
    }

    /// The raw bytes base64-encoded.
    pub fn raw_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.raw)
    }

    /// A one-line summary for lists and the live feed.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "time": self.time,
            "peer": self.peer,
            "scheme": self.scheme,
            "method": self.method,
            "target": self.target,
            "sni": self.sni,
            "bytes": self.raw.len(),
            "complete": self.complete,
            "error": self.error,
            "status": self.status,
            "codes": self.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
            "upstream_status": self.upstream.as_ref().map(|u| u.status),
            "upstream_error": self.upstream.as_ref().and_then(|u| u.error.as_ref()).map(|e| e.cause.as_str()),
            "answered_by": self.upstream.as_ref().and_then(|u| u.answered_by.as_ref()).map(|a| a.who.as_str()),
            "replay_of": self.replay_of,
        })
    }
}

/// Now, in milliseconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds (`2000-02-29T00:00:00.123Z`): the
/// workspace's one date conversion, [`tlspost_proto::date`].
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_unix_millis(ms).show(Style::Rfc3339Millis).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
    }

    #[test]
    fn json_roundtrip_keeps_raw_bytes() {
        let c = Capture {
            raw: vec![0, 255, b'\r', b'\n'],
            ..Capture::default()
        };
        let j = serde_json::to_string(&c).unwrap();
        let back: Capture = serde_json::from_str(&j).unwrap();
        assert_eq!(back.raw, c.raw);
        let lint = tlspost_lint::CapturedRequest::from_json(j.as_bytes()).unwrap();
        assert_eq!(lint.raw, c.raw);
    }
}

//! The bytes the device sends — built from their fields with the same encoder the device runs,
//! or given exactly — and how to re-send them with tlspost's client.

use tlspost::client::{BodySpec, RequestSpec};
use tlspost::url::HttpUrl;
use tlspost_proto::request::DEFAULT_USER_AGENT;
use tlspost_proto::{Body, Encoder, Header, Omit, httparse};

use crate::error::DoctorError;
use crate::input::DeviceRequest;
use crate::target::Target;

/// The request for tlspost's client with the `User-Agent` to configure it with (`None`: the headers
/// hold it), or why it cannot be re-sent faithfully.
pub(crate) type Resend = Result<(RequestSpec, Option<String>), String>;

/// The request as the device sends it, and how to re-send it with `--send`.
#[derive(Clone, Debug)]
pub(crate) struct Built {
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// Where they came from, for people.
    pub source: String,
    /// Given as exact bytes (not built from fields).
    pub raw: bool,
    /// The method.
    pub method: String,
    /// The device's `User-Agent`, `None` when it sends none.
    pub user_agent: Option<String>,
    /// How `--send` re-sends it.
    pub spec: Resend,
}

fn encode_err(e: impl std::fmt::Display) -> DoctorError {
    DoctorError::Encode { why: e.to_string() }
}

/// Builds the device's request (before any I/O: a bad header is a usage error).
pub(crate) fn build(req: &DeviceRequest, target: &Target) -> Result<Built, DoctorError> {
    let url = target.url.as_url();
    match req {
        DeviceRequest::Fields {
            method,
            headers,
            omit,
            body,
            user_agent,
        } => {
            let hdrs: Vec<Header<'_>> = headers
                .iter()
                .map(|(n, v)| Header {
                    name: n.as_str(),
                    value: v.as_slice(),
                })
                .collect();
            let mut r = url.request(method);
            r.headers = &hdrs;
            r.omit = *omit;
            r.body = match body {
                BodySpec::None => Body::None,
                BodySpec::Json(d) => Body::Json(d),
                BodySpec::Form(d) => Body::Form(d),
                BodySpec::Bytes { content_type, data } => Body::Bytes { content_type, data },
            };
            let ua = user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT);
            r.user_agent = ua;
            let mut enc = Encoder::new(&r).map_err(encode_err)?;
            let mut bytes = Vec::with_capacity(enc.total_len());
            let mut buf = [0u8; 4096];
            loop {
                let n = enc.poll_output(&mut buf).map_err(encode_err)?;
                if n == 0 {
                    break;
                }
                bytes.extend_from_slice(buf.get(..n).unwrap_or_default());
            }
            let sent_ua = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .or_else(|| (!omit.user_agent).then(|| ua.to_string()));
            Ok(Built {
                bytes,
                source: "built with the device's encoder".into(),
                raw: false,
                method: method.clone(),
                user_agent: sent_ua,
                spec: Ok((
                    RequestSpec {
                        method: method.clone(),
                        url: target.url.clone(),
                        headers: headers.clone(),
                        omit: *omit,
                        body: body.clone(),
                    },
                    Some(ua.to_string()),
                )),
            })
        }
        DeviceRequest::Raw { bytes, source } => {
            let (method, user_agent, spec) = from_raw(bytes, &target.origin());
            Ok(Built {
                bytes: bytes.clone(),
                source: format!("read from {source}"),
                raw: true,
                method,
                user_agent,
                spec,
            })
        }
    }
}

/// Method, `User-Agent` and an equivalent [`RequestSpec`] of raw request bytes.
fn from_raw(raw: &[u8], origin: &str) -> (String, Option<String>, Resend) {
    let mut hs = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Request::new(&mut hs);
    let head_len = match r.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return (
                "POST".into(),
                None,
                Err("the file's request head never ends (no blank line)".into()),
            );
        }
        Err(e) => {
            return (
                "POST".into(),
                None,
                Err(format!("the file's request head does not parse ({e})")),
            );
        }
    };
    let method = r.method.unwrap_or("POST").to_string();
    let ua = r
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("user-agent"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    let body = raw.get(head_len..).unwrap_or_default().to_vec();
    let spec = (|| {
        let path = r.path.unwrap_or("/");
        if !path.starts_with('/') {
            return Err(format!("the request target {path:?} is not a path"));
        }
        if ua.is_none() {
            return Err("the file sends no User-Agent, and tlspost's client always sends one".into());
        }
        let mut headers = Vec::new();
        let mut content_type = None;
        for h in r.headers.iter() {
            let n = h.name.to_ascii_lowercase();
            if n == "transfer-encoding" {
                return Err("the file's body is chunked; tlspost's client sends bodies with Content-Length".into());
            }
            if n == "content-length" {
                continue;
            }
            if n == "content-type" && !body.is_empty() {
                content_type = Some(String::from_utf8_lossy(h.value).into_owned());
                continue;
            }
            headers.push((h.name.to_string(), h.value.to_vec()));
        }
        let body = match (content_type, body.is_empty()) {
            (_, true) => BodySpec::None,
            (Some(ct), false) => BodySpec::Bytes {
                content_type: ct,
                data: body,
            },
            (None, false) => {
                return Err(
                    "the file's body has no Content-Type, and tlspost's client always sends one with a \
                            body"
                        .into(),
                );
            }
        };
        Ok((
            RequestSpec {
                method: method.clone(),
                url: HttpUrl::parse(&format!("{origin}{path}"))
                    .map_err(|e| format!("the request target {path:?} makes no URL ({e})"))?,
                headers,
                omit: Omit::NONE,
                body,
            },
            None,
        ))
    })();
    (method, ua, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn flags_build_the_bytes_the_device_encoder_sends() {
        let req = DeviceRequest::Fields {
            method: "POST".into(),
            headers: vec![("X-Key".into(), b"k1".to_vec())],
            omit: Omit::NONE,
            body: BodySpec::Json(br#"{"a":1}"#.to_vec()),
            user_agent: Some("acme/1".into()),
        };
        let b = build(&req, &target("https://api.example.com:8443/t?x=1")).unwrap();
        assert_eq!(
            b.bytes,
            b"POST /t?x=1 HTTP/1.1\r\nHost: api.example.com:8443\r\nUser-Agent: acme/1\r\n\
              Accept-Encoding: identity\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n\
              Content-Length: 7\r\nX-Key: k1\r\n\r\n{\"a\":1}"
        );
        assert_eq!(b.user_agent.as_deref(), Some("acme/1"));
        let (spec, ua) = b.spec.unwrap();
        assert_eq!((spec.method.as_str(), ua.as_deref()), ("POST", Some("acme/1")));
        // `-H "User-Agent:" -H "Content-Type:"`: the device sends neither, and the re-send does the same.
        let omit = Omit {
            user_agent: true,
            content_type: true,
            ..Omit::NONE
        };
        let headers = Vec::new();
        let bare = DeviceRequest::Fields {
            method: "POST".into(),
            headers,
            omit,
            body: BodySpec::Json(b"{}".to_vec()),
            user_agent: None,
        };
        let b = build(&bare, &target("https://h/")).unwrap();
        assert_eq!(
            b.bytes,
            b"POST / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\
              Content-Length: 2\r\n\r\n{}"
        );
        assert_eq!(b.user_agent, None);
        assert_eq!(b.spec.unwrap().0.omit, omit);
        // A header the encoder refuses is a usage error, before any I/O.
        let bad = DeviceRequest::Fields {
            method: "POST".into(),
            headers: vec![("X-Bad".into(), b"a\r\nb".to_vec())],
            omit: Omit::NONE,
            body: BodySpec::None,
            user_agent: None,
        };
        assert!(
            build(&bad, &target("https://h/"))
                .unwrap_err()
                .to_string()
                .contains("cannot be encoded")
        );
    }

    #[test]
    fn raw_requests_are_re_sent_only_when_the_client_can_send_them_as_they_are() {
        let ok = b"POST /x HTTP/1.1\r\nHost: h\r\nUser-Agent: d/1\r\nContent-Type: application/json\r\n\
                   Content-Length: 2\r\n\r\n{}";
        let (m, ua, spec) = from_raw(ok, "https://h:8443");
        assert_eq!((m.as_str(), ua.as_deref()), ("POST", Some("d/1")));
        let (spec, ua) = spec.unwrap();
        assert_eq!(spec.url.to_string(), "https://h:8443/x");
        assert_eq!(ua, None);
        assert!(
            spec.headers
                .iter()
                .all(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
        );
        assert_eq!(
            spec.body,
            BodySpec::Bytes {
                content_type: "application/json".into(),
                data: b"{}".to_vec()
            }
        );
        let no_ct = b"POST /x HTTP/1.1\r\nHost: h\r\nUser-Agent: d/1\r\nContent-Length: 2\r\n\r\n{}";
        assert!(from_raw(no_ct, "https://h").2.unwrap_err().contains("no Content-Type"));
        let chunked = b"POST /x HTTP/1.1\r\nHost: h\r\nUser-Agent: d/1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(from_raw(chunked, "https://h").2.unwrap_err().contains("chunked"));
        assert!(
            from_raw(b"POST /x HTTP/1.1\r\nHost: h\r\n", "https://h")
                .2
                .unwrap_err()
                .contains("never ends")
        );
        assert!(
            from_raw(b"\x00\x01garbage\r\n\r\n", "https://h")
                .2
                .unwrap_err()
                .contains("does not parse")
        );
    }
}

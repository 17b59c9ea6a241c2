//! Property tests: whatever the encoder accepts parses back with httparse to the same request, and
//! no header value holding CR or LF is ever accepted.

use proptest::prelude::*;
use tlspost_proto::{Body, EncodeError, Encoder, Field, Header, Request, Version};

fn token() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}"
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    // Visible ASCII, space, tab and obs-text: everything a field value may hold.
    proptest::collection::vec(
        prop_oneof![0x21u8..=0x7e, Just(b' '), Just(b'\t'), 0x80u8..=0xff],
        0..40,
    )
}

fn encode(req: &Request<'_>, step: usize) -> Result<Vec<u8>, EncodeError> {
    let mut enc = Encoder::new(req)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        let n = enc.poll_output(&mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn accepted_requests_parse_back(
        method in token(),
        host in "[a-z0-9.-]{1,20}",
        port in proptest::option::of(1u16..),
        path in "/[!-~]{0,30}",
        names in proptest::collection::vec(token(), 0..6),
        values in proptest::collection::vec(value(), 6),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        json in any::<bool>(),
        http10 in any::<bool>(),
        step in 1usize..80,
    ) {
        let headers: Vec<Header<'_>> = names.iter().zip(&values).map(|(n, v)| Header { name: n, value: v }).collect();
        let mut req = Request::new(&method, &host, &path);
        req.port = port;
        req.headers = &headers;
        req.body = if json { Body::Json(&body) } else { Body::Bytes { content_type: "application/octet-stream", data: &body } };
        if http10 { req.version = Version::Http10; }
        let out = match encode(&req, step) {
            Ok(out) => out,
            // Framing headers are the encoder's own; any other refusal is a bug.
            Err(EncodeError::ReservedHeader { index }) => {
                let n = names[index].to_ascii_lowercase();
                prop_assert!(n == "content-length" || n == "transfer-encoding");
                return Ok(());
            }
            Err(EncodeError::Empty { field: Field::HeaderValue { index } }) => {
                prop_assert!(names[index].eq_ignore_ascii_case("user-agent"));
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("refused a valid request: {e}"))),
        };
        let mut hs = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Request::new(&mut hs);
        let httparse::Status::Complete(n) = parsed.parse(&out).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&out))))? else {
            return Err(TestCaseError::fail("incomplete head"));
        };
        prop_assert_eq!(parsed.method, Some(method.as_str()));
        prop_assert_eq!(parsed.path, Some(path.as_str()));
        prop_assert_eq!(parsed.version, Some(if http10 { 0 } else { 1 }));
        prop_assert_eq!(out.len() - n, body.len());
        let cl = parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-length")).map(|h| h.value);
        let expected_cl = body.len().to_string();
        prop_assert_eq!(cl, Some(expected_cl.as_bytes()));
        for h in &headers {
            let replaced_default = ["host", "user-agent", "accept-encoding", "connection", "content-type"]
                .iter().any(|d| h.name.eq_ignore_ascii_case(d));
            let sent: Vec<&[u8]> = parsed.headers.iter().filter(|p| p.name == h.name).map(|p| p.value).collect();
            prop_assert!(sent.contains(&h.value.trim_ascii()), "header {} not sent as given", h.name);
            if replaced_default {
                let all = parsed.headers.iter().filter(|p| p.name.eq_ignore_ascii_case(h.name)).count();
                let given = headers.iter().filter(|g| g.name.eq_ignore_ascii_case(h.name)).count();
                prop_assert_eq!(all, given, "default {} not replaced", h.name);
            }
        }
        let host_sent = parsed.headers.iter().filter(|p| p.name.eq_ignore_ascii_case("host")).count();
        prop_assert!(host_sent >= 1);
        let ua = parsed.headers.iter().find(|p| p.name.eq_ignore_ascii_case("user-agent")).map(|p| p.value);
        prop_assert!(ua.is_some_and(|v| !v.is_empty()));
    }

    #[test]
    fn cr_or_lf_in_a_value_is_always_refused(
        prefix in value(), suffix in value(), bad in prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8)], at in 0usize..3,
    ) {
        let mut v = prefix.clone();
        v.push(bad);
        v.extend_from_slice(&suffix);
        let headers = [Header::new("X-Ok", "1"), Header { name: "X-Test", value: &v }];
        let mut req = Request::post("h", "/", Body::Json(b"{}"));
        req.headers = &headers;
        match at {
            0 => {}
            1 => { req.headers = &[]; req.user_agent = std::str::from_utf8(&v).unwrap_or("a\rb"); }
            _ => { req.headers = &headers[1..]; }
        }
        let err = Encoder::new(&req).unwrap_err();
        prop_assert!(matches!(err, EncodeError::InvalidByte { byte, .. } if byte == bad || byte < 0x20), "{err:?}");
    }
}

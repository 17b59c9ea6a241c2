//! The secret policy, kind by kind, and properties over any bytes: spans in bounds, in order, never
//! overlapping, and masking that keeps every length and never panics.

use proptest::prelude::*;
use tlspost_proto::escape::{Escaped, is_safe};
use tlspost_proto::secrets::{self, Kind, Span};

fn masked(data: &[u8]) -> String {
    let mut out = vec![0u8; data.len()];
    let m = secrets::mask_into(data, &mut out).expect("room");
    assert_eq!(m.len(), data.len());
    String::from_utf8_lossy(m).into_owned()
}

fn masked_with_head(data: &[u8], head_len: usize) -> String {
    let mut out = vec![0u8; data.len()];
    let m = secrets::message_with_head(data, head_len)
        .mask_into(&mut out)
        .expect("room");
    String::from_utf8_lossy(m).into_owned()
}

fn kinds(spans: impl Iterator<Item = Span>) -> Vec<Kind> {
    spans.map(|s| s.kind).collect()
}

#[test]
fn secret_names_by_word_any_case() {
    for n in [
        "Authorization",
        "proxy-authorization",
        "X-Auth-Token",
        "x-api-key",
        "Api-Key",
        "APIKEY",
        "client_secret",
        "refresh_token",
        "Password",
        "passwd",
        "PHPSESSID",
        "session",
        "Cookie",
        "set-cookie",
    ] {
        assert!(secrets::is_secret_name(n.as_bytes()), "{n}");
    }
    for n in [
        "Host",
        "Content-Type",
        "Accept",
        "username",
        "grant_type",
        "scope",
        "Keep-Alive",
    ] {
        assert!(!secrets::is_secret_name(n.as_bytes()), "{n}");
    }
}

#[test]
fn header_lines_keep_the_scheme_word_and_the_length() {
    let req = b"POST /t HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer abc.def\r\n\
        Proxy-Authorization: Basic dTpw\r\nX-Auth-Token: t0k3n\r\nx-api-key:k3y\r\nX-Session-Id:  s1  \r\n\
        Accept: */*\r\n\r\n";
    let m = masked(req);
    assert!(m.contains("\r\nHost: api.example.com\r\n"), "{m}");
    assert!(m.contains("\r\nAuthorization: Bearer *******\r\n"), "{m}");
    assert!(m.contains("\r\nProxy-Authorization: Basic ****\r\n"), "{m}");
    assert!(m.contains("\r\nX-Auth-Token: *****\r\n"), "{m}");
    assert!(m.contains("\r\nx-api-key:***\r\n"), "{m}");
    assert!(m.contains("\r\nX-Session-Id:  **  \r\n"), "{m}");
    assert!(m.contains("\r\nAccept: */*\r\n"), "{m}");
    // A token without a scheme word is all masked.
    assert_eq!(
        masked(b"GET / HTTP/1.1\r\nAuthorization: abcdef\r\n\r\n"),
        "GET / HTTP/1.1\r\nAuthorization: ******\r\n\r\n"
    );
    // A folded continuation of a secret header is masked too; of another header, not.
    assert_eq!(
        masked(b"GET / HTTP/1.1\r\nX-Api-Key: abc\r\n  def\r\nX-A: b\r\n c\r\n\r\n"),
        "GET / HTTP/1.1\r\nX-Api-Key: ***\r\n  ***\r\nX-A: b\r\n c\r\n\r\n"
    );
    // Bare LF line endings.
    assert_eq!(
        masked(b"GET / HTTP/1.1\nCookie: a=b\n\n"),
        "GET / HTTP/1.1\nCookie: a=*\n\n"
    );
}

#[test]
fn response_heads_and_interim_responses() {
    let resp = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nSet-Cookie: sid=abc123; Path=/; HttpOnly\r\n\
        Content-Type: application/json\r\n\r\n{\"access_token\":\"eyJ.x\",\"expires_in\":3600}";
    let m = masked(resp);
    assert!(m.contains("Set-Cookie: sid=******; Path=/; HttpOnly\r\n"), "{m}");
    assert!(m.ends_with(r#"{"access_token":"*****","expires_in":3600}"#), "{m}");
}

#[test]
fn cookies_mask_values_keep_names_and_attributes() {
    let v = b"sid=abc; theme=dark;  lang=en ; bare";
    let mut out = *v;
    for s in secrets::header_value(b"Cookie", v) {
        assert_eq!(s.kind, Kind::Cookie);
        out[s.range()].fill(b'*');
    }
    assert_eq!(&out, b"sid=***; theme=****;  lang=** ; ****");
    let v = b"id=a3fWa; Expires=Thu, 21 Oct 2021 07:28:00 GMT; Secure";
    let mut out = *v;
    for s in secrets::header_value(b"set-cookie", v) {
        out[s.range()].fill(b'*');
    }
    assert_eq!(&out, b"id=*****; Expires=Thu, 21 Oct 2021 07:28:00 GMT; Secure");
    // Empty values stay empty.
    assert_eq!(secrets::header_value(b"Cookie", b"a=; b=").count(), 0);
}

#[test]
fn userinfo_in_targets_host_and_location() {
    assert_eq!(
        masked(b"GET http://user:pa55@api.example.com/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n"),
        "GET http://****:****@api.example.com/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n"
    );
    assert_eq!(
        masked(b"GET / HTTP/1.1\r\nHost: me:pw@h.example\r\n\r\n"),
        "GET / HTTP/1.1\r\nHost: **:**@h.example\r\n\r\n"
    );
    let m = masked(
        b"HTTP/1.1 302 Found\r\nLocation: https://u:p@h.example/cb?code=1&access_token=abc#id_token=xyz\r\n\r\n",
    );
    assert!(
        m.contains("Location: https://*:*@h.example/cb?code=1&access_token=***#id_token=***\r\n"),
        "{m}"
    );
    // A user without a password: the user is masked (it is often a key, e.g. `sk_live_…:`).
    let spans: Vec<Span> = secrets::url(b"https://sk_live_1@h.example/").collect();
    assert_eq!(spans.len(), 1);
    assert_eq!((spans[0].start, spans[0].end, spans[0].kind), (8, 17, Kind::Userinfo));
    // No user information: nothing; an `@` in the path is not one.
    assert_eq!(secrets::url(b"https://h.example/a@b?x=1").count(), 0);
    assert_eq!(secrets::url(b"//u:p@h/").count(), 2);
}

#[test]
fn query_and_form_parameters_with_secret_names() {
    assert_eq!(
        masked(b"GET /cb?code=1&access_token=abc123&client_secret=s;x=y HTTP/1.1\r\nHost: h\r\n\r\n"),
        "GET /cb?code=1&access_token=******&client_secret=*;x=y HTTP/1.1\r\nHost: h\r\n\r\n"
    );
    let form = b"POST /t HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n\
        grant_type=password&username=u&password=hunter2&api_key=k%20y";
    assert!(
        masked(form).ends_with("grant_type=password&username=u&password=*******&api_key=*****"),
        "{}",
        masked(form)
    );
    // A body alone (no head), and a parameter without a value.
    assert_eq!(masked(b"token=&a=1&secret"), "token=&a=1&secret");
    assert_eq!(kinds(secrets::body(b"passwd=x")), [Kind::Param]);
}

#[test]
fn json_values_by_key_nested_and_in_secret_containers() {
    let body = br#"{"client_id":"dev","client_secret":"s3\"cr","n":{"Password":"p","pin":42,"apiKey":1234},"credentials":{"token":null},"auth":{"user":"u","pass":["a",7]},"keys":["k1"],"x":"y"}"#;
    let m = masked(body);
    assert_eq!(
        m,
        r#"{"client_id":"dev","client_secret":"******","n":{"Password":"*","pin":42,"apiKey":****},"credentials":{"token":****},"auth":{"user":"*","pass":["*",*]},"keys":["**"],"x":"y"}"#
    );
    // Whitespace and line breaks between tokens; the key is not masked, only the value.
    let m = masked(b"[ {\n  \"session\" :\t\"abc\" ,\n \"ok\": true } ]");
    assert_eq!(m, "[ {\n  \"session\" :\t\"***\" ,\n \"ok\": true } ]");
}

#[test]
fn chunked_bodies_are_read_through_their_framing() {
    let req = b"POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
        e\r\n{\"password\":\"h\r\n6;ext=1\r\nunter\"\r\n1\r\n}\r\n0\r\n\r\n";
    let m = masked(req);
    assert!(
        m.ends_with("e\r\n{\"password\":\"*\r\n6;ext=1\r\n*****\"\r\n1\r\n}\r\n0\r\n\r\n"),
        "{m}"
    );
}

#[test]
fn heads_given_by_length_and_fragments() {
    // A head that does not look like one is still read as a head when its length is known.
    let raw = b"garbage line\r\nAuthorization: Basic dTpw\r\n\r\npassword=x";
    let head_len = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        masked_with_head(raw, head_len),
        "garbage line\r\nAuthorization: Basic ****\r\n\r\npassword=*"
    );
    // A head that never ended: every line is a header line.
    assert_eq!(
        masked(b"POST / HTTP/1.1\r\nAuthorization: Basic dTpw\r\nX-Pad: aaaa"),
        "POST / HTTP/1.1\r\nAuthorization: Basic ****\r\nX-Pad: aaaa"
    );
    // A fragment that starts at a header line.
    assert_eq!(masked(b"Cookie: a=b\r\n"), "Cookie: a=*\r\n");
    // Empty lines before the request line.
    assert_eq!(
        masked(b"\r\nGET /?key=1 HTTP/1.1\r\n\r\n"),
        "\r\nGET /?key=* HTTP/1.1\r\n\r\n"
    );
}

#[test]
fn mask_into_needs_room() {
    let mut small = [0u8; 3];
    assert_eq!(
        secrets::mask_into(b"abcd", &mut small).unwrap_err(),
        secrets::TooShort { needed: 4 }
    );
    let mut big = [b'?'; 8];
    assert_eq!(secrets::mask_into(b"key=v", &mut big).unwrap(), b"key=*");
    assert_eq!(&big[5..], b"???");
}

/// Bytes that look like HTTP, JSON and forms often, so the scanners' states are all reached.
fn httpish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b"GET /a?token=x&b=1 HTTP/1.1\r\n"[..]),
        Just(&b"HTTP/1.1 101 x\r\n"[..]),
        Just(&b"HTTP/1.1 200 OK\r\n"[..]),
        Just(&b"Authorization: Bearer "[..]),
        Just(&b"Cookie: a=b; c"[..]),
        Just(&b"Set-Cookie: s=1; Path=/"[..]),
        Just(&b"Host: u:p@h"[..]),
        Just(&b"Location: https://u@h/?secret=1#key="[..]),
        Just(&b"Transfer-Encoding: chunked\r\n"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n"[..]),
        Just(&b" "[..]),
        Just(&b"{\"password\":"[..]),
        Just(&b"[\"auth\",{\"key\":[1,{"[..]),
        Just(&b"\"\\\""[..]),
        Just(&b"}]},"[..]),
        Just(&b"5\r\nabcde\r\n0\r\n"[..]),
        Just(&b"ffffffffffffffffffff\r\n"[..]),
        Just(&b"&api_key="[..]),
        Just(&b"@:/?#;="[..]),
    ];
    let chunk = prop_oneof![
        piece.prop_map(<[u8]>::to_vec),
        proptest::collection::vec(any::<u8>(), 0..6),
    ];
    proptest::collection::vec(chunk, 0..24).prop_map(|v| v.concat())
}

fn check_spans(data: &[u8], spans: impl Iterator<Item = Span>) {
    let mut last_end = 0;
    for s in spans {
        assert!(s.start < s.end, "empty span {s:?}");
        assert!(s.end <= data.len(), "{s:?} beyond {}", data.len());
        assert!(s.start >= last_end, "{s:?} overlaps or is out of order");
        last_end = s.end;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_give_ordered_in_bounds_spans(data in httpish(), head_len in 0usize..300) {
        check_spans(&data, secrets::message(&data));
        check_spans(&data, secrets::message_with_head(&data, head_len));
        check_spans(&data, secrets::body(&data));
        check_spans(&data, secrets::url(&data));
        let split = head_len.min(data.len());
        check_spans(&data[split..], secrets::header_value(&data[..split], &data[split..]));
        let mut out = vec![0u8; data.len()];
        let m = secrets::mask_into(&data, &mut out).unwrap();
        // Only whole bytes are replaced by the mask; everything else is as it was.
        prop_assert_eq!(m.len(), data.len());
        for (a, b) in data.iter().zip(m.iter()) {
            prop_assert!(a == b || *b == secrets::MASK);
        }
        // Escaping anything gives text safe for a terminal.
        let shown = format!("{}", Escaped(&data));
        prop_assert!(is_safe(shown.as_bytes()));
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_spans(&data, secrets::message(&data));
        check_spans(&data, secrets::body(&data));
    }
}

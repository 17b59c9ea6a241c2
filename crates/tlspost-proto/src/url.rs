//! `http://` and `https://` URLs, parsed without allocation, and `Location` headers resolved against them.
//!
//! A [`Url`] borrows every part from the text it was parsed from, so it costs no memory beyond
//! the input. Because nothing is copied, a few things are refused rather than rewritten: user
//! information (`user:pass@`), a query without a path (`https://host?x`, write `https://host/?x`),
//! IPv6 zone ids, and non-ASCII text (percent-encode it, or use the `xn--` form of a host name).
//! Dot segments (`/a/../b`) are passed to the server as they are.
//!
//! ```
//! use tlspost_proto::url::{Url, resolve_location};
//! use tlspost_proto::Scheme;
//!
//! let url = Url::parse("https://[::1]:8443/oauth/token?grant=x#frag").unwrap();
//! assert_eq!((url.scheme, url.host, url.port, url.target), (Scheme::Https, "::1", Some(8443), "/oauth/token?grant=x"));
//!
//! let next = resolve_location(&url, b"/v2/token").unwrap();
//! assert_eq!((next.host, next.port_or_default(), next.target), ("::1", 8443, "/v2/token"));
//! ```

use core::fmt;

use crate::request::{Request, Scheme};
use crate::syntax::trim_ows;

/// An absolute `http://` or `https://` URL, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Url<'a> {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// The host name or IP address; IPv6 addresses are stored without their brackets.
    /// Case is kept as written; comparisons ignore ASCII case.
    pub host: &'a str,
    /// The explicit port, if the URL names one (`None` for `https://host/` and `https://host:/`).
    pub port: Option<u16>,
    /// The request target: path and query, never empty (`"/"` when the URL has no path), without
    /// the fragment.
    pub target: &'a str,
}

/// The part of a URL an error is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPart {
    /// The scheme (`https`).
    Scheme,
    /// The host.
    Host,
    /// The port.
    Port,
    /// The path, query or fragment.
    Target,
}

impl fmt::Display for UrlPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlPart::Scheme => "scheme",
            UrlPart::Host => "host",
            UrlPart::Port => "port",
            UrlPart::Target => "path",
        })
    }
}

/// Why a URL or a `Location` value was refused. Positions are byte offsets into the text given.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// The text is empty (or only whitespace).
    Empty,
    /// The text does not start with `http://` or `https://`.
    MissingScheme,
    /// A scheme other than `http` or `https` (e.g. `ftp:`, `mailto:`).
    UnsupportedScheme,
    /// A scheme not followed by `//host`.
    MissingAuthority,
    /// `//` is not followed by a host.
    MissingHost,
    /// The URL carries user information (`user:pass@host`).
    UserinfoRefused,
    /// A byte that is not allowed in this part of a URL.
    InvalidByte {
        /// Which part.
        part: UrlPart,
        /// The byte.
        byte: u8,
        /// Its offset in the text.
        at: usize,
    },
    /// A bracketed IPv6 address that does not parse, or a missing `]`.
    InvalidIpv6,
    /// An IPv6 address with a zone id (`[fe80::1%25eth0]`).
    Ipv6ZoneRefused,
    /// The port is not a decimal number in 1..=65535.
    InvalidPort,
    /// A query with no path (`https://host?x`): the target would need a `/` inserted.
    QueryWithoutPath,
    /// A relative reference such as `x/y`, `../x` or `?q`: only absolute URLs, `//host/path` and
    /// `/path` are supported.
    RelativeNotSupported,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UrlError::Empty => f.write_str("the URL is empty: give a full URL such as https://api.example.com/path"),
            UrlError::MissingScheme => f.write_str(
                "the URL has no scheme: start it with https:// (or http://), e.g. https://api.example.com/path",
            ),
            UrlError::UnsupportedScheme => {
                f.write_str("only http:// and https:// URLs are supported: change the URL's scheme")
            }
            UrlError::MissingAuthority => {
                f.write_str("the scheme must be followed by //host: write e.g. https://api.example.com/path")
            }
            UrlError::MissingHost => f.write_str("the URL has no host after //: add the host name"),
            UrlError::UserinfoRefused => f.write_str(
                "the URL contains user information (user:password@): HTTP does not send it; remove it \
                 and put credentials in an Authorization header",
            ),
            UrlError::InvalidByte { part, byte, at } => {
                if byte.is_ascii_graphic() {
                    write!(
                        f,
                        "the URL's {part} has '{}' at byte {at}, which is not allowed there",
                        byte as char
                    )?;
                } else {
                    write!(
                        f,
                        "the URL's {part} has byte 0x{byte:02x} at byte {at}, which is not allowed there"
                    )?;
                }
                match part {
                    UrlPart::Host => f.write_str(
                        ": a host is letters, digits, '-' and '.' (use the xn-- form of an international name)",
                    ),
                    UrlPart::Port => f.write_str(": a port is decimal digits"),
                    _ => f.write_str(": percent-encode it (a space is %20)"),
                }
            }
            UrlError::InvalidIpv6 => {
                f.write_str("the bracketed IPv6 address does not parse: write it like https://[2001:db8::1]:8443/")
            }
            UrlError::Ipv6ZoneRefused => {
                f.write_str("IPv6 zone ids (%25eth0) are not supported in URLs: use a global address or a host name")
            }
            UrlError::InvalidPort => f.write_str("the port must be a number from 1 to 65535"),
            UrlError::QueryWithoutPath => {
                f.write_str("the URL has a query but no path: insert '/' before '?' (https://host/?q=1)")
            }
            UrlError::RelativeNotSupported => f.write_str(
                "relative redirect target not supported: only absolute URLs, //host/path and /path are \
                 followed; ask the server to send an absolute Location",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UrlError {}

impl<'a> Url<'a> {
    /// Parses an absolute `http://` or `https://` URL.
    ///
    /// The scheme is case-insensitive; the fragment is dropped; an empty path becomes `/`; an
    /// empty port (`host:`) means the default port. Leading and trailing spaces are not trimmed:
    /// they are refused like any other space.
    pub fn parse(text: &'a str) -> Result<Url<'a>, UrlError> {
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        let bytes = text.as_bytes();
        let colon = match scheme_end(bytes) {
            Some(c) => c,
            None => {
                return Err(match check_bytes(bytes, 0, UrlPart::Target) {
                    Err(e) => e,
                    Ok(()) => UrlError::MissingScheme,
                });
            }
        };
        let scheme_text = text.get(..colon).ok_or(UrlError::MissingScheme)?;
        let scheme = if scheme_text.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else if scheme_text.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else {
            return Err(UrlError::UnsupportedScheme);
        };
        let after = colon.checked_add(1).ok_or(UrlError::MissingAuthority)?;
        let rest = text.get(after..).ok_or(UrlError::MissingAuthority)?;
        let authority_and_path = rest.strip_prefix("//").ok_or(UrlError::MissingAuthority)?;
        let offset = after.saturating_add(2);
        parse_authority_and_target(scheme, authority_and_path, offset)
    }

    /// The explicit port, or the scheme's default (80 or 443).
    pub const fn port_or_default(&self) -> u16 {
        match self.port {
            Some(p) => p,
            None => self.scheme.default_port(),
        }
    }

    /// Whether both URLs have the same origin: scheme, host (ASCII case-insensitive) and
    /// effective port.
    pub fn same_origin(&self, other: &Url<'_>) -> bool {
        self.scheme == other.scheme
            && self.host.eq_ignore_ascii_case(other.host)
            && self.port_or_default() == other.port_or_default()
    }

    /// Whether the host is an IP address literal rather than a name. Edges such as Cloudflare
    /// refuse requests addressed to an IP (their error 1003) and a certificate rarely names one.
    pub fn host_is_ip(&self) -> bool {
        self.host.parse::<core::net::IpAddr>().is_ok()
    }

    /// A bodiless request for this URL with `method`; set the body and headers on the result.
    pub const fn request(&self, method: &'a str) -> Request<'a> {
        let mut r = Request::new(method, self.host, self.target);
        r.scheme = self.scheme;
        r.port = self.port;
        r
    }
}

impl fmt::Display for Url<'_> {
    /// Writes the URL back: `scheme://host[:port]target`, IPv6 hosts in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.as_str())?;
        f.write_str("://")?;
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(self.target)
    }
}

/// Resolves a `Location` header value against the URL of the request that received it.
///
/// Supported: absolute URLs (`https://other/x`), scheme-relative references (`//other/x`, which
/// take `base`'s scheme), absolute paths (`/x`, on `base`'s origin) and a bare fragment (`#x`,
/// which means `base` itself). Relative paths (`x/y`, `../y`) and query-only references (`?q`)
/// are refused with [`UrlError::RelativeNotSupported`]: resolving them needs a new string, and
/// this crate does not allocate. Surrounding spaces and tabs are ignored.
///
/// The result borrows from both inputs, so it lives as long as the shorter of the two.
pub fn resolve_location<'r>(base: &Url<'r>, location: &'r [u8]) -> Result<Url<'r>, UrlError> {
    let location = trim_ows(location);
    let text = match core::str::from_utf8(location) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let byte = location.get(at).copied().unwrap_or(0);
            return Err(UrlError::InvalidByte {
                part: UrlPart::Target,
                byte,
                at,
            });
        }
    };
    let bytes = text.as_bytes();
    match bytes.first() {
        None => Err(UrlError::Empty),
        Some(b'/') if bytes.get(1) == Some(&b'/') => {
            let rest = text.get(2..).ok_or(UrlError::MissingHost)?;
            parse_authority_and_target(base.scheme, rest, 2)
        }
        Some(b'/') => Ok(Url {
            scheme: base.scheme,
            host: base.host,
            port: base.port,
            target: parse_target(text, 0)?,
        }),
        Some(b'#') => {
            check_bytes(bytes, 0, UrlPart::Target)?;
            Ok(*base)
        }
        Some(_) if scheme_end(bytes).is_some() => Url::parse(text),
        Some(_) => {
            check_bytes(bytes, 0, UrlPart::Target)?;
            Err(UrlError::RelativeNotSupported)
        }
    }
}

/// The position of the `:` ending a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), if the
/// text starts with one.
fn scheme_end(bytes: &[u8]) -> Option<usize> {
    let first = bytes.first()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        match b {
            b':' => return Some(i),
            b'+' | b'-' | b'.' => {}
            _ if b.is_ascii_alphanumeric() => {}
            _ => return None,
        }
    }
    None
}

/// Parses `host[:port][/path][?query][#fragment]`; `offset` is where `text` starts in the input,
/// for error positions.
fn parse_authority_and_target(scheme: Scheme, text: &str, offset: usize) -> Result<Url<'_>, UrlError> {
    let bytes = text.as_bytes();
    let auth_len = bytes
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(bytes.len());
    let authority = text.get(..auth_len).ok_or(UrlError::MissingHost)?;
    let rest = text.get(auth_len..).unwrap_or("");
    let rest_offset = offset.saturating_add(auth_len);

    if authority.as_bytes().contains(&b'@') {
        return Err(UrlError::UserinfoRefused);
    }
    let (host, port) = parse_authority(authority, offset)?;

    let target = match rest.as_bytes().first() {
        None => "/",
        Some(b'#') => {
            check_bytes(rest.as_bytes(), rest_offset, UrlPart::Target)?;
            "/"
        }
        Some(b'?') => {
            check_bytes(rest.as_bytes(), rest_offset, UrlPart::Target)?;
            return Err(UrlError::QueryWithoutPath);
        }
        Some(_) => parse_target(rest, rest_offset)?,
    };
    Ok(Url {
        scheme,
        host,
        port,
        target,
    })
}

/// Splits and checks `host[:port]` or `[v6][:port]`.
fn parse_authority(authority: &str, offset: usize) -> Result<(&str, Option<u16>), UrlError> {
    let bytes = authority.as_bytes();
    let (host, port_text, port_offset) = if bytes.first() == Some(&b'[') {
        let close = bytes.iter().position(|&b| b == b']').ok_or(UrlError::InvalidIpv6)?;
        let host = authority.get(1..close).ok_or(UrlError::InvalidIpv6)?;
        if host.contains('%') {
            return Err(UrlError::Ipv6ZoneRefused);
        }
        if host.parse::<core::net::Ipv6Addr>().is_err() {
            return Err(UrlError::InvalidIpv6);
        }
        let after = close.saturating_add(1);
        let tail = authority.get(after..).unwrap_or("");
        let port_text = match tail.as_bytes().first() {
            None => None,
            Some(b':') => Some(tail.get(1..).unwrap_or("")),
            Some(&byte) => {
                return Err(UrlError::InvalidByte {
                    part: UrlPart::Host,
                    byte,
                    at: offset.saturating_add(after),
                });
            }
        };
        (host, port_text, offset.saturating_add(after).saturating_add(1))
    } else {
        match bytes.iter().position(|&b| b == b':') {
            Some(c) => (
                authority.get(..c).unwrap_or(""),
                Some(authority.get(c.saturating_add(1)..).unwrap_or("")),
                offset.saturating_add(c).saturating_add(1),
            ),
            None => (authority, None, offset),
        }
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if bytes.first() != Some(&b'[') {
        check_host(host, offset)?;
    }
    let port = match port_text {
        None | Some("") => None,
        Some(p) => Some(parse_port(p, port_offset)?),
    };
    Ok((host, port))
}

/// A registered name or IPv4 address: letters, digits, `-`, `.` and `_`.
fn check_host(host: &str, offset: usize) -> Result<(), UrlError> {
    for (i, &byte) in host.as_bytes().iter().enumerate() {
        if !(byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_')) {
            return Err(UrlError::InvalidByte {
                part: UrlPart::Host,
                byte,
                at: offset.saturating_add(i),
            });
        }
    }
    Ok(())
}

fn parse_port(text: &str, offset: usize) -> Result<u16, UrlError> {
    let mut value: u32 = 0;
    for (i, &byte) in text.as_bytes().iter().enumerate() {
        if !byte.is_ascii_digit() {
            return Err(UrlError::InvalidByte {
                part: UrlPart::Port,
                byte,
                at: offset.saturating_add(i),
            });
        }
        value = value
            .saturating_mul(10)
            .saturating_add(u32::from(byte.saturating_sub(b'0')));
    }
    match u16::try_from(value) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(UrlError::InvalidPort),
    }
}

/// Checks a path (starting with `/`) with optional query and fragment; returns it without the
/// fragment.
fn parse_target(text: &str, offset: usize) -> Result<&str, UrlError> {
    check_bytes(text.as_bytes(), offset, UrlPart::Target)?;
    let end = text.as_bytes().iter().position(|&b| b == b'#').unwrap_or(text.len());
    match text.get(..end) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Ok("/"),
    }
}

/// Refuses control bytes, space, DEL, non-ASCII and the characters RFC 3986 never allows
/// unencoded (`"<>\^`{|}`).
fn check_bytes(bytes: &[u8], offset: usize, part: UrlPart) -> Result<(), UrlError> {
    for (i, &byte) in bytes.iter().enumerate() {
        let bad = byte <= b' '
            || byte >= 0x7f
            || matches!(byte, b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}');
        if bad {
            return Err(UrlError::InvalidByte {
                part,
                byte,
                at: offset.saturating_add(i),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn parses_valid_urls() {
        let cases: &[(&str, Scheme, &str, Option<u16>, &str)] = &[
            (
                "https://api.example.com/oauth/token",
                Scheme::Https,
                "api.example.com",
                None,
                "/oauth/token",
            ),
            ("http://example.com", Scheme::Http, "example.com", None, "/"),
            ("HTTPS://Example.COM/", Scheme::Https, "Example.COM", None, "/"),
            (
                "https://example.com:8443/x?y=1",
                Scheme::Https,
                "example.com",
                Some(8443),
                "/x?y=1",
            ),
            (
                "https://example.com/x?y=1#frag",
                Scheme::Https,
                "example.com",
                None,
                "/x?y=1",
            ),
            ("https://example.com#frag", Scheme::Https, "example.com", None, "/"),
            ("https://example.com/#frag", Scheme::Https, "example.com", None, "/"),
            ("https://example.com:/x", Scheme::Https, "example.com", None, "/x"),
            (
                "https://example.com:65535/",
                Scheme::Https,
                "example.com",
                Some(65535),
                "/",
            ),
            ("https://example.com:1", Scheme::Https, "example.com", Some(1), "/"),
            (
                "https://example.com:00443/",
                Scheme::Https,
                "example.com",
                Some(443),
                "/",
            ),
            (
                "http://192.168.1.20:8080/api",
                Scheme::Http,
                "192.168.1.20",
                Some(8080),
                "/api",
            ),
            ("https://[::1]:8443/x", Scheme::Https, "::1", Some(8443), "/x"),
            ("https://[::1]/", Scheme::Https, "::1", None, "/"),
            ("https://[2001:db8::a:1]", Scheme::Https, "2001:db8::a:1", None, "/"),
            (
                "https://[::ffff:192.0.2.1]:443/p",
                Scheme::Https,
                "::ffff:192.0.2.1",
                Some(443),
                "/p",
            ),
            (
                "https://my_host.local/a/../b",
                Scheme::Https,
                "my_host.local",
                None,
                "/a/../b",
            ),
            (
                "https://h/p%20q?a=%41&b=c",
                Scheme::Https,
                "h",
                None,
                "/p%20q?a=%41&b=c",
            ),
        ];
        for &(text, scheme, host, port, target) in cases {
            let url = Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                url,
                Url {
                    scheme,
                    host,
                    port,
                    target
                },
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_invalid_urls() {
        use UrlError::*;
        let cases: &[(&str, UrlError)] = &[
            ("", Empty),
            ("example.com/x", MissingScheme),
            ("/x", MissingScheme),
            ("ftp://example.com/", UnsupportedScheme),
            ("mailto:a@b", UnsupportedScheme),
            ("https:example.com", MissingAuthority),
            ("https:/example.com", MissingAuthority),
            ("https://", MissingHost),
            ("https:///x", MissingHost),
            ("https://:443/x", MissingHost),
            ("https://user:pw@example.com/", UserinfoRefused),
            ("https://user@example.com/", UserinfoRefused),
            ("https://example.com:0/", InvalidPort),
            ("https://example.com:65536/", InvalidPort),
            ("https://example.com:99999999999999999999/", InvalidPort),
            ("https://[::1/", InvalidIpv6),
            ("https://[::g]/", InvalidIpv6),
            ("https://[1.2.3.4]/", InvalidIpv6),
            ("https://[fe80::1%25eth0]/", Ipv6ZoneRefused),
            ("https://example.com?x=1", QueryWithoutPath),
        ];
        for &(text, expected) in cases {
            assert_eq!(Url::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn refuses_bad_bytes_with_position() {
        let cases: &[(&str, UrlPart, u8, usize)] = &[
            ("https://exa mple.com/", UrlPart::Host, b' ', 11),
            ("https://example.com/a b", UrlPart::Target, b' ', 21),
            ("https://example.com/a\r\nX: y", UrlPart::Target, b'\r', 21),
            ("https://example.com/\0", UrlPart::Target, 0, 20),
            ("https://example.com/\x7f", UrlPart::Target, 0x7f, 20),
            ("https://example.com/a\tb", UrlPart::Target, b'\t', 21),
            ("https://example.com/{x}", UrlPart::Target, b'{', 20),
            ("https://example.com:8a/", UrlPart::Port, b'a', 21),
            ("https://example.com:+1/", UrlPart::Port, b'+', 20),
            ("https://[::1]x/", UrlPart::Host, b'x', 13),
            (" https://example.com/", UrlPart::Target, b' ', 0),
            ("https://example.com/ ", UrlPart::Target, b' ', 20),
            ("https://b\u{fc}cher.de/", UrlPart::Host, 0xc3, 9),
            ("https://example.com/\u{e9}", UrlPart::Target, 0xc3, 20),
            ("https://example.com/#a b", UrlPart::Target, b' ', 22),
            ("https://example.com?a b", UrlPart::Target, b' ', 21),
        ];
        for &(text, part, byte, at) in cases {
            assert_eq!(
                Url::parse(text),
                Err(UrlError::InvalidByte { part, byte, at }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn port_and_origin() {
        let a = Url::parse("https://Example.com/x").unwrap();
        let b = Url::parse("https://example.COM:443/y").unwrap();
        let c = Url::parse("http://example.com/x").unwrap();
        let d = Url::parse("https://example.com:8443/x").unwrap();
        let e = Url::parse("https://other.example.com/x").unwrap();
        assert_eq!(a.port_or_default(), 443);
        assert_eq!(c.port_or_default(), 80);
        assert_eq!(d.port_or_default(), 8443);
        assert!(a.same_origin(&b));
        assert!(b.same_origin(&a));
        assert!(!a.same_origin(&c));
        assert!(!a.same_origin(&d));
        assert!(!a.same_origin(&e));
    }

    #[test]
    fn host_is_ip() {
        assert!(Url::parse("https://192.0.2.1/").unwrap().host_is_ip());
        assert!(Url::parse("https://[::1]/").unwrap().host_is_ip());
        assert!(!Url::parse("https://api.example.com/").unwrap().host_is_ip());
        assert!(!Url::parse("https://1.2.3/").unwrap().host_is_ip());
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "https://api.example.com/oauth/token",
            "http://example.com:8080/x?y=1",
            "https://[::1]:8443/x",
            "https://[2001:db8::1]/",
        ] {
            let url = Url::parse(text).unwrap();
            assert_eq!(url.to_string(), text);
            assert_eq!(Url::parse(&url.to_string()).unwrap(), url);
        }
        assert_eq!(Url::parse("https://h#f").unwrap().to_string(), "https://h/");
    }

    #[test]
    fn request_from_url() {
        let url = Url::parse("http://[::1]:8080/a?b").unwrap();
        let r = url.request("GET");
        assert_eq!(
            (r.method, r.scheme, r.host, r.port, r.target),
            ("GET", Scheme::Http, "::1", Some(8080), "/a?b")
        );
        assert_eq!(r.port(), 8080);
    }

    #[test]
    fn resolves_locations() {
        let base = Url::parse("https://api.example.com:8443/v1/token?x=1").unwrap();
        type Case = (&'static [u8], Scheme, &'static str, Option<u16>, &'static str);
        let cases: &[Case] = &[
            (b"/v2/token", Scheme::Https, "api.example.com", Some(8443), "/v2/token"),
            (
                b"/v2/token?y=2#f",
                Scheme::Https,
                "api.example.com",
                Some(8443),
                "/v2/token?y=2",
            ),
            (b"/", Scheme::Https, "api.example.com", Some(8443), "/"),
            (b"  /padded\t", Scheme::Https, "api.example.com", Some(8443), "/padded"),
            (b"//cdn.example.net/x", Scheme::Https, "cdn.example.net", None, "/x"),
            (
                b"//cdn.example.net:9000",
                Scheme::Https,
                "cdn.example.net",
                Some(9000),
                "/",
            ),
            (b"//[::1]:1/x", Scheme::Https, "::1", Some(1), "/x"),
            (b"http://other.example/y", Scheme::Http, "other.example", None, "/y"),
            (
                b"HTTPS://other.example:444/z",
                Scheme::Https,
                "other.example",
                Some(444),
                "/z",
            ),
            (
                b"#section",
                Scheme::Https,
                "api.example.com",
                Some(8443),
                "/v1/token?x=1",
            ),
        ];
        for &(loc, scheme, host, port, target) in cases {
            let url = resolve_location(&base, loc).unwrap_or_else(|e| panic!("{:?}: {e}", std::str::from_utf8(loc)));
            assert_eq!(
                url,
                Url {
                    scheme,
                    host,
                    port,
                    target
                },
                "{:?}",
                std::str::from_utf8(loc)
            );
        }
    }

    #[test]
    fn refuses_unsupported_locations() {
        let base = Url::parse("http://example.com/a/b").unwrap();
        let cases: &[(&[u8], UrlError)] = &[
            (b"", UrlError::Empty),
            (b"   ", UrlError::Empty),
            (b"c/d", UrlError::RelativeNotSupported),
            (b"../d", UrlError::RelativeNotSupported),
            (b"./d", UrlError::RelativeNotSupported),
            (b"?q=1", UrlError::RelativeNotSupported),
            (b"ftp://example.com/", UrlError::UnsupportedScheme),
            (b"javascript:alert(1)", UrlError::UnsupportedScheme),
            (b"//", UrlError::MissingHost),
            (b"//user@evil/", UrlError::UserinfoRefused),
            (
                b"/a\r\nSet-Cookie: x",
                UrlError::InvalidByte {
                    part: UrlPart::Target,
                    byte: b'\r',
                    at: 2,
                },
            ),
            (
                b"/caf\xc3",
                UrlError::InvalidByte {
                    part: UrlPart::Target,
                    byte: 0xc3,
                    at: 4,
                },
            ),
            (
                b"/\xff",
                UrlError::InvalidByte {
                    part: UrlPart::Target,
                    byte: 0xff,
                    at: 1,
                },
            ),
            (
                b"a b",
                UrlError::InvalidByte {
                    part: UrlPart::Target,
                    byte: b' ',
                    at: 1,
                },
            ),
        ];
        for &(loc, expected) in cases {
            assert_eq!(resolve_location(&base, loc), Err(expected), "{loc:?}");
        }
    }

    #[test]
    fn resolved_url_outlives_neither_input_but_works_with_short_location() {
        let base = Url::parse("https://example.com/").unwrap();
        let owned = std::vec::Vec::from(&b"/moved"[..]);
        let next = resolve_location(&base, &owned).unwrap();
        assert_eq!(next.target, "/moved");
        assert_eq!(next.host, "example.com");
    }

    #[test]
    fn displays_are_actionable() {
        let e = Url::parse("https://example.com/a b").unwrap_err().to_string();
        assert!(e.contains("' '") || e.contains("0x20"), "{e}");
        assert!(e.contains("percent-encode"), "{e}");
        assert!(UrlError::UserinfoRefused.to_string().contains("Authorization"));
        assert!(
            UrlError::RelativeNotSupported
                .to_string()
                .contains("relative redirect target not supported")
        );
        assert!(UrlError::InvalidPort.to_string().contains("65535"));
    }

    #[test]
    fn never_panics_on_any_prefix_or_byte() {
        let samples: &[&[u8]] = &[
            b"https://[::1]:8443/x?y#z",
            b"http://user@h:99999/",
            b"//h:/",
            b"https://[fe80::1%25e]:1/",
        ];
        let base = Url::parse("https://h/").unwrap();
        for s in samples {
            for end in 0..=s.len() {
                let p = &s[..end];
                let _ = resolve_location(&base, p);
                if let Ok(t) = std::str::from_utf8(p) {
                    let _ = Url::parse(t);
                }
            }
        }
        for b in 0..=255u8 {
            let text = [b'h', b't', b't', b'p', b':', b'/', b'/', b'h', b'/', b];
            let _ = resolve_location(&base, &text);
        }
    }
}

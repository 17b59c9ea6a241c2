//! Whether to follow a redirect, and how: a pure decision over the status and `Location`.
//!
//! Off by default, like Arduino's HTTPClient: a 3xx is handed back to the caller. When enabled,
//! 307 and 308 re-send the same method and body. 301, 302 and 303 would turn a POST into a GET
//! and drop its body — the silent behaviour that makes an API answer "parameters missing" — so
//! that is an error unless the caller allows it. Never from `https` to `http`; another host or
//! port only when allowed; a hop limit stops loops.
//!
//! ```
//! use tlspost_proto::redirect::{decide, RedirectDecision, RedirectError, RedirectMethod, RedirectPolicy};
//! use tlspost_proto::url::Url;
//!
//! let here = Url::parse("https://api.example.com/v1/token").unwrap();
//! let follow = RedirectPolicy { follow: true, ..RedirectPolicy::default() };
//!
//! // 308 keeps the POST and its body.
//! match decide(&follow, "POST", &here, 308, Some(b"/v2/token"), 0) {
//!     Ok(RedirectDecision::Follow(r)) => {
//!         assert_eq!((r.method, r.keep_body, r.target.target), (RedirectMethod::Same, true, "/v2/token"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! // 302 on a POST would become a GET without the body: refused unless allowed.
//! assert!(matches!(
//!     decide(&follow, "POST", &here, 302, Some(b"/v2/token"), 0),
//!     Err(RedirectError::MethodWouldChange { status: 302, from: "POST" })
//! ));
//! ```

use core::fmt;

use crate::url::{Url, UrlError, resolve_location};

/// Which redirects to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// Follow redirects at all (default `false`: a 3xx is returned to the caller).
    pub follow: bool,
    /// Allow a 301/302/303 to turn the request into a bodiless GET (default `false`).
    pub allow_post_to_get: bool,
    /// Allow a redirect to another host, or another port of the same host (default `false`).
    /// An `http` to `https` upgrade of the same host on default ports is always allowed.
    pub allow_other_host: bool,
    /// The most redirects followed for one request (default 5).
    pub max_hops: u8,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy {
            follow: false,
            allow_post_to_get: false,
            allow_other_host: false,
            max_hops: 5,
        }
    }
}

/// The method of the redirected request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectMethod {
    /// The same method as the current request.
    Same,
    /// `GET`.
    Get,
}

/// A redirect to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirect<'a> {
    /// The 3xx status that asked for it.
    pub status: u16,
    /// The method to use.
    pub method: RedirectMethod,
    /// Whether to send the current body again (`false`: send no body and no `Content-Type`).
    pub keep_body: bool,
    /// Where to send it.
    pub target: Url<'a>,
}

impl<'a> Redirect<'a> {
    /// The method to write on the next request line, given the current one.
    pub fn method_str(&self, current: &'a str) -> &'a str {
        match self.method {
            RedirectMethod::Same => current,
            RedirectMethod::Get => "GET",
        }
    }
}

/// The outcome of [`decide`] when nothing is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectDecision<'a> {
    /// The status is not a redirect (only 301, 302, 303, 307 and 308 are): use the response.
    NotRedirect,
    /// A redirect, but the policy does not follow redirects: hand the 3xx response to the caller
    /// as it is (its `Location` says where the resource moved).
    NotFollowing {
        /// The status.
        status: u16,
    },
    /// Follow this redirect.
    Follow(Redirect<'a>),
}

/// A redirect that must not be followed under the policy, or cannot be.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectError<'a> {
    /// A 301/302/303 would change the method to GET and drop the body.
    MethodWouldChange {
        /// The status.
        status: u16,
        /// The current method.
        from: &'a str,
    },
    /// The redirect goes from `https` to `http`.
    Downgrade {
        /// The status.
        status: u16,
    },
    /// The redirect goes to another host or port.
    OtherHost {
        /// The new host.
        host: &'a str,
        /// The new effective port.
        port: u16,
    },
    /// `max_hops` redirects were already followed.
    TooManyHops {
        /// The policy's limit.
        max: u8,
    },
    /// A redirect status without a `Location` header.
    MissingLocation {
        /// The status.
        status: u16,
    },
    /// The `Location` value could not be used.
    BadLocation(UrlError),
}

impl fmt::Display for RedirectError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RedirectError::MethodWouldChange { status, from } => write!(
                f,
                "redirect {status} would change the method from {from} to GET and drop the body; have the \
                 server use 307 or 308 (which keep both), or send the request to the new URL directly; a GET \
                 without the body is made only if the policy allows that change of method"
            ),
            RedirectError::Downgrade { status } => write!(
                f,
                "redirect {status} goes from https to http and would send the request unencrypted; it is never \
                 followed: fix the server's Location or use its https URL"
            ),
            RedirectError::OtherHost { host, port } => {
                f.write_str("redirect to another host or port (")?;
                if host.contains(':') {
                    write!(f, "[{host}]:{port}")?;
                } else {
                    write!(f, "{host}:{port}")?;
                }
                f.write_str(
                    ") not followed: the policy keeps requests (and their credentials) on the same host and \
                     port; use that URL directly if the request may go there",
                )
            }
            RedirectError::TooManyHops { max } => write!(
                f,
                "more than {max} redirect(s), the policy's limit: probably a loop; check the Location \
                 headers"
            ),
            RedirectError::MissingLocation { status } => write!(
                f,
                "status {status} is a redirect without a Location header: nowhere to go; the server must send one"
            ),
            RedirectError::BadLocation(e) => write!(f, "the redirect's Location cannot be followed: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RedirectError<'_> {}

/// Finds the first `Location` header in a parsed response.
pub fn location<'h>(headers: &[httparse::Header<'h>]) -> Option<&'h [u8]> {
    crate::syntax::header(headers, "location")
}

/// Decides what to do with a response of status `status` to a `method` request for `current`,
/// after `hops` redirects were already followed for it.
///
/// Checks, in order: is it a redirect (301, 302, 303, 307, 308; 300 and 304 are not followed);
/// does the policy follow; is the hop limit reached; is there a usable `Location` (resolved by
/// [`resolve_location`]: absolute, `//host/path` or `/path`); no https→http; same host and port
/// unless allowed (an http→https upgrade of the same host on default ports counts as same); and
/// the method: 307/308 keep method and body; 303 makes any method except HEAD a bodiless GET;
/// 301/302 make a POST a bodiless GET and keep other methods with their body. Any change of
/// method needs `allow_post_to_get`. Methods are compared ignoring ASCII case here, so a
/// lowercase `post` is protected too.
pub fn decide<'a>(
    policy: &RedirectPolicy,
    method: &'a str,
    current: &Url<'a>,
    status: u16,
    location: Option<&'a [u8]>,
    hops: u8,
) -> Result<RedirectDecision<'a>, RedirectError<'a>> {
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return Ok(RedirectDecision::NotRedirect);
    }
    if !policy.follow {
        return Ok(RedirectDecision::NotFollowing { status });
    }
    if hops >= policy.max_hops {
        return Err(RedirectError::TooManyHops { max: policy.max_hops });
    }
    let location = location.ok_or(RedirectError::MissingLocation { status })?;
    let target = resolve_location(current, location).map_err(RedirectError::BadLocation)?;

    if current.scheme == crate::Scheme::Https && target.scheme == crate::Scheme::Http {
        return Err(RedirectError::Downgrade { status });
    }
    let same_host = current.host.eq_ignore_ascii_case(target.host);
    let upgrade = current.scheme == crate::Scheme::Http
        && target.scheme == crate::Scheme::Https
        && current.port_or_default() == 80
        && target.port_or_default() == 443;
    let same_place = same_host && (current.port_or_default() == target.port_or_default() || upgrade);
    if !same_place && !policy.allow_other_host {
        return Err(RedirectError::OtherHost {
            host: target.host,
            port: target.port_or_default(),
        });
    }

    let is_head = method.eq_ignore_ascii_case("HEAD");
    let is_get = method.eq_ignore_ascii_case("GET");
    let (method_change, keep_body) = match status {
        307 | 308 => (false, true),
        303 if is_head || is_get => (false, false),
        303 => (true, false),
        _ if method.eq_ignore_ascii_case("POST") => (true, false),
        _ => (false, true),
    };
    if method_change && !policy.allow_post_to_get {
        return Err(RedirectError::MethodWouldChange { status, from: method });
    }
    Ok(RedirectDecision::Follow(Redirect {
        status,
        method: if method_change {
            RedirectMethod::Get
        } else {
            RedirectMethod::Same
        },
        keep_body,
        target,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;
    use std::string::ToString;

    const ON: RedirectPolicy = RedirectPolicy {
        follow: true,
        allow_post_to_get: false,
        allow_other_host: false,
        max_hops: 5,
    };
    const ALLOW_GET: RedirectPolicy = RedirectPolicy {
        allow_post_to_get: true,
        ..ON
    };

    fn here() -> Url<'static> {
        Url::parse("https://api.example.com/v1/token").unwrap()
    }

    #[test]
    fn default_policy_does_not_follow() {
        let p = RedirectPolicy::default();
        assert_eq!(
            p,
            RedirectPolicy {
                follow: false,
                allow_post_to_get: false,
                allow_other_host: false,
                max_hops: 5
            }
        );
        for status in [301, 302, 303, 307, 308] {
            assert_eq!(
                decide(&p, "POST", &here(), status, Some(b"/x"), 0),
                Ok(RedirectDecision::NotFollowing { status })
            );
        }
        // Even without Location, a policy that does not follow just hands the response back.
        assert_eq!(
            decide(&p, "GET", &here(), 302, None, 0),
            Ok(RedirectDecision::NotFollowing { status: 302 })
        );
    }

    #[test]
    fn non_redirect_statuses() {
        for status in [100, 200, 204, 300, 304, 305, 306, 309, 399, 400, 404, 500] {
            assert_eq!(
                decide(&ON, "GET", &here(), status, Some(b"/x"), 0),
                Ok(RedirectDecision::NotRedirect),
                "{status}"
            );
        }
    }

    #[test]
    fn method_and_body_table() {
        use RedirectMethod::*;
        // (status, method, policy, expected (method, keep_body) or MethodWouldChange)
        type Expected = Option<(RedirectMethod, bool)>;
        let cases: &[(u16, &str, RedirectPolicy, Expected)] = &[
            (307, "POST", ON, Some((Same, true))),
            (308, "POST", ON, Some((Same, true))),
            (307, "PUT", ON, Some((Same, true))),
            (308, "GET", ON, Some((Same, true))),
            (301, "POST", ON, None),
            (302, "POST", ON, None),
            (303, "POST", ON, None),
            (302, "post", ON, None),
            (301, "POST", ALLOW_GET, Some((Get, false))),
            (302, "POST", ALLOW_GET, Some((Get, false))),
            (303, "POST", ALLOW_GET, Some((Get, false))),
            (301, "GET", ON, Some((Same, true))),
            (302, "PUT", ON, Some((Same, true))),
            (302, "DELETE", ON, Some((Same, true))),
            (301, "HEAD", ON, Some((Same, true))),
            (303, "GET", ON, Some((Same, false))),
            (303, "HEAD", ON, Some((Same, false))),
            (303, "PUT", ON, None),
            (303, "DELETE", ALLOW_GET, Some((Get, false))),
            (303, "PATCH", ALLOW_GET, Some((Get, false))),
        ];
        for &(status, method, policy, expected) in cases {
            let got = decide(&policy, method, &here(), status, Some(b"/v2/token"), 0);
            match expected {
                Some((m, keep_body)) => {
                    let want = Redirect {
                        status,
                        method: m,
                        keep_body,
                        target: Url {
                            scheme: Scheme::Https,
                            host: "api.example.com",
                            port: None,
                            target: "/v2/token",
                        },
                    };
                    assert_eq!(got, Ok(RedirectDecision::Follow(want)), "{status} {method}");
                }
                None => assert_eq!(
                    got,
                    Err(RedirectError::MethodWouldChange { status, from: method }),
                    "{status} {method}"
                ),
            }
        }
    }

    #[test]
    fn method_str() {
        let r = |method| Redirect {
            status: 303,
            method,
            keep_body: false,
            target: here(),
        };
        assert_eq!(r(RedirectMethod::Get).method_str("POST"), "GET");
        assert_eq!(r(RedirectMethod::Same).method_str("PUT"), "PUT");
    }

    #[test]
    fn never_downgrades() {
        let both = RedirectPolicy {
            allow_other_host: true,
            allow_post_to_get: true,
            ..ON
        };
        for loc in [
            &b"http://api.example.com/v1/token"[..],
            b"http://other.example/",
            b"HTTP://api.example.com:443/",
        ] {
            for status in [301, 302, 303, 307, 308] {
                assert_eq!(
                    decide(&both, "GET", &here(), status, Some(loc), 0),
                    Err(RedirectError::Downgrade { status }),
                    "{loc:?}"
                );
            }
        }
    }

    #[test]
    fn host_rules() {
        let plain = Url::parse("http://api.example.com/x").unwrap();
        let follow =
            |p: &RedirectPolicy, base: &Url<'static>, loc: &'static [u8]| decide(p, "GET", base, 308, Some(loc), 0);
        // Same host, different case: fine.
        assert!(matches!(
            follow(&ON, &here(), b"https://API.example.COM/y"),
            Ok(RedirectDecision::Follow(_))
        ));
        // Scheme-relative to the same host keeps https.
        assert!(
            matches!(follow(&ON, &here(), b"//api.example.com/y"), Ok(RedirectDecision::Follow(r)) if r.target.scheme == Scheme::Https)
        );
        // http -> https upgrade of the same host: fine.
        assert!(matches!(
            follow(&ON, &plain, b"https://api.example.com/x"),
            Ok(RedirectDecision::Follow(_))
        ));
        // Upgrade onto a non-default port counts as another port.
        assert_eq!(
            follow(&ON, &plain, b"https://api.example.com:8443/x"),
            Err(RedirectError::OtherHost {
                host: "api.example.com",
                port: 8443
            })
        );
        assert_eq!(
            follow(&ON, &here(), b"https://evil.example/y"),
            Err(RedirectError::OtherHost {
                host: "evil.example",
                port: 443
            })
        );
        assert_eq!(
            follow(&ON, &here(), b"//cdn.example.net/y"),
            Err(RedirectError::OtherHost {
                host: "cdn.example.net",
                port: 443
            })
        );
        assert_eq!(
            follow(&ON, &here(), b"https://api.example.com:444/y"),
            Err(RedirectError::OtherHost {
                host: "api.example.com",
                port: 444
            })
        );
        let anywhere = RedirectPolicy {
            allow_other_host: true,
            ..ON
        };
        match follow(&anywhere, &here(), b"https://evil.example:8443/y?q#f") {
            Ok(RedirectDecision::Follow(r)) => {
                assert_eq!(
                    r.target,
                    Url {
                        scheme: Scheme::Https,
                        host: "evil.example",
                        port: Some(8443),
                        target: "/y?q"
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hop_limit() {
        for hops in 0..5 {
            assert!(matches!(
                decide(&ON, "GET", &here(), 301, Some(b"/x"), hops),
                Ok(RedirectDecision::Follow(_))
            ));
        }
        for hops in [5, 6, u8::MAX] {
            assert_eq!(
                decide(&ON, "GET", &here(), 301, Some(b"/x"), hops),
                Err(RedirectError::TooManyHops { max: 5 })
            );
        }
        let zero = RedirectPolicy { max_hops: 0, ..ON };
        assert_eq!(
            decide(&zero, "GET", &here(), 307, Some(b"/x"), 0),
            Err(RedirectError::TooManyHops { max: 0 })
        );
    }

    #[test]
    fn location_problems() {
        assert_eq!(
            decide(&ON, "GET", &here(), 302, None, 0),
            Err(RedirectError::MissingLocation { status: 302 })
        );
        let cases: &[(&[u8], UrlError)] = &[
            (b"", UrlError::Empty),
            (b"relative/path", UrlError::RelativeNotSupported),
            (b"ftp://x/", UrlError::UnsupportedScheme),
            (b"https://user:pw@api.example.com/", UrlError::UserinfoRefused),
        ];
        for &(loc, err) in cases {
            assert_eq!(
                decide(&ON, "GET", &here(), 302, Some(loc), 0),
                Err(RedirectError::BadLocation(err)),
                "{loc:?}"
            );
        }
    }

    #[test]
    fn location_header_lookup() {
        let headers = [
            httparse::Header {
                name: "Content-Length",
                value: b"0",
            },
            httparse::Header {
                name: "location",
                value: b"/first",
            },
            httparse::Header {
                name: "Location",
                value: b"/second",
            },
        ];
        assert_eq!(location(&headers), Some(&b"/first"[..]));
        assert_eq!(location(&headers[..1]), None);
        match decide(&ON, "GET", &here(), 307, location(&headers), 0) {
            Ok(RedirectDecision::Follow(r)) => assert_eq!(r.target.target, "/first"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn displays_say_what_to_do() {
        let cases: &[(RedirectError<'_>, &[&str])] = &[
            (
                RedirectError::MethodWouldChange {
                    status: 302,
                    from: "POST",
                },
                &["302", "POST", "GET", "307", "policy"],
            ),
            (RedirectError::Downgrade { status: 301 }, &["https", "http", "never"]),
            (
                RedirectError::OtherHost {
                    host: "evil.example",
                    port: 443,
                },
                &["evil.example:443", "same host", "that URL directly"],
            ),
            (
                RedirectError::OtherHost {
                    host: "::1",
                    port: 8443,
                },
                &["[::1]:8443"],
            ),
            (RedirectError::TooManyHops { max: 5 }, &["5", "loop"]),
            (RedirectError::MissingLocation { status: 303 }, &["303", "Location"]),
            (
                RedirectError::BadLocation(UrlError::RelativeNotSupported),
                &["Location", "relative redirect target not supported"],
            ),
        ];
        for (err, needles) in cases {
            let text = err.to_string();
            assert!(!text.contains("Policy") && !text.contains("max_hops"), "{text}");
            for n in *needles {
                assert!(text.contains(n), "{text:?} lacks {n:?}");
            }
        }
    }
}

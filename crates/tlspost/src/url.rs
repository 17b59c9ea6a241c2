//! An owned `http://` or `https://` URL: parsed once, where it is given, and carried parsed (by a
//! [`crate::RequestSpec`], across retries and redirects) instead of as text to parse again.
//!
//! It holds what the core's no-alloc parser ([`tlspost_proto::url::Url`]) found, so the rules are
//! that parser's: no user information, no IPv6 zone id, ASCII only, the fragment dropped.
//!
//! ```
//! use tlspost::url::HttpUrl;
//!
//! let url: HttpUrl = "https://API.example.com:8443/v1/token?x=1#top".parse().unwrap();
//! assert_eq!((url.host(), url.port_or_default(), url.target()), ("API.example.com", 8443, "/v1/token?x=1"));
//! assert_eq!(url.to_string(), "https://API.example.com:8443/v1/token?x=1");
//! assert!("ftp://example.com/".parse::<HttpUrl>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use tlspost_proto::Scheme;
use tlspost_proto::url::{Url, UrlError};

/// An absolute `http://` or `https://` URL, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpUrl {
    scheme: Scheme,
    host: String,
    port: Option<u16>,
    target: String,
}

impl HttpUrl {
    /// Parses an absolute URL with the core's parser.
    pub fn parse(text: &str) -> Result<HttpUrl, UrlError> {
        Url::parse(text).map(|u| HttpUrl::from(&u))
    }

    /// The URL borrowed, for the core's functions (a request, a redirect decision).
    pub fn as_url(&self) -> Url<'_> {
        Url {
            scheme: self.scheme,
            host: &self.host,
            port: self.port,
            target: &self.target,
        }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host name or IP address (an IPv6 address without brackets), case as written.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The explicit port, if the URL names one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The explicit port, or the scheme's default (80 or 443).
    pub fn port_or_default(&self) -> u16 {
        self.as_url().port_or_default()
    }

    /// The request target: path and query, never empty.
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl From<&Url<'_>> for HttpUrl {
    fn from(u: &Url<'_>) -> HttpUrl {
        HttpUrl {
            scheme: u.scheme,
            host: u.host.to_string(),
            port: u.port,
            target: u.target.to_string(),
        }
    }
}

impl FromStr for HttpUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<HttpUrl, UrlError> {
        HttpUrl::parse(s)
    }
}

impl fmt::Display for HttpUrl {
    /// `scheme://host[:port]target`, an IPv6 host in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_url().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_core_parser() {
        for text in ["http://[::1]:8080/a?b", "https://h/", "https://h:443/x"] {
            let u = HttpUrl::parse(text).unwrap();
            assert_eq!(u.to_string(), text);
            assert_eq!(u.as_url(), Url::parse(text).unwrap());
        }
        let u = HttpUrl::parse("HTTPS://h").unwrap();
        assert_eq!(
            (u.scheme(), u.port(), u.port_or_default(), u.target()),
            (Scheme::Https, None, 443, "/")
        );
        assert_eq!(HttpUrl::parse("https://u:p@h/"), Err(UrlError::UserinfoRefused));
    }
}

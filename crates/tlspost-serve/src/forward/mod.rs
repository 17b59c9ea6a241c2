//! Forward mode: a request, once recorded, goes on to the configured upstream as the device sent it,
//! and the upstream's response comes back as it was sent, recorded beside the request.
//!
//! Only what must change is changed, and the capture lists each change ([`crate::record::Rewrite`]):
//! `Host` names the upstream, the hop-by-hop fields of RFC 9110 §7.6.1 (`Connection`, the fields it
//! names, `Keep-Alive`, `Proxy-Connection`, `TE`, `Upgrade`) stay on their own hop, and the
//! upstream's path, when its URL has one, goes in front of the request target. A request whose
//! framing is ambiguous (RFC 9112 §6.3) never leaves ([`ambiguous`]).
//!
//! The upstream is reached with `tlspost`'s probe layer (resolve with overrides, connect, rustls
//! handshake with the chosen trust), so its TLS facts and failures are the client's own; the
//! exchange itself runs on the connection's worker ([`io`], [`relay`]).

mod head;
mod io;
mod relay;

use std::time::Duration;

use tlspost::probe::{Override, Trust};
use tlspost::url::HttpUrl;

use crate::framing::Head;

pub(crate) use head::upstream_head;
pub(crate) use io::Forwarder;
pub(crate) use relay::{Request, exchange};

/// Where requests go on to, and how the upstream is reached and trusted.
#[derive(Clone, Debug)]
pub struct Forward {
    /// The upstream: `https://host[:port][/base]` (a base path goes in front of each request's
    /// target) or `http://…`.
    pub url: HttpUrl,
    /// Which roots the upstream's certificate must chain to (Mozilla's by default).
    pub trust: Trust,
    /// Addresses to use instead of DNS for `host:port` (as curl's `--resolve`).
    pub resolve: Vec<Override>,
    /// Longest wait for the TCP connection (each address).
    pub connect_timeout: Duration,
    /// Longest wait for the TLS handshake, and for each read of the response.
    pub timeout: Duration,
    /// Bytes of a response's body kept in the capture (the whole body is still sent on).
    pub keep_body: usize,
}

impl Forward {
    /// Forward to `url` with Mozilla's roots, DNS, 10 s to connect, 30 s per read, 64 KiB of each
    /// response body kept.
    pub fn new(url: HttpUrl) -> Forward {
        Forward {
            url,
            trust: Trust::Mozilla,
            resolve: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            keep_body: 64 * 1024,
        }
    }

    /// `scheme://host:port`, as the capture names the upstream.
    pub fn origin(&self) -> String {
        let host = self.url.host();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let scheme = if is_https(&self.url) { "https" } else { "http" };
        format!("{scheme}://{host}:{}", self.url.port_or_default())
    }

    /// The `Host` value for the upstream: `host`, with `:port` when it is not the scheme's default.
    pub(crate) fn authority(&self) -> String {
        let host = self.url.host();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        match self.url.port() {
            Some(p) if p != default_port(&self.url) => format!("{host}:{p}"),
            _ => host,
        }
    }
}

fn default_port(url: &HttpUrl) -> u16 {
    url.scheme().default_port()
}

/// Whether the upstream speaks TLS.
pub(crate) fn is_https(url: &HttpUrl) -> bool {
    url.scheme() == tlspost::proto::Scheme::Https
}

/// Why a request's framing is ambiguous (RFC 9112 §6.3): servers on the path could disagree on
/// where it ends (request smuggling), so it is recorded and answered 400, never forwarded.
pub(crate) fn ambiguous(head: &Head) -> Option<String> {
    let has = |name: &str| head.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if has("transfer-encoding") && has("content-length") {
        return Some(
            "the request has both Transfer-Encoding and Content-Length, so servers on the path may \
             frame it differently (RFC 9112 §6.3, request smuggling); it was recorded and not \
             forwarded: send one of the two"
                .into(),
        );
    }
    if head.minor == 0 && has("transfer-encoding") {
        return Some(
            "an HTTP/1.0 request with Transfer-Encoding has no framing HTTP/1.0 servers agree on \
             (RFC 9112 §6.3); it was recorded and not forwarded: send Content-Length, or HTTP/1.1"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(minor: u8, headers: &[(&str, &str)]) -> Head {
        Head {
            method: "POST".into(),
            target: "/".into(),
            minor,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            len: 0,
        }
    }

    #[test]
    fn ambiguous_framing_is_named() {
        let both = head(1, &[("Content-Length", "3"), ("transfer-encoding", "chunked")]);
        assert!(
            ambiguous(&both)
                .unwrap()
                .contains("both Transfer-Encoding and Content-Length")
        );
        let old = head(0, &[("Transfer-Encoding", "chunked")]);
        assert!(ambiguous(&old).unwrap().contains("HTTP/1.0"));
        assert_eq!(ambiguous(&head(1, &[("Transfer-Encoding", "chunked")])), None);
        assert_eq!(ambiguous(&head(1, &[("Content-Length", "3")])), None);
    }

    #[test]
    fn the_upstream_is_named_by_origin_and_authority() {
        let f = |u: &str| Forward::new(HttpUrl::parse(u).unwrap());
        assert_eq!(f("https://api.example.com").origin(), "https://api.example.com:443");
        assert_eq!(f("https://api.example.com").authority(), "api.example.com");
        assert_eq!(f("https://api.example.com:443/").authority(), "api.example.com");
        assert_eq!(f("https://api.example.com:8443/v1").authority(), "api.example.com:8443");
        assert_eq!(f("http://127.0.0.1:8080").authority(), "127.0.0.1:8080");
        assert_eq!(f("http://[::1]:80").origin(), "http://[::1]:80");
        assert_eq!(f("http://[::1]:80").authority(), "[::1]");
    }
}

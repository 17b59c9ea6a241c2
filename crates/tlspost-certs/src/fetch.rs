//! Fetching the chain a server sends, through [`tlspost::probe`].
//!
//! The connection made here carries no application data: the probe completes the TLS handshake,
//! records the certificates the server sent, sends `close_notify` and closes. Its setup
//! ([`TlsSetup::recording`]) trusts nothing itself: it only records the chain (and checks the
//! handshake signature, which proves the server holds the leaf's key); whether that chain is
//! trustworthy is decided afterwards, separately, by [`crate::analyze`] with explicit trust anchors.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tlspost::probe::{self, Limits, Override, TlsFacts, TlsFailure, TlsSetup};
use tlspost::url::HttpUrl;
use tlspost_proto::url::{UrlError, UrlPart};

use crate::CertsError;

/// Where to connect and which name to ask for.
#[derive(Clone, Debug)]
pub struct Target {
    /// Host name (or IP address) as given.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// An address to use instead of resolving `host` (an override, like curl's `--resolve`).
    pub addr: Option<IpAddr>,
    /// The name to send as SNI and check the leaf against, when it differs from `host`.
    pub servername: Option<String>,
    /// Bound on the TCP connect, and on the whole handshake.
    pub timeout: Duration,
}

impl Target {
    /// Parses `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address (port 443 when absent; an
    /// `https://` before it and a `/` after it are allowed). The host and port are read by the
    /// URL parser every command uses, so a target follows the same rules as a URL's authority.
    pub fn parse(given: &str) -> Result<Self, CertsError> {
        let bad = |why| CertsError::BadTarget {
            given: given.to_string(),
            why,
        };
        let t = given.trim().trim_start_matches("https://").trim_end_matches('/');
        // A bare IPv6 address has no port; the URL parser reads it in brackets.
        let authority = if t.matches(':').count() > 1 && !t.starts_with('[') {
            format!("[{t}]")
        } else {
            t.to_string()
        };
        let url = HttpUrl::parse(&format!("https://{authority}/")).map_err(|e| {
            bad(match e {
                UrlError::MissingHost => "the host is empty; expected HOST[:PORT]",
                UrlError::InvalidPort
                | UrlError::InvalidByte {
                    part: UrlPart::Port, ..
                } => "the port must be a number from 1 to 65535",
                UrlError::InvalidIpv6 | UrlError::Ipv6ZoneRefused => {
                    "the IPv6 address does not parse (write it as [ADDR]:PORT, without a zone id)"
                }
                _ => "expected HOST[:PORT]: a host name or IP address and a port, nothing else",
            })
        })?;
        if url.target() != "/" {
            return Err(bad(
                "expected HOST[:PORT]: a host name or IP address and a port, nothing else",
            ));
        }
        Ok(Self {
            host: url.host().to_string(),
            port: url.port_or_default(),
            addr: None,
            servername: None,
            timeout: Duration::from_secs(10),
        })
    }

    /// Applies the overrides that match this host and port (the last one wins).
    pub fn apply_resolve(&mut self, entries: &[Override]) {
        if let Some(o) = entries.iter().rev().find(|o| o.matches(&self.host, self.port)) {
            self.addr = Some(o.addr.ip());
        }
    }

    /// The name sent as SNI and checked against the leaf.
    pub fn name(&self) -> &str {
        self.servername.as_deref().unwrap_or(&self.host)
    }

    /// `host:port` for messages.
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The chain as served, with the facts of the handshake.
#[derive(Clone, Debug)]
pub struct Served {
    /// The address connected to.
    pub peer: SocketAddr,
    /// The probe's facts: the certificates in the order the server sent them (leaf first,
    /// normally), the version, suite, group and ALPN negotiated, the SNI name sent, the kind of
    /// handshake.
    pub tls: TlsFacts,
}

/// Connects, handshakes, records the served chain, closes. See the module documentation.
pub fn fetch_chain(target: &Target) -> Result<Served, CertsError> {
    let display = target.display();
    let overrides: Vec<Override> = target
        .addr
        .map(|ip| Override {
            host: target.host.clone(),
            port: target.port,
            addr: SocketAddr::new(ip, target.port),
        })
        .into_iter()
        .collect();
    let resolved = probe::resolve(&target.host, target.port, &overrides).map_err(|e| CertsError::Resolve {
        source: io::Error::new(e.kind.unwrap_or(io::ErrorKind::NotFound), e.detail),
        host: e.host,
    })?;
    let connected = probe::connect(&resolved.addrs, Some(target.timeout)).map_err(|e| CertsError::Unreachable {
        target: display.clone(),
        tried: e
            .attempts
            .into_iter()
            .map(|a| (a.addr, io::Error::new(a.kind, a.detail)))
            .collect(),
    })?;
    let failed = |sni, failure| CertsError::Handshake {
        target: display.clone(),
        sni,
        failure,
    };
    // Recorded only: trust is decided later, against explicit anchors, and no data is sent.
    let setup = TlsSetup::recording(&[]).map_err(|e| failed(None, TlsFailure::Other(e.to_string())))?;
    let limits = Limits::within(target.timeout);
    let session = probe::handshake(&setup, connected.stream, target.name(), limits, &mut |_, _| {})
        .map_err(|e| failed(e.sni, e.failure))?;
    let facts = session.facts.clone();
    session.close();
    if facts.chain.is_empty() {
        return Err(CertsError::NoCertificates { target: display });
    }
    Ok(Served {
        peer: connected.addr,
        tls: facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_as_a_urls_authority() {
        for (given, host, port) in [
            ("example.com", "example.com", 443),
            ("example.com:8443", "example.com", 8443),
            ("https://example.com/", "example.com", 443),
            ("[::1]:9443", "::1", 9443),
            ("::1", "::1", 443),
            ("192.0.2.1:4443", "192.0.2.1", 4443),
        ] {
            let t = Target::parse(given).expect(given);
            assert_eq!((t.host.as_str(), t.port), (host, port), "{given}");
        }
        for (given, why) in [
            ("example.com:0", "1 to 65535"),
            ("example.com:x", "1 to 65535"),
            (":443", "the host is empty"),
            ("exa mple.com", "nothing else"),
            ("example.com/path", "nothing else"),
            ("[::1", "IPv6"),
        ] {
            let e = Target::parse(given).expect_err(given).to_string();
            assert!(e.contains(why), "{given}: {e}");
        }
    }

    #[test]
    fn overrides_apply_to_their_host_and_port_only() {
        let entries = |e: &[&str]| -> Vec<Override> { e.iter().map(|e| Override::parse(e).expect("entry")).collect() };
        let mut t = Target::parse("a.test:8443").expect("target");
        t.apply_resolve(&entries(&["b.test:8443:192.0.2.2", "A.TEST:443:192.0.2.3"]));
        assert_eq!(t.addr, None);
        t.apply_resolve(&entries(&["A.test:8443:192.0.2.2", "a.test:8443:[::1]"]));
        assert_eq!(t.addr, Some("::1".parse().expect("ip")));
    }
}

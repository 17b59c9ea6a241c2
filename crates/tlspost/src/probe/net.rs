//! Names to addresses, addresses to a TCP connection.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// An address to use for `host:port` instead of asking DNS (curl's `--resolve HOST:PORT:ADDR`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The host name it applies to (compared without regard to ASCII case).
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// Where to connect instead.
    pub addr: SocketAddr,
}

/// An override entry that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadOverride {
    /// The entry as given.
    pub given: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl fmt::Display for BadOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}: {}; expected HOST:PORT:ADDR, e.g. api.example.com:443:192.0.2.10",
            self.given, self.why
        )
    }
}

impl std::error::Error for BadOverride {}

impl Override {
    /// Parses `HOST:PORT:ADDR`; ADDR is an IPv4 address, or an IPv6 address bare or in brackets.
    /// The address is connected to on PORT.
    pub fn parse(entry: &str) -> Result<Override, BadOverride> {
        let bad = |why| BadOverride {
            given: entry.to_string(),
            why,
        };
        let mut parts = entry.splitn(3, ':');
        let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("three parts separated by ':' are needed"));
        };
        if host.is_empty() {
            return Err(bad("HOST is empty"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(bad("PORT must be a number from 1 to 65535"))?;
        let ip = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(addr)
            .parse::<IpAddr>()
            .map_err(|_| bad("ADDR must be an IPv4 or IPv6 address"))?;
        Ok(Override {
            host: host.to_string(),
            port,
            addr: SocketAddr::new(ip, port),
        })
    }

    /// Whether this entry is for `host:port`.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        self.port == port && self.host.eq_ignore_ascii_case(host)
    }
}

/// Where the addresses came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// From overrides; DNS was not asked.
    Override,
    /// The host is an IP address: nothing to resolve.
    Literal,
    /// The system resolver.
    Dns,
}

/// The addresses for `host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The addresses, in the resolver's order; never empty.
    pub addrs: Vec<SocketAddr>,
    /// Where they came from.
    pub source: Source,
    /// How long resolving took.
    pub took: Duration,
}

/// The name did not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveError {
    /// The host asked for.
    pub host: String,
    /// The resolver's error kind; `None` when it answered with no address.
    pub kind: Option<io::ErrorKind>,
    /// The resolver's message.
    pub detail: String,
    /// How long the resolver took to fail.
    pub took: Duration,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = tlspost_proto::escape::Escaped(self.host.as_bytes());
        match self.kind {
            None => write!(
                f,
                "{host} resolves to no address (the resolver answered with no A or AAAA record)"
            ),
            Some(_) => write!(f, "cannot resolve {host}: {}", self.detail),
        }
    }
}

impl std::error::Error for ResolveError {}

/// Resolves `host:port`: the overrides for it first, an IP address as it is (brackets allowed),
/// else the system resolver.
pub fn resolve(host: &str, port: u16, overrides: &[Override]) -> Result<Resolved, ResolveError> {
    let start = Instant::now();
    let pinned: Vec<SocketAddr> = overrides
        .iter()
        .filter(|o| o.matches(host, port))
        .map(|o| o.addr)
        .collect();
    if !pinned.is_empty() {
        return Ok(Resolved {
            addrs: pinned,
            source: Source::Override,
            took: start.elapsed(),
        });
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(Resolved {
            addrs: vec![SocketAddr::new(ip, port)],
            source: Source::Literal,
            took: start.elapsed(),
        });
    }
    let failed = |kind, detail: String| ResolveError {
        host: host.to_string(),
        kind,
        detail,
        took: start.elapsed(),
    };
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| failed(Some(e.kind()), e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(failed(None, "no addresses".to_string()));
    }
    Ok(Resolved {
        addrs,
        source: Source::Dns,
        took: start.elapsed(),
    })
}

/// Why a TCP connection could not be opened.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectFailure {
    /// Nothing listens there (RST).
    Refused,
    /// No answer within the connect budget.
    TimedOut,
    /// No route to the host or network.
    Unreachable,
    /// Any other socket error.
    Other,
}

impl ConnectFailure {
    /// The failure an OS error kind means.
    pub fn from_kind(kind: io::ErrorKind) -> ConnectFailure {
        match kind {
            io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ConnectFailure::TimedOut,
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => ConnectFailure::Unreachable,
            _ => ConnectFailure::Other,
        }
    }
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::TimedOut => "timed out",
            ConnectFailure::Unreachable => "unreachable",
            ConnectFailure::Other => "failed",
        })
    }
}

/// One address that did not accept the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectAttempt {
    /// The address.
    pub addr: SocketAddr,
    /// How it failed.
    pub failure: ConnectFailure,
    /// The OS error kind.
    pub kind: io::ErrorKind,
    /// The OS message.
    pub detail: String,
    /// How long the attempt took.
    pub took: Duration,
}

impl fmt::Display for ConnectAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.addr, self.failure, self.detail)
    }
}

/// No address accepted the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectError {
    /// Every address tried, in order; empty when there was no address to try.
    pub attempts: Vec<ConnectAttempt>,
}

impl ConnectError {
    /// The last attempt (the one a single-address target failed with).
    pub fn last(&self) -> Option<&ConnectAttempt> {
        self.attempts.last()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempts.is_empty() {
            return f.write_str("no address to connect to");
        }
        f.write_str("cannot connect: ")?;
        for (i, a) in self.attempts.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {}

/// An open TCP connection and how it was reached.
#[derive(Debug)]
pub struct Connected {
    /// The stream (`TCP_NODELAY` set).
    pub stream: TcpStream,
    /// The address connected to.
    pub addr: SocketAddr,
    /// How long the successful attempt took.
    pub took: Duration,
    /// The addresses tried before it, each with why it failed.
    pub failed: Vec<ConnectAttempt>,
}

/// Connects to the first of `addrs` that accepts, each attempt bounded by `timeout` (none: the OS's).
pub fn connect(addrs: &[SocketAddr], timeout: Option<Duration>) -> Result<Connected, ConnectError> {
    let mut failed = Vec::new();
    for addr in addrs {
        let start = Instant::now();
        let r = match timeout {
            Some(t) => TcpStream::connect_timeout(addr, t.max(Duration::from_millis(1))),
            None => TcpStream::connect(addr),
        };
        match r {
            Ok(stream) => {
                // Small writes leave at once (a request head, the handshake's last flight).
                let _ = stream.set_nodelay(true);
                return Ok(Connected {
                    stream,
                    addr: *addr,
                    took: start.elapsed(),
                    failed,
                });
            }
            Err(e) => failed.push(ConnectAttempt {
                addr: *addr,
                failure: ConnectFailure::from_kind(e.kind()),
                kind: e.kind(),
                detail: e.to_string(),
                took: start.elapsed(),
            }),
        }
    }
    Err(ConnectError { attempts: failed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse() {
        let o = Override::parse("a.test:8443:127.0.0.1").expect("v4");
        assert_eq!((o.host.as_str(), o.port), ("a.test", 8443));
        assert_eq!(o.addr, "127.0.0.1:8443".parse().expect("addr"));
        let o = Override::parse("a.test:443:[::1]").expect("v6 in brackets");
        assert_eq!(o.addr, "[::1]:443".parse().expect("addr"));
        let o = Override::parse("a.test:443:::1").expect("bare v6");
        assert_eq!(o.addr.ip().to_string(), "::1");
        for bad in [
            "a.test:443",
            "a.test:0:127.0.0.1",
            ":443:127.0.0.1",
            "a.test:x:1.2.3.4",
            "a:1:b",
        ] {
            assert!(Override::parse(bad).is_err(), "{bad}");
        }
        assert!(o.matches("A.TEST", 443));
        assert!(!o.matches("a.test", 444));
    }

    #[test]
    fn resolve_prefers_overrides_then_literals() {
        let o = Override::parse("a.test:443:192.0.2.1").expect("entry");
        let r = resolve("A.test", 443, std::slice::from_ref(&o)).expect("override");
        assert_eq!((r.addrs, r.source), (vec![o.addr], Source::Override));
        let r = resolve("[::1]", 8443, &[o]).expect("literal");
        assert_eq!(r.addrs, vec!["[::1]:8443".parse().expect("addr")]);
        assert_eq!(r.source, Source::Literal);
        let e = resolve("name.invalid", 443, &[]).expect_err("RFC 6761: .invalid never resolves");
        assert_eq!(e.host, "name.invalid");
    }

    #[test]
    fn no_address_is_an_error_not_a_panic() {
        let e = connect(&[], Some(Duration::from_millis(10))).expect_err("nothing to try");
        assert!(e.last().is_none());
        assert_eq!(e.to_string(), "no address to connect to");
    }
}

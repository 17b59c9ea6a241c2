//! Fetching the chain a server sends.
//!
//! The connection made here carries no application data: the client completes the TLS handshake,
//! records the certificates the server sent, sends `close_notify` and closes. The verifier used during
//! the handshake trusts nothing itself: it only records the chain (and checks the handshake
//! signature, which proves the server holds the leaf's key); whether that chain is trustworthy is
//! decided afterwards, separately, by [`crate::analyze`] with explicit trust anchors.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::CertsError;

/// Where to connect and which name to ask for.
#[derive(Clone, Debug)]
pub struct Target {
    /// Host name (or IP address) as given.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// An address to use instead of resolving `host` (`--resolve HOST:PORT:ADDR`).
    pub addr: Option<IpAddr>,
    /// The SNI name, when it differs from `host` (`--servername`).
    pub servername: Option<String>,
    /// Bound on the TCP connect and on each read and write of the handshake.
    pub timeout: Duration,
}

impl Target {
    /// Parses `HOST`, `HOST:PORT`, `[V6]:PORT` (port 443 when absent).
    pub fn parse(given: &str) -> Result<Self, CertsError> {
        let bad = |why| CertsError::BadTarget {
            given: given.to_string(),
            why,
        };
        let given_t = given.trim().trim_start_matches("https://").trim_end_matches('/');
        let (host, port) = if let Some(rest) = given_t.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or(bad("missing ] after an IPv6 address"))?;
            match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if after.is_empty() => (h, None),
                None => return Err(bad("expected :PORT after ]")),
            }
        } else if given_t.matches(':').count() > 1 {
            (given_t, None) // a bare IPv6 address
        } else {
            match given_t.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (given_t, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty; expected HOST[:PORT]"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(bad("the port must be a number from 1 to 65535"))?,
            None => 443,
        };
        Ok(Self {
            host: host.to_string(),
            port,
            addr: None,
            servername: None,
            timeout: Duration::from_secs(10),
        })
    }

    /// Applies `--resolve HOST:PORT:ADDR` entries that match this host and port.
    pub fn apply_resolve(&mut self, entries: &[String]) -> Result<(), CertsError> {
        for entry in entries {
            let (host, port, addr) = parse_resolve(entry)?;
            if host.eq_ignore_ascii_case(&self.host) && port == self.port {
                self.addr = Some(addr);
            }
        }
        Ok(())
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

/// Parses one `HOST:PORT:ADDR` (ADDR may be `[v6]` or bare v6).
pub fn parse_resolve(entry: &str) -> Result<(String, u16, IpAddr), CertsError> {
    let bad = |why| CertsError::BadTarget {
        given: entry.to_string(),
        why,
    };
    let mut parts = entry.splitn(3, ':');
    let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("--resolve expects HOST:PORT:ADDR"));
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| bad("--resolve: PORT must be a number from 1 to 65535"))?;
    let addr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map_err(|_| bad("--resolve: ADDR must be an IPv4 or IPv6 address"))?;
    Ok((host.to_string(), port, addr))
}

/// The chain as served, with facts of the handshake.
#[derive(Clone, Debug)]
pub struct Served {
    /// The certificates in the order the server sent them (leaf first, normally).
    pub chain: Vec<Vec<u8>>,
    /// The address connected to.
    pub peer: SocketAddr,
    /// Negotiated protocol version, e.g. `TLSv1.3` (the spelling `tlspost post` and OpenSSL use).
    pub version: String,
    /// Negotiated cipher suite.
    pub suite: String,
    /// The SNI name sent, if any.
    pub sni: Option<String>,
}

/// Connects, handshakes, records the served chain, closes. See the module documentation.
pub fn fetch_chain(target: &Target) -> Result<Served, CertsError> {
    let display = target.display();
    let addrs: Vec<SocketAddr> = match target.addr {
        Some(ip) => vec![SocketAddr::new(ip, target.port)],
        None => {
            let host = target.host.trim_start_matches('[').trim_end_matches(']');
            (host, target.port)
                .to_socket_addrs()
                .map_err(|source| CertsError::Resolve {
                    host: target.host.clone(),
                    source,
                })?
                .collect()
        }
    };
    let mut tried = Vec::new();
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, target.timeout) {
            Ok(s) => {
                stream = Some((s, addr));
                break;
            }
            Err(e) => tried.push((addr, e)),
        }
    }
    let Some((mut tcp, peer)) = stream else {
        return Err(CertsError::Unreachable { target: display, tried });
    };
    let io_err = |source| CertsError::Io {
        path: display.clone().into(),
        source,
    };
    tcp.set_read_timeout(Some(target.timeout)).map_err(io_err)?;
    tcp.set_write_timeout(Some(target.timeout)).map_err(io_err)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        chain: Mutex::new(Vec::new()),
        algs: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|source| CertsError::Handshake {
            target: display.clone(),
            sni: None,
            source,
        })?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = target.name().trim_start_matches('[').trim_end_matches(']');
    let server_name = ServerName::try_from(name.to_string()).map_err(|_| CertsError::BadTarget {
        given: name.to_string(),
        why: "not a valid DNS name or IP address for SNI",
    })?;
    let sni = match server_name {
        ServerName::DnsName(_) => Some(name.to_string()),
        _ => None,
    };
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), server_name).map_err(|source| CertsError::Handshake {
            target: display.clone(),
            sni: sni.clone(),
            source,
        })?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            // rustls reports a TLS failure as io::ErrorKind::InvalidData wrapping rustls::Error.
            let tls = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            return Err(match tls {
                Some(source) => CertsError::Handshake {
                    target: display,
                    sni,
                    source,
                },
                None => CertsError::HandshakeIo {
                    target: display,
                    sni,
                    source: e,
                },
            });
        }
    }
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    // No application data: say goodbye and close.
    conn.send_close_notify();
    let _ = conn.write_tls(&mut tcp);
    let _ = tcp.flush();
    let _ = tcp.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 512];
    let _ = tcp.read(&mut sink);

    let chain = match recorder.chain.lock() {
        Ok(c) => c.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    if chain.is_empty() {
        return Err(CertsError::NoCertificates { target: display });
    }
    Ok(Served {
        chain,
        peer,
        version,
        suite,
        sni,
    })
}

/// Records the chain; decides no trust (see the module documentation).
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<Vec<u8>>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut all = vec![end_entity.as_ref().to_vec()];
        all.extend(intermediates.iter().map(|c| c.as_ref().to_vec()));
        match self.chain.lock() {
            Ok(mut c) => *c = all,
            Err(poisoned) => *poisoned.into_inner() = all,
        }
        // Recorded only: trust is decided later, against explicit anchors, and no data is sent.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// The ring provider used for fetching and verification.
pub fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("example.com").expect("host");
        assert_eq!((t.host.as_str(), t.port), ("example.com", 443));
        let t = Target::parse("example.com:8443").expect("host:port");
        assert_eq!((t.host.as_str(), t.port), ("example.com", 8443));
        let t = Target::parse("[::1]:9443").expect("v6");
        assert_eq!((t.host.as_str(), t.port), ("::1", 9443));
        assert!(Target::parse("example.com:0").is_err());
        assert!(Target::parse(":443").is_err());
    }

    #[test]
    fn resolve_entries_parse() {
        let (h, p, a) = parse_resolve("a.test:8443:127.0.0.1").expect("v4");
        assert_eq!((h.as_str(), p, a.to_string().as_str()), ("a.test", 8443, "127.0.0.1"));
        let (_, _, a) = parse_resolve("a.test:443:[::1]").expect("v6");
        assert_eq!(a.to_string(), "::1");
        assert!(parse_resolve("a.test:443").is_err());
    }
}

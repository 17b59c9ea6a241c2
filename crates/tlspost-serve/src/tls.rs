//! The HTTPS side: read the ClientHello ourselves, record its facts, replay it into rustls, then
//! hand the decrypted stream to the connection handler ([`crate::conn::serve`]).

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tlspost::probe::{Alert, Version, suite_name};

use crate::clienthello::{self, ClientHello, Scan};
use crate::conn::{self, ConnInfo, base_capture, now_ms};
use crate::error::Error;
use crate::pki::Pki;
use crate::record::TlsFacts;
use crate::respond::Profile;
use crate::state::State;
use crate::stream::Prefixed;

pub(crate) fn acceptor(pki: &Pki) -> Result<tokio_rustls::TlsAcceptor, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .map_err(|e| Error::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

/// Why a handshake failed, from what ended it: the client's alert, what rustls refused in the
/// client's offer, or the connection ending early. A rejected certificate is told apart from an
/// untrusted CA by the alert, and from a name missing in the certificate by the SNI.
fn handshake_failure(e: &std::io::Error, ch: &ClientHello, cert_names: &[String]) -> String {
    use rustls::{AlertDescription as A, Error as Tls, PeerMisbehaved};
    use std::io::ErrorKind;
    let sni = ch.sni.as_deref();
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<Tls>()) else {
        return match e.kind() {
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => format!(
                "the client closed the connection during the TLS handshake, without a TLS alert ({e}): \
                 it gave up before the handshake ended (some TLS stacks close this way when they reject \
                 the server certificate or run out of memory: see the client's log)"
            ),
            _ => format!("the TLS handshake failed: {e}"),
        };
    };
    match tls {
        Tls::NoApplicationProtocol => format!(
            "the client offered ALPN {} only, and this server speaks HTTP/1.1 (ALPN http/1.1): the \
             server refused the handshake (alert no_application_protocol); offer http/1.1 too (e.g. \
             curl --http1.1), or no ALPN",
            ch.alpn.join(", ")
        ),
        Tls::PeerMisbehaved(PeerMisbehaved::ServerNameMustContainOneHostName) => format!(
            "the ClientHello's server name (SNI) `{}` is not a valid DNS host name, so the server refused \
             the handshake (alert illegal_parameter); set a DNS name as the TLS client's host name \
             (RFC 6066 §3; an IP address is sent as no SNI)",
            sni.unwrap_or_default()
        ),
        Tls::AlertReceived(A::UnknownCA) => "the client does not trust the server certificate: it does not \
             know the tlspost CA (alert unknown_ca); give the client ca.pem from the data directory (also \
             at /_tlspost/ca.pem)"
            .into(),
        Tls::AlertReceived(
            a @ (A::BadCertificate | A::CertificateUnknown | A::UnsupportedCertificate | A::CertificateExpired),
        ) => {
            let alert = Alert::from(*a);
            let wanted = sni.map(|s| s.trim_end_matches('.'));
            match wanted.filter(|s| !cert_names.iter().any(|n| n.eq_ignore_ascii_case(s))) {
                Some(name) => format!(
                    "the client rejected the server certificate (alert {alert}): it asked for `{name}` \
                     (SNI), which is not a name in the server certificate ({}); add `{name}` to the certificate's names",
                    cert_names.join(", ")
                ),
                None => format!(
                    "the client rejected the server certificate (alert {alert}){}: a client that does not \
                     trust the tlspost CA may answer so too (give it ca.pem), or one whose clock is wrong \
                     (the certificate is valid from when it was made)",
                    wanted
                        .map(|n| format!(", though `{n}` (SNI) is in it"))
                        .unwrap_or_default()
                ),
            }
        }
        Tls::AlertReceived(a) => {
            let a = Alert::from(*a);
            let name = a.name().unwrap_or("unassigned");
            format!("the client ended the TLS handshake with alert {name} ({})", a.code())
        }
        Tls::PeerIncompatible(_) => format!(
            "the client's offer has nothing in common with the server's (TLS 1.2 and 1.3, ECDHE with \
             AES-GCM or ChaCha20-Poly1305): {tls}"
        ),
        other => format!("the TLS handshake failed: {other}"),
    }
}

/// What the handshake agreed on, into `f`.
fn negotiated(f: &mut TlsFacts, conn: &rustls::ServerConnection) {
    f.version = conn
        .protocol_version()
        .map(|v| clienthello::version_name(Version::from_code(u16::from(v))));
    f.cipher = conn
        .negotiated_cipher_suite()
        .and_then(|c| suite_name(u16::from(c.suite())))
        .map(String::from);
    f.alpn = conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
    f.resumed = conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
}

/// Record a connection that never got to HTTP (bad ClientHello, refused or failed handshake).
async fn record_failure(state: &State, info: &ConnInfo, first: Instant, wall: i64, raw: Vec<u8>, error: String) {
    let mut cap = base_capture(info, first, wall, 0);
    cap.scheme = "https".into();
    cap.raw = raw;
    cap.error = Some(error);
    let _ = state.record(cap).await;
}

pub(crate) async fn handle(state: Arc<State>, mut tcp: TcpStream, mut info: ConnInfo) {
    let limits = &state.cfg.limits;
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut first: Option<(Instant, i64)> = None;
    let deadline = Instant::now() + limits.request_timeout;
    let hello = loop {
        match clienthello::scan(&buf) {
            Ok(Scan::Complete { body, records }) => break clienthello::parse(&body, records),
            Ok(Scan::Partial) => {}
            Err(e) => break Err(e),
        }
        let wait = limits
            .read_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        buf.reserve(4096);
        match tokio::time::timeout(wait, tcp.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                first.get_or_insert_with(|| (Instant::now(), now_ms()));
            }
            outcome => {
                if let Some((t, w)) = first {
                    let why = if outcome.is_err() {
                        "timed out"
                    } else {
                        "the connection closed"
                    };
                    let n = buf.len();
                    record_failure(
                        &state,
                        &info,
                        t,
                        w,
                        buf,
                        format!("{why} after {n} bytes of an unfinished ClientHello"),
                    )
                    .await;
                }
                return;
            }
        }
    };
    let (t0, wall) = first.unwrap_or_else(|| (Instant::now(), now_ms()));
    let ch = match hello {
        Ok(ch) => ch,
        Err(e) => {
            let plain_http = buf.first().is_some_and(|b| b.is_ascii_uppercase());
            buf.truncate(64 * 1024);
            let http = state.http_addr.map_or_else(
                || "this server's HTTP port, which is off".to_string(),
                |a| format!("the HTTP port {}", a.port()),
            );
            let error = if plain_http {
                format!(
                    "plain HTTP sent to the HTTPS port: use http:// and {http}, or connect with TLS (not a TLS ClientHello: {e})"
                )
            } else {
                format!("not a TLS ClientHello: {e}")
            };
            record_failure(&state, &info, t0, wall, buf, error).await;
            if plain_http {
                let body = format!(
                    "This is the HTTPS port of a tlspost capture server: connect with TLS (https://), or use http:// and {http}.\r\n"
                );
                let head = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = tcp.write_all(format!("{head}{body}").as_bytes()).await;
            }
            let _ = tcp.shutdown().await;
            return;
        }
    };
    let mut tls_facts = TlsFacts::offered(ch);
    let ch = &tls_facts.hello;
    info.tls = Some(Arc::new(tls_facts.clone()));
    if state.cfg.profile == Profile::Edge && ch.sni.is_none() {
        // Fatal alert unrecognized_name (112), as a strict edge refuses a ClientHello without SNI.
        let _ = tcp.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 112]).await;
        let _ = tcp.shutdown().await;
        record_failure(
            &state,
            &info,
            t0,
            wall,
            Vec::new(),
            "edge profile: the ClientHello has no SNI, so the handshake was refused (alert unrecognized_name); \
             set the host name on the TLS client (e.g. WiFiClientSecure connects by name, not IP)"
                .into(),
        )
        .await;
        return;
    }
    let hs = tokio::time::timeout(limits.read_timeout, state.acceptor.accept(Prefixed::new(buf, tcp))).await;
    let tls = match hs {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let msg = handshake_failure(&e, ch, &crate::pki::cert_names(&state.cfg.names));
            record_failure(&state, &info, t0, wall, Vec::new(), msg).await;
            return;
        }
        Err(_) => {
            record_failure(&state, &info, t0, wall, Vec::new(), "TLS handshake timed out".into()).await;
            return;
        }
    };
    negotiated(&mut tls_facts, tls.get_ref().1);
    info.tls = Some(Arc::new(tls_facts));
    conn::serve(state, tls, Vec::new(), info).await;
}

//! The HTTPS side: read the ClientHello ourselves, record its facts, replay it into rustls, then
//! hand the decrypted stream to the connection handler ([`crate::conn::serve`]).

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

fn hex(v: &[u16]) -> Vec<String> {
    v.iter().map(|x| format!("0x{x:04x}")).collect()
}

fn facts(ch: &ClientHello) -> TlsFacts {
    TlsFacts {
        sni: ch.sni.clone(),
        alpn: None,
        alpn_offered: ch.alpn.clone(),
        version: None,
        cipher: None,
        offered_versions: ch.versions.iter().map(|v| clienthello::version_name(*v)).collect(),
        cipher_suites: hex(&ch.cipher_suites),
        extensions: hex(&ch.extensions),
        groups: hex(&ch.groups),
        signature_algorithms: hex(&ch.signature_algorithms),
        ja4: ch.ja4(),
        ja4_r: ch.ja4_r(),
        hello_records: ch.records,
        ..TlsFacts::default()
    }
}

/// Record a connection that never got to HTTP (bad ClientHello, refused or failed handshake).
async fn record_failure(state: &State, info: &ConnInfo, first: Instant, wall: i64, raw: Vec<u8>, error: String) {
    let mut cap = base_capture(info, first, wall, 0);
    cap.scheme = "https".into();
    cap.raw = raw;
    cap.error = Some(error);
    let _ = state.store.put(cap).await;
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
            record_failure(&state, &info, t0, wall, buf, format!("not a TLS ClientHello: {e}")).await;
            if plain_http {
                let _ = tcp
                    .write_all(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 60\r\n\r\nThis is the HTTPS port of tlspost serve: connect with TLS.\r\n",
                    )
                    .await;
            }
            let _ = tcp.shutdown().await;
            return;
        }
    };
    let mut tls_facts = facts(&ch);
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
            let msg = format!(
                "TLS handshake failed: {e} (a client that does not trust the tlspost CA aborts here: give it ca.pem)"
            );
            record_failure(&state, &info, t0, wall, Vec::new(), msg).await;
            return;
        }
        Err(_) => {
            record_failure(&state, &info, t0, wall, Vec::new(), "TLS handshake timed out".into()).await;
            return;
        }
    };
    {
        let f = &mut tls_facts;
        let conn = tls.get_ref().1;
        f.version = conn.protocol_version().map(|v| clienthello::version_name(u16::from(v)));
        f.cipher = conn
            .negotiated_cipher_suite()
            .and_then(|c| c.suite().as_str())
            .map(String::from);
        f.alpn = conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
    }
    info.tls = Some(Arc::new(tls_facts));
    conn::serve(state, tls, Vec::new(), info).await;
}

//! The rustls backend's side of the device tests: one HTTPS POST through
//! `tlspost_device::rustls_backend` and the tlspost driver, and an nginx that logs whether each
//! handshake resumed a session.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tlspost::driver::{Buffers, Hooks, exchange};
use tlspost_device::VerifyError;
use tlspost_device::rustls_backend::{INCOMING_LEN, Limits, RecordBuffers, RustlsClient, RustlsError, SessionSlot};
use tlspost_proto::{Budgets, Deadlines, Millis};
use tlspost_testkit::nginx::{Nginx, Options, Site};

use super::{Io, request};

/// nginx serving `chain` with `key` for `protocols` (`TLSv1.3`, `TLSv1.2`, ...), answering the
/// POST with `{"ok":true}`, with session tickets and a session cache, and an access log of one
/// line per request: the protocol and `$ssl_session_reused` (`r` when resumed, `.` when not).
pub struct LoggingNginx {
    pub nginx: Nginx,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl LoggingNginx {
    pub fn start(chain: &str, key: &str, protocols: &str) -> LoggingNginx {
        let dir = tempfile::tempdir().expect("log dir");
        let log = dir.path().join("access.log");
        let directives = format!(
            r#"access_log {} reused; location = /api/v1/readings {{ default_type application/json; return 200 '{{"ok":true}}'; }}"#,
            log.display()
        );
        let opts = Options {
            http: "log_format reused '$ssl_protocol $ssl_session_reused'; ssl_session_cache shared:device:1m; ssl_session_tickets on;".into(),
            ..Options::default()
        };
        let site = Site::new("device", chain, key)
            .protocols(protocols)
            .directives(&directives);
        let nginx = Nginx::start_with(&[site], &opts);
        LoggingNginx { nginx, _dir: dir, log }
    }

    pub fn port(&self) -> u16 {
        self.nginx.port(0)
    }

    /// The access log's lines once there are `n` (nginx writes each when its request ends, which
    /// may be just after the client has its answer), or what is there after two seconds.
    pub fn log_lines(&self, n: usize) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            let lines = read_lines(&self.log);
            if lines.len() >= n || Instant::now() > until {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// What one POST over the rustls backend did.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub resumed: bool,
    /// `0x0304` TLS 1.3, `0x0303` TLS 1.2.
    pub version: u16,
    /// Bytes on the wire for the handshake alone (read, written).
    pub handshake_bytes: (usize, usize),
    pub server_handshake_bytes: usize,
}

struct Hook {
    started: Instant,
    body: Vec<u8>,
}

impl Hooks for Hook {
    fn now(&mut self) -> Millis {
        Millis(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
    fn body(&mut self, data: &[u8]) -> bool {
        self.body.extend_from_slice(data);
        true
    }
}

/// A client pinning `roots` (leaked: the backend takes `'static` roots, as firmware has them).
pub fn client(roots: &[&[u8]], sessions: &Arc<SessionSlot>) -> RustlsClient {
    let roots: Vec<&'static [u8]> = roots
        .iter()
        .map(|r| &*Box::leak(r.to_vec().into_boxed_slice()))
        .collect();
    RustlsClient::new(Box::leak(roots.into_boxed_slice()), sessions.clone()).expect("roots parse")
}

/// Connects to 127.0.0.1:`port` as `host` and POSTs the JSON body with the tlspost driver.
pub fn post(
    client: &RustlsClient,
    port: u16,
    host: &str,
    now_unix: u64,
) -> Result<Answer, RustlsError<std::io::Error>> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let counts = Rc::default();
    let io = Io {
        stream,
        counts: Rc::clone(&counts),
    };
    let (mut incoming, mut outgoing) = (vec![0u8; INCOMING_LEN], vec![0u8; 1024]);
    let buffers = RecordBuffers {
        incoming: &mut incoming,
        outgoing: &mut outgoing,
    };
    let mut tls = client.connect(io, host, now_unix, buffers)?;
    let handshake_bytes = counts.get();
    let req = request(host);
    let mut hook = Hook {
        started: Instant::now(),
        body: Vec::new(),
    };
    let mut deadlines = Deadlines::new(Budgets::default(), hook.now());
    let (mut rx, mut tx) = (vec![0u8; 2048], vec![0u8; 512]);
    let outcome = exchange(
        &mut tls,
        &req,
        &mut deadlines,
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
        &mut hook,
    )
    .map_err(|f| f.error)
    .expect("exchange");
    let answer = Answer {
        status: outcome.status,
        body: hook.body,
        resumed: tls.resumed(),
        version: tls.protocol_version().expect("version"),
        handshake_bytes,
        server_handshake_bytes: tls.server_handshake_bytes(),
    };
    tls.close().expect("close_notify");
    Ok(answer)
}

/// The verifier's reason for refusing the server; panics on any other outcome.
pub fn refused<T: std::fmt::Debug>(r: Result<T, RustlsError<std::io::Error>>) -> VerifyError {
    match r {
        Err(RustlsError::Verify(e)) => e,
        other => panic!("expected a verification error, got {other:?}"),
    }
}

/// The default limits, with the server's handshake bounded at `bytes`.
pub fn limit(bytes: usize) -> Limits {
    Limits {
        server_handshake: bytes,
    }
}

//! The firmwares' application logic against the kit's nginx (TLS 1.3, a P-256 leaf under a test
//! root): a verified POST, the retry rules (503 retried, a POST's 502 not, unless it carries an
//! Idempotency-Key), a foreign root refused once, a refused port retried. The host stands in for
//! the board: std TCP as [`Net`], std time as [`Clock`], the OS RNG.

use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use embassy_futures::block_on;
use tlspost_app::{Clock, Error, Failed, Job, JobError, Memory, Net, Parts, Report, post};
use tlspost_device::{ConnectError, VerifyError};
use tlspost_proto::Header;
use tlspost_proto::retry::GiveUpReason;
use tlspost_testkit::Ca;
use tlspost_testkit::nginx::{Nginx, Site};

const HOST: &str = "device.tlspost.test";

/// Loopback TCP: every host name is 127.0.0.1 (the name still goes out as SNI and is checked).
/// Counts the connections and the bytes written on them (its sockets borrow it, as embassy-net's
/// `TcpSocket` borrows its stack).
#[derive(Default)]
struct Loopback {
    connections: u32,
    written: usize,
}

struct Socket<'s> {
    stream: TcpStream,
    written: &'s mut usize,
}

impl embedded_io_async::ErrorType for Socket<'_> {
    type Error = std::io::Error;
}

impl embedded_io_async::Read for Socket<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::io::Read::read(&mut self.stream, buf)
    }
}

impl embedded_io_async::Write for Socket<'_> {
    async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = std::io::Write::write(&mut self.stream, buf)?;
        *self.written += n;
        Ok(n)
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Net for Loopback {
    type Socket<'s> = Socket<'s>;
    type Error = std::io::Error;

    async fn connect(&mut self, _host: &str, port: u16) -> Result<Socket<'_>, std::io::Error> {
        self.connections += 1;
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Socket {
            stream,
            written: &mut self.written,
        })
    }

    async fn close<'s>(socket: Self::Socket<'s>)
    where
        Self: 's,
    {
        let _ = socket.stream.shutdown(std::net::Shutdown::Both);
    }
}

struct HostClock(Instant);

impl Clock for HostClock {
    fn now_ms(&mut self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).expect("ms")
    }
    fn unix_time(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
    }
    async fn sleep_ms(&mut self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// A test root and nginx for `HOST` under it, TLS 1.3 only: `/ok` answers 200 with JSON, `/busy`
/// 503 with `Retry-After: 0`, `/gateway` 502.
struct Fixture {
    root: Ca,
    server: Nginx,
}

impl Fixture {
    fn start() -> Fixture {
        let root = Ca::root("App Test Root");
        let leaf = root.leaf(&[HOST]);
        let locations = r#"
            location = /ok { default_type application/json; return 200 '{"ok":true}'; }
            location = /busy { add_header Retry-After 0 always; return 503 '{"busy":true}'; }
            location = /gateway { return 502; }
        "#;
        let server = Nginx::start(&[Site::new("app", &leaf.chain(&[]), &leaf.key_pem)
            .protocols("TLSv1.3")
            .directives(locations)]);
        Fixture { root, server }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.server.port(0))
    }
}

/// What a run printed and did.
struct Run {
    result: Result<Report, Failed<std::io::Error>>,
    out: String,
    kept: Vec<u8>,
    net: Loopback,
}

/// Runs `job` as a firmware does (retry delays shortened to 1 ms).
fn run(mut job: Job<'_>) -> Run {
    job.retry.base_delay_ms = 1;
    let mut mem = Box::new(Memory::new());
    let mut out = String::new();
    let mut net = Loopback::default();
    let mut clock = HostClock(Instant::now());
    let mut rng = rand_core::OsRng;
    let parts = Parts {
        net: &mut net,
        clock: &mut clock,
        rng: &mut rng,
        out: &mut out,
    };
    let mut bufs = mem.buffers();
    let result = block_on(post(parts, &job, &mut bufs));
    let kept = match &result {
        Ok(r) => bufs.keep[..r.kept].to_vec(),
        Err(_) => Vec::new(),
    };
    Run { result, out, kept, net }
}

#[test]
fn posts_json_verified_and_reports() {
    let fx = Fixture::start();
    let url = fx.url("/ok");
    let roots: &[&[u8]] = &[&fx.root.der];
    let Run { result, out, kept, net } = run(Job::new(&url, br#"{"t":21.5}"#, roots).unwrap());
    let report = result.unwrap_or_else(|f| panic!("{f}\n{out}"));
    assert_eq!(
        (report.status, report.attempts, report.not_retried),
        (200, 1, None),
        "{out}"
    );
    assert_eq!(kept, br#"{"ok":true}"#);
    assert_eq!(report.body_len, 11);
    assert!(report.request_written > 10, "{report:?}");
    assert!(
        net.written as u64 > report.request_written,
        "TLS adds to what the request wrote"
    );
    assert!(report.timings.total >= report.timings.tls, "{report:?}");
    for line in [
        &format!("attempt 1: POST https://{HOST}:{}/ok\n", fx.server.port(0)),
        &format!("TLS 1.3 handshake ok, server verified for {HOST} ("),
        "status: 200\n",
        "timings ms: connect ",
        "response body bytes: 11 (first 11 shown)\n----- response -----\n{\"ok\":true}\n----- end response -----\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn a_503_is_retried_until_the_policy_stops() {
    let fx = Fixture::start();
    let url = fx.url("/busy");
    let roots: &[&[u8]] = &[&fx.root.der];
    let Run { result, out, net, .. } = run(Job::new(&url, b"{}", roots).unwrap());
    let report = result.unwrap_or_else(|f| panic!("{f}\n{out}"));
    assert_eq!((report.status, report.attempts, net.connections), (503, 3, 3), "{out}");
    assert_eq!(
        report.not_retried,
        Some(GiveUpReason::AttemptsExhausted { attempts: 3 })
    );
    assert_eq!(out.matches("status: 503\n").count(), 3, "{out}");
    assert_eq!(
        out.matches("retrying in 0 ms\n").count(),
        2,
        "Retry-After: 0 is honoured:\n{out}"
    );
}

#[test]
fn a_post_answered_502_is_not_sent_again_unless_idempotent() {
    let fx = Fixture::start();
    let url = fx.url("/gateway");
    let roots: &[&[u8]] = &[&fx.root.der];
    let mut job = Job::new(&url, b"{}", roots).unwrap();
    let Run { result, out, net, .. } = run(job);
    let report = result.unwrap_or_else(|f| panic!("{f}\n{out}"));
    assert_eq!((report.status, report.attempts, net.connections), (502, 1, 1), "{out}");
    assert_eq!(
        report.not_retried,
        Some(GiveUpReason::NotIdempotent { status: Some(502) })
    );

    let key = [Header::new("Idempotency-Key", "reading-42")];
    job.headers = &key;
    let Run { result, out, net, .. } = run(job);
    let report = result.unwrap_or_else(|f| panic!("{f}\n{out}"));
    assert_eq!((report.status, report.attempts, net.connections), (502, 3, 3), "{out}");
}

#[test]
fn a_foreign_root_is_refused_once_and_precisely() {
    let fx = Fixture::start();
    let foreign = Ca::root("Not The Server's Root");
    let url = fx.url("/ok");
    let roots: &[&[u8]] = &[&foreign.der];
    let Run { result, out, net, .. } = run(Job::new(&url, b"{}", roots).unwrap());
    let failed = result.expect_err("a foreign root must be refused");
    assert!(
        matches!(
            failed.error,
            Error::Tls(ConnectError::Verify(VerifyError::UnknownIssuer))
        ),
        "{failed:?}"
    );
    assert_eq!((failed.attempts, failed.gave_up, net.connections), (1, None, 1));
    assert!(
        out.contains("attempt 1 failed: TLS handshake refused: unknown issuer"),
        "{out}"
    );
    assert!(out.contains("not retried: trying again cannot change this\n"), "{out}");
}

#[test]
fn a_refused_port_is_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("https://{HOST}:{port}/ok");
    let root = Ca::root("App Test Root");
    let roots: &[&[u8]] = &[&root.der];
    let Run { result, out, net, .. } = run(Job::new(&url, b"{}", roots).unwrap());
    let failed = result.expect_err("nothing listens");
    assert!(matches!(failed.error, Error::Connect(_)), "{failed:?}");
    assert_eq!((failed.attempts, net.connections, net.written), (3, 3, 0), "{out}");
    assert_eq!(failed.gave_up, Some(GiveUpReason::AttemptsExhausted { attempts: 3 }));
    assert!(failed.to_string().starts_with("no connection: "), "{failed}");
}

#[test]
fn settings_that_cannot_work_are_refused_up_front() {
    let roots: &[&[u8]] = &[];
    assert_eq!(
        Job::new("http://device.tlspost.test/", b"{}", roots).unwrap_err(),
        JobError::NotHttps
    );
    assert!(matches!(
        Job::new("device.tlspost.test/", b"{}", roots),
        Err(JobError::Url(_))
    ));
}

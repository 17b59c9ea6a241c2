//! The 4 KB-fragment run of the embedded-tls backend (issue 17): ONE firmware run, three jobs that
//! each offer max_fragment_length 4,096 (RFC 6066) and read records into a 4,352-byte buffer, and
//! one without it.
//!
//! 1. nginx (OpenSSL honours the extension), Let's Encrypt's ECDSA shape (P-256 leaf, P-384
//!    intermediate and root), a JSON POST answered with 10,000 bytes: passes, every record the server sent
//!    at most 4,096 + 256 bytes.
//! 2. the same nginx with a Certificate message of about 7 KB (a leaf with 200 names): nginx splits
//!    it over records of at most 4,096 bytes, embedded-tls reads a handshake message from one record
//!    only: `CertificateSpansRecords { read_buffer: 4352 }`.
//! 3. `tlspost serve` (rustls ignores the extension) with a leaf of 250 names: a record over the
//!    buffer arrives, `RecordTooLarge { read_buffer: 4352 }`.
//! 4. the nginx of 1 without the extension and with a full read buffer: passes, in records over
//!    4,352 bytes (the baseline; its handshake's bytes and instructions are the backend's full
//!    handshake figures).
//!
//! The server's side is the relay's scan of what each server sent (its largest record). The
//! firmware's stack high-water mark after job 1 is that of a device with the 4,352-byte read
//! buffer (the firmware picks a stack array of that size for such jobs) plus what the harness holds
//! above a job (its 8 KB job buffer), which it prints too.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlspost_serve::{Config, Server};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::{Alg, Ca};

use crate::agree::HOST;
use crate::job::{Fragment, Job, outcomes};
use crate::relay::{self, Run, RunError};

/// The fragment every job offers, and the read buffer it reads into.
pub const FRAGMENT: Fragment = Fragment {
    bytes: 4096,
    read_buffer: 4352,
};

/// What a job must show: the firmware's line (its start after `job ID `) and the server's largest
/// record, at most or over the read buffer.
struct Expect {
    name: &'static str,
    line: &'static str,
    records_fit: bool,
}

const EXPECTED: [Expect; 4] = [
    Expect {
        name: "nginx, P-256 leaf, P-384 intermediate and root, POST answered with 10,000 bytes",
        line: "ok suite=TLS_AES_128_GCM_SHA256 handshake_ms=",
        records_fit: true,
    },
    Expect {
        name: "nginx, a Certificate message of about 7 KB",
        line: "fail CertificateSpansRecords { read_buffer: 4352 }",
        records_fit: true,
    },
    Expect {
        name: "tlspost serve (rustls ignores the extension), a leaf of 250 names",
        line: "fail RecordTooLarge { read_buffer: 4352 }",
        records_fit: false,
    },
    Expect {
        name: "the nginx of the first row, no fragment offered, a 16,640-byte read buffer",
        line: "ok suite=TLS_AES_128_GCM_SHA256 handshake_ms=",
        records_fit: false,
    },
];

/// One job's row: what the firmware said, the server's largest record, and whether both are as
/// the server was built to show.
pub struct Row {
    /// The server.
    pub name: &'static str,
    /// The firmware's outcome line after `job ID `.
    pub device: String,
    /// The largest record's length field the server sent (0: none).
    pub largest: usize,
    /// As expected on both sides.
    pub holds: bool,
}

fn setup(what: String) -> RunError {
    RunError::Io(std::io::Error::other(what))
}

fn names(n: usize) -> Vec<String> {
    let mut names: Vec<String> = (0..n).map(|i| format!("host-{i:03}.{HOST}")).collect();
    names.push(HOST.to_owned());
    names
}

/// Runs the four jobs in one firmware run (`elf`); a row per job, and the run.
pub fn check(elf: &Path, limit: Duration) -> Result<(Vec<Row>, Run), RunError> {
    // Let's Encrypt's ECDSA shape, as firmware/rv32-rustls' nginx: P-384 root and intermediate,
    // P-256 leaf.
    let root384 = Ca::builder("Fragment Root P-384").alg(Alg::P384).self_signed();
    let inter384 = Ca::builder("Fragment Issuing P-384").alg(Alg::P384).signed_by(&root384);
    let good = inter384.leaf(&[HOST]);
    let root = Ca::root("Fragment Root");
    let inter = root.intermediate("Fragment Issuing");
    let big_names = names(200);
    let big = inter.leaf(&big_names.iter().map(String::as_str).collect::<Vec<_>>());
    // 10,000 bytes from a 2,000-byte variable (nginx's parameters stop at 4 KB).
    let x = "x".repeat(2_000);
    let readings = format!("location / {{ default_type application/json; set $x {x}; return 200 $x$x$x$x$x; }}");
    let nginx = Nginx::start(&[
        Site::new("good", &good.chain(&[&inter384]), &good.key_pem).directives(&readings),
        Site::new("big", &big.chain(&[&inter]), &big.key_pem),
    ]);
    let dir = std::env::temp_dir().join(format!("tlspost-harness-fragment-{}", std::process::id()));
    let mut cfg = Config::new(&dir);
    cfg.http = None;
    cfg.https = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    cfg.names = names(250);
    cfg.workers = 1;
    let serve = Server::start(cfg).map_err(|e| setup(format!("tlspost serve did not start: {e}")))?;
    let serve_root = pem::parse(serve.ca_pem())
        .map_err(|e| setup(format!("tlspost serve's CA is not PEM: {e}")))?
        .into_contents();
    let serve_port = serve.https_addr().map_or(0, |a| a.port());
    let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let job = |id: u8, port: u16, root: &[u8], path: &str| Job {
        id,
        host: HOST.to_owned(),
        target: format!("127.0.0.1:{port}"),
        now_unix,
        roots: vec![root.to_vec()],
        path: path.to_owned(),
        fragment: Some(FRAGMENT),
    };
    let jobs = [
        job(1, nginx.port(0), &root384.der, "/api/v1/readings"),
        job(2, nginx.port(1), &root.der, ""),
        job(3, serve_port, &serve_root, ""),
        Job {
            fragment: None,
            ..job(4, nginx.port(0), &root384.der, "/api/v1/readings")
        },
    ];
    let run = relay::run(elf, &jobs, limit);
    drop(serve);
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
    let run = run?;
    let printed = outcomes(&run.console);
    let rows = EXPECTED
        .iter()
        .zip(&jobs)
        .map(|(want, job)| {
            let device = printed.iter().find(|o| o.id == job.id).map_or_else(String::new, |o| {
                format!("{} {}", if o.ok { "ok" } else { "fail" }, o.detail)
            });
            let largest = run.wire.get(&job.id).map_or(0, |w| w.largest);
            let fits = largest <= usize::from(FRAGMENT.read_buffer);
            let body_ok = job.path.is_empty() || device.ends_with(" status=200 body=10000");
            Row {
                name: want.name,
                holds: device.starts_with(want.line) && body_ok && largest > 0 && fits == want.records_fit,
                device,
                largest,
            }
        })
        .collect();
    Ok((rows, run))
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut s = format!(
        "| server (jobs 1-3: fragment {} B, read buffer {} B) | firmware under QEMU | server's largest record | as built |\n\
         |---|---|---:|---|\n",
        FRAGMENT.bytes, FRAGMENT.read_buffer
    );
    for r in rows {
        let holds = if r.holds { "yes" } else { "NO" };
        s.push_str(&format!("| {} | {} | {} B | {holds} |\n", r.name, r.device, r.largest));
    }
    s
}

//! The bounds the command line keeps, run as the real binary with its peak memory measured:
//! `tlspost lint` reads at most 1 MiB; `tlspost post` writes an endless body to a file or stdout as
//! it arrives, in flat memory, until `--max-filesize` (exit 63, as curl) or `-m`; bytes HTTP forbids
//! in `-H`, `-A`, `-X` or the URL are refused before any DNS, TCP or TLS.
//!
//! Peak memory is the child's maximum resident set size as GNU time reports it (`time -f %M`); while
//! the child runs, a watchdog reads its `VmHWM` and kills it (by pid) past a deadline or 1 GiB, so
//! that a regression fails the test instead of eating the machine. The bounds are the documented
//! ones, well above what is measured (about 18 MiB for `post`, 25 MiB for `lint`, most of it the
//! binary and its roots).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tlspost_testkit::http::{PathServer, endless_chunked};

const BIN: &str = env!("CARGO_BIN_EXE_tlspost");
const MIB: u64 = 1 << 20;
/// The watchdog's memory cap: far above any bound asserted here.
const KILL_ABOVE_KB: u64 = 1 << 20;

/// A finished run of the binary.
struct Run {
    code: Option<i32>,
    /// stdout, unless only counted.
    stdout: Vec<u8>,
    stdout_len: u64,
    stderr: String,
    /// Peak resident set size in KiB (GNU time's `%M`).
    peak_kb: u64,
    elapsed: Duration,
}

impl Run {
    fn peak_mib(&self) -> f64 {
        self.peak_kb as f64 / 1024.0
    }
}

/// A file `name` in a new temporary directory (gone when the first value drops): its path, also as text.
fn out_file(name: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(name);
    let text = file.display().to_string();
    (dir, file, text)
}

/// [`run`] without stdin, stdout kept, within `secs` seconds.
fn kept(args: &[&str], secs: u64) -> Run {
    run(args, no_stdin(), true, Duration::from_secs(secs))
}

/// [`run`] without stdin, stdout only counted, within `secs` seconds.
fn counted(args: &[&str], secs: u64) -> Run {
    run(args, no_stdin(), false, Duration::from_secs(secs))
}

/// Runs `tlspost ARGS` under GNU time with `stdin`; keeps stdout when `keep`, else only counts it.
fn run(args: &[&str], stdin: Stdio, keep: bool, deadline: Duration) -> Run {
    let start = Instant::now();
    let mut child = Command::new("time")
        .args(["-f", "\ntlspost-peak-rss-kb=%M"])
        .arg(BIN)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tlspost under GNU time (Debian package `time`)");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let (mut kept, mut len, mut buf) = (Vec::new(), 0u64, vec![0u8; 64 * 1024]);
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            len += n as u64;
            if keep {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        (kept, len)
    });
    let mut err = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        // The watchdog: tlspost is GNU time's one child.
        let tlspost_pid = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string));
        if let Some(pid) = tlspost_pid {
            let hwm_kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                })
                .unwrap_or(0);
            if start.elapsed() > deadline || hwm_kb > KILL_ABOVE_KB {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                let _ = child.wait();
                panic!(
                    "tlspost {args:?} killed after {:?} with a peak of {hwm_kb} KiB (deadline {deadline:?})",
                    start.elapsed()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let (stdout, stdout_len) = reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    let (stderr, peak) = stderr
        .rsplit_once("\ntlspost-peak-rss-kb=")
        .unwrap_or_else(|| panic!("no peak from GNU time in: {stderr}"));
    let peak_kb = peak.trim().parse().expect("a number of KiB");
    let r = Run {
        code: status.code(),
        stdout,
        stdout_len,
        stderr: stderr.to_string(),
        peak_kb,
        elapsed,
    };
    eprintln!(
        "tlspost {args:?}: exit {:?} in {:?}, peak RSS {:.1} MiB, {} stdout bytes",
        r.code,
        r.elapsed,
        r.peak_mib(),
        r.stdout_len
    );
    r
}

fn no_stdin() -> Stdio {
    Stdio::null()
}

/// The plain-HTTP server of these tests ([`PathServer`]) answers by path: `/endless`, a chunked
/// body that never ends; `/declared`, `Content-Length: 1 GiB`, then bytes until the client goes;
/// `/404`, a small 404; anything else, a small 200.
fn answer(path: &str, s: &mut TcpStream) {
    match path {
        "/endless" => endless_chunked(s),
        "/declared" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
            let chunk = [b'y'; 64 * 1024];
            while s.write_all(&chunk).is_ok() {}
        }
        "/404" => {
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
        }
        _ => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall");
        }
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn lint_reads_at_most_1_mib_and_ends_quickly_on_endless_input() {
    let limit_msg = "holds more than 1 MiB (1048576 bytes), the most tlspost lint reads";
    for (args, stdin, name) in [
        (&["lint", "/dev/zero"][..], no_stdin(), "/dev/zero"),
        (
            &["lint", "-"][..],
            Stdio::from(std::fs::File::open("/dev/zero").expect("/dev/zero")),
            "stdin",
        ),
    ] {
        let r = run(args, stdin, true, Duration::from_secs(20));
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(r.stderr.contains(&format!("{name} {limit_msg}")), "{}", r.stderr);
        assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
        assert!(r.peak_kb <= 64 * 1024, "peak {:.1} MiB", r.peak_mib());
    }

    // A request of exactly 1 MiB is linted; one byte more is refused.
    let dir = tempfile::tempdir().expect("temp dir");
    let head_for = |body: usize| {
        format!(
            "POST /ingest HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/octet-stream\r\nContent-Length: {body}\r\n\r\n"
        )
    };
    let body = MIB as usize - head_for(MIB as usize).len();
    let mut req = head_for(body).into_bytes();
    req.resize(MIB as usize, b'a');
    let exact = dir.path().join("exact.http");
    std::fs::write(&exact, &req).expect("write");
    let r = kept(&["lint", &exact.display().to_string()], 60);
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.stderr);
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("(1048576 bytes checked"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    req.push(b'a');
    let over = dir.path().join("over.http");
    std::fs::write(&over, &req).expect("write");
    let r = kept(&["lint", &over.display().to_string()], 20);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains(limit_msg), "{}", r.stderr);

    // The limit is in --help.
    let help = Command::new(BIN).args(["lint", "--help"]).output().expect("help");
    assert!(String::from_utf8_lossy(&help.stdout).contains("at most 1 MiB"));
}

#[test]
fn post_writes_an_endless_body_to_a_file_as_it_arrives_in_flat_memory() {
    let server = PathServer::start(answer);
    let (_dir, file, f) = out_file("body.bin");
    let url = server.url("/endless");

    // --max-filesize stops it, as curl: exit 63, the file holds at most the limit.
    let r = kept(&["request", "--max-filesize", "20M", "-o", &f, &url], 60);
    assert_eq!(r.code, Some(63), "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than the limit of 20971520 bytes"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("tlspost: hint: --max-filesize BYTES"), "{}", r.stderr);
    let len = file_len(&file);
    assert!(len <= 20 * MIB && len > 19 * MIB, "{len}");
    assert!(r.peak_kb <= 32 * 1024, "peak {:.1} MiB", r.peak_mib());

    // -m stops it: what arrived before is in the file.
    std::fs::remove_file(&file).expect("rm");
    let r = kept(&["request", "-m", "2", "-o", &f, &url], 30);
    assert_eq!(r.code, Some(8), "{}", r.stderr);
    assert!(file_len(&file) > MIB, "{}", file_len(&file));
    assert!(r.peak_kb <= 32 * 1024, "peak {:.1} MiB", r.peak_mib());

    // A Content-Length over --max-filesize is refused before any body byte: no file.
    std::fs::remove_file(&file).expect("rm");
    let r = kept(
        &["request", "--max-filesize", "1M", "-o", &f, &server.url("/declared")],
        30,
    );
    assert_eq!(r.code, Some(63), "{}", r.stderr);
    assert!(!file.exists());
}

#[test]
fn post_writes_an_endless_body_to_stdout_as_it_arrives_in_flat_memory() {
    let server = PathServer::start(answer);
    let url = server.url("/endless");
    let r = counted(&["request", "--max-filesize", "20M", &url], 60);
    assert_eq!(r.code, Some(63), "{}", r.stderr);
    assert!(r.stdout_len <= 20 * MIB && r.stdout_len > 19 * MIB, "{}", r.stdout_len);
    assert!(r.peak_kb <= 32 * 1024, "peak {:.1} MiB", r.peak_mib());

    // -v and -m: the trace keeps a bounded part of what was received.
    let r = counted(&["request", "-v", "-m", "2", &url], 30);
    assert_eq!(r.code, Some(8), "{}", r.stderr);
    assert!(r.stdout_len > MIB, "{}", r.stdout_len);
    assert!(r.peak_kb <= 32 * 1024, "peak {:.1} MiB", r.peak_mib());
}

#[test]
fn json_output_holds_the_body_up_to_64_mib_and_names_the_flag_that_raises_it() {
    let server = PathServer::start(answer);
    let url = server.url("/endless");
    let r = kept(&["request", "--json-output", &url], 120);
    assert_eq!(r.code, Some(63), "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["exit_code"], 63);
    assert_eq!(doc["error"]["class"], "too-large");
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("larger than the limit of 67108864 bytes"), "{message}");
    assert!(!message.contains("--"), "the library names no flag: {message}");
    let hint = doc["error"]["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("--max-filesize BYTES") && hint.contains("64 MiB"),
        "{hint}"
    );

    // With --max-filesize, that is the limit; within it, the document holds the body.
    let r = kept(&["request", "--json-output", "--max-filesize", "100k", &url], 30);
    assert_eq!(r.code, Some(63), "{}", r.stderr);
    assert!(String::from_utf8_lossy(&r.stdout).contains("larger than the limit of 102400 bytes"));
    let r = kept(
        &["request", "--json-output", "--max-filesize", "5", &server.url("/small")],
        30,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).expect("one JSON document");
    assert_eq!(
        (doc["body"].as_str(), doc["body_bytes"].as_u64()),
        (Some("small"), Some(5))
    );
}

#[test]
fn include_and_fail_keep_working_on_the_streamed_body() {
    let server = PathServer::start(answer);
    let (_dir, file, f) = out_file("out");
    let r = kept(&["request", "-i", "-o", &f, &server.url("/small")], 30);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        std::fs::read(&file).expect("read"),
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall"
    );
    let r = kept(&["request", "-f", &server.url("/404")], 30);
    assert_eq!(r.code, Some(22), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("the server answered 404 Not Found (--fail)"),
        "{}",
        r.stderr
    );
    let r = kept(&["request", "-f", "-o", &f, &server.url("/404")], 30);
    assert_eq!(r.code, Some(22), "{}", r.stderr);
    assert_eq!(file_len(&file), 0);
}

#[test]
fn bytes_http_forbids_are_refused_before_any_connection() {
    // A listener that never accepts: a connection attempt would still complete into its backlog,
    // and `accept` would return it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://127.0.0.1:{}/x", listener.local_addr().expect("addr").port());
    // A NUL cannot be passed in an argument; the check that refuses CR and LF refuses it too
    // (see the unit tests of `tlspost::client`).
    let cases: &[(&[&str], &str)] = &[
        (
            &["post", "-H", "X-A: b\r\nInjected: 1"],
            r#"-H "X-A: b\r\nInjected: 1": the value holds byte 0x0d (CR)"#,
        ),
        (
            &["post", "-H", "X-A: b\nc"],
            r#"-H "X-A: b\nc": the value holds byte 0x0a (LF)"#,
        ),
        (
            &["post", "-H", "Bad Name: v"],
            r#"the header name "Bad Name" holds byte 0x20 (space)"#,
        ),
        (&["post", "-H", "X(A): v"], "(an RFC 9110 token)"),
        (&["post", "-H", "Bad\rName;"], r#"-H "Bad\rName;": the header name"#),
        (
            &["post", "-A", "acme/1\r\nX-Injected: 1"],
            r#"-A "acme/1\r\nX-Injected: 1": the value holds byte 0x0d (CR)"#,
        ),
        (
            &["request", "-X", "GET /evil HTTP/1.1\r\n"],
            r#"-X "GET /evil HTTP/1.1\r\n": the method"#,
        ),
    ];
    for (args, shown) in cases {
        for target in [url.as_str(), "https://no-such-host.invalid/x"] {
            let mut all = args.to_vec();
            all.push(target);
            let out = Command::new(BIN).args(&all).output().expect("run");
            let err = String::from_utf8_lossy(&out.stderr);
            // 2, not 4: no DNS was asked either.
            assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
            assert!(err.contains(shown), "{all:?}: {err}");
            assert!(
                !err.contains("error:"),
                "refused as usage, not as a failed exchange: {err}"
            );
        }
    }
    // A URL with such a byte, too.
    let bad = format!("{url}\r\nX-Injected: 1");
    let out = Command::new(BIN).args(["post", &bad]).output().expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a connection was made: {other:?}"),
    }
    // The same server does get a good request (the listener is usable).
    let server = PathServer::start(answer);
    let out = Command::new(BIN)
        .args(["post", "-H", "X-A: fine", "-A", "acme/1", &server.url("/small")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(server.connections(), 1);
}

//! `tlspost post` and `tlspost request`: curl's spellings, the device's bytes, and a clear verdict.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};
use tlspost::client::{BodySink, DEFAULT_MAX_BODY, RequestSpec, Response};
use tlspost::probe::{Alert, CertProblem, TlsFailure};
use tlspost::proto::Budgets;
use tlspost::proto::Phase;
use tlspost::proto::escape::{Escaped, EscapedText};
use tlspost::proto::redirect::RedirectPolicy;
use tlspost::proto::retry::RetryPolicy;
use tlspost::trace::{Ms, render, verbose};
use tlspost::url::HttpUrl;
use tlspost::{Client, ConnectFailure, Error, ErrorClass, Trust, UrlProblem};

use super::common::{self, MessageArgs, bad_token, bad_value};
use crate::{exit, out};

/// Options shared by `post` and `request`, spelled as curl spells them.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// The URL (`https://host[:port]/path`).
    pub url: String,
    #[command(flatten)]
    pub message: MessageArgs,
    /// Trust only the roots in this PEM file (repeatable). Pin roots, never the leaf.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Trust the system's CA bundle instead of Mozilla's roots.
    #[arg(long = "system-roots")]
    pub system_roots: bool,
    /// Connect to ADDR for HOST:PORT (SNI and Host stay HOST), like curl.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Budget for TCP connect, in seconds.
    #[arg(long = "connect-timeout", value_name = "SECS")]
    pub connect_timeout: Option<f64>,
    /// Budget for the whole request, in seconds.
    #[arg(short = 'm', long = "max-time", value_name = "SECS")]
    pub max_time: Option<f64>,
    /// Retry transient failures up to N times (a POST only while nothing was sent).
    #[arg(long = "retry", value_name = "N", default_value_t = 0)]
    pub retry: u32,
    /// Follow redirects (307/308 keep the POST and body; 301/302/303 on a POST are refused).
    #[arg(short = 'L', long = "location")]
    pub location: bool,
    /// Send HTTP/1.0 requests.
    #[arg(long = "http1.0")]
    pub http10: bool,
    /// Print the response head before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Say what happens: connection, TLS summary, heads both ways, timings, who answered.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Print every byte both ways (escaped like curl --trace-ascii) on stderr.
    #[arg(long = "trace")]
    pub trace: bool,
    /// Show secrets (Authorization and other secret headers, cookie values, URL passwords, query, form
    /// and JSON fields named like token, secret, password, key) in -v and --trace.
    #[arg(long = "show-secrets")]
    pub show_secrets: bool,
    /// Write the body to FILE instead of stdout, as it arrives.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The largest response body accepted, in bytes (suffixes k, M, G: 1024-based), as curl: a
    /// larger one ends with exit 63 (at once when its Content-Length says so). Default: no limit for
    /// a body written to stdout or -o (the time budgets end an endless one); 64 MiB with
    /// --json-output, which holds the body in memory.
    #[arg(long = "max-filesize", value_name = "BYTES", value_parser = parse_size)]
    pub max_filesize: Option<u64>,
    /// Exit with 22 when the status is 400 or above.
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,
    /// Accept any certificate. DANGEROUS: anyone on the path can read and change the request.
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Print one JSON document (status, headers, body, timings, TLS facts, answered by, attempts).
    #[arg(long = "json-output")]
    pub json_output: bool,
    /// Send the request N times from one client, as a device loop would: the connection is kept
    /// alive (or, with `-H "Connection: close"`, the TLS session is resumed on each reconnect).
    #[arg(long = "repeat", value_name = "N", default_value_t = 1)]
    pub repeat: u32,
}

/// Arguments of `tlspost post`.
#[derive(Args, Debug, Clone)]
#[command(after_help = exit::help("", exit::POST))]
pub struct PostArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// Arguments of `tlspost request`.
#[derive(Args, Debug, Clone)]
#[command(after_help = exit::help("", exit::POST))]
pub struct RequestArgs {
    /// The method.
    #[arg(short = 'X', long = "request", value_name = "METHOD", default_value = "GET")]
    method: String,
    #[command(flatten)]
    common: CommonArgs,
}

/// Runs `tlspost post`.
pub fn run_post(args: PostArgs) -> ExitCode {
    ExitCode::from(run("POST", &args.common))
}

/// Runs `tlspost request`.
pub fn run_request(args: RequestArgs) -> ExitCode {
    ExitCode::from(run(&args.method, &args.common))
}

fn usage(msg: &str) -> u8 {
    eprintln!("tlspost: {msg}");
    exit::USAGE
}

/// `--max-filesize`: bytes, with curl's suffixes k, M, G (1024-based, any case).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (t.get(..i).unwrap_or(""), c.to_ascii_lowercase()),
        _ => (t, 'b'),
    };
    let shift = match unit {
        'b' => 0,
        'k' => 10,
        'm' => 20,
        'g' => 30,
        _ => {
            return Err(format!(
                "{s:?}: a number of bytes, optionally with k, M or G (e.g. 200k, 3M, 1G)"
            ));
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: a number of bytes, optionally with k, M or G (e.g. 200k, 3M, 1G)"))?;
    n.checked_mul(1u64 << shift).ok_or_else(|| format!("{s:?}: too large"))
}

fn secs_ms(flag: &str, s: f64) -> Result<u64, String> {
    if !(s.is_finite() && s > 0.0) {
        return Err(format!("{flag} must be a positive number of seconds"));
    }
    Ok((s * 1000.0).ceil() as u64)
}

fn build(a: &CommonArgs) -> Result<Client, String> {
    let trust = if a.insecure {
        eprintln!(
            "tlspost: WARNING: --insecure: the server's certificate is NOT checked. Anyone on the path can read \
             and change this request. Never ship a device that does this; pin roots with --cacert instead."
        );
        Trust::InsecureAcceptAnyCertificate
    } else if !a.cacert.is_empty() {
        Trust::pinned_files(&a.cacert).map_err(|e| e.to_string())?
    } else if a.system_roots {
        Trust::System
    } else {
        Trust::Mozilla
    };
    let mut budgets = Budgets::default();
    if let Some(s) = a.connect_timeout {
        budgets.connect = Some(secs_ms("--connect-timeout", s)?);
    }
    if let Some(s) = a.max_time {
        let ms = secs_ms("--max-time", s)?;
        budgets.total = Some(ms);
        // Phase budgets never exceed the total.
        for b in [
            &mut budgets.connect,
            &mut budgets.handshake,
            &mut budgets.send,
            &mut budgets.first_byte,
            &mut budgets.body,
        ] {
            *b = b.map(|v| v.min(ms));
        }
    }
    let mut b = Client::builder()
        .trust(trust)
        .budgets(budgets)
        .http10(a.http10)
        .trace(a.verbose || a.trace)
        .max_body(a.max_filesize.unwrap_or(DEFAULT_MAX_BODY))
        .max_streamed_body(a.max_filesize)
        .redirect(RedirectPolicy {
            follow: a.location,
            ..RedirectPolicy::default()
        });
    if a.retry > 0 {
        b = b.retry(RetryPolicy {
            max_attempts: a.retry.saturating_add(1),
            ..RetryPolicy::default()
        });
    }
    if let Some(ua) = &a.message.user_agent {
        b = b.user_agent(ua);
    }
    for o in common::overrides(&a.resolve)? {
        b = b.resolve_override(o);
    }
    b.build().map_err(|e| e.to_string())
}

/// `-A`, `-X`: refused before any connection when HTTP forbids a byte of them there.
fn check_line_parts(method: &str, user_agent: Option<&str>) -> Result<(), String> {
    if let Some(ua) = user_agent {
        if let Some(why) = bad_value(ua.as_bytes()) {
            return Err(format!("-A {ua:?}: {why}"));
        }
    }
    if let Some(why) = bad_token("method", method) {
        return Err(format!("-X {method:?}: {why}"));
    }
    Ok(())
}

/// What the CLI adds to a library error: the flag of this tool that fixes it, where one exists.
/// `binary_refused`: the body was not written because it is binary and stdout is a terminal.
pub(crate) fn hint(e: &Error, binary_refused: bool) -> Option<String> {
    match (e.class(), e) {
        (_, Error::Dns { host, .. }) => Some(format!(
            "--resolve {host}:PORT:ADDR connects to a known address without asking DNS"
        )),
        (ErrorClass::Timeout(Phase::Connect) | ErrorClass::Connect(ConnectFailure::TimedOut), _) => {
            Some("--connect-timeout SECS sets the connect budget (default 5 s)".into())
        }
        (ErrorClass::Timeout(Phase::Total), _) => {
            Some("--max-time SECS sets the budget of the whole request (default 60 s)".into())
        }
        (_, Error::Tls { host, error }) => match &error.failure {
            TlsFailure::Certificate(CertProblem::UnknownIssuer) => Some(format!(
                "--cacert ROOT.pem trusts a root (pin roots, never the leaf); `tlspost certs {host}` says \
                 which root to pin"
            )),
            TlsFailure::Certificate(CertProblem::NameMismatch { .. }) => {
                Some("--resolve NAME:PORT:ADDR reaches an address under a name the certificate holds".into())
            }
            TlsFailure::Alert(Alert::UnrecognizedName) => {
                Some("--resolve NAME:PORT:ADDR connects to ADDR while sending NAME as SNI and Host".into())
            }
            _ => None,
        },
        (ErrorClass::Output, _) if binary_refused => {
            Some("-o FILE saves the body; -o - writes it to the terminal anyway".into())
        }
        (ErrorClass::TooLarge, _) => Some(format!(
            "--max-filesize BYTES sets the largest body accepted (without it: no limit for a body written to \
             stdout or -o, {} MiB with --json-output, which holds the body in memory)",
            DEFAULT_MAX_BODY >> 20
        )),
        (
            _,
            Error::Http {
                error: tlspost::proto::Error::Head(tlspost::proto::HeadError::ClosedBeforeHead { received: 0 }),
                ..
            },
        ) => Some(
            "`tlspost serve` records a request exactly as it arrives: send it there to see what the server got".into(),
        ),
        _ => None,
    }
}

/// The exit code for a class of error.
pub fn exit_code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Usage => exit::USAGE,
        ErrorClass::Dns => exit::DNS,
        ErrorClass::Connect(_) => exit::CONNECT,
        ErrorClass::TlsCertificate => exit::TLS_CERTIFICATE,
        ErrorClass::TlsHandshake => exit::TLS_HANDSHAKE,
        ErrorClass::Timeout(_) => exit::TIMEOUT,
        ErrorClass::Redirect => exit::REDIRECT,
        ErrorClass::TooLarge => exit::MAX_FILESIZE,
        ErrorClass::Output => exit::WRITE,
        _ => exit::HTTP,
    }
}

fn run(method: &str, a: &CommonArgs) -> u8 {
    let body = match a.message.body() {
        Ok(b) => b,
        Err(m) => return usage(&m),
    };
    let (headers, omit) = match a.message.headers() {
        Ok(h) => h,
        Err(m) => return usage(&m),
    };
    if let Err(m) = check_line_parts(method, a.message.user_agent.as_deref()) {
        return usage(&m);
    }
    let mut client = match build(a) {
        Ok(c) => c,
        Err(m) => return usage(&m),
    };
    // Parsed once, here, where it is given; the client carries it parsed.
    let url = match HttpUrl::parse(&a.url) {
        Ok(u) => u,
        Err(e) => {
            let e = Error::Url {
                url: a.url.clone(),
                reason: UrlProblem::Syntax(e),
            };
            return failed(a, &e, 1, false);
        }
    };
    let spec = RequestSpec {
        headers,
        omit,
        body,
        ..RequestSpec::new(method, url)
    };
    let mut last = exit::OK;
    for _ in 0..a.repeat.max(1) {
        last = once(a, &mut client, &spec);
        if last != exit::OK {
            break;
        }
    }
    last
}

fn once(a: &CommonArgs, client: &mut Client, spec: &RequestSpec) -> u8 {
    // --json-output holds the body for the document; otherwise it goes out as it arrives.
    let mut out = Output::new(a);
    let result = if a.json_output {
        client.send(spec)
    } else {
        client.send_to(spec, &mut out)
    };
    if let Err(e) = &result {
        // What arrived before the failure is written, as curl does, before the error is told.
        if let (Err(w), false) = (out.finish(false), a.json_output || e.class() == ErrorClass::Output) {
            eprintln!("tlspost: cannot write the body: {w}");
        }
    }
    let mut err = std::io::stderr().lock();
    if a.trace {
        let _ = err.write_all(render(client.trace(), a.show_secrets).as_bytes());
    } else if a.verbose {
        let _ = err.write_all(verbose(client.trace(), a.show_secrets).as_bytes());
    }
    match result {
        Err(e) => {
            drop(err);
            failed(a, &e, client.last_attempts(), out.binary_refused)
        }
        Ok(r) => {
            if r.answered_by.made_by_edge || a.verbose {
                let _ = writeln!(err, "tlspost: {}", EscapedText(&r.answered_by.sentence(r.status)));
            }
            if !a.location {
                if let Some(note) = redirect_note(&spec.method, &r) {
                    let _ = writeln!(err, "tlspost: {}", EscapedText(&note));
                }
            }
            drop(err);
            let failed = a.fail && r.status >= 400;
            if a.json_output {
                out::println(result_json(&r));
            } else if let Err(e) = out.finish(true) {
                eprintln!("tlspost: cannot write the body: {e}");
                return exit::WRITE;
            }
            if failed {
                eprintln!(
                    "tlspost: the server answered {} {} (--fail)",
                    r.status,
                    Escaped(r.reason.as_bytes())
                );
                return exit::HTTP_STATUS;
            }
            exit::OK
        }
    }
}

/// Tells a failed request: the error, the flag that fixes it, the attempts made (and, with
/// `--json-output`, the same as a document); returns the exit code.
fn failed(a: &CommonArgs, e: &Error, attempts: u32, binary_refused: bool) -> u8 {
    let code = exit_code(e.class());
    let hint = hint(e, binary_refused);
    let mut err = std::io::stderr().lock();
    // Whatever a server sent that reaches the message (a name, a reason) is escaped.
    let _ = writeln!(err, "tlspost: error: {}", EscapedText(&e.to_string()));
    if let Some(h) = &hint {
        let _ = writeln!(err, "tlspost: hint: {}", EscapedText(h));
    }
    if attempts > 1 {
        let _ = writeln!(err, "tlspost: {attempts} attempts were made");
    }
    if a.json_output {
        let doc = json!({
            "url": a.url,
            "attempts": attempts,
            "error": { "class": e.class().name(), "message": e.to_string(), "hint": hint, "exit_code": code },
        });
        out::println(doc);
    }
    code
}

/// A redirect answered without `-L`: where it points, and what `-L` would do with it (the same
/// decision the client makes with `-L`).
fn redirect_note(method: &str, r: &Response) -> Option<String> {
    use tlspost::proto::redirect::{self, RedirectDecision, RedirectError};
    if !matches!(r.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let status = r.status;
    let Some(raw) = r.header("location") else {
        return Some(format!(
            "{status} redirect without a Location header: it points nowhere"
        ));
    };
    let location = Escaped(raw);
    let here = r.url.as_url();
    let follow = RedirectPolicy {
        follow: true,
        ..RedirectPolicy::default()
    };
    let what = match redirect::decide(&follow, method, &here, status, Some(raw), 0) {
        Ok(RedirectDecision::Follow(to)) => format!(
            "use -L to follow it: {} {}{}",
            to.method_str(method),
            to.target,
            if to.keep_body && method != "GET" && method != "HEAD" {
                ", with the same body"
            } else {
                ""
            }
        ),
        Err(RedirectError::MethodWouldChange { from, .. }) => format!(
            "-L refuses it too: a {status} turns a {from} into a GET without the body; have the server \
             answer 307 or 308, or send the {from} to that URL directly"
        ),
        Err(RedirectError::Downgrade { .. }) => "-L never follows https to http".to_string(),
        Err(RedirectError::OtherHost { .. }) => {
            "-L follows only to the same host and port; send the request to that URL directly".to_string()
        }
        Err(e) => format!("-L cannot follow it: {e}"),
        Ok(_) => return None,
    };
    Some(format!("{status} redirect to {location} not followed ({what})"))
}

/// Body bytes written to stdout only once the response ends, unless there are more: so that, for a
/// small body, what stderr says about the response (who answered, a redirect not followed) comes
/// first, while a large one still goes out as it arrives.
const STDOUT_HOLD: usize = 64 * 1024;

/// Where the body goes, as it arrives: `-o FILE` (created when the response's head arrives) or
/// stdout; `-i` puts the head first; with `--fail`, the body of a status of 400 or above is dropped.
struct Output<'a> {
    path: Option<&'a Path>,
    file: Option<BufWriter<std::fs::File>>,
    stdout: Option<BufWriter<out::Stdout>>,
    held: Vec<u8>,
    /// Stdout is a terminal and `-o -` did not ask for the body there whatever it holds: a binary
    /// body (a NUL byte, as curl judges) is refused rather than sent to the terminal raw.
    guard_terminal: bool,
    /// The body was refused for that reason.
    binary_refused: bool,
    include: bool,
    fail: bool,
    failed: bool,
}

impl<'a> Output<'a> {
    fn new(a: &'a CommonArgs) -> Output<'a> {
        // `-o -` is stdout, as in curl, and says "even a binary body".
        let dash = a.output.as_deref().is_some_and(|p| p.as_os_str() == "-");
        Output {
            path: a.output.as_deref().filter(|_| !dash),
            file: None,
            stdout: None,
            held: Vec::new(),
            guard_terminal: !dash && std::io::IsTerminal::is_terminal(&std::io::stdout()),
            binary_refused: false,
            include: a.include,
            fail: a.fail,
            failed: false,
        }
    }

    fn put(&mut self, data: &[u8]) -> std::io::Result<()> {
        if let Some(path) = self.path {
            let file = match &mut self.file {
                Some(f) => f,
                None => self.file.insert(BufWriter::with_capacity(
                    STDOUT_HOLD,
                    std::fs::File::create(path).map_err(|e| self.named(e))?,
                )),
            };
            return file.write_all(data).map_err(|e| self.named(e));
        }
        if self.guard_terminal && data.contains(&0) {
            self.binary_refused = true;
            return Err(std::io::Error::other(
                "the body is binary and stdout is a terminal, where it could leave the terminal in a \
                 strange state; it was not written",
            ));
        }
        if self.stdout.is_none() && self.held.len().saturating_add(data.len()) <= STDOUT_HOLD {
            self.held.extend_from_slice(data);
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        let out = self
            .stdout
            .get_or_insert_with(|| BufWriter::with_capacity(STDOUT_HOLD, out::stdout()));
        out.write_all(&held)?;
        out.write_all(data)
    }

    /// An error of `-o FILE`, with the file's name.
    fn named(&self, e: std::io::Error) -> std::io::Error {
        match self.path {
            Some(p) => std::io::Error::new(e.kind(), format!("{}: {e}", p.display())),
            None => e,
        }
    }

    /// Writes what is held and flushes; once `answered`, creates `-o FILE` even for an empty body.
    fn finish(&mut self, answered: bool) -> std::io::Result<()> {
        if answered && self.path.is_some() && self.file.is_none() {
            self.put(&[])?;
        }
        if let Some(f) = &mut self.file {
            f.flush().map_err(|e| self.named(e))?;
        }
        if self.path.is_none() && (self.stdout.is_some() || !self.held.is_empty()) {
            let held = std::mem::take(&mut self.held);
            let out = self
                .stdout
                .get_or_insert_with(|| BufWriter::with_capacity(STDOUT_HOLD, out::stdout()));
            out.write_all(&held)?;
            out.flush()?;
        }
        Ok(())
    }
}

impl BodySink for Output<'_> {
    fn on_head(&mut self, status: u16, head: &[u8]) -> std::io::Result<()> {
        self.failed = self.fail && status >= 400;
        if self.include { self.put(head) } else { Ok(()) }
    }
    fn on_body(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.failed { Ok(()) } else { self.put(data) }
    }
    /// `--retry` after a body failed part way: `-o FILE` starts again empty (as curl does); stdout
    /// can take back only what it still holds.
    fn discard(&mut self) -> bool {
        if let Some(file) = self.file.take() {
            let (file, _unwritten) = file.into_parts();
            return file.set_len(0).is_ok();
        }
        if self.stdout.is_some() {
            return false;
        }
        self.held.clear();
        true
    }
}

/// The `--json-output` document.
pub fn result_json(r: &Response) -> Value {
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|(n, v)| json!([n, String::from_utf8_lossy(v)]))
        .collect();
    let tls = r.tls.as_ref().map(|t| {
        json!({
            "version": t.version.to_string(),
            "cipher": t.suite_text(),
            "alpn": t.alpn_text(),
            "resumed": t.resumed(),
            "sni": t.sni,
            "chain": t.certs().iter().map(|c| json!({
                "subject": c.subject, "issuer": c.issuer,
                "not_before": c.not_before_utc(), "not_after": c.not_after_utc(), "names": c.sans,
            })).collect::<Vec<_>>(),
        })
    });
    let a = &r.answered_by;
    let (t, ms) = (&r.timings, |d| Ms(d).value());
    json!({
        "url": r.url.to_string(),
        "status": r.status,
        "reason": r.reason,
        "http_version": if r.version == 0 { "HTTP/1.0" } else { "HTTP/1.1" },
        "headers": headers,
        "body": String::from_utf8_lossy(&r.body),
        "body_bytes": r.body.len(),
        "attempts": r.attempts,
        "redirects": r.redirects.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "reused_connection": r.reused_connection,
        "request_bytes": r.request_bytes,
        "timings_ms": {
            "dns": ms(t.dns), "connect": ms(t.connect), "tls": ms(t.tls),
            "sent": ms(t.sent), "first_byte": ms(t.first_byte), "total": ms(t.total),
        },
        "tls": tls,
        "answered_by": {
            "by": if a.made_by_edge { "edge" } else { "origin" },
            "edge": a.edge.map(|v| v.name()), "code": a.code, "what": a.what, "hint": a.hint, "ray": a.ray,
            "sentence": a.sentence(r.status),
        },
    })
}

//! `tlspost post` and `tlspost request`: curl's spellings, the device's bytes, and a clear verdict.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};
use tlspost::client::{BodySpec, RequestSpec, Response};
use tlspost::proto::Budgets;
use tlspost::proto::redirect::RedirectPolicy;
use tlspost::proto::retry::RetryPolicy;
use tlspost::trace::{TraceEvent, mask_secrets, render};
use tlspost::{Client, Error, Trust};

/// Exit codes, one per failure class (documented in docs/post.md).
pub mod exit {
    /// The request was answered (with `--fail`: with a status below 400).
    pub const OK: u8 = 0;
    /// Bad arguments, an unreadable file, or an unusable URL or CA file.
    pub const USAGE: u8 = 2;
    /// The host name did not resolve.
    pub const DNS: u8 = 4;
    /// TCP connect failed (refused, unreachable).
    pub const CONNECT: u8 = 5;
    /// The server's certificate was refused (unknown issuer, incomplete chain, name, dates).
    pub const TLS_CERTIFICATE: u8 = 6;
    /// The TLS handshake failed otherwise (alert, protocol version).
    pub const TLS_HANDSHAKE: u8 = 7;
    /// A phase's budget ran out (connect, TLS, send, first byte, body, total).
    pub const TIMEOUT: u8 = 8;
    /// The exchange broke: connection lost, malformed or truncated response, body too large.
    pub const HTTP: u8 = 9;
    /// A redirect was refused (e.g. a 301 that would turn the POST into a GET).
    pub const REDIRECT: u8 = 10;
    /// `--fail` and the status was 400 or above.
    pub const HTTP_STATUS: u8 = 22;
    /// The body could not be written to the output.
    pub const WRITE: u8 = 23;
}

/// Options shared by `post` and `request`, spelled as curl spells them.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// The URL (`https://host[:port]/path`).
    pub url: String,
    /// Send JSON: `DATA`, `@FILE` or `@-` (stdin). Sets `Content-Type: application/json`.
    #[arg(long, value_name = "DATA")]
    pub json: Option<String>,
    /// Send a form (`application/x-www-form-urlencoded`); repeat to join with `&`; `@FILE` reads a file
    /// without its line breaks.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,
    /// Send bytes exactly as given (`@FILE` reads a file as is).
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Option<String>,
    /// Add a header: `-H "Name: value"` (repeatable); replaces an automatic header of that name.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// The `User-Agent` (default `tlspost/<version>`).
    #[arg(short = 'A', long = "user-agent", value_name = "UA")]
    pub user_agent: Option<String>,
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
    /// Show secrets (Authorization, Cookie, JSON secret/password/token fields) in -v and --trace.
    #[arg(long = "show-secrets")]
    pub show_secrets: bool,
    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
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
pub struct PostArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// Arguments of `tlspost request`.
#[derive(Args, Debug, Clone)]
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

/// `DATA`, `@FILE` or `@-`, for `flag`.
fn load(flag: &str, arg: &str) -> Result<Vec<u8>, String> {
    match arg.strip_prefix('@') {
        Some("-") => {
            let mut v = Vec::new();
            std::io::stdin()
                .read_to_end(&mut v)
                .map_err(|e| format!("{flag} @-: cannot read stdin: {e}"))?;
            Ok(v)
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("{flag} @{path}: cannot read it: {e}")),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

fn body(a: &CommonArgs) -> Result<BodySpec, String> {
    request_body(a.json.as_deref(), &a.data, a.data_binary.as_deref())
}

/// The body from curl's flags (`--json`, `-d/--data`, `--data-binary`), as `post` and `doctor` take them.
pub(crate) fn request_body(json: Option<&str>, data: &[String], data_binary: Option<&str>) -> Result<BodySpec, String> {
    let kinds = usize::from(json.is_some()) + usize::from(!data.is_empty()) + usize::from(data_binary.is_some());
    if kinds > 1 {
        return Err("use only one of --json, -d/--data and --data-binary".to_string());
    }
    if let Some(j) = json {
        return Ok(BodySpec::Json(load("--json", j)?));
    }
    if let Some(b) = data_binary {
        return Ok(BodySpec::Form(load("--data-binary", b)?));
    }
    if !data.is_empty() {
        let mut out = Vec::new();
        for (i, d) in data.iter().enumerate() {
            if i > 0 {
                out.push(b'&');
            }
            let mut v = load("-d", d)?;
            if d.starts_with('@') {
                v.retain(|&b| b != b'\r' && b != b'\n');
            }
            out.extend_from_slice(&v);
        }
        return Ok(BodySpec::Form(out));
    }
    Ok(BodySpec::None)
}

fn parse_resolve(s: &str) -> Result<(String, u16, SocketAddr), String> {
    let bad = || format!("--resolve {s:?}: expected HOST:PORT:ADDR, e.g. api.example.com:443:192.0.2.10");
    let (host, rest) = s.split_once(':').ok_or_else(bad)?;
    let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    Ok((host.to_string(), port, SocketAddr::new(ip, port)))
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
    if let Some(ua) = &a.user_agent {
        b = b.user_agent(ua);
    }
    for r in &a.resolve {
        let (h, p, addr) = parse_resolve(r)?;
        b = b.resolve(&h, p, addr);
    }
    b.build().map_err(|e| e.to_string())
}

fn headers(a: &CommonArgs) -> Result<Vec<(String, Vec<u8>)>, String> {
    a.headers
        .iter()
        .map(|h| {
            let (n, v) = h
                .split_once(':')
                .ok_or_else(|| format!("-H {h:?}: expected \"Name: value\""))?;
            Ok((n.trim().to_string(), v.trim().as_bytes().to_vec()))
        })
        .collect()
}

/// The exit code for an error.
pub fn exit_code(e: &Error) -> u8 {
    match e.class() {
        "usage" => exit::USAGE,
        "dns" => exit::DNS,
        "connect" => exit::CONNECT,
        "tls-certificate" => exit::TLS_CERTIFICATE,
        "tls-handshake" => exit::TLS_HANDSHAKE,
        "timeout" => exit::TIMEOUT,
        "redirect" => exit::REDIRECT,
        _ => exit::HTTP,
    }
}

fn run(method: &str, a: &CommonArgs) -> u8 {
    let body = match body(a) {
        Ok(b) => b,
        Err(m) => return usage(&m),
    };
    let headers = match headers(a) {
        Ok(h) => h,
        Err(m) => return usage(&m),
    };
    let mut client = match build(a) {
        Ok(c) => c,
        Err(m) => return usage(&m),
    };
    let spec = RequestSpec {
        method: method.to_string(),
        url: a.url.clone(),
        headers,
        body,
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
    let result = client.send(spec);
    let mut err = std::io::stderr().lock();
    if a.trace {
        let _ = err.write_all(render(client.trace(), a.show_secrets).as_bytes());
    } else if a.verbose {
        let _ = err.write_all(verbose(client.trace(), a.show_secrets).as_bytes());
    }
    match result {
        Err(e) => {
            let code = exit_code(&e);
            let attempts = client.last_attempts();
            let _ = writeln!(err, "tlspost: error: {e}");
            if attempts > 1 {
                let _ = writeln!(err, "tlspost: {attempts} attempts were made");
            }
            if a.json_output {
                let doc = json!({
                    "url": a.url,
                    "attempts": attempts,
                    "error": { "class": e.class(), "message": e.to_string(), "exit_code": code },
                });
                println!("{doc}");
            }
            code
        }
        Ok(r) => {
            if r.answered_by.made_by_edge || a.verbose {
                let _ = writeln!(err, "tlspost: {}", r.answered_by.sentence(r.status));
            }
            drop(err);
            let failed = a.fail && r.status >= 400;
            if a.json_output {
                println!("{}", result_json(&r));
            } else if let Err(e) = output(a, &r, failed) {
                eprintln!("tlspost: cannot write the body: {e}");
                return exit::WRITE;
            }
            if failed {
                eprintln!("tlspost: the server answered {} {} (--fail)", r.status, r.reason);
                return exit::HTTP_STATUS;
            }
            exit::OK
        }
    }
}

fn output(a: &CommonArgs, r: &Response, failed: bool) -> std::io::Result<()> {
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    if a.include {
        out.write_all(&r.head)?;
    }
    if !failed {
        out.write_all(&r.body)?;
    }
    out.flush()
}

/// `-v`: information lines, and the heads both ways (`> ` sent, `< ` received).
fn verbose(events: &[TraceEvent], show: bool) -> String {
    let mut s = String::new();
    let mut in_req_head = true;
    let mut in_resp_head = true;
    for e in events {
        match e {
            TraceEvent::Info(m) => {
                for line in m.lines() {
                    s.push_str("* ");
                    s.push_str(line);
                    s.push('\n');
                }
                in_req_head = true;
                in_resp_head = true;
            }
            TraceEvent::Sent(d) | TraceEvent::Received(d) => {
                let sent = matches!(e, TraceEvent::Sent(_));
                let flag = if sent { &mut in_req_head } else { &mut in_resp_head };
                if !*flag {
                    continue;
                }
                let data = if show { d.clone() } else { mask_secrets(d) };
                let text = String::from_utf8_lossy(&data);
                for line in text.split("\r\n") {
                    if line.is_empty() {
                        *flag = false;
                        break;
                    }
                    s.push_str(if sent { "> " } else { "< " });
                    s.push_str(line);
                    s.push('\n');
                }
            }
        }
    }
    s
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
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
            "version": t.version,
            "cipher": t.cipher,
            "alpn": t.alpn,
            "resumed": t.resumed,
            "sni": t.sni,
            "chain": t.chain.iter().map(|c| json!({
                "subject": c.subject, "issuer": c.issuer,
                "not_before": c.not_before, "not_after": c.not_after, "names": c.names,
            })).collect::<Vec<_>>(),
        })
    });
    let a = &r.answered_by;
    json!({
        "url": r.url,
        "status": r.status,
        "reason": r.reason,
        "http_version": if r.version == 0 { "HTTP/1.0" } else { "HTTP/1.1" },
        "headers": headers,
        "body": String::from_utf8_lossy(&r.body),
        "body_bytes": r.body.len(),
        "attempts": r.attempts,
        "redirects": r.redirects,
        "reused_connection": r.reused_connection,
        "request_bytes": r.request_bytes,
        "timings_ms": {
            "dns": ms(r.timings.dns), "connect": ms(r.timings.connect), "tls": ms(r.timings.tls),
            "sent": ms(r.timings.sent), "first_byte": ms(r.timings.first_byte), "total": ms(r.timings.total),
        },
        "tls": tls,
        "answered_by": {
            "by": if a.made_by_edge { "edge" } else { "origin" },
            "edge": a.edge, "code": a.code, "what": a.what, "hint": a.hint, "ray": a.ray,
            "sentence": a.sentence(r.status),
        },
    })
}

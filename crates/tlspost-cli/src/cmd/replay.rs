//! `tlspost replay`: send a captured request's exact bytes again, through the running capture
//! server's API (the server holds the data directory), and show how the answer differs.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tlspost::probe::Trust;
use tlspost::url::HttpUrl;
use tlspost_serve::Forward;
use tlspost_serve::replay::{Edits, Recorded, ReplayRequest, Replayed};

use crate::cmd::common;
use crate::exit;

/// Arguments of `tlspost replay`.
#[derive(clap::Args)]
#[command(after_help = exit::help(
    "Without --to, the server sends the bytes to its own upstream (tlspost serve --upstream); the \
     API never sends anywhere else. With --to, this command sends them and the server records the \
     result. Either way the result is a new capture linked to the original. See docs/serve.md.",
    exit::REPLAY
))]
pub struct ReplayArgs {
    /// The capture to send again.
    pub id: i64,
    /// The running capture server's HTTP listener (where its UI is).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The UI token a server beyond loopback prints at start.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Send to this URL (`https://host[:port]`) instead of the server's upstream.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Set a header: `-H "Name: value"` replaces the first field of that name in place, or is added.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// A new JSON body: `DATA` or `@FILE` (sets Content-Type: application/json and Content-Length).
    #[arg(long, value_name = "DATA", conflicts_with = "data")]
    pub json: Option<String>,
    /// A new body, bytes as given: `DATA` or `@FILE` (sets Content-Length).
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,
    /// With --to: trust only the roots in this PEM file (repeatable); default Mozilla's roots.
    #[arg(long = "cacert", value_name = "FILE", requires = "to")]
    pub cacert: Vec<PathBuf>,
    /// With --to: connect to ADDR for HOST:PORT, like curl.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR", requires = "to")]
    pub resolve: Vec<String>,
    /// Print the server's answer as JSON.
    #[arg(long = "json-output")]
    pub json_output: bool,
}

/// Runs `tlspost replay`.
pub fn run(args: ReplayArgs) -> ExitCode {
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(e) => return exit::usage("replay", e),
    };
    match replay(args.id, plan) {
        Ok(r) => {
            if args.json_output {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                print!("{}", render(&r));
            }
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("tlspost replay: {e}");
            ExitCode::from(exit::FAILED)
        }
    }
}

fn load(flag: &str, v: &str) -> Result<Vec<u8>, String> {
    match v.strip_prefix('@') {
        Some(path) => std::fs::read(path).map_err(|e| format!("{flag} @{path}: cannot read it: {e}")),
        None => Ok(v.as_bytes().to_vec()),
    }
}

fn edits(args: &ReplayArgs) -> Result<Edits, String> {
    let mut e = Edits::default();
    for h in &args.headers {
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| format!("-H {h:?}: write \"Name: value\""))?;
        e.headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    if let Some(j) = &args.json {
        e.body = Some(load("--json", j)?);
        if !e.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
            e.headers.push(("Content-Type".into(), "application/json".into()));
        }
    } else if let Some(d) = &args.data {
        e.body = Some(load("--data", d)?);
    }
    Ok(e)
}

/// The server's API, over one plain connection per call.
struct Api {
    url: HttpUrl,
    token: Option<String>,
}

impl Api {
    fn call(&self, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let (host, port) = (self.url.host(), self.url.port_or_default());
        let authority = match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let fail = |e: std::io::Error| {
            format!(
                "the capture server at {} did not answer: {e} (--server URL)",
                self.url.as_url()
            )
        };
        let mut s = std::net::TcpStream::connect((host, port)).map_err(fail)?;
        s.set_read_timeout(Some(Duration::from_secs(120))).map_err(fail)?;
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
        if let Some(t) = &self.token {
            req += &format!("Authorization: Bearer {t}\r\n");
        }
        for (n, v) in extra {
            req += &format!("{n}: {v}\r\n");
        }
        req += &format!("Content-Length: {}\r\n\r\n", body.len());
        s.write_all(req.as_bytes()).map_err(fail)?;
        s.write_all(body).map_err(fail)?;
        let mut all = Vec::new();
        s.read_to_end(&mut all).map_err(fail)?;
        let end = all
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("the capture server's answer has no end of head")?;
        let head = String::from_utf8_lossy(all.get(..end).unwrap_or_default()).into_owned();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut body = all.get(end + 4..).unwrap_or_default().to_vec();
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        Ok((status, body))
    }

    /// GET `path`: the body of a 200, else the server's words.
    fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        match self.call("GET", path, &[], b"")? {
            (200, b) => Ok(b),
            (status, b) => Err(format!("{path}: {status} {}", String::from_utf8_lossy(&b).trim())),
        }
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(b.get(..nl).unwrap_or_default())
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(b.get(nl + 2..nl + 2 + size).unwrap_or_default());
        b = b.get(nl + 4 + size..).unwrap_or_default();
    }
    out
}

/// The CSRF token the server's pages carry (`data-csrf`), which a change through the API needs.
fn csrf(api: &Api, id: i64) -> Result<String, String> {
    let page = match api.call("GET", &format!("/_tlspost/captures/{id}"), &[], b"")? {
        (200, page) => String::from_utf8_lossy(&page).into_owned(),
        // The page is HTML: its words, not its markup.
        (404, _) => {
            return Err(format!(
                "there is no capture {id} on the capture server at {} (its list: {}_tlspost/)",
                api.url.as_url(),
                api.url.as_url()
            ));
        }
        (status, _) => {
            return Err(format!(
                "the capture server at {} answered {status} for capture {id}'s page",
                api.url.as_url()
            ));
        }
    };
    page.split("data-csrf=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(str::to_string)
        .ok_or_else(|| "the capture page carries no CSRF token (is the server a tlspost serve of this version?)".into())
}

/// What the command line asks for, checked before any connection is made.
struct Plan {
    api: Api,
    edits: Edits,
    /// `--to`: where to send the bytes ourselves.
    target: Option<Forward>,
}

fn plan(args: &ReplayArgs) -> Result<Plan, String> {
    let url = HttpUrl::parse(&args.server).map_err(|e| format!("--server {}: {e}", args.server))?;
    let target = match &args.to {
        Some(to) => {
            let mut t = Forward::new(HttpUrl::parse(to).map_err(|e| format!("--to {to}: {e}"))?);
            if !args.cacert.is_empty() {
                t.trust = Trust::pinned_files(&args.cacert).map_err(|e| format!("--cacert: {e}"))?;
            }
            t.resolve = common::overrides(&args.resolve)?;
            Some(t)
        }
        None => None,
    };
    Ok(Plan {
        api: Api {
            url,
            token: args.token.clone(),
        },
        edits: edits(args)?,
        target,
    })
}

fn replay(id: i64, plan: Plan) -> Result<Replayed, String> {
    let api = &plan.api;
    let mut req = ReplayRequest {
        edits: plan.edits,
        recorded: None,
    };
    if let Some(target) = plan.target {
        req.recorded = Some(send_to(api, id, target, &req.edits)?);
        req.edits = Edits::default();
    }
    let token = csrf(api, id)?;
    let body = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
    let headers = [("X-Tlspost-Csrf", token.as_str()), ("Content-Type", "application/json")];
    let path = format!("/_tlspost/api/captures/{id}/replay");
    match api.call("POST", &path, &headers, &body)? {
        (200, b) => serde_json::from_slice(&b).map_err(|e| format!("the server's answer is not the replay JSON: {e}")),
        (409, b) => Err(format!(
            "{} (start it with --upstream URL, or give --to URL)",
            String::from_utf8_lossy(&b).trim()
        )),
        (status, b) => Err(format!("{status}: {}", String::from_utf8_lossy(&b).trim())),
    }
}

/// `--to`: fetch the exact bytes, edit them, send them ourselves.
fn send_to(api: &Api, id: i64, target: Forward, edits: &Edits) -> Result<Recorded, String> {
    let raw = api.get(&format!("/_tlspost/api/captures/{id}/raw?reveal=1"))?;
    let head_len = tlspost_serve::framing::head_end(&raw).ok_or("the stored request has no whole head")?;
    let raw = tlspost_serve::replay::edit(&raw, head_len, edits).map_err(|e| e.to_string())?;
    tlspost_serve::replay::send_to(target, raw).map_err(|e| e.to_string())
}

fn render(r: &Replayed) -> String {
    let u = &r.upstream;
    let d = &r.difference;
    let mut s = format!("capture {} replayed as capture {} to {}\n", r.replay_of, r.id, u.url);
    match &u.error {
        Some(e) if u.status == 0 => s += &format!("  no answer ({}): {}\n", e.cause, e.message),
        _ => {
            s += &format!("  status: {} (the original's: {})\n", d.status.1, d.status.0);
            if let Some(a) = &u.answered_by {
                s += &format!("  who answered: {}\n", a.text);
            }
            if let Some(e) = &u.error {
                s += &format!("  cut short ({}): {}\n", e.cause, e.message);
            }
        }
    }
    if d.headers.is_empty() {
        s += "  header fields: the same\n";
    } else {
        s += "  header fields that differ (- original, + replay):\n";
        for (n, a, b) in &d.headers {
            if let Some(a) = a {
                s += &format!("    - {n}: {}\n", a.escape_debug());
            }
            if let Some(b) = b {
                s += &format!("    + {n}: {}\n", b.escape_debug());
            }
        }
    }
    if d.body_same {
        s += &format!("  body: the same {} bytes\n", d.body_len.1);
    } else {
        s += &format!("  body: differs ({} bytes, now {})\n", d.body_len.0, d.body_len.1);
    }
    s
}

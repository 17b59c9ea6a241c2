//! `tlspost serve`: the capture server. Point a device at it to see exactly what it sends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tlspost::probe::Trust;
use tlspost::url::HttpUrl;
use tlspost_serve::{Config, ConfigError, Forward, Limits, Profile, RespondRule, SyncMode};

use crate::cmd::common;
use crate::exit;

/// Arguments of `tlspost serve`.
#[derive(clap::Args)]
#[command(after_help = exit::help(
    "The UI and JSON API are under /_tlspost/ on the HTTP listener and answer only to its own names \
     (421 otherwise); on a listener that is not loopback-only they ask for the token the banner prints. \
     See docs/serve.md.",
    exit::SERVE
))]
pub struct ServeArgs {
    /// Plain HTTP listener (captures, UI and API); `off` disables it. Beyond loopback the UI and API
    /// ask for a token, printed at start.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: String,
    /// HTTPS listener (captures); `off` disables it.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub https: String,
    /// Data directory: local CA, server certificate, SQLite store.
    #[arg(long, value_name = "DIR", default_value = "./tlspost-data")]
    pub data: PathBuf,
    /// Extra DNS name or IP for the server certificate (repeatable), e.g. the LAN address a device uses.
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// Keep at most N captures (oldest deleted first).
    #[arg(long, value_name = "N")]
    pub keep: Option<u64>,
    /// Scripted answer `METHOD PATH=STATUS[;name:value][;delay=MS][;chunked][;body=TEXT]` (repeatable,
    /// first match wins), e.g. 'POST /oauth/token=200;content-type:application/json;body={"ok":1}'.
    #[arg(long = "respond", value_name = "RULE")]
    pub respond: Vec<String>,
    /// Scripted answers from a file: one RULE per line as for --respond, `#` comments; they come
    /// after the --respond rules.
    #[arg(long = "respond-file", value_name = "FILE")]
    pub respond_file: Option<PathBuf>,
    /// `edge` acts like a strict CDN edge (no SNI, IP as Host, default User-Agent, SNI ≠ Host are refused).
    #[arg(long, value_name = "PROFILE", default_value = "default")]
    pub profile: String,
    /// Largest request head in bytes (larger: 431).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_head: usize,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body: u64,
    /// Seconds to wait for the next bytes of a request.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub read_timeout: u64,
    /// Most connections served at once.
    #[arg(long, value_name = "N", default_value_t = 2048)]
    pub max_connections: usize,
    /// Request bytes all connections together may hold in memory beyond 32 KiB each; a request
    /// that needs more while it is taken gets 503 with Retry-After (recorded). More than 0.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    pub memory_budget: u64,
    /// When a capture counts as stored (and its response may go): `full` once fsynced (survives a
    /// power loss or OS crash too), `normal` once written to the database's log (survives the
    /// server being killed or crashing; faster under load).
    #[arg(long, value_name = "MODE", default_value = "full")]
    pub sync: String,
    #[command(flatten)]
    pub forward: ForwardArgs,
    /// No line per capture on stdout (the banner is still printed).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Forward mode's options: the others need `--upstream`.
#[derive(clap::Args)]
#[group(requires = "upstream", multiple = true)]
pub struct ForwardArgs {
    /// Forward mode: each request, once recorded, goes on to this URL (`https://host[:port][/base]`)
    /// as the device sent it (Host and hop-by-hop fields aside), and the upstream's answer comes back
    /// to the device unchanged and is recorded beside it.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Trust only the roots in this PEM file for the upstream (repeatable); default: Mozilla's roots.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Connect to ADDR for the upstream's HOST:PORT (SNI and Host stay HOST), like curl.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Seconds to wait for the TCP connection to the upstream.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Seconds to wait for the upstream's TLS handshake, and for each read of its response.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub upstream_timeout: f64,
    /// Bytes of each upstream response body kept in the capture (the whole body still goes to the device).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub keep_response: usize,
}

fn addr(flag: &str, v: &str) -> Result<Option<SocketAddr>, String> {
    if v == "off" {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|e| format!("--{flag} {v}: {e}; give IP:PORT such as 127.0.0.1:8080 or 0.0.0.0:8080, or `off`"))
}

/// What a configuration fact means in this command's flags.
fn flag_error(e: &ConfigError) -> String {
    match e {
        ConfigError::NoConnections => "--max-connections 0: give at least 1 (the default is 2048)".into(),
        ConfigError::HeadTooSmall { max_head, least } => format!(
            "--max-head {max_head}: give at least {least} bytes, or the UI's own requests from a browser \
             are refused (the default is 65536)"
        ),
        ConfigError::BadName(n) => format!(
            "--name '{}': give a DNS name or an IP address the clients connect to, e.g. --name 192.168.1.20",
            n.escape_debug()
        ),
        ConfigError::RuleHeader { .. } => format!("--respond: {e}"),
        ConfigError::NoMemoryBudget => {
            "--memory-budget 0: give more than 0 bytes (the default is 268435456, 256 MiB)".into()
        }
        other => other.to_string(),
    }
}

/// Why the server did not start, with the option that changes it.
fn start_error(e: &tlspost_serve::Error) -> String {
    match e {
        tlspost_serve::Error::Config(c) => flag_error(c),
        tlspost_serve::Error::InUse { .. } | tlspost_serve::Error::Store { .. } => format!("{e} (--data DIR)"),
        tlspost_serve::Error::Upstream(_) => format!("{e} (--cacert)"),
        other => other.to_string(),
    }
}

fn secs(flag: &str, s: f64) -> Result<Duration, String> {
    if !(s.is_finite() && s > 0.0 && s < 1e9) {
        return Err(format!("{flag} {s}: give a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

/// Every value of a repeatable flag parsed, or the first refusal after `prefix` (the flag).
fn each<T, E: std::fmt::Display>(
    values: &[String],
    parse: impl Fn(&str) -> Result<T, E>,
    prefix: &str,
) -> Result<Vec<T>, String> {
    values
        .iter()
        .map(|v| parse(v).map_err(|e| format!("{prefix}{e}")))
        .collect()
}

/// Forward mode from the command line (`None` without `--upstream`).
fn forward(args: &ForwardArgs) -> Result<Option<Forward>, String> {
    let Some(url) = &args.upstream else {
        return Ok(None);
    };
    let parsed = HttpUrl::parse(url)
        .map_err(|e| format!("--upstream {url}: {e}; give the API's URL, e.g. https://api.example.com"))?;
    let mut f = Forward::new(parsed);
    if !args.cacert.is_empty() {
        f.trust = Trust::pinned_files(&args.cacert).map_err(|e| format!("--cacert: {e}"))?;
    }
    f.resolve = common::overrides(&args.resolve)?;
    f.connect_timeout = secs("--connect-timeout", args.connect_timeout)?;
    f.timeout = secs("--upstream-timeout", args.upstream_timeout)?;
    f.keep_body = args.keep_response;
    Ok(Some(f))
}

fn config(args: ServeArgs) -> Result<Config, String> {
    let mut c = Config::new(&args.data);
    c.http = addr("http", &args.http)?;
    c.https = addr("https", &args.https)?;
    if c.http.is_none() && c.https.is_none() {
        return Err("--http and --https are both off: nothing to listen on".into());
    }
    c.forward = forward(&args.forward)?;
    c.lines = !args.quiet;
    c.names = args.names;
    c.keep = args.keep;
    c.profile = Profile::parse(&args.profile).map_err(|e| format!("--profile: {e}"))?;
    c.sync = SyncMode::parse(&args.sync).map_err(|e| format!("--sync: {e}"))?;
    c.rules = each(&args.respond, RespondRule::parse, "--respond: ")?;
    if let Some(path) = &args.respond_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--respond-file {}: cannot read it ({e})", path.display()))?;
        let rules = RespondRule::parse_file(&text).map_err(|e| format!("--respond-file {}: {e}", path.display()))?;
        c.rules.extend(rules);
    }
    c.limits = Limits {
        max_head: args.max_head,
        max_body: args.max_body,
        read_timeout: Duration::from_secs(args.read_timeout.max(1)),
        max_connections: args.max_connections,
        memory_budget: args.memory_budget,
        ..Limits::default()
    };
    c.validate().map_err(|e| flag_error(&e))?;
    Ok(c)
}

/// Runs `tlspost serve`.
pub fn run(args: ServeArgs) -> ExitCode {
    let config = match config(args) {
        Ok(c) => c,
        Err(e) => return exit::usage("serve", e),
    };
    match tlspost_serve::serve_blocking(config) {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("tlspost serve: {}", start_error(&e));
            ExitCode::from(exit::FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<Config, String> {
        let cli =
            Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied())).map_err(|e| e.to_string())?;
        config(cli.serve)
    }

    #[test]
    fn rules_from_flags_then_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("rules.txt");
        std::fs::write(&file, "# answers\nGET /b=503;body=busy\n").expect("write rules");
        let file = file.to_string_lossy().into_owned();
        let c = parse(&["--respond", "POST /a=201", "--respond-file", &file, "--sync", "normal"]).expect("config");
        let got: Vec<(&str, u16)> = c.rules.iter().map(|r| (r.path.as_str(), r.status)).collect();
        assert_eq!(got, vec![("/a", 201), ("/b", 503)]);
        assert_eq!(c.sync, SyncMode::Normal);
        assert_eq!(parse(&[]).expect("defaults").sync, SyncMode::Full);

        std::fs::write(dir.path().join("bad.txt"), "GET /ok=200\nGET /x=99\n").expect("write rules");
        let bad = dir.path().join("bad.txt").to_string_lossy().into_owned();
        let e = parse(&["--respond-file", &bad]).expect_err("a bad line is refused");
        assert!(e.contains("bad.txt: line 2: the status `99`"), "{e}");
        let e = parse(&["--respond-file", "/nonexistent/rules"]).expect_err("a missing file is refused");
        assert!(e.contains("--respond-file /nonexistent/rules: cannot read it"), "{e}");
        let e = parse(&["--sync", "sometimes"]).expect_err("an unknown mode is refused");
        assert!(e.contains("--sync: the sync mode `sometimes` is unknown"), "{e}");
    }

    #[test]
    fn values_that_cannot_run_are_named_by_their_flag() {
        for (args, want) in [
            (&["--max-connections", "0"][..], "--max-connections 0: give at least 1"),
            (&["--max-head", "0"][..], "--max-head 0: give at least 4096 bytes"),
            (&["--max-head", "1000"][..], "--max-head 1000: give at least 4096 bytes"),
            (&["--name", ""][..], "--name '': give a DNS name or an IP address"),
            (&["--name", "a b"][..], "--name 'a b': give a DNS name or an IP address"),
            (
                &["--respond", "GET /=200;x-a:b\r\nInjected: 1"][..],
                "--respond: the header `x-a` has a CR, LF or NUL",
            ),
        ] {
            let e = parse(args).expect_err(want);
            assert!(e.contains(want), "{args:?}: {e}");
        }
        let c = parse(&["--max-head", "4096", "--name", "192.168.1.20", "--name", "dev.lan"]).expect("config");
        assert_eq!(c.limits.max_head, 4096);
    }

    #[test]
    fn forward_options_need_upstream_and_its_defaults_do_not() {
        for args in [
            &["--cacert", "roots.pem"][..],
            &["--connect-timeout", "5"][..],
            &["--keep-response", "10"][..],
        ] {
            let e = parse(args).expect_err("a forward option without --upstream is refused");
            assert!(e.contains("--upstream"), "{args:?}: {e}");
        }
        let c = parse(&["--upstream", "https://api.example.com", "--connect-timeout", "5"]).expect("config");
        let f = c.forward.expect("forward mode");
        assert_eq!(
            (f.connect_timeout, f.timeout, f.keep_body),
            (Duration::from_secs(5), Duration::from_secs(30), 65536)
        );
        assert!(parse(&[]).expect("defaults").forward.is_none());
        let e = parse(&[
            "--upstream",
            "https://api.example.com",
            "--resolve",
            "api.example.com:443",
        ])
        .expect_err("a --resolve without an address is refused");
        assert!(e.starts_with("--resolve \"api.example.com:443\": three parts"), "{e}");
    }

    #[test]
    fn memory_budget_defaults_to_256_mib_and_must_be_positive() {
        assert_eq!(parse(&[]).expect("defaults").limits.memory_budget, 256 << 20);
        let c = parse(&["--memory-budget", "1048576"]).expect("config");
        assert_eq!(c.limits.memory_budget, 1 << 20);
        let e = parse(&["--memory-budget", "0"]).expect_err("0 is refused");
        assert!(e.contains("--memory-budget 0: give more than 0 bytes"), "{e}");
    }
}

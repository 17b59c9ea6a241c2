//! `tlspost certs`: which roots to pin, for how long, as firmware-ready code; and `certs check`.
//! The arguments become a `tlspost_certs` request; its report is rendered here ([`text`], [`json`]).

mod json;
mod text;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tlspost::certinfo::now_unix;

use tlspost_certs::check::check;
use tlspost_certs::{
    BundleFormat, CertInfo, CertsError, EmitOptions, Format, Input, Report, Request, Root, Target, emit,
};

use crate::cmd::common;
use crate::exit;

/// Arguments of `tlspost certs`.
#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = exit::help(
        "The connection made to fetch a chain carries no data: it handshakes, records the certificates, \
         and closes. See docs/certs.md.",
        exit::CERTS
    )
)]
pub struct CertsArgs {
    #[command(subcommand)]
    check: Option<CertsCommand>,
    /// Servers to inspect, as HOST[:PORT] (port 443 by default).
    #[arg(value_name = "HOST[:PORT]")]
    targets: Vec<String>,
    #[command(flatten)]
    conn: ConnArgs,
    /// Analyse a saved chain (PEM, leaf first) instead of connecting; HOST or --servername names it.
    #[arg(long, value_name = "CHAIN.pem")]
    file: Option<PathBuf>,
    /// More candidate roots (PEM or DER), e.g. a private CA; repeatable.
    #[arg(long, value_name = "FILE")]
    roots: Vec<PathBuf>,
    /// Also say whether the chain verifies against these roots (what the device pins); repeatable.
    #[arg(long, value_name = "FILE")]
    cacert: Vec<PathBuf>,
    /// Find the smallest set of roots that verifies every HOST given.
    #[arg(long)]
    cover: bool,
    /// Warn when a chosen root expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 730)]
    warn_days: i64,
    /// Emit the chosen roots: pem, der, arduino, esp-idf, rust or crt-bundle (report goes to stderr).
    #[arg(long, value_name = "FORMAT", value_parser = ["pem", "der", "arduino", "esp-idf", "rust", "crt-bundle"])]
    format: Option<String>,
    /// crt-bundle layout: current (little-endian offset table) or legacy (big-endian count).
    #[arg(long, value_name = "LAYOUT", default_value = "current", value_parser = ["current", "legacy"])]
    bundle_format: String,
    /// Write the emitted output to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Name of the emitted array (arduino, esp-idf).
    #[arg(long, value_name = "IDENT", default_value = "root_ca")]
    name: String,
    /// Emit only the N-th recommended root (from 1).
    #[arg(long, value_name = "N")]
    only: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Connection options shared by `certs` and `certs check`.
#[derive(clap::Args)]
struct ConnArgs {
    /// Connect to ADDR for HOST:PORT instead of resolving HOST (like curl); repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    resolve: Vec<String>,
    /// SNI name to send and check, when it differs from HOST.
    #[arg(long, value_name = "NAME")]
    servername: Option<String>,
    /// Connect and handshake timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

#[derive(clap::Subcommand)]
enum CertsCommand {
    /// Exit 0 when the pinned roots verify what every HOST serves now and live --warn-days more.
    Check(Box<CheckArgs>),
}

#[derive(clap::Args)]
#[command(after_help = exit::help("", exit::CERTS_CHECK))]
struct CheckArgs {
    /// Servers to check, as HOST[:PORT].
    #[arg(value_name = "HOST[:PORT]", required = true)]
    targets: Vec<String>,
    /// The pinned roots (PEM or DER); repeatable.
    #[arg(long, value_name = "PINNED.pem", required = true)]
    cacert: Vec<PathBuf>,
    /// More known roots, used only to name the root that would work instead.
    #[arg(long, value_name = "FILE")]
    roots: Vec<PathBuf>,
    #[command(flatten)]
    conn: ConnArgs,
    /// Fail when a pinned root expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 730)]
    warn_days: i64,
    /// Print the verdicts as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `tlspost certs`.
pub fn run(args: CertsArgs) -> ExitCode {
    let mut out = crate::out::stdout();
    let mut err = std::io::stderr().lock();
    let code = match args.check {
        Some(CertsCommand::Check(c)) => run_check(&c, &mut out),
        None => run_certs(&args, &mut out, &mut err),
    };
    ExitCode::from(code.unwrap_or_else(|e| {
        let _ = writeln!(err, "{}: {}", e.command, e.message);
        e.code
    }))
}

/// Why a command stopped before its verdict.
struct Stop {
    command: &'static str,
    message: String,
    code: u8,
}

impl Stop {
    fn usage(command: &'static str, message: impl Into<String>) -> Self {
        Self {
            command,
            message: message.into(),
            code: exit::USAGE,
        }
    }

    /// A library error: the usage code when the input is at fault, else a failure.
    fn certs(command: &'static str, e: &CertsError) -> Self {
        Self {
            command,
            message: text::error(e),
            code: if e.is_input() { exit::USAGE } else { exit::FAILED },
        }
    }
}

const CERTS: &str = "tlspost certs";
const CHECK: &str = "tlspost certs check";

/// The targets as given, with `--resolve`, `--servername` and `--timeout` applied.
fn targets(command: &'static str, given: &[String], conn: &ConnArgs) -> Result<Vec<Target>, Stop> {
    let overrides = common::overrides(&conn.resolve).map_err(|e| Stop::usage(command, e))?;
    given
        .iter()
        .map(|g| {
            let mut t = Target::parse(g).map_err(|e| Stop::certs(command, &e))?;
            t.apply_resolve(&overrides);
            t.servername.clone_from(&conn.servername);
            t.timeout = Duration::from_secs(conn.timeout);
            Ok(t)
        })
        .collect()
}

fn run_certs(args: &CertsArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Stop> {
    let input = match &args.file {
        Some(path) => Input::File {
            path: path.clone(),
            name: args.conn.servername.clone().or_else(|| args.targets.first().cloned()),
        },
        None if args.targets.is_empty() => {
            return Err(Stop::usage(
                CERTS,
                "nothing to do: give HOST[:PORT] or --file CHAIN.pem",
            ));
        }
        None => Input::Hosts(targets(CERTS, &args.targets, &args.conn)?),
    };
    let format = args
        .format
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()
        .map_err(|e| Stop::certs(CERTS, &e))?;
    let request = Request {
        input,
        extra_roots: args.roots.clone(),
        pinned: args.cacert.clone(),
        cover: args.cover,
        warn_days: args.warn_days,
        now: now_unix(),
    };
    let report = Report::build(&request).map_err(|e| Stop::certs(CERTS, &e))?;
    let chosen = only(&report.chosen, args.only)?;

    // Emitted output goes to stdout (or -o); the report then goes to stderr.
    let rep: &mut dyn Write = if format.is_some() && args.output.is_none() {
        &mut *err
    } else {
        &mut *out
    };
    let _ = if args.json {
        let v = json::report(&report);
        writeln!(rep, "{}", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        rep.write_all(text::report(&report, &args.cacert).as_bytes())
    };
    if let Some(format) = format {
        emit_roots(args, format, &report, &chosen, out, err)?;
    }
    Ok(if report.ok() { exit::OK } else { exit::FAILED })
}

/// The chosen roots, or only the `--only N`-th.
fn only(chosen: &[Root], only: Option<usize>) -> Result<Vec<Root>, Stop> {
    match only {
        None => Ok(chosen.to_vec()),
        Some(n) => n
            .checked_sub(1)
            .and_then(|i| chosen.get(i))
            .map(|r| vec![r.clone()])
            .ok_or_else(|| {
                Stop::usage(
                    CERTS,
                    format!(
                        "--only {n}: there are {} recommended root(s), numbered from 1",
                        chosen.len()
                    ),
                )
            }),
    }
}

/// Writes the chosen roots in `format` to `-o FILE` or stdout.
fn emit_roots(
    args: &CertsArgs,
    format: Format,
    report: &Report,
    chosen: &[Root],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Stop> {
    if chosen.is_empty() {
        let why: Vec<String> = report
            .unpinnable()
            .into_iter()
            .map(|(label, e)| format!("{label}: {}", text::error(e)))
            .collect();
        return Err(Stop {
            command: CERTS,
            message: format!("nothing to emit: {}", why.join("\n")),
            code: exit::FAILED,
        });
    }
    let certs: Vec<&CertInfo> = chosen.iter().map(|r| &r.cert).collect();
    let options = EmitOptions {
        format,
        bundle: if args.bundle_format == "legacy" {
            BundleFormat::Legacy
        } else {
            BundleFormat::Current
        },
        name: args.name.clone(),
        purpose: report
            .chains
            .iter()
            .map(|c| c.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let bytes = emit(&certs, &options).map_err(|e| Stop::certs(CERTS, &e))?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes).map_err(|e| Stop::usage(CERTS, format!("{}: {e}", path.display())))?;
            let _ = writeln!(
                err,
                "wrote {} root(s) as {format:?} to {} ({} bytes)",
                certs.len(),
                path.display(),
                bytes.len()
            );
        }
        None => {
            let _ = out.write_all(&bytes);
        }
    }
    Ok(())
}

fn run_check(c: &CheckArgs, out: &mut dyn Write) -> Result<u8, Stop> {
    let targets = targets(CHECK, &c.targets, &c.conn)?;
    let report = check(&targets, &c.cacert, &c.roots, c.warn_days, now_unix()).map_err(|e| Stop {
        code: exit::USAGE,
        ..Stop::certs(CHECK, &e)
    })?;
    let _ = if c.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json::check(&report)).unwrap_or_default()
        )
    } else {
        out.write_all(text::check(&report).as_bytes())
    };
    Ok(if report.ok() { exit::OK } else { exit::FAILED })
}

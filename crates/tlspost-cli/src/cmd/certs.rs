//! `tlspost certs`: which roots to pin, for how long, as firmware-ready code; and `certs check`.
//! Argument parsing only: the work is in `tlspost_certs::app`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tlspost_certs::app::{self, CheckOptions, Options};
use tlspost_certs::{BundleFormat, Format};

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
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    if let Some(CertsCommand::Check(c)) = args.check {
        let opts = CheckOptions {
            targets: c.targets,
            resolve: c.conn.resolve,
            servername: c.conn.servername,
            cacert: c.cacert,
            roots: c.roots,
            warn_days: c.warn_days,
            json: c.json,
            timeout: Duration::from_secs(c.conn.timeout),
            now: None,
        };
        return ExitCode::from(app::run_check(&opts, &mut out, &mut err));
    }
    let format = match args.format.as_deref().map(str::parse::<Format>) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!("tlspost certs: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let opts = Options {
        targets: args.targets,
        resolve: args.conn.resolve,
        servername: args.conn.servername,
        file: args.file,
        roots: args.roots,
        cacert: args.cacert,
        cover: args.cover,
        warn_days: args.warn_days,
        format,
        bundle: if args.bundle_format == "legacy" {
            BundleFormat::Legacy
        } else {
            BundleFormat::Current
        },
        output: args.output,
        name: args.name,
        only: args.only,
        json: args.json,
        timeout: Duration::from_secs(args.conn.timeout),
        now: None,
    };
    ExitCode::from(app::run(&opts, &mut out, &mut err))
}

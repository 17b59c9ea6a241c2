//! The `tlspost` command: argument parsing and presentation only; the work lives in the libraries.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The system allocator, for every command. `tlspost post` is a short-lived client whose memory is
// compared with curl's (bench/client-figures.sh): with mimalloc as the global allocator, its arena
// (1 GiB reserved with MADV_HUGEPAGE) made the first touch of each 2 MiB range fault in a whole
// transparent huge page, and `post` peaked at about 12.4 MB instead of 6.3 MB. For `tlspost serve`
// it made no measurable difference in CPU per request (bench/serve-ab.sh, taking turns); the
// standalone `tlspost-serve` binary keeps mimalloc.

mod cmd;
mod exit;
mod out;

/// Make a device's HTTPS POST dependable, and say why when it fails.
#[derive(Parser)]
#[command(name = "tlspost", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send a POST exactly as the device would, with a wire trace and timings.
    Post(cmd::post::PostArgs),
    /// Send a request with any method (`-X METHOD`).
    Request(cmd::post::RequestArgs),
    /// Which roots to pin, for how long, as firmware-ready code.
    Certs(cmd::certs::CertsArgs),
    /// A capture server that records exactly what arrives and explains what is wrong.
    Serve(cmd::serve::ServeArgs),
    /// Send a captured request again (to the server's upstream, or --to URL) and show what changed.
    Replay(cmd::replay::ReplayArgs),
    /// Explain what is wrong with a raw HTTP request.
    Lint(cmd::lint::LintArgs),
    /// Walk the path of a device's HTTPS POST (DNS, TCP, TLS, request, edge) and say what is wrong.
    Doctor(cmd::doctor::DoctorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Post(a) => cmd::post::run_post(a),
        Command::Request(a) => cmd::post::run_request(a),
        Command::Certs(a) => cmd::certs::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Replay(a) => cmd::replay::run(a),
        Command::Lint(a) => cmd::lint::run(a),
        Command::Doctor(a) => cmd::doctor::run(a),
    }
}

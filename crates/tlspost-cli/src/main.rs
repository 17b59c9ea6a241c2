//! The `tlspost` command: argument parsing and presentation only; the work lives in the libraries.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// `tlspost serve` allocates a little for every request it captures; mimalloc's thread-local free
// lists make that cheaper than glibc's malloc (about a tenth of the server's CPU per request).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd;
mod doctor;
mod exit;

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
        Command::Lint(a) => cmd::lint::run(a),
        Command::Doctor(a) => cmd::doctor::run(a),
    }
}

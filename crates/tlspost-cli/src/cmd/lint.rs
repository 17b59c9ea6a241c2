//! `tlspost lint` (being written).

use std::process::ExitCode;

/// Arguments of `tlspost lint`.
#[derive(clap::Args)]
pub struct LintArgs {}

/// Runs `tlspost lint`.
pub fn run(_args: LintArgs) -> ExitCode {
    eprintln!("tlspost lint: not built yet");
    ExitCode::from(2)
}

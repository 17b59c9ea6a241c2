//! `tlspost serve` (being written).

use std::process::ExitCode;

/// Arguments of `tlspost serve`.
#[derive(clap::Args)]
pub struct ServeArgs {}

/// Runs `tlspost serve`.
pub fn run(_args: ServeArgs) -> ExitCode {
    eprintln!("tlspost serve: not built yet");
    ExitCode::from(2)
}

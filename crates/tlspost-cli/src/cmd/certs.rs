//! `tlspost certs` (being written).

use std::process::ExitCode;

/// Arguments of `tlspost certs`.
#[derive(clap::Args)]
pub struct CertsArgs {}

/// Runs `tlspost certs`.
pub fn run(_args: CertsArgs) -> ExitCode {
    eprintln!("tlspost certs: not built yet");
    ExitCode::from(2)
}

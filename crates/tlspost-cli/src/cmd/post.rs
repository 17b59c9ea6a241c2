//! `tlspost post` and `tlspost request` (being written).

use std::process::ExitCode;

/// Arguments of `tlspost post`.
#[derive(clap::Args)]
pub struct PostArgs {}

/// Arguments of `tlspost request`.
#[derive(clap::Args)]
pub struct RequestArgs {}

/// Runs `tlspost post`.
pub fn run_post(_args: PostArgs) -> ExitCode {
    eprintln!("tlspost post: not built yet");
    ExitCode::from(2)
}

/// Runs `tlspost request`.
pub fn run_request(_args: RequestArgs) -> ExitCode {
    eprintln!("tlspost request: not built yet");
    ExitCode::from(2)
}

//! `tlspost lint`: explain what is wrong with a raw HTTP request read from a file or stdin.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use tlspost_lint::{Context, Severity};

/// Arguments of `tlspost lint`.
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 when no error-severity finding, 1 when any, 2 on usage or \
                        I/O errors. Every code is explained in docs/lint.md."
)]
pub struct LintArgs {
    /// File holding the exact bytes of one request (head and body); `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The request arrived over TLS (enables the SNI and ALPN checks).
    #[arg(long)]
    pub tls: bool,
    /// The SNI name the client sent (implies --tls).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// The ALPN protocol negotiated (implies --tls), e.g. `http/1.1`.
    #[arg(long, value_name = "PROTO")]
    pub alpn: Option<String>,
    /// Print the findings as a JSON array instead of text.
    #[arg(long)]
    pub json: bool,
}

fn read_input(file: &PathBuf) -> std::io::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
    }
}

/// Runs `tlspost lint`.
pub fn run(args: LintArgs) -> ExitCode {
    let raw = match read_input(&args.file) {
        Ok(raw) => raw,
        Err(e) => {
            let name = if args.file.as_os_str() == "-" {
                "stdin".to_string()
            } else {
                args.file.display().to_string()
            };
            eprintln!("tlspost lint: cannot read {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let ctx = Context {
        tls: args.tls || args.sni.is_some() || args.alpn.is_some(),
        sni: args.sni.as_deref(),
        alpn: args.alpn.as_deref(),
    };
    let findings = tlspost_lint::lint(&raw, &ctx);
    if args.json {
        println!("{}", tlspost_lint::to_json(&findings));
    } else {
        for f in &findings {
            println!("{f}\n");
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        if findings.is_empty() {
            println!("no findings ({} bytes checked)", raw.len());
        } else {
            println!(
                "{} error(s), {} warning(s), {} info ({} bytes checked; codes are explained in docs/lint.md)",
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info),
                raw.len()
            );
        }
    }
    if tlspost_lint::has_errors(&findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

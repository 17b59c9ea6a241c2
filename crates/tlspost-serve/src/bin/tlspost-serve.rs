//! A standalone capture server (the same as `tlspost serve`, with a minimal argument parser), used
//! by the crate's process-level tests (`kill -9`) and benchmarks.
//!
//! `tlspost-serve [--http ADDR|off] [--https ADDR|off] [--data DIR] [--keep N] [--profile edge]
//! [--respond RULE]... [--name NAME]... [--workers N] [--sync normal|full] [--memory-budget BYTES]
//! [--upstream URL [--cacert FILE]... [--resolve HOST:PORT:ADDR]...] [--lines on]`

use std::process::ExitCode;

use tlspost_serve::{Config, Forward, Profile, RespondRule, SyncMode};

// A server allocates a little for every request; mimalloc's thread-local free lists make that
// cheaper than glibc's malloc.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut config = Config::new("tlspost-data");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            eprintln!("tlspost-serve: {flag} needs a value");
            return ExitCode::from(2);
        };
        let addr = |v: &str| if v == "off" { Ok(None) } else { v.parse().map(Some) };
        let result: Result<(), String> = match flag.as_str() {
            "--http" => addr(&value).map(|a| config.http = a).map_err(|e| e.to_string()),
            "--https" => addr(&value).map(|a| config.https = a).map_err(|e| e.to_string()),
            "--data" => {
                config.data_dir = value.clone().into();
                Ok(())
            }
            "--keep" => value.parse().map(|n| config.keep = Some(n)).map_err(|e| e.to_string()),
            "--workers" => value.parse().map(|n| config.workers = n).map_err(|e| e.to_string()),
            "--memory-budget" => value
                .parse()
                .map(|n| config.limits.memory_budget = n)
                .map_err(|e| e.to_string()),
            "--sync" => SyncMode::parse(&value)
                .map(|v| config.sync = v)
                .map_err(|e| e.to_string()),
            "--profile" => Profile::parse(&value)
                .map(|p| config.profile = p)
                .map_err(|e| e.to_string()),
            "--respond" => RespondRule::parse(&value)
                .map(|r| config.rules.push(r))
                .map_err(|e| e.to_string()),
            "--upstream" => tlspost::url::HttpUrl::parse(&value)
                .map(|u| config.forward = Some(Forward::new(u)))
                .map_err(|e| e.to_string()),
            "--cacert" => match config.forward.as_mut() {
                Some(f) => tlspost::probe::Trust::pinned_files(&[&value])
                    .map(|t| f.trust = t)
                    .map_err(|e| e.to_string()),
                None => Err("give --upstream first".into()),
            },
            "--resolve" => match config.forward.as_mut() {
                Some(f) => tlspost::probe::Override::parse(&value)
                    .map(|o| f.resolve.push(o))
                    .map_err(|e| e.to_string()),
                None => Err("give --upstream first".into()),
            },
            "--lines" => {
                config.lines = value == "on";
                Ok(())
            }
            "--name" => {
                config.names.push(value.clone());
                Ok(())
            }
            other => {
                eprintln!("tlspost-serve: unknown option {other}");
                return ExitCode::from(2);
            }
        };
        if let Err(e) = result {
            eprintln!("tlspost-serve: {flag} {value}: {e}");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = config.validate() {
        eprintln!("tlspost-serve: {e}");
        return ExitCode::from(2);
    }
    match tlspost_serve::serve_blocking(config) {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("tlspost-serve: {e}");
            ExitCode::FAILURE
        }
    }
}

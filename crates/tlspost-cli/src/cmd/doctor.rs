//! `tlspost doctor URL`: the one command to run when a device's HTTPS POST to URL fails. Argument
//! parsing and printing only: the steps live in `crate::doctor`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::doctor::{self, DeviceRequest, Options};
use crate::exit;
use tlspost::client::BodySpec;

/// Arguments of `tlspost doctor`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = exit::help(
        "Steps: 1 dns, 2 tcp, 3 tls, 4 request (lint), 5 edge. Each line is ok, warn or FAIL; non-ok lines \
         say why and the fix. See docs/doctor.md.",
        exit::DOCTOR
    )
)]
pub struct DoctorArgs {
    /// The URL the device posts to (`https://host[:port]/path`).
    pub url: String,
    /// Connect to ADDR for HOST:PORT (SNI and Host stay HOST), like curl; repeatable.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Budget for each TCP connect and each TLS handshake, in seconds.
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// The roots the DEVICE pins (PEM or DER; repeatable): would it accept the server?
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// More candidate roots for the recommendation, e.g. a private CA (repeatable).
    #[arg(long = "roots", value_name = "FILE")]
    pub roots: Vec<PathBuf>,
    /// Warn when a pinned or recommended root expires within this many days.
    #[arg(long = "warn-days", value_name = "DAYS", default_value_t = 730)]
    pub warn_days: i64,
    /// The request as the device sends it: a file with its exact bytes (e.g. saved from `tlspost serve`).
    #[arg(long = "request", value_name = "FILE", conflicts_with_all = ["json", "data", "data_binary", "headers", "user_agent", "method"])]
    pub request: Option<PathBuf>,
    /// The device sends JSON: `DATA`, `@FILE` or `@-`, with `Content-Type: application/json`.
    #[arg(long, value_name = "DATA")]
    pub json: Option<String>,
    /// The device sends a form (`application/x-www-form-urlencoded`); repeat to join with `&`.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,
    /// The device sends these bytes (`@FILE` as is), with the form content type, as curl does.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Option<String>,
    /// A header the device sends: `-H "Name: value"` (repeatable); `-H "Name:"` leaves out an
    /// automatic header, `-H "Name;"` sends it empty, as in `tlspost post`.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// The device's `User-Agent` (default `tlspost/<version>`), e.g. `ESP32HTTPClient`.
    #[arg(short = 'A', long = "user-agent", value_name = "UA")]
    pub user_agent: Option<String>,
    /// The device's method.
    #[arg(short = 'X', long = "method", value_name = "METHOD", default_value = "POST")]
    pub method: String,
    /// Send the device's request once (it may have side effects; never retried) and report the answer.
    #[arg(long)]
    pub send: bool,
    /// Print the report as one JSON document (a list of steps) instead of text.
    #[arg(long = "json-output")]
    pub json_output: bool,
}

fn body(a: &DoctorArgs) -> Result<BodySpec, String> {
    super::post::request_body(a.json.as_deref(), &a.data, a.data_binary.as_deref())
}

fn options(a: &DoctorArgs) -> Result<Options, String> {
    if !(a.connect_timeout.is_finite() && a.connect_timeout > 0.0 && a.connect_timeout <= 600.0) {
        return Err("--connect-timeout must be a number of seconds above 0 and at most 600".into());
    }
    let request = match &a.request {
        Some(p) => DeviceRequest::File(p.clone()),
        None => {
            let (headers, omit) = super::post::parse_headers(&a.headers)?;
            DeviceRequest::Flags {
                method: a.method.clone(),
                headers,
                omit,
                body: body(a)?,
                user_agent: a.user_agent.clone(),
            }
        }
    };
    Ok(Options {
        url: a.url.clone(),
        resolve: a.resolve.clone(),
        connect_timeout: Duration::from_secs_f64(a.connect_timeout),
        cacert: a.cacert.clone(),
        roots: a.roots.clone(),
        warn_days: a.warn_days,
        request,
        send: a.send,
    })
}

/// Runs `tlspost doctor`.
pub fn run(a: DoctorArgs) -> ExitCode {
    let report = options(&a).and_then(|o| doctor::run(&o).map_err(|e| e.to_string()));
    match report {
        Err(e) => {
            eprintln!("tlspost doctor: {e}");
            ExitCode::from(exit::USAGE)
        }
        Ok(r) => {
            if a.json_output {
                println!("{}", doctor::json(&r));
            } else {
                print!("{}", doctor::text(&r));
            }
            ExitCode::from(if r.failed() { exit::FAILED } else { exit::OK })
        }
    }
}

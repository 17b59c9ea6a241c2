//! `tlspost doctor URL`: the one command to run when a device's HTTPS POST to URL fails. Flags in,
//! the report out: the diagnosis is `tlspost-doctor`'s; this module reads the files the flags
//! name, and [`render`] prints each verdict as the library reports it, with the flags to try, in
//! the [`style`] of where the output goes.

mod render;
mod style;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use clap::builder::PossibleValuesParser;
use tlspost_certs::{CertInfo, Root, RootSource};
use tlspost_doctor::profile::{PROFILES, Profile};
use tlspost_doctor::{DeviceRequest, DeviceTrust, DoctorError, Pinned, Progress, Request};

use super::common::{self, MessageArgs};
use crate::exit;

/// Arguments of `tlspost doctor`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = exit::help(
        "Steps: 1 dns, 2 tcp, 3 tls, 4 request (lint), 5 edge, 6 device (which device TLS stacks can talk to \
         the server; --device NAME judges one in full). Each line is ok, warn or FAIL; non-ok lines say why and \
         the fix. See docs/doctor.md.",
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
    /// The request as the device sends it: a file with its exact bytes, head and body (e.g. saved
    /// from `tlspost serve`).
    #[arg(long = "raw", value_name = "FILE", conflicts_with_all = ["json", "data", "data_binary", "headers", "user_agent", "method"])]
    pub raw: Option<PathBuf>,
    /// What the device sends: body, headers and `User-Agent`, spelled as in `tlspost post`.
    #[command(flatten)]
    pub message: MessageArgs,
    /// The device's method.
    #[arg(short = 'X', long = "method", value_name = "METHOD", default_value = "POST")]
    pub method: String,
    /// Send the device's request once (it may have side effects; never retried) and report the answer.
    #[arg(long)]
    pub send: bool,
    /// The device's TLS stack: its full verdict (can it talk to the server, and if not, the cause and a fix
    /// on each side); it failing is a FAIL. Without it, one line per stack.
    #[arg(long = "device", value_name = "NAME", value_parser = device_names())]
    pub device: Option<String>,
    /// Print the report as one JSON document (a list of steps) instead of text.
    #[arg(long = "json-output")]
    pub json_output: bool,
}

/// The profiles' names, the values `--device` takes.
fn device_names() -> PossibleValuesParser {
    PossibleValuesParser::new(PROFILES.iter().map(|p| p.name))
}

/// The certificates of one file, or what is wrong with it, naming the flag.
fn certs(flag: &str, path: &Path) -> Result<Vec<CertInfo>, String> {
    let file = |why: String| format!("{flag} {}: {why}", path.display());
    let ders = tlspost_certs::pem::read_certs(path).map_err(|e| file(e.to_string()))?;
    ders.iter()
        .enumerate()
        .map(|(i, d)| CertInfo::parse(d, &format!("{} #{}", path.display(), i + 1)).map_err(|e| file(e.to_string())))
        .collect()
}

fn trust(a: &DoctorArgs) -> Result<DeviceTrust, String> {
    let mut t = DeviceTrust::default();
    for p in &a.cacert {
        let source = p.display().to_string();
        t.pinned.extend(certs("--cacert", p)?.into_iter().map(|cert| Pinned {
            cert,
            source: source.clone(),
        }));
    }
    for p in &a.roots {
        let source = RootSource::File(p.display().to_string());
        t.candidates.extend(certs("--roots", p)?.into_iter().map(|cert| Root {
            cert,
            source: source.clone(),
        }));
    }
    Ok(t)
}

fn device(a: &DoctorArgs) -> Result<DeviceRequest, String> {
    if let Some(p) = &a.raw {
        let bytes = std::fs::read(p).map_err(|e| {
            format!(
                "--raw {}: {e}; give the file holding the exact bytes the device sends (head and body)",
                p.display()
            )
        })?;
        return Ok(DeviceRequest::Raw {
            bytes,
            source: p.display().to_string(),
        });
    }
    let (headers, omit) = a.message.headers()?;
    Ok(DeviceRequest::Fields {
        method: a.method.clone(),
        headers,
        omit,
        body: a.message.body()?,
        user_agent: a.message.user_agent.clone(),
    })
}

fn request(a: &DoctorArgs) -> Result<Request, String> {
    if !(a.connect_timeout.is_finite() && a.connect_timeout > 0.0 && a.connect_timeout <= 600.0) {
        return Err("--connect-timeout must be a number of seconds above 0 and at most 600".into());
    }
    Ok(Request {
        url: a.url.clone(),
        overrides: common::overrides(&a.resolve)?,
        connect_timeout: Duration::from_secs_f64(a.connect_timeout),
        trust: trust(a)?,
        warn_days: a.warn_days,
        device: device(a)?,
        send: a.send,
        profile: match &a.device {
            Some(name) => Some(Profile::named(name).ok_or_else(|| format!("--device {name}: no such device stack"))?),
            None => None,
        },
    })
}

/// A usage error of the library, with the flag that gave it.
fn usage(e: &DoctorError, a: &DoctorArgs) -> String {
    match e {
        DoctorError::NoOverrideForTarget { .. } => format!("--resolve {:?}: {e}", a.resolve.join(" ")),
        DoctorError::Encode { .. } => format!("-X/-H/-A: {e}"),
        _ => e.to_string(),
    }
}

/// Shows each verdict as the library reports it: the steps appear as they complete.
fn show(p: Progress<'_>, style: &style::Style, meta: &mut Option<render::Meta>) {
    match p {
        Progress::Begin { url, method, send } => {
            crate::out::print(render::header(url, style));
            *meta = Some(render::Meta {
                url: url.to_owned(),
                method: method.to_owned(),
                sent: send,
            });
        }
        Progress::Verdict(v) => {
            if let Some(m) = meta {
                crate::out::print(style.block(&render::verdict(v, m)));
            }
        }
        Progress::Device {
            verdict,
            anchors,
            named: true,
        } => {
            for b in render::device_full(verdict, Some(anchors)) {
                crate::out::print(style.block(&b));
            }
        }
        Progress::Device { verdict, .. } => crate::out::print(style.block(&render::device_summary(verdict))),
    }
}

/// Runs `tlspost doctor`.
pub fn run(a: DoctorArgs) -> ExitCode {
    let req = match request(&a) {
        Ok(r) => r,
        Err(e) => return exit::usage("doctor", e),
    };
    let report = if a.json_output {
        tlspost_doctor::run(&req)
    } else {
        let style = style::Style::detect();
        let mut meta = None;
        tlspost_doctor::run_observed(&req, &mut |p| show(p, &style, &mut meta)).inspect(|r| {
            crate::out::print(render::closing(r, &style));
        })
    };
    match report {
        Err(e) => exit::usage("doctor", usage(&e, &a)),
        Ok(r) => {
            if a.json_output {
                crate::out::println(render::json(&r));
            }
            ExitCode::from(if r.failed() { exit::FAILED } else { exit::OK })
        }
    }
}

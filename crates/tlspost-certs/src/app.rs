//! The work behind `tlspost certs` and `tlspost certs check`, writing to any `Write`.
//!
//! The CLI only parses arguments into [`Options`] / [`CheckOptions`] and calls [`run`] / [`run_check`].

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::analyze::{Analysis, Recommendation, now_unix};
use crate::check::{check_anchors, check_chain};
use crate::cover::{HostRoots, cover};
use crate::emit::{BundleFormat, EmitOptions, Format, emit};
use crate::fetch::{Served, Target, fetch_chain};
use crate::roots::{Root, RootStore};
use crate::{CertInfo, CertsError};

/// Exit status: the chain verifies and a root is recommended / every check passed.
pub const EXIT_OK: u8 = 0;
/// Exit status: no trusted root, a check failed, or a host could not be reached.
pub const EXIT_FAIL: u8 = 1;
/// Exit status: the command line or an input file is wrong.
pub const EXIT_USAGE: u8 = 2;

/// Options of `tlspost certs`.
#[derive(Clone, Debug)]
pub struct Options {
    /// `HOST[:PORT]` targets.
    pub targets: Vec<String>,
    /// `--resolve HOST:PORT:ADDR` entries.
    pub resolve: Vec<String>,
    /// `--servername NAME`: SNI and the name checked, when it differs from the host.
    pub servername: Option<String>,
    /// `--file CHAIN.pem`: analyse a saved chain instead of connecting.
    pub file: Option<PathBuf>,
    /// `--roots FILE`: extra candidate roots.
    pub roots: Vec<PathBuf>,
    /// `--cacert FILE`: also say whether the chain verifies against these.
    pub cacert: Vec<PathBuf>,
    /// `--cover`: the smallest root set verifying every target.
    pub cover: bool,
    /// `--warn-days`.
    pub warn_days: i64,
    /// `--format`: emit the chosen roots.
    pub format: Option<Format>,
    /// `--bundle-format`.
    pub bundle: BundleFormat,
    /// `-o FILE`.
    pub output: Option<PathBuf>,
    /// `--name` of the emitted array.
    pub name: String,
    /// `--only N`: emit only the N-th recommended root (from 1).
    pub only: Option<usize>,
    /// `--json`: the report as JSON.
    pub json: bool,
    /// Connect and handshake timeout.
    pub timeout: Duration,
    /// Fixed "now" (Unix seconds) for reproducible reports; `None` is the clock.
    pub now: Option<i64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            resolve: Vec::new(),
            servername: None,
            file: None,
            roots: Vec::new(),
            cacert: Vec::new(),
            cover: false,
            warn_days: 730,
            format: None,
            bundle: BundleFormat::Current,
            output: None,
            name: "root_ca".into(),
            only: None,
            json: false,
            timeout: Duration::from_secs(10),
            now: None,
        }
    }
}

/// Options of `tlspost certs check`.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// `HOST[:PORT]` targets.
    pub targets: Vec<String>,
    /// `--resolve` entries.
    pub resolve: Vec<String>,
    /// `--servername`.
    pub servername: Option<String>,
    /// `--cacert PINNED.pem` files: the pinned set.
    pub cacert: Vec<PathBuf>,
    /// `--roots FILE`: extra known roots, only to name what would work instead.
    pub roots: Vec<PathBuf>,
    /// `--warn-days`.
    pub warn_days: i64,
    /// `--json`.
    pub json: bool,
    /// Connect and handshake timeout.
    pub timeout: Duration,
    /// Fixed "now", as in [`Options::now`].
    pub now: Option<i64>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            resolve: Vec::new(),
            servername: None,
            cacert: Vec::new(),
            roots: Vec::new(),
            warn_days: 730,
            json: false,
            timeout: Duration::from_secs(10),
            now: None,
        }
    }
}

fn targets(
    given: &[String],
    resolve: &[String],
    servername: &Option<String>,
    timeout: Duration,
) -> Result<Vec<Target>, CertsError> {
    given
        .iter()
        .map(|g| {
            let mut t = Target::parse(g)?;
            t.apply_resolve(resolve)?;
            t.servername.clone_from(servername);
            t.timeout = timeout;
            Ok(t)
        })
        .collect()
}

fn parse_chain(ders: &[Vec<u8>], origin: &str) -> Result<Vec<CertInfo>, CertsError> {
    ders.iter()
        .enumerate()
        .map(|(i, d)| CertInfo::parse(d, &format!("{origin} #{}", i + 1)).map_err(CertsError::from))
        .collect()
}

fn load(paths: &[PathBuf]) -> Result<Vec<CertInfo>, CertsError> {
    let mut store = RootStore::empty();
    for p in paths {
        store.add_file(p)?;
    }
    Ok(store.roots.into_iter().map(|r| r.cert).collect())
}

/// One analysed target.
struct HostReport {
    label: String,
    served: Option<Served>,
    analysis: Option<Analysis>,
    cacert: Option<Result<String, String>>,
    recommendation: Option<Result<Recommendation, String>>,
    error: Option<String>,
}

/// Runs `tlspost certs`: report to `out` (or to `err` when the emitted output goes to `out`).
pub fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_inner(opts, out, err) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "tlspost certs: {e}");
            match e {
                CertsError::BadTarget { .. }
                | CertsError::Io { .. }
                | CertsError::Pem { .. }
                | CertsError::Format { .. } => EXIT_USAGE,
                _ => EXIT_FAIL,
            }
        }
    }
}

fn run_inner(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, CertsError> {
    let now = opts.now.unwrap_or_else(now_unix);
    let mut store = RootStore::mozilla();
    for p in &opts.roots {
        store.add_file(p)?;
    }
    let cacert = load(&opts.cacert)?;
    if opts.file.is_none() && opts.targets.is_empty() {
        return Err(CertsError::BadTarget {
            given: String::new(),
            why: "give HOST[:PORT] or --file CHAIN.pem",
        });
    }
    let mut reports = Vec::new();
    if let Some(file) = &opts.file {
        let ders = crate::pem::read_certs(file)?;
        let chain = parse_chain(&ders, &file.display().to_string())?;
        let name = opts.servername.as_deref().or(opts.targets.first().map(String::as_str));
        reports.push(analyse(
            file.display().to_string(),
            None,
            chain,
            name,
            &store,
            &cacert,
            opts.warn_days,
            now,
        ));
    } else {
        for t in targets(&opts.targets, &opts.resolve, &opts.servername, opts.timeout)? {
            let label = t.display();
            let result = fetch_chain(&t).and_then(|s| {
                let chain = parse_chain(&s.chain, &label)?;
                Ok((s, chain))
            });
            match result {
                Ok((served, chain)) => reports.push(analyse(
                    label,
                    Some(served),
                    chain,
                    Some(t.name()),
                    &store,
                    &cacert,
                    opts.warn_days,
                    now,
                )),
                Err(e) => reports.push(HostReport {
                    label,
                    served: None,
                    analysis: None,
                    cacert: None,
                    recommendation: None,
                    error: Some(e.to_string()),
                }),
            }
        }
    }

    // What to pin: the cover across hosts, or each host's own recommendation.
    let mut chosen: Vec<Root> = Vec::new();
    let mut cover_json = Value::Null;
    let mut cover_text = String::new();
    let all_ok = reports.iter().all(|r| matches!(r.recommendation, Some(Ok(_))));
    if opts.cover {
        let hosts: Vec<HostRoots> = reports
            .iter()
            .map(|r| HostRoots {
                host: r.label.clone(),
                roots: r.analysis.as_ref().map(Analysis::anchors).unwrap_or_default(),
            })
            .collect();
        let c = cover(&hosts);
        cover_text.push_str(&format!(
            "\nSmallest root set covering {} host(s){}: {} root(s)\n",
            hosts.len(),
            if c.exact { "" } else { " (greedy)" },
            c.roots.len()
        ));
        for (i, r) in c.roots.iter().enumerate() {
            cover_text.push_str(&format!("  {}. {}\n", i + 1, root_line(r, now, opts.warn_days)));
        }
        for (host, idx) in &c.per_host {
            let names: Vec<String> = idx.iter().map(|&i| format!("{}", i + 1)).collect();
            if names.is_empty() {
                cover_text.push_str(&format!("  {host}: NOT covered (no root verifies it)\n"));
            } else {
                cover_text.push_str(&format!("  {host}: verified by root {}\n", names.join(", ")));
            }
        }
        cover_json = json!({
            "exact": c.exact,
            "roots": c.roots.iter().map(|r| root_json(r, now, opts.warn_days)).collect::<Vec<_>>(),
            "hosts": c.per_host.iter().map(|(h, idx)| json!({"host": h, "roots": idx.iter().map(|i| i + 1).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "uncovered": c.uncovered,
        });
        chosen = c.roots;
    } else {
        for r in &reports {
            if let Some(Ok(rec)) = &r.recommendation {
                for root in &rec.roots {
                    if !chosen.iter().any(|c| c.cert.der == root.cert.der) {
                        chosen.push(root.clone());
                    }
                }
            }
        }
    }
    if let Some(n) = opts.only {
        if n == 0 || n > chosen.len() {
            return Err(CertsError::Format {
                why: format!(
                    "--only {n}: there are {} recommended root(s), numbered from 1",
                    chosen.len()
                ),
            });
        }
        chosen = vec![chosen.swap_remove(n - 1)];
    }

    // Emitted output goes to stdout (or -o); the report then goes to stderr.
    let report_to_err = opts.format.is_some() && opts.output.is_none();
    {
        let rep: &mut dyn Write = if report_to_err { &mut *err } else { &mut *out };
        if opts.json {
            let v = json!({
                "hosts": reports.iter().map(|r| report_json(r, now, opts.warn_days)).collect::<Vec<_>>(),
                "cover": cover_json,
            });
            let _ = writeln!(rep, "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        } else {
            for r in &reports {
                let _ = rep.write_all(report_text(r, now, opts.warn_days, &opts.cacert).as_bytes());
            }
            let _ = rep.write_all(cover_text.as_bytes());
        }
    }
    if let Some(format) = opts.format {
        if chosen.is_empty() {
            let why = reports
                .iter()
                .filter_map(|r| match (&r.recommendation, &r.error) {
                    (Some(Err(e)), _) | (_, Some(e)) => Some(format!("{}: {e}", r.label)),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n");
            return Err(CertsError::NoTrustedRoot {
                explanation: format!("nothing to emit: {why}"),
            });
        }
        let certs: Vec<&CertInfo> = chosen.iter().map(|r| &r.cert).collect();
        let purpose = reports.iter().map(|r| r.label.clone()).collect::<Vec<_>>().join(", ");
        let bytes = emit(
            &certs,
            &EmitOptions {
                format,
                bundle: opts.bundle,
                name: opts.name.clone(),
                purpose,
            },
        )?;
        match &opts.output {
            Some(path) => {
                std::fs::write(path, &bytes).map_err(|source| CertsError::Io {
                    path: path.clone(),
                    source,
                })?;
                let _ = writeln!(
                    err,
                    "wrote {} root(s) as {format:?} to {} ({} bytes)",
                    certs.len(),
                    path.display(),
                    bytes.len()
                );
            }
            None => {
                let _ = out.write_all(&bytes);
            }
        }
    }
    let cacert_ok = reports.iter().all(|r| !matches!(r.cacert, Some(Err(_))));
    let covered = !opts.cover
        || !chosen.is_empty()
            && reports
                .iter()
                .all(|r| r.analysis.as_ref().is_some_and(|a| !a.anchors().is_empty()));
    Ok(if (all_ok || opts.cover && covered) && cacert_ok {
        EXIT_OK
    } else {
        EXIT_FAIL
    })
}

#[allow(clippy::too_many_arguments)]
fn analyse(
    label: String,
    served: Option<Served>,
    chain: Vec<CertInfo>,
    name: Option<&str>,
    store: &RootStore,
    cacert: &[CertInfo],
    warn_days: i64,
    now: i64,
) -> HostReport {
    let analysis = Analysis::new(chain, name, store, now);
    let cacert_result = if cacert.is_empty() {
        None
    } else {
        let refs: Vec<&CertInfo> = cacert.iter().collect();
        Some(match crate::verify::verify_with(&analysis.chain, &refs, now) {
            Ok(_) if !analysis.name_ok() => Err(format!("the leaf is not valid for {:?}", name.unwrap_or(""))),
            Ok(v) => Ok(format!("verifies (path of {} served certificate(s))", v.served.len())),
            Err(e) => Err(e),
        })
    };
    let recommendation = Some(analysis.recommend(warn_days).map_err(|e| e.to_string()));
    HostReport {
        label,
        served,
        analysis: Some(analysis),
        cacert: cacert_result,
        recommendation,
        error: None,
    }
}

fn root_line(r: &Root, now: i64, warn_days: i64) -> String {
    let days = r.cert.days_left(now);
    format!(
        "{}  [{}]\n     expires {} ({days} days{})\n     sha256 {}",
        r.cert.subject,
        r.source,
        r.cert.not_after_date(),
        if days < warn_days {
            ", WITHIN THE WARNING WINDOW"
        } else {
            ""
        },
        r.cert.fingerprint()
    )
}

fn cert_json(c: &CertInfo, now: i64) -> Value {
    json!({
        "subject": c.subject,
        "issuer": c.issuer,
        "sans": c.sans,
        "key": c.key,
        "signature": c.signature,
        "serial": c.serial,
        "not_before": c.not_before_date(),
        "not_after": c.not_after_date(),
        "days_left": c.days_left(now),
        "ca": c.is_ca,
        "path_len": c.path_len,
        "sha256": c.fingerprint(),
        "spki_pin": c.spki_pin(),
        "self_signed": c.self_signed,
    })
}

fn root_json(r: &Root, now: i64, warn_days: i64) -> Value {
    let mut v = cert_json(&r.cert, now);
    v["source"] = json!(r.source.to_string());
    v["within_warn_days"] = json!(r.cert.days_left(now) < warn_days);
    v
}

fn report_json(r: &HostReport, now: i64, warn_days: i64) -> Value {
    let mut v = json!({ "target": r.label });
    if let Some(s) = &r.served {
        v["peer"] = json!(s.peer.to_string());
        v["tls_version"] = json!(s.version);
        v["cipher_suite"] = json!(s.suite);
        v["sni"] = json!(s.sni);
    }
    if let Some(e) = &r.error {
        v["error"] = json!(e);
    }
    if let Some(a) = &r.analysis {
        v["chain"] = json!(
            a.chain
                .iter()
                .zip(&a.roles)
                .map(|(c, role)| {
                    let mut j = cert_json(c, now);
                    j["role"] = json!(role.to_string());
                    j
                })
                .collect::<Vec<_>>()
        );
        v["problems"] = json!(a.problems.iter().map(|p| p.describe(&a.chain)).collect::<Vec<_>>());
        v["paths"] = json!(
            a.paths
                .iter()
                .map(|p| json!({
                    "root": p.root.cert.subject,
                    "source": p.root.source.to_string(),
                    "served": p.served.iter().map(|i| i + 1).collect::<Vec<_>>(),
                    "root_expired": p.root_expired,
                }))
                .collect::<Vec<_>>()
        );
        v["verifies_mozilla"] = json!(a.verifies_mozilla());
        v["name"] = json!(a.name);
        v["name_ok"] = json!(a.name_ok());
    }
    if let Some(c) = &r.cacert {
        v["cacert"] = match c {
            Ok(s) => json!({"ok": true, "detail": s}),
            Err(e) => json!({"ok": false, "detail": e}),
        };
    }
    match &r.recommendation {
        Some(Ok(rec)) => {
            v["recommendation"] = json!({
                "roots": rec.roots.iter().map(|x| root_json(x, now, warn_days)).collect::<Vec<_>>(),
                "warnings": rec.warnings,
            });
        }
        Some(Err(e)) => v["recommendation_error"] = json!(e),
        None => {}
    }
    v
}

fn report_text(r: &HostReport, now: i64, warn_days: i64, cacert: &[PathBuf]) -> String {
    let mut s = String::new();
    let Some(a) = &r.analysis else {
        s.push_str(&format!(
            "{}: {}\n\n",
            r.label,
            r.error.as_deref().unwrap_or("no result")
        ));
        return s;
    };
    match &r.served {
        Some(sv) => s.push_str(&format!(
            "Chain served by {} ({}, {}, {}, SNI {})\n",
            r.label,
            sv.peer,
            sv.version,
            sv.suite,
            sv.sni.as_deref().unwrap_or("none")
        )),
        None => s.push_str(&format!("Chain read from {}\n", r.label)),
    }
    for (i, (c, role)) in a.chain.iter().zip(&a.roles).enumerate() {
        s.push_str(&format!("\n #{} {role}: {}\n", i + 1, c.subject));
        s.push_str(&format!("    issuer    {}\n", c.issuer));
        if i == 0 && !c.sans.is_empty() {
            s.push_str(&format!("    names     {}\n", c.sans.join(", ")));
        }
        s.push_str(&format!("    key       {}, signed with {}\n", c.key, c.signature));
        let days = c.days_left(now);
        let state = if days < 0 {
            "EXPIRED".to_string()
        } else {
            format!("{days} days left")
        };
        s.push_str(&format!(
            "    valid     {} to {} ({state})\n",
            c.not_before_date(),
            c.not_after_date()
        ));
        let ca = match (c.is_ca, c.path_len) {
            (true, Some(n)) => format!("yes, path length {n}"),
            (true, None) => "yes".into(),
            (false, _) => "no".into(),
        };
        s.push_str(&format!("    CA        {ca}\n"));
        s.push_str(&format!("    sha256    {}\n", c.fingerprint()));
        s.push_str(&format!("    spki pin  {}\n", c.spki_pin()));
    }
    s.push('\n');
    if a.problems.is_empty() {
        s.push_str("Chain: in order, complete, nothing extra\n");
    } else {
        s.push_str("Chain problems:\n");
        for p in &a.problems {
            s.push_str(&format!("  - {}\n", p.describe(&a.chain)));
        }
    }
    if let Some(name) = &a.name {
        s.push_str(&format!(
            "Name {name:?}: {}\n",
            if a.name_ok() {
                "the leaf is valid for it"
            } else {
                "the leaf is NOT valid for it"
            }
        ));
    }
    s.push_str("\nPaths from the leaf to a root:\n");
    if a.paths.is_empty() {
        s.push_str("  none\n");
    }
    for p in &a.paths {
        let via: Vec<String> = p.served.iter().map(|i| format!("#{}", i + 1)).collect();
        s.push_str(&format!(
            "  {} → {:?} [{}]{}\n",
            via.join(" → "),
            p.root.cert.short_name(),
            p.root.source,
            if p.root_expired { " (root EXPIRED)" } else { "" }
        ));
    }
    for f in &a.failures {
        s.push_str(&format!(
            "  not via {:?} [{}]: {}\n",
            f.root.cert.short_name(),
            f.root.source,
            f.why
        ));
    }
    s.push_str(&format!(
        "Mozilla root store: {}\n",
        if a.verifies_mozilla() {
            "verifies"
        } else {
            "does not verify"
        }
    ));
    if let Some(c) = &r.cacert {
        let files: Vec<String> = cacert.iter().map(|p| p.display().to_string()).collect();
        match c {
            Ok(d) => s.push_str(&format!("--cacert {}: {d}\n", files.join(", "))),
            Err(e) => s.push_str(&format!("--cacert {}: does NOT verify: {e}\n", files.join(", "))),
        }
    }
    match &r.recommendation {
        Some(Ok(rec)) => {
            s.push_str(&format!(
                "\nPin {} (never the leaf, never an intermediate):\n",
                if rec.roots.len() == 1 {
                    "this root"
                } else {
                    "these roots"
                },
            ));
            for (i, root) in rec.roots.iter().enumerate() {
                s.push_str(&format!("  {}. {}\n", i + 1, root_line(root, now, warn_days)));
            }
            s.push_str("Warnings:\n");
            for w in &rec.warnings {
                s.push_str(&format!("  ! {w}\n"));
            }
        }
        Some(Err(e)) => s.push_str(&format!("\nNo root to pin: {e}\n")),
        None => {}
    }
    s.push('\n');
    s
}

/// Runs `tlspost certs check`; returns the exit status.
pub fn run_check(opts: &CheckOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_check_inner(opts, out) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "tlspost certs check: {e}");
            EXIT_USAGE
        }
    }
}

fn run_check_inner(opts: &CheckOptions, out: &mut dyn Write) -> Result<u8, CertsError> {
    let now = opts.now.unwrap_or_else(now_unix);
    if opts.cacert.is_empty() {
        return Err(CertsError::BadTarget {
            given: String::new(),
            why: "give the pinned roots with --cacert PINNED.pem",
        });
    }
    if opts.targets.is_empty() {
        return Err(CertsError::BadTarget {
            given: String::new(),
            why: "give at least one HOST[:PORT] to check",
        });
    }
    let pinned = load(&opts.cacert)?;
    let mut known = RootStore::mozilla();
    for p in opts.roots.iter().chain(&opts.cacert) {
        known.add_file(p)?;
    }
    let anchors = check_anchors(&pinned, opts.warn_days, now);
    let mut hosts = Vec::new();
    for t in targets(&opts.targets, &opts.resolve, &opts.servername, opts.timeout)? {
        let label = t.display();
        let chain = fetch_chain(&t).and_then(|s| parse_chain(&s.chain, &label));
        hosts.push(match chain {
            Ok(chain) => check_chain(&label, t.name(), chain, &pinned, &known, now),
            Err(e) => crate::check::HostCheck {
                target: label,
                ok: false,
                verified_by: None,
                reasons: vec![e.to_string()],
                served: Vec::new(),
            },
        });
    }
    let ok = anchors.iter().all(|a| a.ok) && hosts.iter().all(|h| h.ok);
    if opts.json {
        let v = json!({
            "ok": ok,
            "warn_days": opts.warn_days,
            "anchors": anchors.iter().map(|a| json!({
                "subject": a.cert.subject,
                "not_after": a.cert.not_after_date(),
                "days_left": a.days_left,
                "sha256": a.cert.fingerprint(),
                "ok": a.ok,
            })).collect::<Vec<_>>(),
            "hosts": hosts.iter().map(|h| json!({
                "target": h.target,
                "ok": h.ok,
                "verified_by": h.verified_by,
                "reasons": h.reasons,
                "served": h.served,
            })).collect::<Vec<_>>(),
        });
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for a in &anchors {
            let _ = writeln!(
                out,
                "{} pinned {:?}: expires {} ({} days){}",
                if a.ok { "ok  " } else { "FAIL" },
                a.cert.short_name(),
                a.cert.not_after_date(),
                a.days_left,
                if a.ok {
                    String::new()
                } else {
                    format!(
                        ", less than --warn-days {}: ship its successor to devices now",
                        opts.warn_days
                    )
                }
            );
        }
        for h in &hosts {
            match (&h.verified_by, h.ok) {
                (Some(by), true) => {
                    let _ = writeln!(out, "ok   {}: verified by pinned {by:?}", h.target);
                }
                _ => {
                    let _ = writeln!(out, "FAIL {}: {}", h.target, h.reasons.join("; "));
                }
            }
        }
        let _ = writeln!(out, "{}", if ok { "all pins hold" } else { "pins do NOT hold" });
    }
    Ok(if ok { EXIT_OK } else { EXIT_FAIL })
}

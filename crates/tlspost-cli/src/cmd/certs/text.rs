//! `tlspost certs` as text: the report a person reads, with the flags to use where a fix needs one.

use std::fmt::Write as _;
use std::path::PathBuf;

use tlspost_certs::check::CheckReport;
use tlspost_certs::cover::Cover;
use tlspost_certs::{
    Analysis, CertInfo, CertsError, ChainReport, Found, PinnedVerdict, Problem, Recommendation, Report, Root, Served,
    Warning,
};

/// A library error with the flag that fixes it, where one does.
pub fn error(e: &CertsError) -> String {
    match e {
        CertsError::Resolve { host, .. } => format!("{e} with --resolve {host}:PORT:ADDR"),
        CertsError::Unreachable { .. } => format!("{e} with --resolve"),
        CertsError::Handshake { sni: None, .. } => format!("{e}, pass --servername NAME"),
        CertsError::Handshake { .. } if e.sni_refused() => format!("{e}; check --servername"),
        CertsError::NoTrustedRoot { explanation } => format!(
            "{explanation}. Add the root with --roots FILE (for a private CA), or fix the server's chain \
             (send the leaf, then each intermediate up to the root)."
        ),
        CertsError::DerHoldsOne { roots } => format!(
            "der holds one certificate but {roots} roots are chosen: pick one with --only N, or use --format pem"
        ),
        CertsError::NotAnIdentifier { name } => {
            format!("--name {name:?} is not a C identifier (letters, digits, _; not starting with a digit)")
        }
        _ => e.to_string(),
    }
}

/// A chain problem, with the flag to check where one helps.
pub fn problem(p: &Problem, chain: &[CertInfo]) -> String {
    match p {
        Problem::NameMismatch { .. } => format!("{}: check --servername", p.describe(chain)),
        _ => p.describe(chain),
    }
}

/// A warning, with the flag to check where one helps.
pub fn warning(w: &Warning) -> String {
    match w {
        Warning::NameMismatch { .. } => format!("{w} (check --servername)"),
        _ => w.to_string(),
    }
}

/// A root: subject, source, expiry (flagged within the warning window), fingerprint.
pub fn root_line(r: &Root, now: i64, warn_days: i64) -> String {
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

/// The whole report: each chain, then the cover.
pub fn report(r: &Report, cacert: &[PathBuf]) -> String {
    let mut s = String::new();
    for c in &r.chains {
        chain_report(&mut s, c, r, cacert);
    }
    if let Some(cover) = &r.cover {
        cover_text(&mut s, cover, r);
    }
    s
}

fn chain_report(s: &mut String, c: &ChainReport, r: &Report, cacert: &[PathBuf]) {
    let f = match &c.found {
        Ok(f) => f,
        Err(e) => {
            let _ = write!(s, "{}: {}\n\n", c.label, error(e));
            return;
        }
    };
    let a = &f.analysis;
    origin(s, &c.label, c.served.as_ref());
    certificates(s, a, r.now);
    s.push('\n');
    if a.problems.is_empty() {
        s.push_str(if a.is_roots() {
            "Roots: read as such, each its own trust anchor\n"
        } else {
            "Chain: in order, complete, nothing extra\n"
        });
    } else {
        s.push_str("Chain problems:\n");
        for p in &a.problems {
            let _ = writeln!(s, "  - {}", problem(p, &a.chain));
        }
    }
    if let Some(name) = &a.name {
        let valid = if a.name_ok() { "is" } else { "is NOT" };
        let _ = writeln!(s, "Name {name:?}: the leaf {valid} valid for it");
    }
    // Roots read as such are their own anchors: there is no path from a leaf to show.
    if !a.is_roots() {
        paths(s, a);
    }
    cacert_line(s, f, cacert);
    match &f.recommendation {
        Ok(rec) => recommendation(s, rec, r),
        Err(e) => {
            let _ = writeln!(s, "\nNo root to pin: {}", error(e));
        }
    }
    s.push('\n');
}

fn origin(s: &mut String, label: &str, served: Option<&Served>) {
    let _ = match served {
        Some(sv) => writeln!(
            s,
            "Chain served by {label} ({}, {}, {}, SNI {})",
            sv.peer,
            sv.tls.version,
            sv.tls.suite_text(),
            sv.tls.sni.as_deref().unwrap_or("none")
        ),
        None => writeln!(s, "Chain read from {label}"),
    };
}

fn certificates(s: &mut String, a: &Analysis, now: i64) {
    for (i, (c, role)) in a.chain.iter().zip(&a.roles).enumerate() {
        let _ = writeln!(s, "\n #{} {role}: {}", i + 1, c.subject);
        let _ = writeln!(s, "    issuer    {}", c.issuer);
        if i == 0 && !c.sans.is_empty() {
            let _ = writeln!(s, "    names     {}", c.sans.join(", "));
        }
        let _ = writeln!(s, "    key       {}, signed with {}", c.key, c.signature);
        let days = c.days_left(now);
        let state = if days < 0 {
            "EXPIRED".to_string()
        } else {
            format!("{days} days left")
        };
        let _ = writeln!(
            s,
            "    valid     {} to {} ({state})",
            c.not_before_date(),
            c.not_after_date()
        );
        let ca = match (c.is_ca, c.path_len) {
            (true, Some(n)) => format!("yes, path length {n}"),
            (true, None) => "yes".into(),
            (false, _) => "no".into(),
        };
        let _ = writeln!(s, "    CA        {ca}");
        let _ = writeln!(s, "    sha256    {}", c.fingerprint());
        let _ = writeln!(s, "    spki pin  {}", c.spki_pin());
    }
}

fn paths(s: &mut String, a: &Analysis) {
    s.push_str("\nPaths from the leaf to a root:\n");
    if a.paths.is_empty() {
        s.push_str("  none\n");
    }
    for p in &a.paths {
        let via: Vec<String> = p.served.iter().map(|i| format!("#{}", i + 1)).collect();
        let _ = writeln!(
            s,
            "  {} → {:?} [{}]{}",
            via.join(" → "),
            p.root.cert.short_name(),
            p.root.source,
            if p.root_expired { " (root EXPIRED)" } else { "" }
        );
    }
    for f in &a.failures {
        let _ = writeln!(
            s,
            "  not via {:?} [{}]: {}",
            f.root.cert.short_name(),
            f.root.source,
            a.why_not(f)
        );
    }
    let verifies = if a.verifies_mozilla() {
        "verifies"
    } else {
        "does not verify"
    };
    let _ = writeln!(s, "Mozilla root store: {verifies}");
}

/// Whether the pinned roots hold, and the detail.
pub fn pinned(v: &PinnedVerdict) -> (bool, String) {
    match v {
        PinnedVerdict::Verifies { served } => (true, format!("verifies (path of {served} served certificate(s))")),
        PinnedVerdict::NameMismatch { name } => (false, format!("the leaf is not valid for {name:?}")),
        PinnedVerdict::DoesNotVerify { why } => (false, why.to_string()),
        _ => (false, "does not verify".into()),
    }
}

fn cacert_line(s: &mut String, f: &Found, cacert: &[PathBuf]) {
    let Some(v) = &f.pinned else { return };
    let files: Vec<String> = cacert.iter().map(|p| p.display().to_string()).collect();
    let (ok, detail) = pinned(v);
    let not = if ok { "" } else { "does NOT verify: " };
    let _ = writeln!(s, "--cacert {}: {not}{detail}", files.join(", "));
}

fn recommendation(s: &mut String, rec: &Recommendation, r: &Report) {
    let which = if rec.roots.len() == 1 {
        "this root"
    } else {
        "these roots"
    };
    let _ = writeln!(s, "\nPin {which} (never the leaf, never an intermediate):");
    for (i, root) in rec.roots.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}", i + 1, root_line(root, r.now, r.warn_days));
    }
    if !rec.warnings.is_empty() {
        s.push_str("Warnings:\n");
    }
    for w in &rec.warnings {
        let _ = writeln!(s, "  ! {}", warning(w));
    }
}

fn cover_text(s: &mut String, c: &Cover, r: &Report) {
    let _ = writeln!(
        s,
        "\nSmallest root set covering {} host(s){}: {} root(s)",
        c.per_host.len(),
        if c.exact { "" } else { " (greedy)" },
        c.roots.len()
    );
    for (i, root) in c.roots.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}", i + 1, root_line(root, r.now, r.warn_days));
    }
    for (host, idx) in &c.per_host {
        if idx.is_empty() {
            let _ = writeln!(s, "  {host}: NOT covered (no root verifies it)");
        } else {
            let names: Vec<String> = idx.iter().map(|&i| format!("{}", i + 1)).collect();
            let _ = writeln!(s, "  {host}: verified by root {}", names.join(", "));
        }
    }
}

/// `tlspost certs check` as text: one line per pinned root, one per host, the verdict.
pub fn check(r: &CheckReport) -> String {
    let mut s = String::new();
    for a in &r.anchors {
        let advice = if a.ok {
            String::new()
        } else {
            format!(
                ", less than --warn-days {}: ship its successor to devices now",
                r.warn_days
            )
        };
        let _ = writeln!(
            s,
            "{} pinned {:?}: expires {} ({} days){advice}",
            if a.ok { "ok  " } else { "FAIL" },
            a.cert.short_name(),
            a.cert.not_after_date(),
            a.days_left,
        );
    }
    for h in &r.hosts {
        let _ = match (&h.verified_by, h.ok) {
            (Some(by), true) => writeln!(s, "ok   {}: verified by pinned {by:?}", h.target),
            _ => writeln!(s, "FAIL {}: {}", h.target, h.why()),
        };
    }
    let verdict = if r.ok() { "all pins hold" } else { "pins do NOT hold" };
    let _ = writeln!(s, "{verdict}");
    s
}

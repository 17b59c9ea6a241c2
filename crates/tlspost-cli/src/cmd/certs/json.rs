//! `tlspost certs --json` and `certs check --json`: the reports for a program.

use serde_json::{Value, json};
use tlspost_certs::check::CheckReport;
use tlspost_certs::{Analysis, CertInfo, ChainReport, Report, Root};

use super::text;

fn cert(c: &CertInfo, now: i64) -> Value {
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

fn root(r: &Root, now: i64, warn_days: i64) -> Value {
    let mut v = cert(&r.cert, now);
    v["source"] = json!(r.source.to_string());
    v["within_warn_days"] = json!(r.cert.days_left(now) < warn_days);
    v
}

fn analysis(v: &mut Value, a: &Analysis) {
    v["chain"] = a
        .chain
        .iter()
        .zip(&a.roles)
        .map(|(c, role)| {
            let mut j = cert(c, a.now);
            j["role"] = json!(role.to_string());
            j
        })
        .collect();
    v["problems"] = a.problems.iter().map(|p| text::problem(p, &a.chain)).collect();
    v["paths"] = a
        .paths
        .iter()
        .map(|p| {
            json!({
                "root": p.root.cert.subject,
                "source": p.root.source.to_string(),
                "served": p.served.iter().map(|i| i + 1).collect::<Vec<_>>(),
                "root_expired": p.root_expired,
            })
        })
        .collect();
    v["verifies_mozilla"] = json!(a.verifies_mozilla());
    v["name"] = json!(a.name);
    v["name_ok"] = json!(a.name_ok());
}

fn chain(c: &ChainReport, now: i64, warn_days: i64) -> Value {
    let mut v = json!({ "target": c.label });
    if let Some(s) = &c.served {
        v["peer"] = json!(s.peer.to_string());
        v["tls_version"] = json!(s.tls.version.to_string());
        v["cipher_suite"] = json!(s.tls.suite_text());
        v["sni"] = json!(s.tls.sni);
    }
    let f = match &c.found {
        Ok(f) => f,
        Err(e) => {
            v["error"] = json!(text::error(e));
            return v;
        }
    };
    analysis(&mut v, &f.analysis);
    if let Some(p) = &f.pinned {
        let (ok, detail) = text::pinned(p);
        v["cacert"] = json!({"ok": ok, "detail": detail});
    }
    match &f.recommendation {
        Ok(rec) => {
            v["recommendation"] = json!({
                "roots": rec.roots.iter().map(|x| root(x, now, warn_days)).collect::<Vec<_>>(),
                "warnings": rec.warnings.iter().map(text::warning).collect::<Vec<_>>(),
            });
        }
        Err(e) => v["recommendation_error"] = json!(text::error(e)),
    }
    v
}

/// The `certs` report.
pub fn report(r: &Report) -> Value {
    let cover = r.cover.as_ref().map_or(Value::Null, |c| {
        json!({
            "exact": c.exact,
            "roots": c.roots.iter().map(|x| root(x, r.now, r.warn_days)).collect::<Vec<_>>(),
            "hosts": c.per_host.iter().map(|(h, idx)| json!({"host": h, "roots": idx.iter().map(|i| i + 1).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "uncovered": c.uncovered,
        })
    });
    json!({
        "hosts": r.chains.iter().map(|c| chain(c, r.now, r.warn_days)).collect::<Vec<_>>(),
        "cover": cover,
    })
}

/// The `certs check` verdicts.
pub fn check(r: &CheckReport) -> Value {
    json!({
        "ok": r.ok(),
        "warn_days": r.warn_days,
        "anchors": r.anchors.iter().map(|a| json!({
            "subject": a.cert.subject,
            "not_after": a.cert.not_after_date(),
            "days_left": a.days_left,
            "sha256": a.cert.fingerprint(),
            "ok": a.ok,
        })).collect::<Vec<_>>(),
        "hosts": r.hosts.iter().map(|h| json!({
            "target": h.target,
            "ok": h.ok,
            "verified_by": h.verified_by,
            "reasons": h.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "served": h.served,
        })).collect::<Vec<_>>(),
    })
}

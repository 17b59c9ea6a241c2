//! Does the pinned set still verify what each host serves right now, and for how long?

use std::path::PathBuf;

use crate::analyze::Analysis;
use crate::fetch::{Target, fetch_chain};
use crate::report::{load_certs, parse_chain};
use crate::roots::RootStore;
use crate::verify::verify_with;
use crate::{CertInfo, CertsError};

/// The verdicts on a pinned set.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// Each pinned certificate against the warning window.
    pub anchors: Vec<AnchorStatus>,
    /// Each host's verdict, in the order given.
    pub hosts: Vec<HostCheck>,
    /// The warning window, in days.
    pub warn_days: i64,
}

impl CheckReport {
    /// Whether every pinned root lives through the window and every host verifies.
    pub fn ok(&self) -> bool {
        self.anchors.iter().all(|a| a.ok) && self.hosts.iter().all(|h| h.ok)
    }
}

/// Checks that the roots in the `pinned` files verify what each target serves and live `warn_days`
/// more; `known_roots` files (besides Mozilla's store) only name a root that would work instead.
pub fn check(
    targets: &[Target],
    pinned: &[PathBuf],
    known_roots: &[PathBuf],
    warn_days: i64,
    now: i64,
) -> Result<CheckReport, CertsError> {
    let pinned_certs = load_certs(pinned)?;
    let mut known = RootStore::mozilla();
    for p in known_roots.iter().chain(pinned) {
        known.add_file(p)?;
    }
    let hosts = targets
        .iter()
        .map(|t| {
            let label = t.display();
            match fetch_chain(t).and_then(|s| parse_chain(&s.chain, &label)) {
                Ok(chain) => check_chain(&label, t.name(), chain, &pinned_certs, &known, now),
                Err(e) => HostCheck {
                    target: label,
                    ok: false,
                    verified_by: None,
                    reasons: vec![e.to_string()],
                    served: Vec::new(),
                },
            }
        })
        .collect();
    Ok(CheckReport {
        anchors: check_anchors(&pinned_certs, warn_days, now),
        hosts,
        warn_days,
    })
}

/// How a pinned anchor stands against the warning window.
#[derive(Clone, Debug)]
pub struct AnchorStatus {
    /// The pinned certificate.
    pub cert: CertInfo,
    /// Days until it expires (negative once expired).
    pub days_left: i64,
    /// Whether it lives at least `warn_days` more.
    pub ok: bool,
}

/// The verdict for one host.
#[derive(Clone, Debug)]
pub struct HostCheck {
    /// `host:port` as given.
    pub target: String,
    /// Whether the pinned set verifies the chain served now, for the name.
    pub ok: bool,
    /// The pinned root that verifies it, when one does.
    pub verified_by: Option<String>,
    /// Why not, in words (empty when ok).
    pub reasons: Vec<String>,
    /// Subjects of the served certificates, in order.
    pub served: Vec<String>,
}

/// Checks the pinned anchors' remaining lifetime.
pub fn check_anchors(pinned: &[CertInfo], warn_days: i64, now: i64) -> Vec<AnchorStatus> {
    pinned
        .iter()
        .map(|c| {
            let days_left = c.days_left(now);
            AnchorStatus {
                cert: c.clone(),
                days_left,
                ok: days_left >= warn_days,
            }
        })
        .collect()
}

/// Checks one served chain against the pinned anchors; `known` names a root that would work instead.
pub fn check_chain(
    target: &str,
    name: &str,
    chain: Vec<CertInfo>,
    pinned: &[CertInfo],
    known: &RootStore,
    now: i64,
) -> HostCheck {
    let served: Vec<String> = chain.iter().map(|c| c.subject.clone()).collect();
    let mut verified_by = None;
    let mut per_root = Vec::new();
    for p in pinned {
        match verify_with(&chain, &[p], now) {
            Ok(_) => {
                verified_by = Some(p.subject.clone());
                break;
            }
            Err(why) => per_root.push(format!("{:?}: {why}", p.short_name())),
        }
    }
    let mut reasons = Vec::new();
    let name_check = chain.first().map(|leaf| crate::verify::valid_for_name(leaf, name));
    if let Some(Err(why)) = name_check {
        reasons.push(format!(
            "the leaf is not valid for {name:?} ({why}); it names [{}]",
            chain.first().map(|c| c.sans.join(", ")).unwrap_or_default()
        ));
    }
    if verified_by.is_none() {
        let analysis = Analysis::new(chain, Some(name), known, now);
        let top = analysis.chain.last().map(|c| c.issuer.clone()).unwrap_or_default();
        let mut s = format!(
            "none of the pinned roots verifies the chain served now (it sends {}, ending at an issuer {top:?})",
            analysis
                .chain
                .iter()
                .map(|c| format!("{:?}", c.short_name()))
                .collect::<Vec<_>>()
                .join(" ← ")
        );
        if !per_root.is_empty() {
            s.push_str(&format!("; {}", per_root.join("; ")));
        }
        let anchors = analysis.anchors();
        if anchors.is_empty() {
            s.push_str("; it verifies to no known root either");
        } else {
            let names: Vec<String> = anchors
                .iter()
                .map(|r| format!("{:?} ({})", r.cert.short_name(), r.source))
                .collect();
            s.push_str(&format!(
                "; it verifies to {}: add that root to the pinned set and ship it to devices",
                names.join(" and ")
            ));
        }
        reasons.push(s);
    }
    HostCheck {
        target: target.to_string(),
        ok: reasons.is_empty(),
        verified_by,
        reasons,
        served,
    }
}

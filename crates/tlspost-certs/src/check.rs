//! Does the pinned set still verify what each host serves right now, and for how long?

use std::path::PathBuf;

use crate::analyze::Analysis;
use crate::fetch::{Target, fetch_chain};
use crate::report::{load_certs, parse_chain};
use crate::roots::RootStore;
use crate::verify::{VerifyFailure, verify_with};
use crate::{CertInfo, CertsError};

/// The verdicts on a pinned set.
#[derive(Debug)]
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
            match fetch_chain(t).and_then(|s| parse_chain(&s.tls.chain, &label)) {
                Ok(chain) => check_chain(&label, t.name(), chain, &pinned_certs, &known, now),
                Err(e) => HostCheck {
                    target: label,
                    ok: false,
                    verified_by: None,
                    reasons: vec![HostProblem::NotReached(e)],
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
#[derive(Debug)]
pub struct HostCheck {
    /// `host:port` as given.
    pub target: String,
    /// Whether the pinned set verifies the chain served now, for the name.
    pub ok: bool,
    /// The pinned root that verifies it, when one does.
    pub verified_by: Option<String>,
    /// Why not (empty when ok).
    pub reasons: Vec<HostProblem>,
    /// Subjects of the served certificates, in order.
    pub served: Vec<String>,
}

impl HostCheck {
    /// The reasons as one text, `; ` between them.
    pub fn why(&self) -> String {
        self.reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Why the pinned set does not hold for a host.
#[non_exhaustive]
#[derive(Debug)]
pub enum HostProblem {
    /// The host could not be reached, or sent no usable chain.
    NotReached(CertsError),
    /// The leaf is not valid for the name asked for.
    NameMismatch {
        /// The name asked for.
        name: String,
        /// The verifier's reason.
        why: VerifyFailure,
        /// The names the leaf holds.
        names: Vec<String>,
    },
    /// No pinned root verifies the chain served now.
    NotPinned {
        /// Short names of the served certificates, in order.
        sent: Vec<String>,
        /// The issuer the served chain ends at.
        top: String,
        /// Each pinned root (short name) with why it does not verify the chain.
        per_root: Vec<(String, VerifyFailure)>,
        /// Known roots the chain does verify to (short name, where the root comes from).
        would_work: Vec<(String, String)>,
    },
}

impl std::fmt::Display for HostProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotReached(e) => e.fmt(f),
            Self::NameMismatch { name, why, names } => write!(
                f,
                "the leaf is not valid for {name:?} ({why}); it names [{}]",
                names.join(", ")
            ),
            Self::NotPinned {
                sent,
                top,
                per_root,
                would_work,
            } => {
                let sent: Vec<String> = sent.iter().map(|s| format!("{s:?}")).collect();
                write!(
                    f,
                    "none of the pinned roots verifies the chain served now (it sends {}, ending at an issuer {top:?})",
                    sent.join(" ← ")
                )?;
                for (root, why) in per_root {
                    write!(f, "; {root:?}: {why}")?;
                }
                if would_work.is_empty() {
                    f.write_str("; it verifies to no known root either")
                } else {
                    let names: Vec<String> = would_work.iter().map(|(n, src)| format!("{n:?} ({src})")).collect();
                    write!(
                        f,
                        "; it verifies to {}: add that root to the pinned set and ship it to devices",
                        names.join(" and ")
                    )
                }
            }
        }
    }
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
            Err(why) => per_root.push((p.short_name(), why)),
        }
    }
    let mut reasons = Vec::new();
    if let Some(leaf) = chain.first()
        && let Err(why) = crate::verify::valid_for_name(leaf, name)
    {
        reasons.push(HostProblem::NameMismatch {
            name: name.to_string(),
            why,
            names: leaf.sans.clone(),
        });
    }
    if verified_by.is_none() {
        let analysis = Analysis::new(chain, Some(name), known, now);
        reasons.push(HostProblem::NotPinned {
            sent: analysis.chain.iter().map(CertInfo::short_name).collect(),
            top: analysis.chain.last().map(|c| c.issuer.clone()).unwrap_or_default(),
            per_root,
            would_work: analysis
                .anchors()
                .iter()
                .map(|r| (r.cert.short_name(), r.source.to_string()))
                .collect(),
        });
    }
    HostCheck {
        target: target.to_string(),
        ok: reasons.is_empty(),
        verified_by,
        reasons,
        served,
    }
}

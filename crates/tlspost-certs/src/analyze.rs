//! What a served chain is, what is wrong with it, and which roots it can be pinned to.

use crate::roots::{Root, RootSource, RootStore};
use crate::verify::{VerifyFailure, valid_for_name, verify_with};
use crate::{CertInfo, CertsError, date};

/// The part a served certificate plays.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// The server's own certificate (first sent).
    Leaf,
    /// A CA certificate between the leaf and a root.
    Intermediate,
    /// A self-signed root (servers need not send it).
    Root,
    /// A root's key and name, signed by another CA: the bridge of a cross-signed chain.
    CrossSigned,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Leaf => "leaf",
            Self::Intermediate => "intermediate",
            Self::Root => "self-signed root",
            Self::CrossSigned => "cross-signed root",
        })
    }
}

/// Something wrong (or worth knowing) about the chain as served. Indices are 0-based positions.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The issuer of certificate `index` was sent, but not right after it.
    OutOfOrder {
        /// The certificate.
        index: usize,
        /// Where its issuer was sent.
        issuer_index: usize,
    },
    /// The issuer of certificate `index` was not sent and is no known root.
    MissingIssuer {
        /// The certificate whose issuer is missing.
        index: usize,
        /// The issuer's name.
        issuer: String,
    },
    /// A certificate that is on no path from the leaf.
    Extra {
        /// The certificate.
        index: usize,
    },
    /// The server sends a self-signed root (harmless, wasted bytes: clients must already have it).
    RootSent {
        /// The certificate.
        index: usize,
    },
    /// A served certificate has expired.
    Expired {
        /// The certificate.
        index: usize,
    },
    /// A served certificate is not valid yet.
    NotYetValid {
        /// The certificate.
        index: usize,
    },
    /// The leaf is not valid for the name asked for.
    NameMismatch {
        /// The name (SNI / host).
        name: String,
        /// Why, from the verifier.
        why: VerifyFailure,
    },
}

/// A verified path from the leaf to a root.
#[derive(Clone, Debug)]
pub struct ChainPath {
    /// The root the path ends at.
    pub root: Root,
    /// Indices of the served certificates on the path, leaf first.
    pub served: Vec<usize>,
    /// The root itself has expired (webpki does not check an anchor's dates; we do).
    pub root_expired: bool,
}

/// A root that matches an issuer name of the chain but does not verify it.
#[derive(Clone, Debug)]
pub struct PathFailure {
    /// The root tried.
    pub root: Root,
    /// Why the chain does not verify to it ([`Analysis::why_not`] adds which certificates are out
    /// of date).
    pub why: VerifyFailure,
}

/// The whole analysis of one served chain.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The certificates in the order served.
    pub chain: Vec<CertInfo>,
    /// The role of each.
    pub roles: Vec<Role>,
    /// Problems found, in chain order.
    pub problems: Vec<Problem>,
    /// Every root the chain verifies to, one path each.
    pub paths: Vec<ChainPath>,
    /// Roots whose name matches but which do not verify the chain.
    pub failures: Vec<PathFailure>,
    /// The name checked against the leaf (the SNI name), if any.
    pub name: Option<String>,
    /// The time of the analysis (Unix seconds).
    pub now: i64,
}

impl Analysis {
    /// Analyses `chain` (as served, leaf first) for `name` against the candidate roots in `store`.
    pub fn new(chain: Vec<CertInfo>, name: Option<&str>, store: &RootStore, now: i64) -> Self {
        let n = chain.len();
        // Issuer links within what was sent: issuers[i] = served certificates that signed i.
        let issuers: Vec<Vec<usize>> = (0..n)
            .map(|i| (0..n).filter(|&j| j != i && chain[i].is_signed_by(&chain[j])).collect())
            .collect();
        let roles = (0..n)
            .map(|i| {
                let c = &chain[i];
                if i == 0 {
                    Role::Leaf
                } else if c.self_signed {
                    Role::Root
                } else if store.roots.iter().any(|r| r.cert.same_ca(c))
                    || chain.iter().any(|o| o.self_signed && o.same_ca(c))
                {
                    Role::CrossSigned
                } else {
                    Role::Intermediate
                }
            })
            .collect();

        let mut problems = Vec::new();
        for i in 0..n {
            let c = &chain[i];
            if c.self_signed {
                continue;
            }
            let known_root = store
                .by_subject(&c.issuer_der)
                .any(|r| c.is_signed_by(&store.roots[r].cert));
            match issuers[i].first() {
                Some(_) if issuers[i].contains(&(i + 1)) => {}
                Some(&j) => problems.push(Problem::OutOfOrder {
                    index: i,
                    issuer_index: j,
                }),
                None if known_root => {}
                None => problems.push(Problem::MissingIssuer {
                    index: i,
                    issuer: c.issuer.clone(),
                }),
            }
        }
        // Reachable from the leaf through served issuer links.
        let mut reach = vec![false; n];
        let mut todo = vec![0usize];
        while let Some(i) = todo.pop() {
            if i < n && !reach[i] {
                reach[i] = true;
                todo.extend(issuers[i].iter().copied());
            }
        }
        for i in 1..n {
            if !reach[i] {
                problems.push(Problem::Extra { index: i });
            } else if chain[i].self_signed {
                problems.push(Problem::RootSent { index: i });
            }
        }
        for (i, c) in chain.iter().enumerate() {
            if c.not_after < now {
                problems.push(Problem::Expired { index: i });
            } else if c.not_before > now {
                problems.push(Problem::NotYetValid { index: i });
            }
        }
        if let (Some(name), Some(leaf)) = (name, chain.first())
            && let Err(why) = valid_for_name(leaf, name)
        {
            problems.push(Problem::NameMismatch {
                name: name.to_string(),
                why,
            });
        }

        // Candidate roots: those named as the issuer of anything sent.
        let mut candidates: Vec<usize> = Vec::new();
        for c in &chain {
            for r in store.by_subject(&c.issuer_der) {
                if !candidates.contains(&r) {
                    candidates.push(r);
                }
            }
        }
        let mut paths = Vec::new();
        let mut failures = Vec::new();
        for r in candidates {
            let root = &store.roots[r];
            match verify_with(&chain, &[&root.cert], now) {
                Ok(v) => paths.push(ChainPath {
                    root: root.clone(),
                    served: v.served,
                    root_expired: root.cert.not_after < now,
                }),
                Err(why) => failures.push(PathFailure {
                    root: root.clone(),
                    why,
                }),
            }
        }
        Self {
            chain,
            roles,
            problems,
            paths,
            failures,
            name: name.map(str::to_string),
            now,
        }
    }

    /// Certificates read as roots (self-signed CAs, e.g. a private CA's `ca.pem`), not a served
    /// chain: each is its own trust anchor, from `source`; only their dates are checked.
    pub fn of_roots(roots: Vec<CertInfo>, source: &RootSource, now: i64) -> Self {
        let mut problems = Vec::new();
        let mut paths = Vec::new();
        for (index, cert) in roots.iter().enumerate() {
            if cert.not_after < now {
                problems.push(Problem::Expired { index });
            } else if cert.not_before > now {
                problems.push(Problem::NotYetValid { index });
            }
            paths.push(ChainPath {
                root: Root {
                    cert: cert.clone(),
                    source: source.clone(),
                },
                served: vec![index],
                root_expired: cert.not_after < now,
            });
        }
        Self {
            roles: vec![Role::Root; roots.len()],
            chain: roots,
            problems,
            paths,
            failures: Vec::new(),
            name: None,
            now,
        }
    }

    /// Whether these are roots read as such ([`Analysis::of_roots`]), not a chain with a leaf.
    pub fn is_roots(&self) -> bool {
        !self.roles.is_empty() && self.roles.iter().all(|r| *r == Role::Root)
    }

    /// Whether the chain verifies to a root from Mozilla's store.
    pub fn verifies_mozilla(&self) -> bool {
        self.paths
            .iter()
            .any(|p| p.root.source == RootSource::Mozilla && !p.root_expired)
    }

    /// Whether the leaf is valid for the name (true when no name was given).
    pub fn name_ok(&self) -> bool {
        !self.problems.iter().any(|p| matches!(p, Problem::NameMismatch { .. }))
    }

    /// The roots to pin: every root a valid path ends at, unexpired, longest-lived first.
    pub fn anchors(&self) -> Vec<Root> {
        let mut out: Vec<Root> = Vec::new();
        for p in &self.paths {
            if !p.root_expired && !out.iter().any(|r| r.cert.der == p.root.cert.der) {
                out.push(p.root.clone());
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.cert.not_after));
        out
    }

    /// The recommendation: roots to pin and plain warnings, or why there is none.
    pub fn recommend(&self, warn_days: i64) -> Result<Recommendation, CertsError> {
        let roots = self.anchors();
        if roots.is_empty() {
            return Err(CertsError::NoTrustedRoot {
                explanation: self.explain_no_root(),
            });
        }
        let mut warnings = Vec::new();
        for r in &roots {
            let days = r.cert.days_left(self.now);
            if days < warn_days {
                warnings.push(Warning::RootExpiresSoon {
                    root: r.cert.short_name(),
                    not_after: r.cert.not_after,
                    days,
                    warn_days,
                });
            }
        }
        if roots.len() > 1 {
            warnings.push(Warning::CrossSigned { roots: roots.len() });
        }
        for (index, role) in self.roles.iter().enumerate() {
            let cert = &self.chain[index];
            let name = cert.short_name();
            if *role == Role::CrossSigned && roots.iter().any(|r| r.cert.same_ca(cert)) {
                warnings.push(Warning::CrossSignedForm { index, root: name });
            } else if matches!(role, Role::Intermediate | Role::CrossSigned) {
                warnings.push(Warning::Intermediate { index, name });
            }
        }
        if let Some(leaf) = self.chain.first().filter(|_| self.roles.first() == Some(&Role::Leaf)) {
            warnings.push(Warning::Leaf {
                name: leaf.short_name(),
                not_after: leaf.not_after,
            });
        }
        if !self.name_ok() {
            warnings.push(Warning::NameMismatch {
                name: self.name.clone().unwrap_or_default(),
            });
        }
        Ok(Recommendation { roots, warnings })
    }

    /// "It sends X but not Y", in words: the facts, without what to do about them.
    pub fn explain_no_root(&self) -> String {
        let sent: Vec<String> = self.chain.iter().map(|c| format!("{:?}", c.short_name())).collect();
        let mut s = format!(
            "the chain verifies to no known root: the server sends {}",
            sent.join(", ")
        );
        let missing: Vec<String> = self
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::MissingIssuer { index, issuer } => Some(format!(
                    "{issuer:?} (the issuer of {:?})",
                    self.chain[*index].short_name()
                )),
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            s.push_str(&format!(" but not {}", missing.join(" nor ")));
        }
        for f in &self.failures {
            s.push_str(&format!(
                "; root {:?} ({}) does not verify it: {}",
                f.root.cert.short_name(),
                f.root.source,
                self.why_not(f)
            ));
        }
        for p in &self.paths {
            if p.root_expired {
                s.push_str(&format!(
                    "; its root {:?} expired on {}",
                    p.root.cert.short_name(),
                    p.root.cert.not_after_date()
                ));
            }
        }
        s
    }
}

/// Adds which served certificate has expired (webpki says only that one has).
impl Analysis {
    /// Why the chain does not verify to `f`'s root, naming the certificates that are out of date.
    pub fn why_not(&self, f: &PathFailure) -> String {
        attribute(&f.why, &self.chain, self.now)
    }
}

fn attribute(why: &VerifyFailure, chain: &[CertInfo], now: i64) -> String {
    let mut why = why.to_string();
    for (i, c) in chain.iter().enumerate() {
        if c.not_after < now {
            why.push_str(&format!(
                "; #{} {:?} expired on {}",
                i + 1,
                c.short_name(),
                c.not_after_date()
            ));
        } else if c.not_before > now {
            why.push_str(&format!(
                "; #{} {:?} is valid only from {}",
                i + 1,
                c.short_name(),
                c.not_before_date()
            ));
        }
    }
    why
}

/// Roots to pin and what to beware of.
#[derive(Clone, Debug)]
pub struct Recommendation {
    /// The roots, longest-lived first.
    pub roots: Vec<Root>,
    /// What to beware of, in the order a person should read it.
    pub warnings: Vec<Warning>,
}

/// Something to beware of when pinning the recommended roots. Names are certificates' short names;
/// indices are 0-based positions in the chain as served.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A recommended root expires within the warning window.
    RootExpiresSoon {
        /// The root.
        root: String,
        /// Its notAfter, Unix seconds.
        not_after: i64,
        /// Whole days left.
        days: i64,
        /// The window asked for, in days.
        warn_days: i64,
    },
    /// The chain verifies to several roots (a cross-sign): all of them are recommended.
    CrossSigned {
        /// How many roots.
        roots: usize,
    },
    /// A served certificate is the cross-signed form of a recommended root.
    CrossSignedForm {
        /// Its position in the chain.
        index: usize,
        /// The root's name.
        root: String,
    },
    /// A served intermediate, which must not be pinned.
    Intermediate {
        /// Its position in the chain.
        index: usize,
        /// Its name.
        name: String,
    },
    /// The leaf, which must never be pinned.
    Leaf {
        /// Its name.
        name: String,
        /// Its notAfter, Unix seconds: it is replaced by then.
        not_after: i64,
    },
    /// The leaf is not valid for the name asked for.
    NameMismatch {
        /// The name.
        name: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RootExpiresSoon {
                root,
                not_after,
                days,
                warn_days,
            } => write!(
                f,
                "root {root:?} expires on {} ({days} days from now), within the {warn_days}-day warning window: \
                 devices that trust only it stop connecting then; ship a second root to them well before",
                date(*not_after)
            ),
            Self::CrossSigned { roots } => write!(
                f,
                "the chain is cross-signed: it verifies to {roots} roots; pin all of them so the device keeps working \
                 when the server drops the cross-sign or the older root expires"
            ),
            Self::CrossSignedForm { index, root } => write!(
                f,
                "certificate #{} is the cross-signed form of the root {root:?}: pin that root's self-signed \
                 certificate (listed above), not the one the server sends",
                index + 1
            ),
            Self::Intermediate { index, name } => write!(
                f,
                "do not pin the intermediate {name:?} (certificate #{} of the chain, the one `openssl s_client -showcerts` \
                 tempts you to copy): CAs replace intermediates on purpose and without notice, and a device \
                 pinned to one stops connecting the day it changes",
                index + 1
            ),
            Self::Leaf { name, not_after } => write!(
                f,
                "never pin the leaf {name:?}: it is replaced at every renewal (next by {})",
                date(*not_after)
            ),
            Self::NameMismatch { name } => write!(
                f,
                "the leaf is not valid for {name:?}: a device checking the name will refuse it"
            ),
        }
    }
}

impl Problem {
    /// A sentence about the problem, naming certificates by position (from 1) and name.
    pub fn describe(&self, chain: &[CertInfo]) -> String {
        let name = |i: usize| chain.get(i).map(|c| c.short_name()).unwrap_or_else(|| "?".into());
        match self {
            Self::OutOfOrder { index, issuer_index } => format!(
                "out of order: the issuer of #{} {:?} is sent as #{}, not right after it; some clients (mbedTLS among them) give up",
                index + 1,
                name(*index),
                issuer_index + 1
            ),
            Self::MissingIssuer { index, issuer } => format!(
                "missing intermediate: #{} {:?} is issued by {issuer:?}, which the server does not send and no known root is",
                index + 1,
                name(*index)
            ),
            Self::Extra { index } => format!(
                "extra certificate: #{} {:?} is on no path from the leaf (wasted bytes; remove it)",
                index + 1,
                name(*index)
            ),
            Self::RootSent { index } => format!(
                "the root #{} {:?} is sent: harmless, but clients must have it already (a few hundred wasted bytes)",
                index + 1,
                name(*index)
            ),
            Self::Expired { index } => format!(
                "expired: #{} {:?} expired on {}",
                index + 1,
                name(*index),
                chain.get(*index).map(|c| c.not_after_date()).unwrap_or_default()
            ),
            Self::NotYetValid { index } => format!(
                "not yet valid: #{} {:?} is valid from {}",
                index + 1,
                name(*index),
                chain.get(*index).map(|c| c.not_before_date()).unwrap_or_default()
            ),
            Self::NameMismatch { name: n, why } => {
                let sans = chain.first().map(|c| c.sans.join(", ")).unwrap_or_default();
                format!(
                    "name mismatch: the leaf is not valid for {n:?} ({why}); it names [{sans}]; \
                     the server may not support SNI or serves a default certificate"
                )
            }
        }
    }
}

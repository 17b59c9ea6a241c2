//! What is found about the chains asked for, as data: for each chain where it came from and its
//! analysis, what the pinned roots say of it, and the roots chosen to pin. Rendering it (text,
//! JSON), choosing among the roots and exit codes are the caller's.

use std::path::PathBuf;

use crate::analyze::{Analysis, Recommendation};
use crate::cover::{Cover, HostRoots, cover};
use crate::fetch::{Served, Target, fetch_chain};
use crate::roots::{Root, RootSource, RootStore};
use crate::verify::verify_with;
use crate::{CertInfo, CertsError};

/// Where the chains come from.
#[derive(Clone, Debug)]
pub enum Input {
    /// Fetch the chain each target serves.
    Hosts(Vec<Target>),
    /// A saved chain (PEM blocks or one DER certificate, leaf first), its leaf checked against
    /// `name` when given. A file of self-signed CA certificates only is read as roots.
    File {
        /// The file.
        path: PathBuf,
        /// The name the leaf should be valid for.
        name: Option<String>,
    },
}

/// What to analyse, against which roots.
#[derive(Clone, Debug)]
pub struct Request {
    /// The chains.
    pub input: Input,
    /// Candidate roots besides Mozilla's store (PEM or DER files), e.g. a private CA's.
    pub extra_roots: Vec<PathBuf>,
    /// Roots a device pins (PEM or DER files): whether each chain verifies against them.
    pub pinned: Vec<PathBuf>,
    /// Choose the smallest set of roots that verifies every chain, not each chain's own roots.
    pub cover: bool,
    /// A chosen root that expires within this many days is warned about.
    pub warn_days: i64,
    /// The time of the analysis, Unix seconds.
    pub now: i64,
}

/// What the roots a device pins say of one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinnedVerdict {
    /// They verify it, with a path of this many served certificates.
    Verifies {
        /// Served certificates on the path.
        served: usize,
    },
    /// A path verifies, but the leaf is not valid for the name.
    NameMismatch {
        /// The name.
        name: String,
    },
    /// No path verifies.
    DoesNotVerify {
        /// The verifier's reason.
        why: crate::verify::VerifyFailure,
    },
}

impl PinnedVerdict {
    /// Whether the pinned roots accept the chain for the name.
    pub fn holds(&self) -> bool {
        matches!(self, Self::Verifies { .. })
    }
}

/// The analysis of a chain that was fetched or read.
#[derive(Debug)]
pub struct Found {
    /// The chain and what is wrong with it.
    pub analysis: Analysis,
    /// What the pinned roots say, when some were given.
    pub pinned: Option<PinnedVerdict>,
    /// The roots to pin and what to beware of, or why there is none.
    pub recommendation: Result<Recommendation, CertsError>,
}

/// One chain: where it came from and what was found.
#[derive(Debug)]
pub struct ChainReport {
    /// `host:port`, or the file as given.
    pub label: String,
    /// The handshake's facts, for a fetched chain.
    pub served: Option<Served>,
    /// The analysis, or why the chain could not be fetched or parsed.
    pub found: Result<Found, CertsError>,
}

/// Everything found.
#[derive(Debug)]
pub struct Report {
    /// One entry per target (or the one file), in the order given.
    pub chains: Vec<ChainReport>,
    /// The smallest covering set, when asked for.
    pub cover: Option<Cover>,
    /// The roots to pin: the cover's, or every chain's recommended roots, each once.
    pub chosen: Vec<Root>,
    /// The warning window, in days.
    pub warn_days: i64,
    /// The time of the analysis, Unix seconds.
    pub now: i64,
}

/// Parses fetched or read DER certificates; `origin` names them in errors.
pub fn parse_chain(ders: &[Vec<u8>], origin: &str) -> Result<Vec<CertInfo>, CertsError> {
    ders.iter()
        .enumerate()
        .map(|(i, d)| CertInfo::parse(d, &format!("{origin} #{}", i + 1)).map_err(CertsError::from))
        .collect()
}

/// Every certificate of the files, in order.
pub fn load_certs(paths: &[PathBuf]) -> Result<Vec<CertInfo>, CertsError> {
    let mut store = RootStore::empty();
    for p in paths {
        store.add_file(p)?;
    }
    Ok(store.roots.into_iter().map(|r| r.cert).collect())
}

impl Report {
    /// Fetches or reads every chain of `req` and analyses it. Fails only on unusable input (a
    /// roots file, the chain file); a host that cannot be reached is an entry with its error.
    pub fn build(req: &Request) -> Result<Self, CertsError> {
        let mut store = RootStore::mozilla();
        for p in &req.extra_roots {
            store.add_file(p)?;
        }
        let ctx = Context {
            store,
            pinned: load_certs(&req.pinned)?,
            warn_days: req.warn_days,
            now: req.now,
        };
        let chains = match &req.input {
            Input::File { path, name } => vec![ctx.read(path, name.as_deref())?],
            Input::Hosts(targets) => targets.iter().map(|t| ctx.fetch(t)).collect(),
        };
        let (cover, chosen) = if req.cover {
            let hosts: Vec<HostRoots> = chains
                .iter()
                .map(|c| HostRoots {
                    host: c.label.clone(),
                    roots: c.found.as_ref().map(|f| f.analysis.anchors()).unwrap_or_default(),
                })
                .collect();
            let c = cover(&hosts);
            let roots = c.roots.clone();
            (Some(c), roots)
        } else {
            (None, recommended(&chains))
        };
        Ok(Self {
            chains,
            cover,
            chosen,
            warn_days: req.warn_days,
            now: req.now,
        })
    }

    /// Whether there is a root to pin for every chain (with a cover: one covering every chain),
    /// and the pinned roots, when given, verify each chain.
    pub fn ok(&self) -> bool {
        let pinned_hold = self.chains.iter().all(|c| {
            c.found
                .as_ref()
                .map_or(true, |f| f.pinned.as_ref().is_none_or(PinnedVerdict::holds))
        });
        let each_has_a_root = self
            .chains
            .iter()
            .all(|c| c.found.as_ref().is_ok_and(|f| f.recommendation.is_ok()));
        let covered = self.cover.is_some()
            && !self.chosen.is_empty()
            && self
                .chains
                .iter()
                .all(|c| c.found.as_ref().is_ok_and(|f| !f.analysis.anchors().is_empty()));
        (each_has_a_root || covered) && pinned_hold
    }

    /// Each chain without a root to pin, with why: its label and the error.
    pub fn unpinnable(&self) -> Vec<(&str, &CertsError)> {
        self.chains
            .iter()
            .filter_map(|c| match &c.found {
                Err(e)
                | Ok(Found {
                    recommendation: Err(e), ..
                }) => Some((c.label.as_str(), e)),
                Ok(_) => None,
            })
            .collect()
    }
}

/// The roots each chain recommends, each once, in order.
fn recommended(chains: &[ChainReport]) -> Vec<Root> {
    let mut chosen: Vec<Root> = Vec::new();
    for c in chains {
        if let Ok(Found {
            recommendation: Ok(rec),
            ..
        }) = &c.found
        {
            for root in &rec.roots {
                if !chosen.iter().any(|r| r.cert.der == root.cert.der) {
                    chosen.push(root.clone());
                }
            }
        }
    }
    chosen
}

/// What every chain is analysed against.
struct Context {
    store: RootStore,
    pinned: Vec<CertInfo>,
    warn_days: i64,
    now: i64,
}

impl Context {
    fn read(&self, path: &std::path::Path, name: Option<&str>) -> Result<ChainReport, CertsError> {
        let label = path.display().to_string();
        let chain = parse_chain(&crate::pem::read_certs(path)?, &label)?;
        let analysis = if chain.iter().all(|c| c.self_signed && c.is_ca) {
            Analysis::of_roots(chain, &RootSource::File(label.clone()), self.now)
        } else {
            Analysis::new(chain, name, &self.store, self.now)
        };
        Ok(ChainReport {
            label,
            served: None,
            found: Ok(self.found(analysis)),
        })
    }

    fn fetch(&self, target: &Target) -> ChainReport {
        let label = target.display();
        match fetch_chain(target).and_then(|s| Ok((parse_chain(&s.tls.chain, &label)?, s))) {
            Ok((chain, served)) => ChainReport {
                found: Ok(self.found(Analysis::new(chain, Some(target.name()), &self.store, self.now))),
                label,
                served: Some(served),
            },
            Err(e) => ChainReport {
                label,
                served: None,
                found: Err(e),
            },
        }
    }

    fn found(&self, analysis: Analysis) -> Found {
        let pinned = (!self.pinned.is_empty()).then(|| {
            let refs: Vec<&CertInfo> = self.pinned.iter().collect();
            match verify_with(&analysis.chain, &refs, self.now) {
                Ok(_) if !analysis.name_ok() => PinnedVerdict::NameMismatch {
                    name: analysis.name.clone().unwrap_or_default(),
                },
                Ok(v) => PinnedVerdict::Verifies { served: v.served.len() },
                Err(why) => PinnedVerdict::DoesNotVerify { why },
            }
        });
        Found {
            recommendation: analysis.recommend(self.warn_days),
            pinned,
            analysis,
        }
    }
}

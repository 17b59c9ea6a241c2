//! The smallest set of roots that verifies every host.

use crate::roots::Root;

/// Which roots verify which host.
#[derive(Clone, Debug)]
pub struct HostRoots {
    /// The host as given.
    pub host: String,
    /// Roots its chain verifies to.
    pub roots: Vec<Root>,
}

/// The chosen roots, and the hosts no root verifies.
#[derive(Clone, Debug)]
pub struct Cover {
    /// The smallest set of roots found (exact up to 16 candidates, greedy beyond), longest-lived first.
    pub roots: Vec<Root>,
    /// For each host, the chosen roots that verify it (indices into `roots`).
    pub per_host: Vec<(String, Vec<usize>)>,
    /// Hosts that no root verifies (they need another candidate root, or a fixed chain).
    pub uncovered: Vec<String>,
    /// Whether the set is proven smallest (exhaustive search) or greedy.
    pub exact: bool,
}

/// Finds the smallest set of roots verifying every host; among equally small sets, the one whose
/// earliest expiry is latest.
pub fn cover(hosts: &[HostRoots]) -> Cover {
    let mut universe: Vec<Root> = Vec::new();
    let mut sets: Vec<Vec<usize>> = Vec::new();
    let mut uncovered = Vec::new();
    let mut coverable = Vec::new();
    for h in hosts {
        let mut ids = Vec::new();
        for r in &h.roots {
            let id = match universe.iter().position(|u| u.cert.der == r.cert.der) {
                Some(id) => id,
                None => {
                    universe.push(r.clone());
                    universe.len() - 1
                }
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            uncovered.push(h.host.clone());
        } else {
            coverable.push(sets.len());
        }
        sets.push(ids);
    }
    let needs: Vec<&Vec<usize>> = coverable.iter().map(|&i| &sets[i]).collect();
    let covers = |chosen: &[usize]| needs.iter().all(|s| s.iter().any(|r| chosen.contains(r)));
    let min_expiry = |chosen: &[usize]| chosen.iter().map(|&r| universe[r].cert.not_after).min().unwrap_or(0);

    let n = universe.len();
    let (chosen, exact) = if n <= 16 {
        let mut best: Option<(usize, i64, Vec<usize>)> = None;
        for mask in 0u32..(1u32 << n) {
            let set: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            if !covers(&set) {
                continue;
            }
            let key = (set.len(), std::cmp::Reverse(min_expiry(&set)));
            if best
                .as_ref()
                .is_none_or(|(len, exp, _)| key < (*len, std::cmp::Reverse(*exp)))
            {
                best = Some((set.len(), min_expiry(&set), set));
            }
        }
        (best.map(|(_, _, s)| s).unwrap_or_default(), true)
    } else {
        let mut chosen: Vec<usize> = Vec::new();
        while !covers(&chosen) {
            let gain = |r: usize| {
                needs
                    .iter()
                    .filter(|s| !s.iter().any(|x| chosen.contains(x)) && s.contains(&r))
                    .count()
            };
            let Some(next) = (0..n)
                .filter(|r| !chosen.contains(r))
                .max_by_key(|&r| (gain(r), universe[r].cert.not_after))
            else {
                break;
            };
            if gain(next) == 0 {
                break;
            }
            chosen.push(next);
        }
        (chosen, false)
    };
    let mut chosen = chosen;
    chosen.sort_by_key(|&r| std::cmp::Reverse(universe[r].cert.not_after));
    let roots: Vec<Root> = chosen.iter().map(|&r| universe[r].clone()).collect();
    let per_host = hosts
        .iter()
        .zip(&sets)
        .map(|(h, s)| {
            let idx = chosen
                .iter()
                .enumerate()
                .filter(|(_, r)| s.contains(r))
                .map(|(i, _)| i)
                .collect();
            (h.host.clone(), idx)
        })
        .collect();
    Cover {
        roots,
        per_host,
        uncovered,
        exact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RootStore;

    fn hosts(sets: &[&[usize]], pool: &[Root]) -> Vec<HostRoots> {
        sets.iter()
            .enumerate()
            .map(|(i, s)| HostRoots {
                host: format!("h{i}"),
                roots: s.iter().map(|&r| pool[r].clone()).collect(),
            })
            .collect()
    }

    #[test]
    fn exact_finds_the_single_shared_root_and_reports_uncovered() {
        let pool = RootStore::mozilla().roots;
        let c = cover(&hosts(&[&[0, 1], &[1, 2], &[1, 3], &[]], &pool));
        assert!(c.exact);
        assert_eq!(c.roots.len(), 1);
        assert_eq!(c.roots[0].cert.der, pool[1].cert.der);
        assert_eq!(c.uncovered, vec!["h3".to_string()]);
    }

    #[test]
    fn greedy_beyond_sixteen_candidates_still_covers_everything() {
        let pool = RootStore::mozilla().roots;
        // 20 hosts, each verifying to its own root and to one of two shared roots.
        let sets: Vec<Vec<usize>> = (0..20).map(|i| vec![i + 2, i % 2]).collect();
        let refs: Vec<&[usize]> = sets.iter().map(Vec::as_slice).collect();
        let c = cover(&hosts(&refs, &pool));
        assert!(!c.exact);
        assert_eq!(c.roots.len(), 2, "the two shared roots");
        assert!(c.per_host.iter().all(|(_, idx)| !idx.is_empty()));
    }
}

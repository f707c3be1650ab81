//! What taking people out does to a network: the largest component, the number of
//! components and the global efficiency, before and after; and a greedy proposal of the K
//! people whose removal fragments it most.

use std::collections::VecDeque;

use serde::Serialize;

use super::metrics::Csr;

/// A network's cohesion with some nodes removed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Cohesion {
    /// Nodes left.
    pub nodes: usize,
    pub components: usize,
    /// Nodes in the largest component, and their share of the whole network before removal.
    pub largest_component: usize,
    pub largest_share: f64,
    /// NetworkX's `global_efficiency` of what is left: the mean of 1/d over ordered pairs of
    /// distinct nodes left (0 for an unreachable pair), hops, no weights.
    pub efficiency: f64,
}

/// The cohesion of `csr` without the nodes marked in `removed`.
pub fn cohesion(csr: &Csr, removed: &[bool]) -> Cohesion {
    let n = csr.len();
    let left = removed.iter().filter(|r| !**r).count();
    let mut component = vec![usize::MAX; n];
    let mut sizes = Vec::new();
    let mut queue = VecDeque::new();
    let mut dist = vec![usize::MAX; n];
    let mut inverse_sum = 0.0;
    for s in 0..n {
        if removed[s] {
            continue;
        }
        // Distances from s over what is left (also numbers the component the first time).
        dist.fill(usize::MAX);
        dist[s] = 0;
        queue.clear();
        queue.push_back(s);
        let new_component = component[s] == usize::MAX;
        let mut size = 0;
        while let Some(v) = queue.pop_front() {
            size += 1;
            if new_component {
                component[v] = sizes.len();
            }
            if v != s {
                inverse_sum += 1.0 / dist[v] as f64;
            }
            for &w in csr.neighbours(v) {
                let w = w as usize;
                if !removed[w] && dist[w] == usize::MAX {
                    dist[w] = dist[v] + 1;
                    queue.push_back(w);
                }
            }
        }
        if new_component {
            sizes.push(size);
        }
    }
    let largest = sizes.iter().copied().max().unwrap_or(0);
    Cohesion {
        nodes: left,
        components: sizes.len(),
        largest_component: largest,
        largest_share: if n == 0 {
            0.0
        } else {
            largest as f64 / n as f64
        },
        efficiency: if left < 2 {
            0.0
        } else {
            inverse_sum / (left as f64 * (left - 1) as f64)
        },
    }
}

/// The size of the largest component without the removed nodes (cheaper than [`cohesion`]:
/// one traversal in all).
fn largest_component(csr: &Csr, removed: &[bool]) -> usize {
    let n = csr.len();
    let mut seen = removed.to_vec();
    let mut queue = VecDeque::new();
    let mut largest = 0;
    for s in 0..n {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        queue.push_back(s);
        let mut size = 0;
        while let Some(v) = queue.pop_front() {
            size += 1;
            for &w in csr.neighbours(v) {
                let w = w as usize;
                if !seen[w] {
                    seen[w] = true;
                    queue.push_back(w);
                }
            }
        }
        largest = largest.max(size);
    }
    largest
}

/// K people whose removal fragments the network most, chosen greedily: at each step the one
/// whose removal leaves the smallest largest component (ties: the higher degree, then the
/// lower index). Greedy is not optimal (the exact problem is NP-hard); each step tries every
/// node, O(K·n·(n+m)).
pub fn key_players(csr: &Csr, k: usize, already: &[bool]) -> Vec<usize> {
    let n = csr.len();
    let mut removed = already.to_vec();
    let mut chosen = Vec::new();
    for _ in 0..k {
        let mut best: Option<(usize, std::cmp::Reverse<usize>, usize)> = None;
        for v in 0..n {
            if removed[v] {
                continue;
            }
            removed[v] = true;
            let score = (
                largest_component(csr, &removed),
                std::cmp::Reverse(csr.degree(v)),
                v,
            );
            removed[v] = false;
            if best.is_none_or(|b| score < b) {
                best = Some(score);
            }
        }
        let Some((_, _, v)) = best else {
            break;
        };
        removed[v] = true;
        chosen.push(v);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_the_middle_of_a_star_leaves_singletons() {
        let star = Csr::from_pairs(4, [(0, 1, 1.0), (0, 2, 1.0), (0, 3, 1.0)]);
        let before = cohesion(&star, &[false; 4]);
        assert_eq!((before.components, before.largest_component), (1, 4));
        // Three pairs at distance 1 and three at distance 2, both ways: (3 + 1.5) * 2 / 12.
        assert!((before.efficiency - 0.75).abs() < 1e-12);
        assert_eq!(key_players(&star, 1, &[false; 4]), vec![0]);
        let after = cohesion(&star, &[true, false, false, false]);
        assert_eq!(
            (after.nodes, after.components, after.largest_component),
            (3, 3, 1)
        );
        assert_eq!(after.efficiency, 0.0);
    }
}

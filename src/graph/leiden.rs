//! Communities by the Leiden algorithm (Traag, Waltman & van Eck 2019) maximising modularity
//! (resolution 1) on the undirected weighted contact graph: fast local moving, refinement of
//! each community into well-connected parts, aggregation by the refined parts, repeated until
//! nothing changes; then whole runs again from the result until modularity stops improving
//! (as leidenalg's `n_iterations=-1`). Deterministic: the node orders come from a seeded
//! generator and the refinement merges greedily (leidenalg draws at random there), so the same
//! graph and seed give the same communities. tests/graph.rs checks the modularity reached
//! against leidenalg's on the covert networks.

use std::collections::{HashMap, VecDeque};

use super::metrics::Csr;

/// One level of the aggregation: a weighted graph whose nodes are groups of the original, in
/// flat arrays (node v's edges are `targets[offsets[v]..offsets[v + 1]]`): a vector per node,
/// rebuilt every run and every level, was a third of Leiden's time.
struct Level {
    offsets: Vec<usize>,
    targets: Vec<usize>,
    weights: Vec<f64>,
    self_loops: Vec<f64>,
    /// Weighted degree, self-loops counted twice (so Σ = 2m).
    strength: Vec<f64>,
}

impl Level {
    fn of(csr: &Csr) -> Level {
        let n = csr.len();
        Level {
            offsets: csr.offsets.clone(),
            targets: csr.targets.iter().map(|&w| w as usize).collect(),
            weights: csr.weights.clone(),
            self_loops: vec![0.0; n],
            strength: (0..n).map(|v| csr.strength(v)).collect(),
        }
    }

    fn len(&self) -> usize {
        self.strength.len()
    }

    /// Node v's edges: (neighbour, weight).
    fn edges(&self, v: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[v]..self.offsets[v + 1];
        self.targets[range.clone()]
            .iter()
            .copied()
            .zip(self.weights[range].iter().copied())
    }

    /// The graph of the groups of `partition` (numbered 0..k).
    fn aggregate(&self, partition: &[usize], k: usize) -> Level {
        let n = self.len();
        // The members of each group, by counting sort.
        let mut start = vec![0usize; k + 1];
        for &c in partition {
            start[c + 1] += 1;
        }
        for c in 0..k {
            start[c + 1] += start[c];
        }
        let mut fill = start.clone();
        let mut members = vec![0usize; n];
        for (v, &c) in partition.iter().enumerate() {
            members[fill[c]] = v;
            fill[c] += 1;
        }
        let mut self_loops = vec![0.0; k];
        let mut strength = vec![0.0; k];
        let mut offsets = Vec::with_capacity(k + 1);
        let mut targets = Vec::new();
        let mut weights = Vec::new();
        offsets.push(0);
        let mut to = Accumulator::new(k);
        for c in 0..k {
            for &v in &members[start[c]..start[c + 1]] {
                strength[c] += self.strength[v];
                self_loops[c] += self.self_loops[v];
                for (w, x) in self.edges(v) {
                    let d = partition[w];
                    if d == c {
                        // Each inner edge is seen from both ends: half a loop each time.
                        self_loops[c] += x / 2.0;
                    } else {
                        to.add(d, x);
                    }
                }
            }
            for (d, x) in to.sorted() {
                targets.push(d);
                weights.push(x);
            }
            to.clear();
            offsets.push(targets.len());
        }
        Level {
            offsets,
            targets,
            weights,
            self_loops,
            strength,
        }
    }
}

/// Weights to neighbouring communities of one node, in a dense array reset through the list
/// of entries touched: a HashMap per visit took most of the time of local moving (a
/// 20,000-node graph: 44 s for eight starts with HashMaps).
struct Accumulator {
    weight: Vec<f64>,
    touched: Vec<usize>,
}

impl Accumulator {
    fn new(n: usize) -> Accumulator {
        Accumulator {
            weight: vec![0.0; n],
            touched: Vec::new(),
        }
    }
    /// `x` is positive (a number of contacts, or a sum of them), so a zero weight is one
    /// not touched yet.
    fn add(&mut self, c: usize, x: f64) {
        if self.weight[c] == 0.0 {
            self.touched.push(c);
        }
        self.weight[c] += x;
    }
    fn get(&self, c: usize) -> f64 {
        self.weight[c]
    }
    /// The (community, weight) pairs touched, by community.
    fn sorted(&mut self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.touched.sort_unstable();
        self.touched.iter().map(|&c| (c, self.weight[c]))
    }
    fn clear(&mut self) {
        for &c in &self.touched {
            self.weight[c] = 0.0;
        }
        self.touched.clear();
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Numbers communities 0..k in order of their first node; returns k.
fn renumber(partition: &mut [usize]) -> usize {
    let mut map: HashMap<usize, usize> = HashMap::new();
    for c in partition.iter_mut() {
        let next = map.len();
        *c = *map.entry(*c).or_insert(next);
    }
    map.len()
}

/// Modularity of `partition` on `csr` (weighted, resolution 1), as NetworkX's
/// `community.modularity` and igraph's: Σ_c (L_c / m − (K_c / 2m)²).
pub fn modularity(csr: &Csr, partition: &[usize]) -> f64 {
    let two_m: f64 = (0..csr.len()).map(|v| csr.strength(v)).sum();
    if two_m == 0.0 {
        return 0.0;
    }
    let k = partition.iter().copied().max().map_or(0, |m| m + 1);
    let mut inner = vec![0.0; k];
    let mut total = vec![0.0; k];
    for v in 0..csr.len() {
        total[partition[v]] += csr.strength(v);
        for (&w, &x) in csr.neighbours(v).iter().zip(csr.neighbour_weights(v)) {
            if partition[w as usize] == partition[v] {
                inner[partition[v]] += x;
            }
        }
    }
    (0..k)
        .map(|c| inner[c] / two_m - (total[c] / two_m).powi(2))
        .sum()
}

/// Moves nodes to the neighbouring community of best modularity gain until none gains,
/// visiting from a queue (a node is visited again only when a neighbour moved).
fn move_nodes(level: &Level, partition: &mut [usize], two_m: f64, rng: &mut Rng) {
    let n = level.len();
    let mut totals = vec![0.0; n.max(partition.iter().copied().max().map_or(0, |m| m + 1))];
    for v in 0..n {
        totals[partition[v]] += level.strength[v];
    }
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut queue: VecDeque<usize> = order.into_iter().collect();
    let mut queued = vec![true; n];
    let mut weight_to = Accumulator::new(totals.len());
    while let Some(v) = queue.pop_front() {
        queued[v] = false;
        let current = partition[v];
        weight_to.clear();
        for (w, x) in level.edges(v) {
            weight_to.add(partition[w], x);
        }
        let k = level.strength[v];
        totals[current] -= k;
        let gain = |c: usize, to: f64| to - k * totals[c] / two_m;
        let mut best = current;
        let mut best_gain = gain(current, weight_to.get(current));
        for (c, x) in weight_to.sorted() {
            let g = gain(c, x);
            if g > best_gain + 1e-12 {
                best = c;
                best_gain = g;
            }
        }
        totals[best] += k;
        if best != current {
            partition[v] = best;
            for (w, _) in level.edges(v) {
                if !queued[w] && partition[w] != best {
                    queued[w] = true;
                    queue.push_back(w);
                }
            }
        }
    }
}

/// Splits each community of `partition` into well-connected parts: every node starts alone;
/// a well-connected node still alone joins the well-connected part of its community with the
/// best modularity gain (greedy where leidenalg draws at random), never leaving its
/// community. Returns the refined partition.
fn refine(level: &Level, partition: &[usize], two_m: f64, rng: &mut Rng) -> Vec<usize> {
    let n = level.len();
    let mut refined: Vec<usize> = (0..n).collect();
    let mut part_total: Vec<f64> = level.strength.clone();
    let mut alone = vec![true; n];
    let k_communities = partition.iter().copied().max().map_or(0, |m| m + 1);
    let mut community_total = vec![0.0; k_communities];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k_communities];
    for v in 0..n {
        community_total[partition[v]] += level.strength[v];
        members[partition[v]].push(v);
    }
    // Weight from each part to the rest of its community, kept up to date as parts merge.
    let mut part_external: Vec<f64> = (0..n)
        .map(|v| {
            level
                .edges(v)
                .filter(|&(w, _)| partition[w] == partition[v])
                .map(|(_, x)| x)
                .sum()
        })
        .collect();
    let mut weight_to = Accumulator::new(n);
    for c in 0..k_communities {
        let mut nodes = members[c].clone();
        rng.shuffle(&mut nodes);
        let total_c = community_total[c];
        for v in nodes {
            let k = level.strength[v];
            // Only a node well connected to its community moves (E(v, C−v) ≥ k_v (K_C − k_v)/2m).
            if !alone[v] || part_external[v] < k * (total_c - k) / two_m {
                continue;
            }
            weight_to.clear();
            for (w, x) in level.edges(v) {
                if partition[w] == c && refined[w] != refined[v] {
                    weight_to.add(refined[w], x);
                }
            }
            let mut best: Option<(usize, f64)> = None;
            for (s, x) in weight_to.sorted() {
                // The part must be well connected too: E(S, C−S) ≥ K_S (K_C − K_S)/2m.
                let ks = part_total[s];
                if part_external[s] < ks * (total_c - ks) / two_m {
                    continue;
                }
                let gain = x - k * ks / two_m;
                if gain >= 0.0 && best.is_none_or(|(_, g)| gain > g + 1e-12) {
                    best = Some((s, gain));
                }
            }
            if let Some((s, _)) = best {
                let x_vs = weight_to.get(s);
                let own = refined[v];
                refined[v] = s;
                part_total[s] += k;
                part_total[own] -= k;
                // The merged part's edges to the rest of the community: both sides' minus the
                // edges now inside it, counted from each end.
                part_external[s] = part_external[s] + part_external[own] - 2.0 * x_vs;
                alone[v] = false;
                for (w, _) in level.edges(v) {
                    if refined[w] == s {
                        alone[w] = false;
                    }
                }
                alone[s] = false;
            }
        }
    }
    refined
}

/// Independent starts (each with its own seeded order) on graphs small enough that they cost
/// little; the best modularity is kept. One start reached 0.4324 on Noordin Top's
/// communications where leidenalg reaches 0.4342; the best of eight matches or beats it on
/// every covert network of the tests. On larger graphs one start: on 20,000 people and
/// 189,566 ties eight took 43 s, one an eighth of that (1.8 s since levels are flat arrays
/// and aggregation uses the dense accumulator), and one start there already reaches a
/// higher modularity than leidenalg (BENCHMARKS.md). Visiting neighbouring communities in
/// the order first met instead of sorted saved 7 % of the time and lost 0.0009 of
/// modularity on that graph: kept sorted.
const STARTS_SMALL_GRAPH: u64 = 8;
const SMALL_GRAPH_NODES: usize = 5_000;

/// Whole runs of the algorithm at most, each from the last one's result, until modularity
/// stops improving (leidenalg's `n_iterations=-1`, with a ceiling).
pub const MAX_RUNS: usize = 50;

/// Leiden communities of `csr`, one per node, numbered in order of their first node.
pub fn communities(csr: &Csr, seed: u64) -> Vec<usize> {
    communities_with_runs(csr, seed, MAX_RUNS)
}

/// As [`communities`] with at most `runs` whole runs per start (NetworKit's ParallelLeiden
/// makes 3 by default, igraph's `n_iterations` counts them too): for comparing speed at the
/// same amount of work.
pub fn communities_with_runs(csr: &Csr, seed: u64, runs: usize) -> Vec<usize> {
    let starts: u64 = if csr.len() < SMALL_GRAPH_NODES {
        STARTS_SMALL_GRAPH
    } else {
        1
    };
    let mut best: Option<(f64, Vec<usize>)> = None;
    for start in 0..starts {
        let c = communities_from(
            csr,
            seed.wrapping_add(start.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            runs,
        );
        let q = modularity(csr, &c);
        if best.as_ref().is_none_or(|(b, _)| q > *b + 1e-12) {
            best = Some((q, c));
        }
    }
    best.map(|(_, c)| c).unwrap_or_default()
}

fn communities_from(csr: &Csr, seed: u64, runs: usize) -> Vec<usize> {
    let n = csr.len();
    let two_m: f64 = (0..n).map(|v| csr.strength(v)).sum();
    if n == 0 || two_m == 0.0 {
        return (0..n).collect();
    }
    let mut rng = Rng(seed | 1);
    let mut best: Vec<usize> = (0..n).collect();
    let mut best_q = modularity(csr, &best);
    for _ in 0..runs.max(1) {
        let candidate = leiden_run(csr, &best, two_m, &mut rng);
        let q = modularity(csr, &candidate);
        if q <= best_q + 1e-12 {
            break;
        }
        best = candidate;
        best_q = q;
    }
    renumber(&mut best);
    best
}

/// One run of the algorithm from `start`: levels of moving, refining and aggregating until
/// moving changes nothing.
fn leiden_run(csr: &Csr, start: &[usize], two_m: f64, rng: &mut Rng) -> Vec<usize> {
    let mut level = Level::of(csr);
    // Which level-node each original node is in, and the level's partition.
    let mut node_of: Vec<usize> = (0..csr.len()).collect();
    let mut partition = start.to_vec();
    renumber(&mut partition);
    loop {
        move_nodes(&level, &mut partition, two_m, rng);
        let k = renumber(&mut partition);
        if k == level.len() {
            // Every community is one node of this level: nothing left to aggregate.
            break;
        }
        let mut refined = refine(&level, &partition, two_m, rng);
        let mut parts = renumber(&mut refined);
        if parts == level.len() {
            // The refinement merged nothing: aggregate by the communities themselves (as
            // Louvain does), so every level is smaller than the one before.
            refined = partition.clone();
            parts = k;
        }
        // The aggregate's starting partition: each refined part in its community.
        let mut next_partition = vec![0usize; parts];
        for v in 0..level.len() {
            next_partition[refined[v]] = partition[v];
        }
        for x in node_of.iter_mut() {
            *x = refined[*x];
        }
        level = level.aggregate(&refined, parts);
        partition = next_partition;
    }
    node_of.iter().map(|&x| partition[x]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cliques_joined_by_one_edge_are_two_communities() {
        let mut pairs = Vec::new();
        for a in 0..5 {
            for b in a + 1..5 {
                pairs.push((a, b, 1.0));
                pairs.push((a + 5, b + 5, 1.0));
            }
        }
        pairs.push((4, 5, 1.0));
        let g = Csr::from_pairs(10, pairs);
        let c = communities(&g, 42);
        assert!(c[..5].iter().all(|&x| x == c[0]));
        assert!(c[5..].iter().all(|&x| x == c[5]));
        assert_ne!(c[0], c[5]);
        // 2 · (10/21 − (21/42)²) = 0.452…
        assert!((modularity(&g, &c) - (2.0 * (10.0 / 21.0 - 0.25))).abs() < 1e-12);
        assert_eq!(communities(&g, 42), c, "deterministic");
    }
}

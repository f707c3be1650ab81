//! Network metrics over a compressed adjacency (CSR) of the undirected, weighted contact
//! graph: node `i`'s neighbours are `targets[offsets[i]..offsets[i + 1]]`, sorted, each with
//! its weight (the number of contacts between the two, both directions together).
//!
//! Definitions follow NetworkX (checked against it in tests/graph.rs on the covert networks
//! of tests/data/networks): where NetworkX offers variants, the one used is named here.

use std::collections::VecDeque;

/// Blocks of sources the betweenness is summed in (see [`Csr::betweenness`]).
const BLOCKS: usize = 16;

/// One thread's buffers for Brandes' algorithm.
struct Brandes {
    centrality: Vec<f64>,
    sigma: Vec<f64>,
    dist: Vec<usize>,
    delta: Vec<f64>,
    order: Vec<usize>,
    queue: VecDeque<usize>,
}

impl Brandes {
    fn new(n: usize) -> Brandes {
        Brandes {
            centrality: vec![0.0; n],
            sigma: vec![0.0; n],
            dist: vec![usize::MAX; n],
            delta: vec![0.0; n],
            order: Vec::with_capacity(n),
            queue: VecDeque::new(),
        }
    }
}

/// One thread's buffers for Brandes' algorithm with Dijkstra's search (weighted).
struct Dijkstra {
    centrality: Vec<f64>,
    sigma: Vec<f64>,
    dist: Vec<f64>,
    done: Vec<bool>,
    delta: Vec<f64>,
    order: Vec<usize>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<Settle>>,
}

impl Dijkstra {
    fn new(n: usize) -> Dijkstra {
        Dijkstra {
            centrality: vec![0.0; n],
            sigma: vec![0.0; n],
            dist: vec![f64::INFINITY; n],
            done: vec![false; n],
            delta: vec![0.0; n],
            order: Vec::with_capacity(n),
            heap: std::collections::BinaryHeap::new(),
        }
    }
}

/// A tentative distance in Dijkstra's heap, ordered by distance then node.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Settle(f64, usize);

impl Eq for Settle {}

impl PartialOrd for Settle {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Settle {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Σ over `sources` of each one's dependencies, summed in a fixed number of blocks, each in
/// order and the blocks added in order: the same sums on any number of threads, so the same
/// figures on every machine. `from` adds one source's dependencies to its state; `take`
/// gives the state's sums.
fn sum_over_sources<S>(
    n: usize,
    sources: &[usize],
    new: impl Fn() -> S + Sync,
    from: impl Fn(usize, &mut S) + Sync,
    take: impl Fn(S) -> Vec<f64> + Sync,
) -> Vec<f64> {
    use rayon::prelude::*;
    let block = sources.len().div_ceil(BLOCKS).max(1);
    let partial: Vec<Vec<f64>> = sources
        .par_chunks(block)
        .map(|chunk| {
            let mut state = new();
            for &s in chunk {
                from(s, &mut state);
            }
            take(state)
        })
        .collect();
    let mut centrality = vec![0.0; n];
    for p in partial {
        for (c, x) in centrality.iter_mut().zip(p) {
            *c += x;
        }
    }
    centrality
}

/// `pivots` of the n nodes drawn without replacement, seeded: the first `pivots` of a partial
/// Fisher–Yates shuffle driven by SplitMix64.
fn sample_sources(n: usize, pivots: usize, seed: u64) -> Vec<usize> {
    let pivots = pivots.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in 0..pivots {
        let j = i + (next() % (n - i) as u64) as usize;
        order.swap(i, j);
    }
    order.truncate(pivots);
    order
}

/// Sums of dependencies over every source, divided by (n−1)(n−2): each pair was counted
/// from both ends, and NetworkX normalises over (n−1)(n−2)/2 pairs.
fn normalise_betweenness(centrality: &mut [f64]) {
    let n = centrality.len();
    if n > 2 {
        let scale = 1.0 / ((n - 1) as f64 * (n - 2) as f64);
        for c in centrality {
            *c *= scale;
        }
    }
}

/// An undirected simple graph: no self-loops, one entry per neighbour with the summed weight.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    pub offsets: Vec<usize>,
    pub targets: Vec<u32>,
    pub weights: Vec<f64>,
}

impl Csr {
    /// From undirected weighted pairs (either order, repeats summed, self-loops dropped).
    pub fn from_pairs(n: usize, pairs: impl IntoIterator<Item = (usize, usize, f64)>) -> Csr {
        let mut adjacency: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        for (a, b, w) in pairs {
            if a == b {
                continue;
            }
            adjacency[a].push((b as u32, w));
            adjacency[b].push((a as u32, w));
        }
        let mut csr = Csr {
            offsets: Vec::with_capacity(n + 1),
            targets: Vec::new(),
            weights: Vec::new(),
        };
        csr.offsets.push(0);
        for list in &mut adjacency {
            list.sort_by_key(|e| e.0);
            let mut i = 0;
            while i < list.len() {
                let (t, mut w) = list[i];
                let mut j = i + 1;
                while j < list.len() && list[j].0 == t {
                    w += list[j].1;
                    j += 1;
                }
                csr.targets.push(t);
                csr.weights.push(w);
                i = j;
            }
            csr.offsets.push(csr.targets.len());
        }
        csr
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn neighbours(&self, v: usize) -> &[u32] {
        &self.targets[self.offsets[v]..self.offsets[v + 1]]
    }

    pub fn neighbour_weights(&self, v: usize) -> &[f64] {
        &self.weights[self.offsets[v]..self.offsets[v + 1]]
    }

    pub fn degree(&self, v: usize) -> usize {
        self.offsets[v + 1] - self.offsets[v]
    }

    /// Sum of the weights of `v`'s edges (NetworkX `G.degree(weight="weight")`).
    pub fn strength(&self, v: usize) -> f64 {
        self.neighbour_weights(v).iter().sum()
    }

    /// Connected components as a component number per node, numbered by their smallest node.
    pub fn components(&self) -> Vec<usize> {
        let n = self.len();
        let mut component = vec![usize::MAX; n];
        let mut next = 0;
        let mut queue = VecDeque::new();
        for start in 0..n {
            if component[start] != usize::MAX {
                continue;
            }
            component[start] = next;
            queue.push_back(start);
            while let Some(v) = queue.pop_front() {
                for &w in self.neighbours(v) {
                    let w = w as usize;
                    if component[w] == usize::MAX {
                        component[w] = next;
                        queue.push_back(w);
                    }
                }
            }
            next += 1;
        }
        component
    }

    /// Hop distances from `source` (usize::MAX where unreachable).
    fn bfs(&self, source: usize, dist: &mut [usize], queue: &mut VecDeque<usize>) {
        dist.fill(usize::MAX);
        dist[source] = 0;
        queue.clear();
        queue.push_back(source);
        while let Some(v) = queue.pop_front() {
            for &w in self.neighbours(v) {
                let w = w as usize;
                if dist[w] == usize::MAX {
                    dist[w] = dist[v] + 1;
                    queue.push_back(w);
                }
            }
        }
    }

    /// Betweenness, unweighted (every edge one hop), exact by Brandes' algorithm, normalised as
    /// NetworkX's `betweenness_centrality(G, normalized=True)`: the share of the shortest
    /// paths between other pairs that pass through the node, over (n-1)(n-2)/2 pairs.
    /// Direction is not used.
    pub fn betweenness(&self) -> Vec<f64> {
        let n = self.len();
        let sources: Vec<usize> = (0..n).collect();
        let mut centrality = sum_over_sources(
            n,
            &sources,
            || Brandes::new(n),
            |s, state| self.brandes_from(s, state),
            |state| state.centrality,
        );
        normalise_betweenness(&mut centrality);
        centrality
    }

    /// Betweenness estimated from `pivots` sources drawn without replacement (seeded, so the
    /// same graph gives the same estimate): Brandes & Pich's estimator, each pivot's
    /// dependencies scaled by n / pivots, normalised as [`Csr::betweenness`]. Returns the
    /// estimates and the error bound ε such that, with probability at least 1 − `delta`,
    /// every node's estimate is within ε of its exact value at once: Hoeffding's inequality
    /// on the pivots' dependencies (each δ_s(v)/(n−2) lies in [0, 1]; it holds for sampling
    /// without replacement too, Hoeffding 1963 §6) with a union bound over the n nodes,
    /// ε = n/(n−1) · √(ln(2n/δ) / (2·pivots)). With every node a pivot it is the exact
    /// figure and ε = 0.
    pub fn betweenness_sampled(&self, pivots: usize, seed: u64, delta: f64) -> (Vec<f64>, f64) {
        let n = self.len();
        if pivots >= n || n <= 2 {
            return (self.betweenness(), 0.0);
        }
        let pivots = pivots.max(1);
        let order = sample_sources(n, pivots, seed);
        let mut centrality = sum_over_sources(
            n,
            &order,
            || Brandes::new(n),
            |s, state| self.brandes_from(s, state),
            |state| state.centrality,
        );
        let scale = n as f64 / pivots as f64 / ((n - 1) as f64 * (n - 2) as f64);
        for c in &mut centrality {
            *c *= scale;
        }
        let nf = n as f64;
        let epsilon = nf / (nf - 1.0) * ((2.0 * nf / delta).ln() / (2.0 * pivots as f64)).sqrt();
        (centrality, epsilon)
    }

    /// Betweenness with weights: an edge's length is 1 / its weight (more contacts, a closer
    /// tie), shortest paths by Dijkstra inside Brandes' algorithm, normalised as
    /// [`Csr::betweenness`]; NetworkX's `betweenness_centrality(G, weight="distance")` with
    /// `distance = 1 / weight`. Lengths are summed in path order as NetworkX sums them, so
    /// equal paths are found equal by both.
    pub fn betweenness_weighted(&self) -> Vec<f64> {
        let n = self.len();
        let sources: Vec<usize> = (0..n).collect();
        let mut centrality = sum_over_sources(
            n,
            &sources,
            || Dijkstra::new(n),
            |s, state| self.dijkstra_brandes_from(s, state),
            |state| state.centrality,
        );
        normalise_betweenness(&mut centrality);
        centrality
    }

    fn dijkstra_brandes_from(&self, s: usize, state: &mut Dijkstra) {
        use std::cmp::Reverse;
        let Dijkstra {
            centrality,
            sigma,
            dist,
            done,
            delta,
            order,
            heap,
        } = state;
        sigma.fill(0.0);
        dist.fill(f64::INFINITY);
        done.fill(false);
        delta.fill(0.0);
        order.clear();
        heap.clear();
        dist[s] = 0.0;
        sigma[s] = 1.0;
        heap.push(Reverse(Settle(0.0, s)));
        while let Some(Reverse(Settle(d, v))) = heap.pop() {
            if done[v] || d > dist[v] {
                continue;
            }
            done[v] = true;
            order.push(v);
            let range = self.offsets[v]..self.offsets[v + 1];
            for (&w, &weight) in self.targets[range.clone()].iter().zip(&self.weights[range]) {
                let w = w as usize;
                if done[w] {
                    continue;
                }
                let through = d + 1.0 / weight;
                if through < dist[w] {
                    dist[w] = through;
                    sigma[w] = sigma[v];
                    heap.push(Reverse(Settle(through, w)));
                } else if through == dist[w] {
                    sigma[w] += sigma[v];
                }
            }
        }
        for &w in order.iter().rev() {
            let range = self.offsets[w]..self.offsets[w + 1];
            for (&v, &weight) in self.targets[range.clone()].iter().zip(&self.weights[range]) {
                let v = v as usize;
                if done[v] && dist[v] + 1.0 / weight == dist[w] {
                    delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w]);
                }
            }
            if w != s {
                centrality[w] += delta[w];
            }
        }
    }

    /// One source's dependencies added to `state.centrality` (Brandes 2001).
    fn brandes_from(&self, s: usize, state: &mut Brandes) {
        let Brandes {
            centrality,
            sigma,
            dist,
            delta,
            order,
            queue,
        } = state;
        sigma.fill(0.0);
        dist.fill(usize::MAX);
        delta.fill(0.0);
        order.clear();
        sigma[s] = 1.0;
        dist[s] = 0;
        queue.push_back(s);
        while let Some(v) = queue.pop_front() {
            order.push(v);
            for &w in self.neighbours(v) {
                let w = w as usize;
                if dist[w] == usize::MAX {
                    dist[w] = dist[v] + 1;
                    queue.push_back(w);
                }
                if dist[w] == dist[v] + 1 {
                    sigma[w] += sigma[v];
                }
            }
        }
        // Predecessors are the neighbours one hop closer: no lists kept.
        for &w in order.iter().rev() {
            for &v in self.neighbours(w) {
                let v = v as usize;
                if dist[v] != usize::MAX && dist[v] + 1 == dist[w] {
                    delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w]);
                }
            }
            if w != s {
                centrality[w] += delta[w];
            }
        }
    }

    /// Closeness as NetworkX's `closeness_centrality` (Wasserman–Faust improved form, for
    /// graphs in several components): (r / Σd) · (r / (n-1)) for the r nodes `v` reaches.
    /// Hops, no weights. Harmonic centrality beside it: Σ 1/d over the nodes reached.
    pub fn closeness_and_harmonic(&self) -> (Vec<f64>, Vec<f64>) {
        use rayon::prelude::*;
        let n = self.len();
        let per_node: Vec<(f64, f64)> = (0..n)
            .into_par_iter()
            .map_init(
                || (vec![usize::MAX; n], VecDeque::new()),
                |(dist, queue), v| {
                    self.bfs(v, dist, queue);
                    let mut reached = 0usize;
                    let mut total = 0usize;
                    let mut harmonic = 0.0;
                    for (w, &d) in dist.iter().enumerate() {
                        if w != v && d != usize::MAX {
                            reached += 1;
                            total += d;
                            harmonic += 1.0 / d as f64;
                        }
                    }
                    let closeness = if total > 0 && n > 1 {
                        let r = reached as f64;
                        (r / total as f64) * (r / (n - 1) as f64)
                    } else {
                        0.0
                    };
                    (closeness, harmonic)
                },
            )
            .collect();
        per_node.into_iter().unzip()
    }

    /// Closeness and harmonic centrality estimated from `pivots` sampled sources (Eppstein &
    /// Wang 2004): the graph is undirected, so a pivot's distances are distances to it; a
    /// node's sum of distances is its component's size − 1 times its mean distance from the
    /// pivots in its component (the sum of 1/d likewise), in the Wasserman–Faust form of
    /// [`Csr::closeness_and_harmonic`]. A node whose component holds no pivot other than
    /// itself gets its exact figures by a search of its own. Seeded as
    /// [`Csr::betweenness_sampled`] (the same pivots for the same seed).
    pub fn closeness_and_harmonic_sampled(&self, pivots: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        use rayon::prelude::*;
        let n = self.len();
        if pivots >= n {
            return self.closeness_and_harmonic();
        }
        let chosen = sample_sources(n, pivots, seed);
        let component = self.components();
        let mut size = vec![0usize; n];
        for &c in &component {
            size[c] += 1;
        }
        // Per node: Σ d and Σ 1/d from the pivots of its component, and how many there were.
        let sums: Vec<(Vec<f64>, Vec<f64>, Vec<usize>)> = chosen
            .par_chunks(chosen.len().div_ceil(BLOCKS).max(1))
            .map(|chunk| {
                let (mut total, mut inverse, mut count) =
                    (vec![0.0; n], vec![0.0; n], vec![0usize; n]);
                let (mut dist, mut queue) = (vec![usize::MAX; n], VecDeque::new());
                for &p in chunk {
                    self.bfs(p, &mut dist, &mut queue);
                    for (v, &d) in dist.iter().enumerate() {
                        if v != p && d != usize::MAX {
                            total[v] += d as f64;
                            inverse[v] += 1.0 / d as f64;
                            count[v] += 1;
                        }
                    }
                }
                (total, inverse, count)
            })
            .collect();
        let (mut total, mut inverse, mut count) = (vec![0.0; n], vec![0.0; n], vec![0usize; n]);
        for (t, i, c) in sums {
            for v in 0..n {
                total[v] += t[v];
                inverse[v] += i[v];
                count[v] += c[v];
            }
        }
        let mut closeness = vec![0.0; n];
        let mut harmonic = vec![0.0; n];
        let (mut dist, mut queue) = (vec![usize::MAX; n], VecDeque::new());
        for v in 0..n {
            let reached = size[component[v]] - 1;
            if reached == 0 {
                continue;
            }
            let (sum_d, sum_inverse) = if count[v] == 0 {
                self.bfs(v, &mut dist, &mut queue);
                let reachable = dist
                    .iter()
                    .enumerate()
                    .filter(|&(w, &d)| w != v && d != usize::MAX);
                reachable.fold((0.0, 0.0), |(t, h), (_, &d)| {
                    (t + d as f64, h + 1.0 / d as f64)
                })
            } else {
                let scale = reached as f64 / count[v] as f64;
                (total[v] * scale, inverse[v] * scale)
            };
            let r = reached as f64;
            closeness[v] = (r / sum_d) * (r / (n - 1) as f64);
            harmonic[v] = sum_inverse;
        }
        (closeness, harmonic)
    }

    /// PageRank as NetworkX's `pagerank(G, alpha, weight="weight")` on the undirected graph
    /// (each edge both ways, a node's rank spread in proportion to the weights; isolated nodes
    /// spread theirs over everyone), by power iteration until the L1 change is under
    /// `n · tolerance`.
    pub fn pagerank(&self, alpha: f64, tolerance: f64, max_iterations: usize) -> Vec<f64> {
        let n = self.len();
        if n == 0 {
            return Vec::new();
        }
        let strength: Vec<f64> = (0..n).map(|v| self.strength(v)).collect();
        let mut rank = vec![1.0 / n as f64; n];
        let mut next = vec![0.0; n];
        for _ in 0..max_iterations {
            let dangling: f64 = (0..n)
                .filter(|&v| strength[v] == 0.0)
                .map(|v| rank[v])
                .sum();
            let base = (1.0 - alpha) / n as f64 + alpha * dangling / n as f64;
            next.fill(base);
            for v in 0..n {
                if strength[v] == 0.0 {
                    continue;
                }
                let share = alpha * rank[v] / strength[v];
                for (&w, &weight) in self.neighbours(v).iter().zip(self.neighbour_weights(v)) {
                    next[w as usize] += share * weight;
                }
            }
            let change: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
            std::mem::swap(&mut rank, &mut next);
            if change < n as f64 * tolerance {
                break;
            }
        }
        rank
    }

    /// k-core number of every node (NetworkX `core_number`): the largest k such that the node
    /// is in a subgraph where every node has at least k neighbours. Batagelj–Zaversnik, O(m).
    pub fn core_numbers(&self) -> Vec<usize> {
        let n = self.len();
        let mut degree: Vec<usize> = (0..n).map(|v| self.degree(v)).collect();
        let max_degree = degree.iter().copied().max().unwrap_or(0);
        let mut bins = vec![0usize; max_degree + 1];
        for &d in &degree {
            bins[d] += 1;
        }
        let mut start = 0;
        for b in &mut bins {
            let count = *b;
            *b = start;
            start += count;
        }
        let mut position = vec![0usize; n];
        let mut vertices = vec![0usize; n];
        for v in 0..n {
            position[v] = bins[degree[v]];
            vertices[position[v]] = v;
            bins[degree[v]] += 1;
        }
        for d in (1..=max_degree).rev() {
            bins[d] = bins[d - 1];
        }
        if !bins.is_empty() {
            bins[0] = 0;
        }
        for i in 0..n {
            let v = vertices[i];
            for &u in self.neighbours(v) {
                let u = u as usize;
                if degree[u] > degree[v] {
                    let du = degree[u];
                    let pu = position[u];
                    let pw = bins[du];
                    let w = vertices[pw];
                    if u != w {
                        position[u] = pw;
                        vertices[pu] = w;
                        position[w] = pu;
                        vertices[pw] = u;
                    }
                    bins[du] += 1;
                    degree[u] -= 1;
                }
            }
        }
        degree
    }

    /// Eigenvector centrality as NetworkX's `eigenvector_centrality(G)` (unweighted): power
    /// iteration on A + I from a uniform start, Euclidean norm 1, until the L1 change is
    /// under `n · tolerance`.
    pub fn eigenvector(&self, tolerance: f64, max_iterations: usize) -> Vec<f64> {
        let n = self.len();
        if n == 0 {
            return Vec::new();
        }
        let mut x = vec![1.0 / n as f64; n];
        for _ in 0..max_iterations {
            let last = x.clone();
            for (v, &value) in last.iter().enumerate() {
                for &w in self.neighbours(v) {
                    x[w as usize] += value;
                }
            }
            let norm = x.iter().map(|z| z * z).sum::<f64>().sqrt();
            let norm = if norm == 0.0 { 1.0 } else { norm };
            for z in &mut x {
                *z /= norm;
            }
            let change: f64 = x.iter().zip(&last).map(|(a, b)| (a - b).abs()).sum();
            if change < n as f64 * tolerance {
                break;
            }
        }
        x
    }

    /// Articulation points (a node whose removal disconnects its component) and bridges (an
    /// edge whose removal does), by Tarjan's low-link over an explicit stack (no recursion: a
    /// path of a million people is one deep chain).
    pub fn articulation_points_and_bridges(&self) -> (Vec<bool>, Vec<(usize, usize)>) {
        let n = self.len();
        let mut discovered = vec![usize::MAX; n];
        let mut low = vec![0usize; n];
        let mut articulation = vec![false; n];
        let mut bridges = Vec::new();
        let mut time = 0;
        // (node, parent, next neighbour index)
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        for root in 0..n {
            if discovered[root] != usize::MAX {
                continue;
            }
            discovered[root] = time;
            low[root] = time;
            time += 1;
            let mut root_children = 0;
            stack.push((root, usize::MAX, 0));
            while let Some(&mut (v, parent, ref mut next)) = stack.last_mut() {
                let neighbours = self.neighbours(v);
                if *next < neighbours.len() {
                    let w = neighbours[*next] as usize;
                    *next += 1;
                    if w == parent {
                        continue;
                    }
                    if discovered[w] == usize::MAX {
                        discovered[w] = time;
                        low[w] = time;
                        time += 1;
                        if v == root {
                            root_children += 1;
                        }
                        stack.push((w, v, 0));
                    } else {
                        low[v] = low[v].min(discovered[w]);
                    }
                } else {
                    stack.pop();
                    if parent != usize::MAX {
                        low[parent] = low[parent].min(low[v]);
                        if low[v] > discovered[parent] {
                            bridges.push((parent.min(v), parent.max(v)));
                        }
                        if parent != root && low[v] >= discovered[parent] {
                            articulation[parent] = true;
                        }
                    }
                }
            }
            if root_children > 1 {
                articulation[root] = true;
            }
        }
        bridges.sort();
        (articulation, bridges)
    }

    /// Burt's constraint and effective size (unweighted, as NetworkX's `constraint(G)` and
    /// `effective_size(G)` and igraph's `constraint()`): with p_ij = 1/degree(i) for a
    /// neighbour j, c_i = Σ_j (p_ij + Σ_q p_iq p_qj)²; effective size = degree − 2t/degree
    /// for t ties among the neighbours. NaN for a node with no neighbour, as both libraries.
    pub fn constraint_and_effective_size(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.len();
        let mut constraint = vec![f64::NAN; n];
        let mut effective = vec![f64::NAN; n];
        let connected = |a: usize, b: usize| self.neighbours(a).binary_search(&(b as u32)).is_ok();
        for i in 0..n {
            let degree = self.degree(i);
            if degree == 0 {
                continue;
            }
            let p_from_i = 1.0 / degree as f64;
            let mut c = 0.0;
            let mut ties = 0usize;
            for &j in self.neighbours(i) {
                let j = j as usize;
                // Only common neighbours q of i and j add p_iq·p_qj: walk the smaller list and
                // look each up in the other, so a bulk sender with a million one-off contacts
                // costs a million steps, not a million squared.
                let (walk, other) = if self.degree(j) < degree {
                    (j, i)
                } else {
                    (i, j)
                };
                let mut indirect = 0.0;
                for &q in self.neighbours(walk) {
                    let q = q as usize;
                    if q != i && q != j && connected(other, q) {
                        indirect += p_from_i / self.degree(q) as f64;
                        ties += 1;
                    }
                }
                c += (p_from_i + indirect).powi(2);
            }
            constraint[i] = c;
            // Each tie among i's neighbours was met from both of its ends.
            effective[i] = degree as f64 - ties as f64 / degree as f64;
        }
        (constraint, effective)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_of_three_has_its_middle_on_every_shortest_path() {
        let g = Csr::from_pairs(3, [(0, 1, 1.0), (1, 2, 2.0), (1, 0, 1.0)]);
        assert_eq!(g.neighbour_weights(1), &[2.0, 2.0]);
        assert_eq!(g.betweenness(), vec![0.0, 1.0, 0.0]);
        assert_eq!(g.core_numbers(), vec![1, 1, 1]);
        let (closeness, harmonic) = g.closeness_and_harmonic();
        assert_eq!(closeness, vec![2.0 / 3.0, 1.0, 2.0 / 3.0]);
        assert_eq!(harmonic, vec![1.5, 2.0, 1.5]);
        let pr = g.pagerank(0.85, 1e-12, 1000);
        assert!((pr.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(pr[1] > pr[0] && (pr[0] - pr[2]).abs() < 1e-12);
    }

    /// A deterministic random graph: a ring (connected) plus `extra` chords.
    fn random_graph(n: usize, extra: usize, seed: u64) -> Csr {
        let mut state = seed;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut pairs: Vec<(usize, usize, f64)> = (0..n).map(|i| (i, (i + 1) % n, 1.0)).collect();
        for _ in 0..extra {
            let (a, b) = ((next() % n as u64) as usize, (next() % n as u64) as usize);
            pairs.push((a, b, 1.0 + (next() % 4) as f64));
        }
        Csr::from_pairs(n, pairs)
    }

    #[test]
    fn sampled_betweenness_is_unbiased_and_within_its_bound() {
        let g = random_graph(300, 600, 0x5eed);
        let exact = g.betweenness();
        // Every node a pivot: the exact figure, bound 0.
        let (all, bound) = g.betweenness_sampled(300, 1, 0.05);
        assert_eq!(bound, 0.0);
        assert!(all.iter().zip(&exact).all(|(a, b)| (a - b).abs() < 1e-12));
        // A third of the nodes as pivots: every estimate within the stated bound.
        let (estimate, bound) = g.betweenness_sampled(100, 7, 0.05);
        let worst = estimate
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let n = 300.0_f64;
        let expected_bound = n / (n - 1.0) * ((2.0 * n / 0.05).ln() / 200.0).sqrt();
        assert!((bound - expected_bound).abs() < 1e-12, "{bound}");
        assert!(
            worst <= bound,
            "worst error {worst} above the bound {bound}"
        );
        // Unbiased: the mean of many seeds' estimates approaches the exact value (the
        // spread of a mean of 200 estimates is far below this tolerance).
        let runs = 200;
        let mut mean = vec![0.0; 300];
        for seed in 0..runs {
            let (e, _) = g.betweenness_sampled(30, seed, 0.05);
            for (m, x) in mean.iter_mut().zip(e) {
                *m += x / runs as f64;
            }
        }
        let top = (0..300)
            .max_by(|&a, &b| exact[a].total_cmp(&exact[b]))
            .unwrap();
        let relative = (mean[top] - exact[top]).abs() / exact[top];
        assert!(relative < 0.05, "mean {} exact {}", mean[top], exact[top]);
    }

    #[test]
    fn sampled_closeness_is_near_the_exact_one() {
        // Two components: the ring of 300 with chords, and a pair no pivot may land in.
        let mut pairs: Vec<(usize, usize, f64)> =
            (0..300).map(|i| (i, (i + 1) % 300, 1.0)).collect();
        let mut state = 7u64;
        for _ in 0..600 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (a, b) = ((state >> 33) as usize % 300, (state >> 13) as usize % 300);
            pairs.push((a, b, 1.0));
        }
        pairs.push((300, 301, 1.0));
        let g = Csr::from_pairs(302, pairs);
        let (closeness, harmonic) = g.closeness_and_harmonic();
        let (c, h) = g.closeness_and_harmonic_sampled(100, 3);
        // Closeness (a mean of distances) is estimated closely; harmonic centrality, whose sum
        // is dominated by the few nearest nodes, with more spread.
        let relative = |a: &[f64], b: &[f64]| -> (f64, f64) {
            let errors: Vec<f64> = (0..a.len()).map(|v| (a[v] - b[v]).abs() / b[v]).collect();
            let worst = errors.iter().copied().fold(0.0, f64::max);
            (worst, errors.iter().sum::<f64>() / errors.len() as f64)
        };
        let (worst, mean) = relative(&c, &closeness);
        assert!(
            worst < 0.1 && mean < 0.03,
            "closeness: worst {worst}, mean {mean}"
        );
        let (worst, mean) = relative(&h, &harmonic);
        assert!(
            worst < 0.2 && mean < 0.05,
            "harmonic: worst {worst}, mean {mean}"
        );
        // The pair: exact whether or not a pivot fell in it.
        assert_eq!((c[300], h[300]), (closeness[300], harmonic[300]));
    }

    #[test]
    fn weighted_betweenness_takes_the_stronger_tie() {
        // 0–1–3 with strong ties (length 1/4 each) against 0–2–3 weak (length 1 each): every
        // path from 0 to 3 runs through 1, none through 2. Unweighted, they share it.
        let g = Csr::from_pairs(4, [(0, 1, 4.0), (1, 3, 4.0), (0, 2, 1.0), (2, 3, 1.0)]);
        let weighted = g.betweenness_weighted();
        // (n-1)(n-2) = 6, each pair counted from both ends. Only the pair (0, 3) passes
        // through 1 (length 1/2 against 2 through 2); 1 and 2 are joined through 0 or 3.
        let scale = 1.0 / 6.0;
        assert!((weighted[1] - 2.0 * scale).abs() < 1e-12, "{weighted:?}");
        assert!(weighted[2].abs() < 1e-12, "{weighted:?}");
        let unweighted = g.betweenness();
        assert!((unweighted[1] - unweighted[2]).abs() < 1e-12);
    }
}

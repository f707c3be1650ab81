//! Near-duplicate images: clusters of PDQ hashes within a Hamming distance, found without
//! comparing all pairs.
//!
//! Multi-index hashing: the 256 bits are cut into 16 chunks of 16 bits. Two hashes within
//! distance d <= 31 differ in at most 31 bits spread over 16 chunks, so at least one chunk
//! differs in at most one bit (pigeonhole: 16 chunks x 2 bits = 32 > 31). Each hash is
//! therefore found among the entries that equal it, or differ in one bit, in some chunk:
//! 16 x 17 table look-ups per query instead of n comparisons. Candidates are then checked
//! with the full distance. Radii above 31 would need more look-ups per chunk and are refused.
//!
//! Scaling: the look-ups are constant per query; the candidates that come back are the true
//! neighbours plus about n x 272 / 65,536 chance collisions (0.4% of n) for unrelated hashes,
//! so all-pairs clustering is O(n^2 / 240) comparisons in the worst case of random hashes
//! instead of O(n^2), and close to O(n) when hashes are spread. Measured in BENCHMARKS.md.

use std::collections::HashMap;

use rayon::prelude::*;

use super::pdq::PdqHash;

/// Meta's recommended match threshold for PDQ.
pub const DEFAULT_MAX_DISTANCE: u32 = 31;
const CHUNKS: usize = 16;

fn chunk(h: &PdqHash, i: usize) -> u16 {
    u16::from_be_bytes([h.0[2 * i], h.0[2 * i + 1]])
}

/// An index of hashes for radius queries up to 31 bits: per chunk, the hash numbers sorted
/// by that chunk's value, with an offset table over all 65,536 values (plain arrays: with
/// hash maps the 272 look-ups per query made 100,000-hash clustering take 7.4 s).
pub struct Index {
    hashes: Vec<PdqHash>,
    /// `CHUNKS` x 65,537 offsets into `ids`.
    offsets: Vec<u32>,
    /// `CHUNKS` x n hash numbers.
    ids: Vec<u32>,
    /// The hashes as 64-bit words, for the distance check.
    words: Vec<[u64; 4]>,
}

impl Index {
    pub fn new(hashes: Vec<PdqHash>) -> Index {
        let n = hashes.len();
        let mut offsets = vec![0u32; CHUNKS * 65_537];
        let mut ids = vec![0u32; CHUNKS * n];
        for c in 0..CHUNKS {
            let off = &mut offsets[c * 65_537..(c + 1) * 65_537];
            for h in &hashes {
                off[chunk(h, c) as usize + 1] += 1;
            }
            for v in 1..65_537 {
                off[v] += off[v - 1];
            }
            let mut fill = off[..65_536].to_vec();
            for (k, h) in hashes.iter().enumerate() {
                let slot = &mut fill[chunk(h, c) as usize];
                ids[c * n + *slot as usize] = k as u32;
                *slot += 1;
            }
        }
        let words = hashes.iter().map(words).collect();
        Index {
            hashes,
            offsets,
            ids,
            words,
        }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Indices and distances of every stored hash within `max_distance` of `query`, sorted by
    /// index. `max_distance` must be at most 31.
    pub fn within(&self, query: &PdqHash, max_distance: u32) -> Vec<(usize, u32)> {
        let mut scratch = Scratch::default();
        let mut found = Vec::new();
        self.within_into(query, max_distance, &mut scratch, &mut found);
        found.sort_unstable();
        found
    }

    /// As [`Index::within`], unsorted, reusing `scratch` between queries (a visit stamp per
    /// hash instead of sorting the candidates: 3.8 s -> see BENCHMARKS.md at 100,000).
    fn within_into(
        &self,
        query: &PdqHash,
        max_distance: u32,
        scratch: &mut Scratch,
        found: &mut Vec<(usize, u32)>,
    ) {
        assert!(
            max_distance <= DEFAULT_MAX_DISTANCE,
            "multi-index lookup covers radius <= 31 only"
        );
        let n = self.hashes.len();
        if scratch.stamps.len() != n {
            scratch.stamps = vec![0; n];
            scratch.stamp = 0;
        }
        scratch.stamp = scratch.stamp.wrapping_add(1);
        if scratch.stamp == 0 {
            scratch.stamps.fill(0);
            scratch.stamp = 1;
        }
        let q = words(query);
        for c in 0..CHUNKS {
            let key = chunk(query, c);
            let off = &self.offsets[c * 65_537..(c + 1) * 65_537];
            for probe in std::iter::once(key).chain((0..16).map(|b| key ^ (1 << b))) {
                let (lo, hi) = (
                    off[probe as usize] as usize,
                    off[probe as usize + 1] as usize,
                );
                for &k in &self.ids[c * n + lo..c * n + hi] {
                    let k = k as usize;
                    if scratch.stamps[k] == scratch.stamp {
                        continue;
                    }
                    scratch.stamps[k] = scratch.stamp;
                    let w = &self.words[k];
                    let d = (0..4).map(|x| (w[x] ^ q[x]).count_ones()).sum::<u32>();
                    if d <= max_distance {
                        found.push((k, d));
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct Scratch {
    stamps: Vec<u32>,
    stamp: u32,
}

fn words(h: &PdqHash) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (x, c) in w.iter_mut().zip(h.0.chunks_exact(8)) {
        *x = u64::from_le_bytes(c.try_into().expect("8 bytes"));
    }
    w
}

/// Single-linkage clusters (connected components of "within `max_distance`") of size >= 2,
/// each sorted, listed by their smallest member. Indices refer to `hashes`.
pub fn clusters(hashes: &[PdqHash], max_distance: u32) -> Vec<Vec<usize>> {
    let index = Index::new(hashes.to_vec());
    let mut parent: Vec<usize> = (0..hashes.len()).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    // Queries in parallel (each with its own scratch), unions after.
    let pairs: Vec<(usize, usize)> = hashes
        .par_iter()
        .enumerate()
        .map_init(
            || (Scratch::default(), Vec::new()),
            |(scratch, found), (a, h)| {
                found.clear();
                index.within_into(h, max_distance, scratch, found);
                found
                    .iter()
                    .filter(|(b, _)| *b > a)
                    .map(|&(b, _)| (a, b))
                    .collect::<Vec<_>>()
            },
        )
        .flatten()
        .collect();
    for (a, b) in pairs {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for n in 0..hashes.len() {
        let r = root(&mut parent, n);
        groups.entry(r).or_default().push(n);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    for g in &mut out {
        g.sort_unstable();
    }
    out.sort_unstable_by_key(|g| g[0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn hash(&mut self) -> PdqHash {
            let mut h = [0u8; 32];
            for b in h.iter_mut() {
                *b = self.next() as u8;
            }
            PdqHash(h)
        }
        fn flip(&mut self, h: &PdqHash, bits: u32) -> PdqHash {
            let mut out = *h;
            let mut flipped = std::collections::HashSet::new();
            while flipped.len() < bits as usize {
                let bit = (self.next() % 256) as usize;
                if flipped.insert(bit) {
                    out.0[bit / 8] ^= 1 << (bit % 8);
                }
            }
            out
        }
    }

    /// The brute-force reference: all pairs.
    fn brute_within(hashes: &[PdqHash], q: &PdqHash, d: u32) -> Vec<(usize, u32)> {
        hashes
            .iter()
            .enumerate()
            .map(|(n, h)| (n, h.hamming(q)))
            .filter(|(_, x)| *x <= d)
            .collect()
    }

    #[test]
    fn radius_queries_equal_brute_force() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut hashes: Vec<PdqHash> = (0..2000).map(|_| rng.hash()).collect();
        // Plant neighbours at every distance 0..=40 around a few seeds.
        for seed in 0..10 {
            let base = hashes[seed];
            for d in 0..=40 {
                let near = rng.flip(&base, d);
                hashes.push(near);
            }
        }
        let index = Index::new(hashes.clone());
        for q in hashes.iter().take(30).chain(hashes.iter().rev().take(30)) {
            for d in [0, 1, 8, 16, 31] {
                assert_eq!(
                    index.within(q, d),
                    brute_within(&hashes, q, d),
                    "radius {d}"
                );
            }
        }
    }

    #[test]
    fn clusters_are_the_connected_components() {
        let mut rng = Rng(42);
        let a = rng.hash();
        let b = rng.hash();
        let hashes = vec![
            a,
            rng.hash(),
            rng.flip(&a, 20),
            b,
            rng.flip(&a, 31),
            rng.flip(&b, 32),
            rng.flip(&b, 5),
        ];
        assert_eq!(clusters(&hashes, 31), vec![vec![0, 2, 4], vec![3, 6]]);
    }
}

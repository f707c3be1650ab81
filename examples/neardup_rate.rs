//! Times near-duplicate clustering of N random PDQ hashes with planted near copies, and
//! checks a sample of radius queries against brute force. `cargo run --release --example
//! neardup_rate -- 100000`
use spoor::media::neardup;
use spoor::media::pdq::PdqHash;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut hashes = Vec::with_capacity(n);
    while hashes.len() < n {
        let mut h = [0u8; 32];
        for b in h.iter_mut() {
            *b = next() as u8;
        }
        hashes.push(PdqHash(h));
        // One in ten gets a near copy 0-31 bits away (a re-encoded, resized photo).
        if next() % 10 == 0 && hashes.len() < n {
            let mut c = h;
            for _ in 0..(next() % 32) {
                let bit = (next() % 256) as usize;
                c[bit / 8] ^= 1 << (bit % 8);
            }
            hashes.push(PdqHash(c));
        }
    }
    let t = Instant::now();
    let clusters = neardup::clusters(&hashes, 31);
    let took = t.elapsed();
    println!(
        "{n} hashes: {} clusters of 2+ in {:.2} s",
        clusters.len(),
        took.as_secs_f64()
    );
    let index = neardup::Index::new(hashes.clone());
    let t = Instant::now();
    for q in hashes.iter().step_by(n / 200) {
        let brute: Vec<(usize, u32)> = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| (i, h.hamming(q)))
            .filter(|(_, d)| *d <= 31)
            .collect();
        assert_eq!(index.within(q, 31), brute);
    }
    println!(
        "200 queries checked against brute force ({:.2} s)",
        t.elapsed().as_secs_f64()
    );
    // The peer: all pairs, 64-bit popcounts, on the same rayon pool.
    use rayon::prelude::*;
    let words: Vec<[u64; 4]> = hashes
        .iter()
        .map(|h| {
            std::array::from_fn(|i| u64::from_le_bytes(h.0[i * 8..i * 8 + 8].try_into().unwrap()))
        })
        .collect();
    let t = Instant::now();
    let pairs: usize = (0..n)
        .into_par_iter()
        .map(|a| {
            (a + 1..n)
                .filter(|&b| {
                    (0..4)
                        .map(|x| (words[a][x] ^ words[b][x]).count_ones())
                        .sum::<u32>()
                        <= 31
                })
                .count()
        })
        .sum();
    let brute = t.elapsed().as_secs_f64();
    println!(
        "all pairs: {pairs} pairs within 31 in {brute:.2} s; multi-index is {:.1}x faster",
        brute / took.as_secs_f64()
    );
}

//! Prints the single-core rate of MD5 + SHA-1 + SHA-256 together on an in-memory buffer, in
//! MB/s: the hash-limited bound that scripts/bench-hash.sh compares a scan against.

use spoor::evidence::digest::TripleHasher;
use std::time::Instant;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(512);
    let chunk: Vec<u8> = (0..(1usize << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut h = TripleHasher::default();
        for _ in 0..mib {
            h.update(&chunk);
        }
        std::hint::black_box(h.finish());
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!("{:.1}", mib as f64 * 1.048_576 / best);
}

//! Exact nearest-neighbour search over N random 1792-d unit vectors (the size of nsfwjs's
//! embedding): `cargo run --release --example embedding_rate -- 10000`.
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    // A fixed linear congruential generator: the same vectors every run.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let vectors: Vec<Vec<f32>> = (0..n)
        .map(|_| {
            spoor::vision::embedding::normalised(&(0..1792).map(|_| next()).collect::<Vec<_>>())
        })
        .collect();
    let start = std::time::Instant::now();
    let near = spoor::vision::embedding::neighbours(&vectors, 5, -1.0);
    let s = start.elapsed().as_secs_f64();
    println!(
        "{n} vectors x 1792: all {} pairs in {s:.2} s on {} threads ({:.0} M pairs/s); {} lists",
        n * (n - 1),
        rayon::current_num_threads(),
        (n * (n - 1)) as f64 / s / 1e6,
        near.len()
    );
}

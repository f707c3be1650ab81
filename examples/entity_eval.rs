//! Precision and recall of the entity extractor on a generated chat corpus with planted
//! entities and look-alike decoys: `cargo run --release --example entity_eval -- 20000`.
fn main() {
    let lines: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let (text, truth) = spoor::text::corpus::generate(lines, 7);
    let start = std::time::Instant::now();
    let found: Vec<(&'static str, String)> = spoor::text::entities::extract(&text, Some("NL"))
        .into_iter()
        .map(|e| (e.kind, e.value))
        .collect();
    let s = start.elapsed().as_secs_f64();
    println!(
        "{lines} lines, {:.1} MB, {} planted, extracted in {s:.3} s ({:.1} MB/s)",
        text.len() as f64 / 1e6,
        truth.len(),
        text.len() as f64 / 1e6 / s
    );
    println!(
        "{:<10} {:>6} {:>6} {:>6} {:>9} {:>7}",
        "kind", "tp", "fp", "fn", "precision", "recall"
    );
    for (kind, (tp, fp, fn_)) in spoor::text::corpus::score(&found, &truth) {
        let p = tp as f64 / (tp + fp).max(1) as f64;
        let r = tp as f64 / (tp + fn_).max(1) as f64;
        println!("{kind:<10} {tp:>6} {fp:>6} {fn_:>6} {p:>9.4} {r:>7.4}");
    }
}

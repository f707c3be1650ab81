//! Entity extraction throughput on a text file, all cores, lines in chunks (as a scan reads
//! message bodies): `entity_rate FILE [REGION]`; prints MB/s and the entities found per kind.
//! With `--write-corpus MB OUT TRUTH`, writes the generated chat corpus of about MB megabytes
//! and its ground truth (kind TAB value per line) instead.
use rayon::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--write-corpus") {
        let mb: usize = args[1].parse().expect("MB");
        let (mut text, mut truth) = (String::new(), Vec::new());
        let mut seed = 1;
        while text.len() < mb << 20 {
            let (t, tr) = spoor::text::corpus::generate(20_000, seed);
            text.push_str(&t);
            truth.extend(tr);
            seed += 1;
        }
        std::fs::write(&args[2], text).expect("corpus");
        let lines: String = truth.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
        std::fs::write(&args[3], lines).expect("truth");
        return;
    }
    let text = std::fs::read_to_string(&args[0]).expect("a UTF-8 text file");
    let region = args.get(1).cloned();
    let start = std::time::Instant::now();
    // Chunks of whole lines, about 1 MB each.
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + (1 << 20)).min(text.len());
        while end < text.len() && text.as_bytes()[end - 1] != b'\n' {
            end += 1;
        }
        chunks.push(&text[at..end]);
        at = end;
    }
    let found: Vec<(&'static str, String)> = chunks
        .par_iter()
        .flat_map_iter(|c| {
            spoor::text::entities::extract(c, region.as_deref())
                .into_iter()
                .map(|e| (e.kind, e.value))
        })
        .collect();
    let s = start.elapsed().as_secs_f64();
    let mut by = std::collections::BTreeMap::<&str, usize>::new();
    for (k, _) in &found {
        *by.entry(k).or_default() += 1;
    }
    println!(
        "{:.3} s {:.1} MB/s {} entities {:?}",
        s,
        text.len() as f64 / 1e6 / s,
        found.len(),
        by
    );
    if let Some(out) = args.get(2) {
        let lines: String = found.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
        std::fs::write(out, lines).expect("found");
    }
}

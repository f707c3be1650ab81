//! The model-only floor of a model set from the manifest: inference alone on prepared tensors,
//! one session per core driven from rayon (as a scan does), images per second.
//! `cargo run --release --example vision_floor -- open_nsfw 500` (a comma list, or `default`).
use rayon::prelude::*;
use spoor::vision::{manifest::Manifest, preprocess, session::ModelFile};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let names = args.next().unwrap_or_else(|| "open_nsfw".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let dir = spoor::vision::models_dir();
    let manifest = Manifest::load(&dir).expect("manifest");
    let entries: Vec<_> = if names == "default" {
        manifest
            .models
            .iter()
            .filter(|m| m.default)
            .cloned()
            .collect()
    } else {
        names
            .split(',')
            .map(|n| manifest.get(n).expect("model in the manifest").clone())
            .collect()
    };
    let workers = rayon::current_num_threads();
    // Each model with its tensor for a picture already at its input size: the cheapest
    // pre-processing there is.
    let loaded: Vec<(ModelFile, ndarray::Array4<f32>)> = entries
        .iter()
        .map(|e| {
            let model = ModelFile::load(&e.name, &e.path(&dir), e.sha256.as_deref(), workers)
                .expect("model loads");
            let side = e.input.resize.unwrap_or(e.input.width) as u32;
            let img = image::RgbImage::from_fn(side, side, |x, y| {
                image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) * 7) as u8])
            });
            (model, preprocess::tensor(&e.input, &img).0)
        })
        .collect();
    let once = || {
        for (model, t) in &loaded {
            model.run(t).unwrap();
        }
    };
    once();
    let start = Instant::now();
    (0..n).into_par_iter().for_each(|_| once());
    let s = start.elapsed().as_secs_f64();
    println!(
        "{names}: {n} inferences, {s:.3} s, {:.1} images/s, {:.1} ms per image per core",
        n as f64 / s,
        s * 1000.0 * workers as f64 / n as f64
    );
}

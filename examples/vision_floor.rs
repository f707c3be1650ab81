//! The model-only floor of a classifier from the manifest: inference alone on one prepared
//! tensor, with one session per core driven from rayon (as a scan does), images per second.
//! `cargo run --release --example vision_floor -- open_nsfw 500`
use rayon::prelude::*;
use spoor::vision::{classifier::Classifier, manifest::Manifest};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "open_nsfw".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let dir = spoor::vision::models_dir();
    let manifest = Manifest::load(&dir).expect("manifest");
    let model = Classifier::load(
        manifest.get(&name).expect("model in the manifest"),
        &dir,
        rayon::current_num_threads(),
    )
    .expect("model loads");
    let img = image::RgbImage::from_fn(
        manifest.get(&name).unwrap().input.width as u32,
        manifest.get(&name).unwrap().input.height as u32,
        |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) * 7) as u8]),
    );
    // Warm-up, then time inference (the tensor of a picture already at the model's size is
    // the cheapest pre-processing there is).
    model.scores(&img).unwrap();
    let start = Instant::now();
    (0..n).into_par_iter().for_each(|_| {
        model.scores(&img).unwrap();
    });
    let s = start.elapsed().as_secs_f64();
    println!(
        "{name}: {n} inferences, {s:.3} s, {:.1} images/s, {:.1} ms per image per core",
        n as f64 / s,
        s * 1000.0 * rayon::current_num_threads() as f64 / n as f64
    );
}

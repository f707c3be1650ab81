//! Prints a detector's detections on pictures: `detect_dump MODEL THRESHOLD FILE...`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = spoor::vision::models_dir();
    let manifest = spoor::vision::manifest::Manifest::load(&dir).unwrap();
    let model =
        spoor::vision::detect::Detector::load(manifest.get(&args[1]).unwrap(), &dir, 1).unwrap();
    let threshold: f32 = args[2].parse().unwrap();
    for f in &args[3..] {
        let img = spoor::media::decode_file(std::path::Path::new(f))
            .unwrap()
            .to_rgb8();
        for d in model.detect_at(&img, threshold).unwrap() {
            println!(
                "{f}\t{}\t{:.3}\t{:.0},{:.0},{:.0},{:.0}",
                d.label, d.score, d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]
            );
        }
    }
}

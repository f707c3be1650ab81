//! The detector, embedding and OCR heads from Rust against Python onnxruntime doing the same
//! pre- and post-processing (scripts/vision_reference.py; its outputs in tests/data/vision),
//! and what a scan with them records.
//!
//! NanoDet, BlazeFace and nsfwjs are converted from TF.js / TFLite sources; scripts/test.sh
//! takes them from a converted cache when there is one. Where they cannot be had, the tests
//! that need them fail, unless SPOOR_SKIP_CONVERTED=1 says to skip them (scripts/test.sh sets
//! it then, and prints a warning saying so).

mod common;

use common::{data, expect_code};
use spoor::vision::detect::{Detection, Detector};
use spoor::vision::manifest::Manifest;

fn manifest() -> (Manifest, std::path::PathBuf) {
    let dir = spoor::vision::models_dir();
    (Manifest::load(&dir).expect("the manifest parses"), dir)
}

/// Whether a model's file is there; a missing converted model fails the test unless skipping
/// was asked for.
fn available(name: &str) -> bool {
    let (m, dir) = manifest();
    let entry = m.get(name).unwrap();
    if entry.path(&dir).is_file() {
        return true;
    }
    let converted = entry.source.get("converted").and_then(|v| v.as_bool()) == Some(true);
    // Skipping is for a machine without the converted cache, said by scripts/test.sh; in CI
    // (CI=true) a missing model fails, so a green run always ran these tests.
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    if converted && !in_ci && std::env::var("SPOOR_SKIP_CONVERTED").as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED: converted model {name} is not in {}",
            dir.display()
        );
        return false;
    }
    panic!(
        "model {name}: {} is missing (run scripts/fetch-models.sh{})",
        entry.path(&dir).display(),
        if converted {
            " --from DIR-OF-CONVERTED-MODELS"
        } else {
            ""
        }
    );
}

fn detector(name: &str) -> Detector {
    let (m, dir) = manifest();
    Detector::load(m.get(name).unwrap(), &dir, 1).expect("the detector loads")
}

fn picture(file: &str) -> image::RgbImage {
    if file == "pattern" {
        common::pattern()
    } else {
        image::open(data(&format!("vision/{file}")))
            .unwrap()
            .to_rgb8()
    }
}

/// Every picture the reference ran on (its PNGs and the pattern) against its detections: same
/// labels in the same order, scores within 1e-3, box corners within 1e-3 of the picture's size.
fn equals_reference(name: &str, tsv: &str) -> usize {
    let model = detector(name);
    let expected = std::fs::read_to_string(data(&format!("vision/{tsv}"))).unwrap();
    let mut want: std::collections::BTreeMap<String, Vec<Vec<String>>> = Default::default();
    for line in expected.lines().skip(1) {
        let c: Vec<String> = line.split('\t').map(str::to_string).collect();
        want.entry(c[0].clone()).or_default().push(c);
    }
    let mut files: Vec<String> = std::fs::read_dir(data("vision"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".png"))
        .collect();
    files.push("pattern".into());
    let mut compared = 0;
    for file in files {
        let img = picture(&file);
        let got: Vec<Detection> = model.detect(&img).unwrap();
        let want = want.remove(&file).unwrap_or_default();
        assert_eq!(
            got.len(),
            want.len(),
            "{name} on {file}: {got:?} vs {want:?}"
        );
        let size = [img.width() as f32, img.height() as f32];
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.label, w[1], "{name} on {file}");
            let score: f32 = w[2].parse().unwrap();
            assert!(
                (g.score - score).abs() < 1e-3,
                "{name} on {file}: score {} vs {score}",
                g.score
            );
            for k in 0..4 {
                let v: f32 = w[3 + k].parse().unwrap();
                assert!(
                    (g.bbox[k] - v).abs() / size[k % 2] < 1e-3,
                    "{name} on {file}: box {:?} vs {w:?}",
                    g.bbox
                );
            }
            compared += 1;
        }
    }
    assert!(want.is_empty(), "{name}: pictures not found: {want:?}");
    compared
}

#[test]
fn nanodet_equals_python_onnxruntime_with_the_same_decoding() {
    if !available("nanodet") {
        return;
    }
    assert_eq!(equals_reference("nanodet", "nanodet.tsv"), 14);
}

#[test]
fn blazeface_models_equal_python_onnxruntime_with_the_same_decoding() {
    if !available("blazeface") || !available("blazeface-back") {
        return;
    }
    assert_eq!(equals_reference("blazeface", "blazeface.tsv"), 3);
    assert_eq!(equals_reference("blazeface-back", "blazeface-back.tsv"), 4);
}

#[test]
fn the_yolov8_decoder_equals_python_on_nudenet() {
    // NudeNet is AGPL: scripts/test.sh fetches it explicitly (--with-nudenet) for this test of
    // the generic YOLOv8 decoder; spoor itself never fetches or runs it unless asked.
    if !available("nudenet") {
        return;
    }
    let model = detector("nudenet");
    assert_eq!(equals_reference("nudenet", "nudenet.tsv"), 1);
    // Its class names come from the file's own metadata.
    let faces = model.detect(&picture("faces-nikon.png")).unwrap();
    assert_eq!(faces[0].label, "FACE_MALE");
}

#[test]
fn nsfwjs_probabilities_and_embedding_equal_python_onnxruntime() {
    if !available("nsfwjs") {
        return;
    }
    let (m, dir) = manifest();
    let model =
        spoor::vision::classifier::Classifier::load(m.get("nsfwjs").unwrap(), &dir, 1).unwrap();
    let expected = std::fs::read_to_string(data("vision/nsfwjs.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let parse = |s: &str| -> Vec<f32> { s.split(',').map(|v| v.parse().unwrap()).collect() };
        let got = model.run(&picture(c[0])).unwrap();
        for (g, w) in got.probabilities.iter().zip(parse(c[1])) {
            assert!((g - w).abs() < 1e-3, "{}: {g} vs {w}", c[0]);
        }
        let e = got.embedding.expect("the embedding output");
        assert_eq!(e.len(), 1792);
        for (g, w) in e.iter().zip(parse(c[2])) {
            assert!((g - w).abs() < 1e-3, "{}: embedding {g} vs {w}", c[0]);
        }
        let norm = e.iter().map(|v| v * v).sum::<f32>().sqrt();
        let want: f32 = c[3].parse().unwrap();
        assert!(
            (norm - want).abs() / want < 1e-3,
            "{}: norm {norm} vs {want}",
            c[0]
        );
        checked += 1;
    }
    assert_eq!(checked, 12);
}

fn ocr() -> spoor::vision::ocr::Ocr {
    let (m, dir) = manifest();
    spoor::vision::ocr::Ocr::load(m.get("ocr").unwrap(), &dir, 1).expect("the OCR models load")
}

#[test]
fn ocr_detector_and_recogniser_equal_python_onnxruntime() {
    let ocr = ocr();
    let expected = std::fs::read_to_string(data("vision/ocr.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let img = picture(c[0]);
        if c[1] == "det" {
            let v: Vec<f64> = c[2].split(',').map(|v| v.parse().unwrap()).collect();
            let (map, w, h) = ocr.probability_map(&img).unwrap();
            assert_eq!((w, h), (v[0] as usize, v[1] as usize), "{}", c[0]);
            let mean = map.iter().map(|&p| p as f64).sum::<f64>() / map.len() as f64;
            assert!(
                (mean - v[3]).abs() < 1e-4,
                "{}: mean {mean} vs {}",
                c[0],
                v[3]
            );
            let at = |n: usize, len: usize| (n as f64 * (len - 1) as f64 / 3.0) as usize;
            for (i, want) in v[4..].iter().enumerate() {
                let (y, x) = (at(i / 4, h), at(i % 4, w));
                let got = map[y * w + x] as f64;
                assert!(
                    (got - want).abs() < 1e-3,
                    "{}: map at {x},{y}: {got} vs {want}",
                    c[0]
                );
            }
        } else {
            let (probs, steps) = ocr.recognise_raw(&img).unwrap();
            let (text, score) = ocr.decode(&probs, steps);
            assert_eq!(text, c[3], "{}", c[0]);
            let want: f32 = c[2].parse().unwrap();
            assert!((score - want).abs() < 1e-3, "{}: {score} vs {want}", c[0]);
        }
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn ocr_reads_a_notice_line_by_line_in_reading_order() {
    let lines = ocr().read(&picture("text-notice.png")).unwrap();
    let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        text,
        vec![
            "MEETING POINT CHANGED",
            "Call 06-1234 5678 after 22:00",
            "Send 0.5 BTC to the usual wallet",
            "Parking garage level -2, bay 17",
        ]
    );
    assert!(lines.iter().all(|l| l.score > 0.9 && !l.rotated));
    // Upside down, the angle classifier turns every line back.
    let mut flipped = picture("text-notice.png");
    image::imageops::rotate180_in_place(&mut flipped);
    let lines = ocr().read(&flipped).unwrap();
    let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert!(text.contains(&"MEETING POINT CHANGED"), "{text:?}");
    assert!(lines.iter().all(|l| l.rotated), "{lines:?}");
}

#[test]
fn a_scan_with_objects_faces_text_and_embeddings_records_each_with_its_model() {
    if !available("nanodet") || !available("blazeface") || !available("nsfwjs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    for (f, to) in [
        ("person.png", "phone/person.png"),
        ("faces-nikon.png", "phone/faces.png"),
        ("text-notice.png", "phone/notice.png"),
        ("dog.png", "laptop/dog.png"),
    ] {
        common::write(
            &ev.join(to),
            &std::fs::read(data(&format!("vision/{f}"))).unwrap(),
        );
    }
    // The same dog picture, mirrored and re-saved on the other device: a near copy.
    let mut dog = picture("dog.png");
    image::imageops::flip_horizontal_in_place(&mut dog);
    dog.save(ev.join("phone/dog-mirrored.png")).unwrap();
    // Two devices: two evidence sources.
    let laptop = ev.join("laptop");
    let o = common::scan(
        &ev.join("phone"),
        &case,
        "T",
        &[
            "--quiet",
            "--models",
            "nanodet,blazeface,nsfwjs,ocr",
            laptop.to_str().unwrap(),
        ],
    );
    expect_code(&o, 0, "scan with four models");
    let obs = common::export(&case, "observations");
    let find = |kind: &str, path_end: &str| -> Vec<&serde_json::Value> {
        obs.iter()
            .filter(|o| o["kind"] == kind && o["path"].as_str().unwrap_or("").ends_with(path_end))
            .collect()
    };
    let horse = find("image.object", "person.png");
    assert!(
        horse
            .iter()
            .any(|o| o["value"]["label"] == "horse" && o["analyzer"] == "nanodet"),
        "{horse:?}"
    );
    assert!(
        horse[0]["provenance"]["model_sha256"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );
    let faces = find("image.faces", "faces.png");
    assert_eq!(faces[0]["value"]["count"], 2);
    assert_eq!(
        faces[0]["value"]["faces"][0]["keypoints"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let text = find("image.text", "notice.png");
    assert!(
        text[0]["value"]["text"]
            .as_str()
            .unwrap()
            .contains("Call 06-1234 5678 after 22:00")
    );
    // Scene hints are labelled as a heuristic.
    let hints = find("scene.hint", "person.png");
    assert!(!hints.is_empty(), "no scene hint for the person");
    assert!(hints.iter().all(|h| {
        h["value"]["method"]
            .as_str()
            .unwrap()
            .starts_with("heuristic")
    }));
    // Embeddings are stored; the mirrored copy is the dog's nearest neighbour, on the other device.
    assert_eq!(
        obs.iter()
            .filter(|o| o["kind"] == "image.embedding")
            .count(),
        5
    );
    let similar = find("image.similar", "dog-mirrored.png");
    assert_eq!(similar.len(), 1, "{similar:?}");
    assert_eq!(similar[0]["value"]["neighbours"][0]["path"], "dog.png");
    assert_eq!(similar[0]["value"]["neighbours"][0]["source"], "laptop");
    assert_eq!(similar[0]["value"]["other_device"], true);
    assert!(find("image.similar", "notice.png").is_empty());
}

#[test]
fn a_reference_gallery_names_the_place_a_picture_was_possibly_taken_as_a_lead() {
    if !available("nsfwjs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ev, case, gallery) = (
        dir.path().join("ev"),
        dir.path().join("case"),
        dir.path().join("places"),
    );
    // The gallery holds the scene of person.png cropped (as if photographed before), and an
    // unrelated place.
    let person = picture("person.png");
    let crop = image::imageops::crop_imm(&person, 20, 10, 560, 380).to_image();
    std::fs::create_dir_all(gallery.join("farm near the dunes")).unwrap();
    std::fs::create_dir_all(gallery.join("hotel X room 12")).unwrap();
    crop.save(gallery.join("farm near the dunes/ref.png"))
        .unwrap();
    std::fs::copy(
        data("vision/q0003.png"),
        gallery.join("hotel X room 12/ref.png"),
    )
    .unwrap();
    common::write(&gallery.join("hotel X room 12/notes.txt"), b"not a picture");
    common::write(
        &ev.join("person.png"),
        &std::fs::read(data("vision/person.png")).unwrap(),
    );
    common::write(
        &ev.join("notice.png"),
        &std::fs::read(data("vision/text-notice.png")).unwrap(),
    );
    let o = common::scan(
        &ev,
        &case,
        "T",
        &[
            "--quiet",
            "--models",
            "nsfwjs",
            "--places",
            gallery.to_str().unwrap(),
        ],
    );
    expect_code(&o, 0, "scan with a places gallery");
    let obs = common::export(&case, "observations");
    let places: Vec<&serde_json::Value> = obs
        .iter()
        .filter(|o| o["kind"] == "location.possible_place")
        .collect();
    assert_eq!(places.len(), 1, "{places:?}");
    assert_eq!(places[0]["path"], "person.png");
    assert_eq!(places[0]["value"]["place"], "farm near the dunes");
    assert_eq!(places[0]["value"]["rank"], 1);
    // It becomes a lead that carries the similarity pass's error margin.
    let o = common::run(&["leads", case.to_str().unwrap(), "--json"]);
    expect_code(&o, 0, "leads");
    let leads = common::stdout(&o);
    assert!(leads.contains("possible-known-place"), "{leads}");
    assert!(leads.contains("not proof of place"), "{leads}");
    assert!(
        leads.contains("trained for nudity classes, not for places"),
        "{leads}"
    );
    // Without an embedding model the gallery cannot be used: fatal before the case exists.
    let o = common::scan(
        &ev,
        &dir.path().join("c2"),
        "T",
        &["--quiet", "--places", gallery.to_str().unwrap()],
    );
    expect_code(&o, 1, "--places without an embedding model");
    assert!(
        common::stderr(&o).contains("embedding"),
        "{}",
        common::stderr(&o)
    );
    assert!(!dir.path().join("c2").exists());
}

#[test]
fn pictures_of_1x1_and_20000x20_pass_through_every_head_without_harm() {
    // Every head must be there (or skipping explicitly allowed outside CI): a head whose
    // file is missing is not silently left out of this test.
    let heads: Vec<&str> = ["nanodet", "blazeface", "nudenet"]
        .into_iter()
        .filter(|name| available(name))
        .collect();
    let ocr = ocr();
    for (w, h) in [(1, 1), (20_000, 20), (20, 20_000)] {
        // A flat grey picture holds no text and no object: anything found is a decoding bug
        // (a box from padding, a stretched anchor), not harmless.
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 200, 200]));
        let lines = ocr
            .read(&img)
            .unwrap_or_else(|e| panic!("ocr on {w} x {h}: {e}"));
        let text: Vec<&str> = lines
            .iter()
            .map(|l| l.text.as_str())
            .filter(|t| !t.trim().is_empty())
            .collect();
        assert!(text.is_empty(), "ocr on flat {w} x {h} read {text:?}");
        for name in &heads {
            let found = detector(name)
                .detect(&img)
                .unwrap_or_else(|e| panic!("{name} on {w} x {h}: {e}"));
            assert!(
                found.is_empty(),
                "{name} on flat {w} x {h} found {:?}",
                found
                    .iter()
                    .map(|d| (&d.label, d.score, d.bbox))
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn models_eval_measures_a_detector_with_average_precision_and_ocr_with_character_errors() {
    if !available("nanodet") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    // A copy of the models folder's manifest, with links to the files, so that the card is
    // written into the temporary folder and not into the checkout.
    let repo = spoor::vision::models_dir();
    std::fs::copy(repo.join("manifest.toml"), models.join("manifest.toml")).unwrap();
    for f in ["nanodet-g-416.onnx", "ocr", "lib"] {
        std::os::unix::fs::symlink(repo.join(f).canonicalize().unwrap(), models.join(f)).unwrap();
    }
    // The darknet labels of the two photos that are in tests/data/vision.
    let labels = dir.path().join("labels.tsv");
    let all = std::fs::read_to_string(data("detection/darknet-objects.tsv")).unwrap();
    let two: String = all
        .lines()
        .filter(|l| l.starts_with("dog.jpg") || l.starts_with("person.jpg"))
        .map(|l| l.replace(".jpg", ".png") + "\n")
        .collect();
    std::fs::write(&labels, two).unwrap();
    let eval = |model: &str, labels: &std::path::Path| {
        common::spoor()
            .args(["models", "eval", model, "--images"])
            .arg(data("vision"))
            .arg("--labels")
            .arg(labels)
            .env("SPOOR_MODELS", &models)
            .output()
            .unwrap()
    };
    let o = eval("nanodet", &labels);
    expect_code(&o, 0, "models eval nanodet");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models.join("cards/nanodet.json")).unwrap()).unwrap();
    assert_eq!(card["images"], 2);
    assert_eq!(card["objects"], 7);
    // Dog, bicycle, truck and horse are found with their boxes; the small motorcycle is not.
    assert_eq!(card["ap50"]["dog"], 1.0);
    assert_eq!(card["ap50"]["bicycle"], 1.0);
    assert_eq!(card["per_class_recall"]["motorcycle"], 0.0);
    assert!(card["map50"].as_f64().unwrap() > 0.5);
    assert!(card["precision"].as_f64().unwrap() > 0.0);
    // OCR: every word of the pictures read, few character errors.
    let o = eval("ocr", &data("detection/ocr-labels.tsv"));
    expect_code(&o, 0, "models eval ocr");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models.join("cards/ocr.json")).unwrap()).unwrap();
    assert_eq!(card["images"], 4);
    assert_eq!(card["word_recall"], 1.0);
    assert!(card["character_error_rate"].as_f64().unwrap() < 0.05);
}

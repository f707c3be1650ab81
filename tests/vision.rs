//! Models through ONNX Runtime: outputs equal to Python onnxruntime on the same pre-processing
//! (scripts/vision_reference.py, its outputs in tests/data/vision), and the model problems that
//! must stop a scan before it starts. Needs `scripts/fetch-models.sh` (run by scripts/test.sh).

mod common;

use common::{data, expect_code, stderr};
use spoor::vision::classifier::Classifier;
use spoor::vision::manifest::Manifest;

fn open_nsfw() -> Classifier {
    let dir = spoor::vision::models_dir();
    let manifest = Manifest::load(&dir).expect("the manifest parses");
    Classifier::load(manifest.get("open_nsfw").unwrap(), &dir, 1).expect("open_nsfw loads")
}

#[test]
fn open_nsfw_equals_python_onnxruntime_on_the_same_preprocessing() {
    let model = open_nsfw();
    let expected = std::fs::read_to_string(data("vision/open_nsfw.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let img = if c[0] == "pattern" {
            common::pattern()
        } else {
            image::open(data(&format!("vision/{}", c[0])))
                .unwrap()
                .to_rgb8()
        };
        let scores = model.scores(&img).unwrap();
        let (sfw, nsfw) = (scores[0], scores[1]);
        let (want_sfw, want_nsfw): (f32, f32) = (c[1].parse().unwrap(), c[2].parse().unwrap());
        assert!(
            (sfw - want_sfw).abs() < 1e-3,
            "{}: sfw {sfw} vs {want_sfw}",
            c[0]
        );
        assert!(
            (nsfw - want_nsfw).abs() < 1e-3,
            "{}: nsfw {nsfw} vs {want_nsfw}",
            c[0]
        );
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn a_scan_with_the_model_records_its_score_with_the_model_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(data("vision/q0746.png"), ev.join("q0746.png")).unwrap();
    // One session with two intra-op threads instead of one single-threaded session per worker:
    // the same score.
    let o = common::scan(
        &ev,
        &case,
        "T",
        &[
            "--quiet",
            "--models",
            "open_nsfw",
            "--model-sessions",
            "1",
            "--model-threads",
            "2",
        ],
    );
    expect_code(&o, 0, "scan with --models open_nsfw");
    let obs = common::export(&case, "observations");
    let c = obs
        .iter()
        .find(|o| o["kind"] == "image.classification")
        .expect("an image.classification observation");
    assert_eq!(c["analyzer"], "open_nsfw");
    let pinned = Manifest::load(&spoor::vision::models_dir()).unwrap();
    assert_eq!(
        c["provenance"]["model_sha256"].as_str(),
        pinned.get("open_nsfw").unwrap().sha256.as_deref()
    );
    assert_eq!(c["value"]["label"], "nsfw");
    assert!((c["value"]["score"].as_f64().unwrap() - 0.020267).abs() < 1e-3);
    assert!((c["value"]["scores"]["sfw"].as_f64().unwrap() - 0.979733).abs() < 1e-3);
    assert_eq!(c["value"]["above_threshold"], false);
}

#[test]
fn model_problems_stop_the_scan_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    common::write(&ev.join("a.txt"), b"a");
    let scan = |envs: &[(&str, &str)], case: &str| {
        let mut c = common::spoor();
        c.args(["scan", ev.to_str().unwrap(), "--case"])
            .arg(dir.path().join(case))
            .args(["--examiner", "T", "--models", "open_nsfw"]);
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // The library missing.
    let o = scan(
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")],
        "c1",
    );
    expect_code(&o, 1, "no library");
    assert!(
        stderr(&o).contains("ONNX Runtime library not found"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("c1").exists(), "a case was left behind");
    // A models folder without the model, and one with a changed model file.
    let lib = spoor::vision::library_path();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let repo_models = spoor::vision::models_dir();
    std::fs::copy(
        repo_models.join("manifest.toml"),
        models.join("manifest.toml"),
    )
    .unwrap();
    let o = scan(
        &[
            ("ORT_DYLIB_PATH", lib.to_str().unwrap()),
            ("SPOOR_MODELS", models.to_str().unwrap()),
        ],
        "c2",
    );
    expect_code(&o, 1, "no model file");
    assert!(
        stderr(&o).contains("open-nsfw.onnx not found"),
        "{}",
        stderr(&o)
    );
    let mut bytes = std::fs::read(repo_models.join("open-nsfw.onnx")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(models.join("open-nsfw.onnx"), bytes).unwrap();
    let o = scan(
        &[
            ("ORT_DYLIB_PATH", lib.to_str().unwrap()),
            ("SPOOR_MODELS", models.to_str().unwrap()),
        ],
        "c3",
    );
    expect_code(&o, 1, "changed model file");
    assert!(stderr(&o).contains("not the pinned"), "{}", stderr(&o));
    // An unknown model name.
    let mut c = common::spoor();
    let o = c
        .args(["scan", ev.to_str().unwrap(), "--case"])
        .arg(dir.path().join("c5"))
        .args(["--examiner", "T", "--models", "places365"])
        .output()
        .unwrap();
    expect_code(&o, 1, "unknown model");
    assert!(stderr(&o).contains("unknown model"), "{}", stderr(&o));
}

#[test]
fn a_model_added_by_its_manifest_entry_alone_runs_and_a_wrong_entry_is_refused() {
    // A user's own classifier: here the same file under another name, without a pinned digest,
    // described only by a manifest entry.
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(models.join("mine")).unwrap();
    let repo_models = spoor::vision::models_dir();
    std::fs::copy(
        repo_models.join("open-nsfw.onnx"),
        models.join("mine/classifier.onnx"),
    )
    .unwrap();
    let entry = |name: &str, width: u32| {
        format!(
            "[[model]]\nname = \"{name}\"\ntask = \"scene\"\nfile = \"mine/classifier.onnx\"\n\
             head = \"softmax-classifier\"\nlabels = [\"indoor\", \"outdoor\"]\n\
             license = \"the lab's own\"\nsource = {{ registry = \"local\" }}\n\
             input = {{ layout = \"NHWC\", width = {width}, height = {width}, resize = 256, \
             channels = \"BGR\", scale = 1.0, mean = [104.0, 117.0, 123.0], std = [1.0, 1.0, 1.0] }}\n\
             error_margin = \"the lab's own figures\"\n"
        )
    };
    std::fs::write(
        models.join("manifest.toml"),
        entry("lab_scene", 224) + &entry("lab_scene_wrong", 128),
    )
    .unwrap();
    let ev = dir.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(data("vision/q0003.png"), ev.join("q0003.png")).unwrap();
    let lib = spoor::vision::library_path();
    let scan = |model: &str, case: &str| {
        common::spoor()
            .args(["scan", ev.to_str().unwrap(), "--case"])
            .arg(dir.path().join(case))
            .args(["--examiner", "T", "--quiet", "--models", model])
            .env("ORT_DYLIB_PATH", &lib)
            .env("SPOOR_MODELS", &models)
            .output()
            .unwrap()
    };
    let o = scan("lab_scene", "c1");
    expect_code(&o, 0, "scan with the lab's model");
    let obs = common::export(&dir.path().join("c1"), "observations");
    let c = obs
        .iter()
        .find(|o| o["kind"] == "image.classification")
        .unwrap();
    assert_eq!(c["analyzer"], "lab_scene");
    assert_eq!(c["value"]["task"], "scene");
    assert!(c["value"]["scores"]["indoor"].is_number());
    assert!(c["value"]["scores"]["outdoor"].is_number());
    // The same file described with a 128 px input: its tensors do not fit; fatal at start.
    let o = scan("lab_scene_wrong", "c2");
    expect_code(&o, 1, "a manifest entry that does not fit the file");
    assert!(
        stderr(&o).contains("do not match the manifest"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_model_pack_installs_on_a_machine_without_network_and_a_damaged_one_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("models.zip");
    let o = common::run(&["models", "pack", pack.to_str().unwrap()]);
    expect_code(&o, 0, "models pack");
    // Installed into an empty folder, it is all a scan needs: the library is found there too.
    let target = dir.path().join("lab-models");
    let o = common::run(&[
        "models",
        "install",
        pack.to_str().unwrap(),
        "--dir",
        target.to_str().unwrap(),
    ]);
    expect_code(&o, 0, "models install");
    assert!(
        target
            .join("lib")
            .join(spoor::vision::LIBRARY_FILE)
            .is_file()
    );
    let ev = dir.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(data("vision/q0746.png"), ev.join("q0746.png")).unwrap();
    let o = common::spoor()
        .args(["scan", ev.to_str().unwrap(), "--case"])
        .arg(dir.path().join("case"))
        .args(["--examiner", "T", "--quiet", "--models", "open_nsfw"])
        .env_remove("ORT_DYLIB_PATH")
        .env("SPOOR_MODELS", &target)
        .output()
        .unwrap();
    expect_code(&o, 0, "scan with the installed models");
    // One byte changed inside the packed model: refused, and nothing of the pack installed.
    let mut bytes = std::fs::read(&pack).unwrap();
    let model = std::fs::read(spoor::vision::models_dir().join("open-nsfw.onnx")).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &model[1_000_000..1_000_064])
        .expect("the model is stored in the pack");
    bytes[at] ^= 0xFF;
    let damaged = dir.path().join("damaged.zip");
    std::fs::write(&damaged, bytes).unwrap();
    let fresh = dir.path().join("fresh");
    let o = common::run(&[
        "models",
        "install",
        damaged.to_str().unwrap(),
        "--dir",
        fresh.to_str().unwrap(),
    ]);
    expect_code(&o, 1, "damaged pack");
    assert!(stderr(&o).contains("nothing installed"), "{}", stderr(&o));
    let left: Vec<_> = walk(&fresh);
    assert!(left.is_empty(), "files left behind: {left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn models_eval_writes_a_card_with_the_confusion_matrix_and_the_rates() {
    let dir = tempfile::tempdir().unwrap();
    // A models folder of its own (the card is written there, not into the checkout).
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let repo_models = spoor::vision::models_dir();
    for f in ["manifest.toml", "open-nsfw.onnx"] {
        std::fs::copy(repo_models.join(f), models.join(f)).unwrap();
    }
    let labels = dir.path().join("labels.tsv");
    std::fs::write(
        &labels,
        "# file\tlabel\nq0003.png\tsfw\nq0746.png\tsfw\nq2821.png\tsfw\nDSCN0010.png\tsfw\n",
    )
    .unwrap();
    let eval = |labels: &std::path::Path| {
        common::spoor()
            .args(["models", "eval", "open_nsfw", "--images"])
            .arg(data("vision"))
            .arg("--labels")
            .arg(labels)
            .env("SPOOR_MODELS", &models)
            .env("ORT_DYLIB_PATH", spoor::vision::library_path())
            .output()
            .unwrap()
    };
    let o = eval(&labels);
    expect_code(&o, 0, "models eval");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models.join("cards/open_nsfw.json")).unwrap())
            .unwrap();
    assert_eq!(card["images"], 4);
    assert_eq!(card["confusion"]["sfw"]["sfw"], 4);
    // Four safe photos, none scored over the 0.8 threshold: no false positive; precision and
    // recall of "nsfw" are undefined on this set and say so (null), not 0 or 1.
    assert_eq!(card["false_positive_rate"], 0.0);
    assert!(card["precision"].is_null() && card["recall"].is_null());
    assert_eq!(card["per_class_recall"]["sfw"], 1.0);
    assert!(card["per_class_recall"]["nsfw"].is_null());
    // `models list` shows the measured figures.
    let o = common::spoor()
        .args(["models", "list"])
        .env("SPOOR_MODELS", &models)
        .output()
        .unwrap();
    assert!(
        common::stdout(&o).contains("measured: 4 images"),
        "{}",
        common::stdout(&o)
    );
    // A label the model does not have is refused with its line.
    let bad = dir.path().join("bad.tsv");
    std::fs::write(&bad, "q0003.png\tcat\n").unwrap();
    let o = eval(&bad);
    expect_code(&o, 1, "unknown label");
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}

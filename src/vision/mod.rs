//! Models through ONNX Runtime, which is loaded at run time (`ort` with `load-dynamic`) from the
//! library `scripts/fetch-models.sh` takes out of the `onnxruntime` wheel.
//!
//! One environment per process (ONNX Runtime allows no second one), created on first use.
//! A missing or wrong library, model file or tensor layout is a clear error at the start of a
//! scan, never a panic in the middle of one.

pub mod classifier;
pub mod detect;
pub mod embedding;
pub mod eval;
pub mod manifest;
pub mod ocr;
pub mod pack;
pub mod preprocess;
pub mod session;

use std::path::PathBuf;
use std::sync::OnceLock;

/// The library file the fetch script writes.
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.32.0";

/// Where the models are: `SPOOR_MODELS` when set; else the first `models/` with a `lib/` in the
/// executable's folder or one above it (`target/release/spoor` finds the checkout's
/// `models/`); else `./models`.
pub fn models_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SPOOR_MODELS") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            let candidate = dir.join("models");
            if candidate.join("lib").is_dir() {
                return candidate;
            }
        }
    }
    PathBuf::from("models")
}

/// The ONNX Runtime library: `ORT_DYLIB_PATH` when set, else under [`models_dir`].
pub fn library_path() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| models_dir().join("lib").join(LIBRARY_FILE))
}

/// The process's ONNX Runtime environment, loading the library on first use.
pub fn environment() -> Result<&'static ort::environment::Environment, String> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let lib = library_path();
        if !lib.is_file() {
            return Err(format!(
                "ONNX Runtime library not found at {} (run scripts/fetch-models.sh, or set ORT_DYLIB_PATH)",
                lib.display()
            ));
        }
        ort::init_from(&lib)
            .map_err(|e| format!("ONNX Runtime library {}: {e}", lib.display()))?
            .with_name("spoor")
            .build()
            .map_err(|e| format!("ONNX Runtime environment: {e}"))
    })
    .as_ref()
    .map_err(|e| e.clone())
}

/// SHA-256 of a model file, hex: its identity in every observation made with it.
pub fn file_sha256(path: &std::path::Path) -> Result<String, String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::evidence::digest::to_hex(&h.finalize()))
}

/// The analyzer of a manifest entry, by its head, with `workers` sessions per model file.
pub fn load_analyzer(
    entry: &manifest::ModelEntry,
    dir: &std::path::Path,
    workers: usize,
) -> Result<std::sync::Arc<dyn crate::analyze::Analyzer>, String> {
    Ok(match entry.head.as_str() {
        "softmax-classifier" | "embedding" => {
            std::sync::Arc::new(classifier::Classifier::load(entry, dir, workers)?)
        }
        "nanodet" | "yolov8" | "blazeface" => {
            std::sync::Arc::new(detect::Detector::load(entry, dir, workers)?)
        }
        "ppocr" => std::sync::Arc::new(ocr::Ocr::load(entry, dir, workers)?),
        other => {
            return Err(format!(
                "model {}: head {other:?} is not implemented",
                entry.name
            ));
        }
    })
}

/// The item's decoded picture as RGB: borrowed when it already is, converted once otherwise.
pub fn rgb<'a>(
    item: &'a crate::analyze::ItemView,
) -> Option<std::borrow::Cow<'a, image::RgbImage>> {
    item.image.map(|img| match img {
        image::DynamicImage::ImageRgb8(rgb) => std::borrow::Cow::Borrowed(rgb),
        other => std::borrow::Cow::Owned(other.to_rgb8()),
    })
}

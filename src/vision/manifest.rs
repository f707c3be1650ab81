//! `models/manifest.toml`: per model its name, task, file and pinned digest, source package,
//! licence, input spec, labels, threshold and error margin. A model with a supported `head`
//! runs from its entry alone: adding one is editing this file, not the code.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE: &str = "manifest.toml";

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Manifest {
    #[serde(rename = "model")]
    pub models: Vec<ModelEntry>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ModelEntry {
    pub name: String,
    pub task: String,
    /// Relative to the models folder.
    pub file: String,
    /// The file's SHA-256; loading refuses any other file. Absent for converted models, whose
    /// bytes differ from run to run (docs/models.md): those are checked by their outputs instead.
    pub sha256: Option<String>,
    pub head: String,
    /// `probabilities` (softmax inside the model) or `logits`.
    #[serde(default = "probabilities")]
    pub output: String,
    #[serde(default)]
    pub labels: Vec<String>,
    /// The label whose score the threshold applies to.
    pub positive: Option<String>,
    pub threshold: Option<f64>,
    pub license: String,
    pub source: toml::Table,
    pub input: InputSpec,
    pub error_margin: String,
    /// Classifier: the name of a second output holding an image embedding (nsfwjs's
    /// `embedding`), stored for similarity search.
    pub embedding: Option<String>,
    /// Detectors: the IoU above which a lower-scored box of the same class is suppressed.
    pub iou: Option<f64>,
    /// BlazeFace: `[grid, anchors per cell]` per anchor layer, in output order.
    #[serde(default)]
    pub anchors: Vec<[usize; 2]>,
    /// Part of the default set (`--models default`).
    #[serde(default)]
    pub default: bool,
    /// Further files of a multi-model head (PP-OCR: `cls`, `rec`), each with its digest.
    #[serde(default)]
    pub parts: std::collections::BTreeMap<String, Part>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Part {
    pub file: String,
    pub sha256: Option<String>,
}

/// The heads spoor implements; a manifest entry names one.
pub const HEADS: [&str; 6] = [
    "softmax-classifier",
    "embedding",
    "nanodet",
    "yolov8",
    "blazeface",
    "ppocr",
];

fn probabilities() -> String {
    "probabilities".into()
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct InputSpec {
    /// `NHWC` or `NCHW`.
    pub layout: String,
    pub width: usize,
    pub height: usize,
    /// Resize to `resize` x `resize` first, then centre-crop `width` x `height`.
    pub resize: Option<usize>,
    /// `RGB` or `BGR`.
    pub channels: String,
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// `stretch` (default): resize to the input size, aspect not kept. `pad`: scale the long
    /// side to the input size, keep the aspect, fill the rest (right and bottom) with black.
    #[serde(default = "stretch")]
    pub fit: String,
}

fn stretch() -> String {
    "stretch".into()
}

impl Manifest {
    pub fn load(models_dir: &Path) -> Result<Manifest, String> {
        let path = models_dir.join(FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("model manifest {}: {e}", path.display()))?;
        let m: Manifest =
            toml::from_str(&text).map_err(|e| format!("model manifest {}: {e}", path.display()))?;
        for e in &m.models {
            e.check()
                .map_err(|why| format!("model manifest {}: {}: {why}", path.display(), e.name))?;
        }
        Ok(m)
    }

    pub fn get(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }
}

impl ModelEntry {
    fn check(&self) -> Result<(), String> {
        if !HEADS.contains(&self.head.as_str()) {
            return Err(format!(
                "head {:?} is not one of {}",
                self.head,
                HEADS.join(", ")
            ));
        }
        if !matches!(self.input.fit.as_str(), "stretch" | "pad") {
            return Err(format!(
                "input.fit {:?} is not stretch or pad",
                self.input.fit
            ));
        }
        if self.head == "blazeface" && self.anchors.is_empty() {
            return Err("a blazeface head needs `anchors`".into());
        }
        if self.head == "ppocr" && !self.parts.contains_key("rec") {
            return Err("a ppocr head needs `parts.rec` (and may have `parts.cls`)".into());
        }
        if !matches!(self.input.layout.as_str(), "NHWC" | "NCHW") {
            return Err(format!(
                "input.layout {:?} is not NHWC or NCHW",
                self.input.layout
            ));
        }
        if !matches!(self.input.channels.as_str(), "RGB" | "BGR") {
            return Err(format!(
                "input.channels {:?} is not RGB or BGR",
                self.input.channels
            ));
        }
        if self.input.std.contains(&0.0) || self.input.width == 0 || self.input.height == 0 {
            return Err("input: zero size or zero std".into());
        }
        if self
            .input
            .resize
            .is_some_and(|r| r < self.input.width.max(self.input.height))
        {
            return Err("input.resize is smaller than the crop".into());
        }
        if let Some(p) = &self.positive
            && !self.labels.contains(p)
        {
            return Err(format!("positive label {p:?} is not among the labels"));
        }
        Ok(())
    }

    pub fn path(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(&self.file)
    }
}

/// One model as `spoor models list` (and later the web UI) shows it.
pub struct Listing {
    pub entry: ModelEntry,
    /// Its file is in the models folder.
    pub present: bool,
    /// Its head is one spoor runs.
    pub head_implemented: bool,
    /// Its measured card (`models/cards/NAME.json`), when there is one.
    pub card: Option<serde_json::Value>,
    pub outputs: String,
}

/// Every model of the manifest in `dir`, with what it outputs, whether its file is there and
/// its measured card. A card that is there but cannot be read is an error, not a model
/// shown without its error margin.
pub fn listing(dir: &std::path::Path) -> Result<Vec<Listing>, String> {
    let manifest = Manifest::load(dir)?;
    manifest
        .models
        .into_iter()
        .map(|entry| {
            let card_path = dir.join("cards").join(format!("{}.json", entry.name));
            let card = match std::fs::read(&card_path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(format!("{}: {e}", card_path.display())),
                Ok(bytes) => Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| format!("{}: {e}", card_path.display()))?,
                ),
            };
            Ok(Listing {
                present: entry.path(dir).is_file(),
                head_implemented: HEADS.contains(&entry.head.as_str()),
                outputs: outputs_in_words(&entry),
                card,
                entry,
            })
        })
        .collect()
}

/// What a model gives, in words, from its head and labels (`models list`).
pub fn outputs_in_words(m: &ModelEntry) -> String {
    let labels = if m.labels.len() > 8 {
        format!(
            "{} classes ({}, ...)",
            m.labels.len(),
            m.labels[..5].join(", ")
        )
    } else if m.labels.is_empty() {
        "classes named in the file's own metadata".to_string()
    } else {
        m.labels.join("/")
    };
    let mut what = match m.head.as_str() {
        "softmax-classifier" => format!("a score per class: {labels}"),
        "embedding" => "an embedding vector per picture (similarity search)".to_string(),
        "nanodet" | "yolov8" => format!("boxes with a class and a score: {labels}"),
        "blazeface" => "face boxes with six keypoints (eyes, nose, mouth, ears) and a score; detection only, no identity".to_string(),
        "ppocr" => "text lines with their box and a confidence".to_string(),
        other => format!("{other} output"),
    };
    if m.embedding.is_some() && m.head != "embedding" {
        what.push_str("; and an embedding vector per picture (similar pictures across the case)");
    }
    what
}

//! The `softmax-classifier` head: any ONNX model with one image input and one `[N, classes]`
//! output, fed and read as its manifest entry says (open_nsfw, nsfwjs's five classes, a
//! Places365 scene model a user adds).

use std::path::Path;

use serde_json::json;

use super::manifest::ModelEntry;
use super::session::{ModelFile, fits};
use crate::analyze::{Analyzer, ItemView, ObservationDraft};

pub struct Classifier {
    pub entry: ModelEntry,
    model: ModelFile,
    pub model_sha256: String,
    /// Leaked once per loaded model: `Analyzer::name` returns `&'static str`.
    name: &'static str,
    error_margin: &'static str,
}

/// What a classifier says of one picture.
pub struct Scores {
    /// The probability of each label, in the manifest's order (empty for an `embedding` head).
    pub probabilities: Vec<f32>,
    /// The embedding, when the entry names an embedding output.
    pub embedding: Option<Vec<f32>>,
}

impl Classifier {
    /// Loads `entry`'s file from `dir` with `workers` sessions. Every problem is an error that
    /// stops the scan before it starts: no library, no file, another file than the pinned one,
    /// or tensors other than the entry describes.
    pub fn load(entry: &ModelEntry, dir: &Path, workers: usize) -> Result<Classifier, String> {
        let name = &entry.name;
        if !matches!(entry.head.as_str(), "softmax-classifier" | "embedding") {
            return Err(format!(
                "model {name}: head {:?} is not a classifier",
                entry.head
            ));
        }
        let model = ModelFile::load(name, &entry.path(dir), entry.sha256.as_deref(), workers)?;
        check_layout(entry, &model)?;
        Ok(Classifier {
            entry: entry.clone(),
            model_sha256: model.sha256.clone(),
            model,
            name: Box::leak(entry.name.clone().into_boxed_str()),
            error_margin: Box::leak(entry.error_margin.clone().into_boxed_str()),
        })
    }

    /// The input tensor for a picture, as the entry's input spec says.
    pub fn tensor(entry: &ModelEntry, img: &image::RgbImage) -> ndarray::Array4<f32> {
        super::preprocess::tensor(&entry.input, img).0
    }

    /// The probability of each label for a picture.
    pub fn scores(&self, img: &image::RgbImage) -> Result<Vec<f32>, String> {
        Ok(self.run(img)?.probabilities)
    }

    /// The probabilities and, when the entry names one, the embedding.
    pub fn run(&self, img: &image::RgbImage) -> Result<Scores, String> {
        let outputs = self.model.run(&Self::tensor(&self.entry, img))?;
        let embedding_name = self.entry.embedding.as_deref();
        let embedding = embedding_name.and_then(|n| outputs.iter().find(|o| o.name == n));
        let probabilities = if self.entry.head == "embedding" {
            Vec::new()
        } else {
            let first = outputs
                .iter()
                .find(|o| Some(o.name.as_str()) != embedding_name)
                .ok_or_else(|| format!("{}: no probability output", self.entry.name))?;
            let raw: Vec<f32> = first
                .data
                .iter()
                .copied()
                .take(self.entry.labels.len())
                .collect();
            if self.entry.output == "logits" {
                softmax(&raw)
            } else {
                raw
            }
        };
        Ok(Scores {
            probabilities,
            embedding: embedding.map(|o| o.data.clone()),
        })
    }
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = x.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

fn check_layout(entry: &ModelEntry, model: &ModelFile) -> Result<(), String> {
    let (inputs, outputs) = model.signature();
    let spec = &entry.input;
    let (h, w) = (spec.height as i64, spec.width as i64);
    let want_in: [i64; 4] = if spec.layout == "NCHW" {
        [-1, 3, h, w]
    } else {
        [-1, h, w, 3]
    };
    let classes = entry.labels.len() as i64;
    let embedding = entry.embedding.as_deref();
    let probs = outputs.iter().find(|o| Some(o.0.as_str()) != embedding);
    let probs_fit = entry.head == "embedding" || probs.is_some_and(|o| fits(&o.1, &[-1, classes]));
    let embedding_fit =
        embedding.is_none_or(|n| outputs.iter().any(|o| o.0 == n && o.1.len() == 2));
    if inputs.len() != 1 || !fits(&inputs[0], &want_in) || !probs_fit || !embedding_fit {
        return Err(format!(
            "model {}: tensors {inputs:?} -> {outputs:?} do not match the manifest's {want_in:?} -> [N, {classes}]{}",
            entry.name,
            embedding
                .map(|n| format!(" and {n} [N, D]"))
                .unwrap_or_default()
        ));
    }
    Ok(())
}

impl Analyzer for Classifier {
    fn name(&self) -> &'static str {
        self.name
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        self.error_margin
    }
    fn min_picture_side(&self) -> u32 {
        let i = &self.entry.input;
        i.resize.unwrap_or(0).max(i.width).max(i.height) as u32
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.image.is_some()
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        let Some(img) = super::rgb(item) else {
            return Ok(Vec::new());
        };
        let Scores {
            probabilities: scores,
            embedding,
        } = self.run(&img)?;
        let provenance = json!({
            "model_sha256": self.model_sha256,
            "file": self.entry.file,
            "input": self.entry.input,
        });
        let mut out = Vec::new();
        if let Some(vector) = embedding {
            out.push(super::embedding::observation(
                &self.entry.name,
                &vector,
                provenance.clone(),
            ));
        }
        if self.entry.head == "embedding" {
            return Ok(out);
        }
        let labels = &self.entry.labels;
        let (top, top_score) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, s)| (labels[i].clone(), *s))
            .unwrap_or_default();
        let by_label: serde_json::Map<String, serde_json::Value> = labels
            .iter()
            .zip(&scores)
            .map(|(l, s)| (l.clone(), json!(s)))
            .collect();
        // The positive label's score when the entry names one (open_nsfw: "nsfw"), else the top.
        let (label, confidence) = match &self.entry.positive {
            Some(p) => {
                let i = labels.iter().position(|l| l == p).unwrap_or(0);
                (p.clone(), scores.get(i).copied().unwrap_or(0.0))
            }
            None => (top.clone(), top_score),
        };
        out.push(ObservationDraft {
            kind: crate::model::ObservationKind::ImageClassification,
            value: json!({
                "model": self.entry.name, "task": self.entry.task, "scores": by_label,
                "top": top, "label": label, "score": confidence,
                "above_threshold": self.entry.threshold.map(|t| confidence as f64 >= t),
            }),
            confidence: confidence as f64,
            provenance,
        });
        Ok(out)
    }
}

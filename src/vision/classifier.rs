//! The `softmax-classifier` head: any ONNX model with one image input and one `[N, classes]`
//! output, fed and read as its manifest entry says (open_nsfw, nsfwjs's five classes, a
//! Places365 scene model a user adds).

use std::path::Path;
use std::sync::Mutex;

use serde_json::json;

use super::manifest::ModelEntry;
use crate::engine::analyzer::{Analyzer, ItemView, ObservationDraft};

pub struct Classifier {
    pub entry: ModelEntry,
    /// `Session::run` needs `&mut`: one session per worker, each on one intra-op thread (two
    /// such sessions on two cores were 1.5x one session used in turn, MODELS.md).
    sessions: Vec<Mutex<ort::session::Session>>,
    pub model_sha256: String,
    /// Leaked once per loaded model: `Analyzer::name` returns `&'static str`.
    name: &'static str,
    error_margin: &'static str,
}

impl Classifier {
    /// Loads `entry`'s file from `dir` with `workers` sessions. Every problem is an error that
    /// stops the scan before it starts: no library, no file, another file than the pinned one,
    /// or tensors other than the entry describes.
    pub fn load(entry: &ModelEntry, dir: &Path, workers: usize) -> Result<Classifier, String> {
        let name = &entry.name;
        if entry.head != "softmax-classifier" {
            return Err(format!(
                "model {name}: head {:?} is not implemented yet",
                entry.head
            ));
        }
        let env = super::environment()?;
        let path = entry.path(dir);
        if !path.is_file() {
            return Err(format!(
                "model {name}: {} not found (run scripts/fetch-models.sh)",
                path.display()
            ));
        }
        let model_sha256 = super::file_sha256(&path)?;
        if let Some(pinned) = &entry.sha256
            && &model_sha256 != pinned
        {
            return Err(format!(
                "model {name}: {} has sha256 {model_sha256}, not the pinned {pinned}",
                path.display()
            ));
        }
        let mut sessions = Vec::new();
        for _ in 0..workers.max(1) {
            let session = ort::session::Session::builder(env)
                .and_then(|b| Ok(b.with_intra_threads(1)?))
                .and_then(|mut b| b.commit_from_file(&path))
                .map_err(|e| format!("model {name}: {e}"))?;
            sessions.push(Mutex::new(session));
        }
        check_layout(
            entry,
            &sessions[0].lock().unwrap_or_else(|p| p.into_inner()),
        )?;
        Ok(Classifier {
            entry: entry.clone(),
            sessions,
            model_sha256,
            name: Box::leak(entry.name.clone().into_boxed_str()),
            error_margin: Box::leak(entry.error_margin.clone().into_boxed_str()),
        })
    }

    /// The input tensor for a picture, as the entry's input spec says.
    pub fn tensor(entry: &ModelEntry, img: &image::RgbImage) -> ndarray::Array4<f32> {
        let spec = &entry.input;
        let (w, h) = (spec.width, spec.height);
        let (rw, rh) = spec.resize.map_or((w, h), |r| (r, r));
        let r = super::preprocess::resize(img, rw, rh);
        let (ox, oy) = ((rw - w) / 2, (rh - h) / 2);
        let order: [usize; 3] = if spec.channels == "BGR" {
            [2, 1, 0]
        } else {
            [0, 1, 2]
        };
        let nchw = spec.layout == "NCHW";
        let mut t = if nchw {
            ndarray::Array4::<f32>::zeros((1, 3, h, w))
        } else {
            ndarray::Array4::<f32>::zeros((1, h, w, 3))
        };
        for y in 0..h {
            for x in 0..w {
                let p = ((y + oy) * rw + x + ox) * 3;
                for (c, &from) in order.iter().enumerate() {
                    let v = (r.data[p + from] * spec.scale - spec.mean[c]) / spec.std[c];
                    if nchw {
                        t[[0, c, y, x]] = v;
                    } else {
                        t[[0, y, x, c]] = v;
                    }
                }
            }
        }
        t
    }

    /// The probability of each label for a picture.
    pub fn scores(&self, img: &image::RgbImage) -> Result<Vec<f32>, String> {
        let input = Self::tensor(&self.entry, img);
        // A free session if there is one, else wait for the first.
        let mut session = self
            .sessions
            .iter()
            .find_map(|s| s.try_lock().ok())
            .unwrap_or_else(|| self.sessions[0].lock().unwrap_or_else(|p| p.into_inner()));
        let name = &self.entry.name;
        let value = ort::value::TensorRef::from_array_view(&input)
            .map_err(|e| format!("{name} input: {e}"))?;
        let outputs = session
            .run(ort::inputs![value])
            .map_err(|e| format!("{name}: {e}"))?;
        let out = outputs[0]
            .try_extract_array::<f32>()
            .map_err(|e| format!("{name} output: {e}"))?;
        let raw: Vec<f32> = out.iter().copied().take(self.entry.labels.len()).collect();
        Ok(if self.entry.output == "logits" {
            softmax(&raw)
        } else {
            raw
        })
    }
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = x.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

fn check_layout(entry: &ModelEntry, session: &ort::session::Session) -> Result<(), String> {
    let shape_of = |t: &ort::value::ValueType| t.tensor_shape().map(|s| s.to_vec());
    let (inputs, outputs) = (session.inputs(), session.outputs());
    let input = inputs.first().and_then(|i| shape_of(i.dtype()));
    let output = outputs.first().and_then(|o| shape_of(o.dtype()));
    let spec = &entry.input;
    let (h, w) = (spec.height as i64, spec.width as i64);
    let want_in: [i64; 3] = if spec.layout == "NCHW" {
        [3, h, w]
    } else {
        [h, w, 3]
    };
    // A dimension the file leaves open (-1) accepts what the manifest says.
    let fits = |shape: &Option<Vec<i64>>, tail: &[i64]| {
        shape.as_ref().is_some_and(|s| {
            s.len() == tail.len() + 1 && s[1..].iter().zip(tail).all(|(a, b)| *a == *b || *a < 0)
        })
    };
    let classes = entry.labels.len() as i64;
    if inputs.len() != 1 || !fits(&input, &want_in) || !fits(&output, &[classes]) {
        return Err(format!(
            "model {}: tensors {input:?} -> {output:?} do not match the manifest's {:?} -> [N, {classes}]",
            entry.name,
            [&[-1i64][..], &want_in[..]].concat()
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
    fn accepts(&self, item: &ItemView) -> bool {
        item.image.is_some()
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        let Some(img) = item.image else {
            return Ok(Vec::new());
        };
        let scores = match img {
            image::DynamicImage::ImageRgb8(rgb) => self.scores(rgb)?,
            other => self.scores(&other.to_rgb8())?,
        };
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
        Ok(vec![ObservationDraft {
            kind: "image.classification".into(),
            value: json!({
                "model": self.entry.name, "task": self.entry.task, "scores": by_label,
                "top": top, "label": label, "score": confidence,
                "above_threshold": self.entry.threshold.map(|t| confidence as f64 >= t),
            }),
            confidence: confidence as f64,
            provenance: json!({
                "model_sha256": self.model_sha256,
                "file": self.entry.file,
                "input": self.entry.input,
            }),
        }])
    }
}

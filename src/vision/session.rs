//! One model file loaded for a scan: its digest checked, one ONNX Runtime session per worker,
//! and a call that copies every output out while the session is held.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// An output tensor, copied out of the session: its name, shape and values.
pub struct Output {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Intra-op threads of each session (`--model-threads`); 1 by default, because a scan runs
/// one session per worker and two single-threaded sessions on two cores were 1.5x one
/// two-threaded session (docs/models.md).
static INTRA_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

pub fn set_intra_threads(n: usize) {
    INTRA_THREADS.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
}

pub struct ModelFile {
    /// `Session::run` needs `&mut`: one session per worker, each on one intra-op thread (two
    /// such sessions on two cores were 1.5x one session used in turn, docs/models.md).
    sessions: Vec<Mutex<ort::session::Session>>,
    pub sha256: String,
    /// The model's name, for messages.
    pub model: String,
}

/// A tensor's shape as the file declares it (-1 where it leaves a dimension open).
pub type Shape = Vec<i64>;

impl ModelFile {
    /// Loads `path` with `workers` sessions. Every problem is an error that stops the scan
    /// before it starts: no library, no file, another file than the pinned one.
    pub fn load(
        model: &str,
        path: &Path,
        pinned: Option<&str>,
        workers: usize,
    ) -> Result<ModelFile, String> {
        let env = super::environment()?;
        if !path.is_file() {
            return Err(format!(
                "model {model}: {} not found (run scripts/fetch-models.sh)",
                path.display()
            ));
        }
        let sha256 = super::file_sha256(path)?;
        if let Some(pinned) = pinned
            && sha256 != pinned
        {
            return Err(format!(
                "model {model}: {} has sha256 {sha256}, not the pinned {pinned}",
                path.display()
            ));
        }
        let mut sessions = Vec::new();
        for _ in 0..workers.max(1) {
            let session = ort::session::Session::builder(env)
                .and_then(|b| {
                    Ok(b.with_intra_threads(
                        INTRA_THREADS.load(std::sync::atomic::Ordering::Relaxed),
                    )?)
                })
                .and_then(|mut b| b.commit_from_file(path))
                .map_err(|e| format!("model {model}: {e}"))?;
            sessions.push(Mutex::new(session));
        }
        Ok(ModelFile {
            sessions,
            sha256,
            model: model.to_string(),
        })
    }

    /// A free session if there is one, else the first, waited for.
    fn session(&self) -> MutexGuard<'_, ort::session::Session> {
        self.sessions
            .iter()
            .find_map(|s| s.try_lock().ok())
            .unwrap_or_else(|| self.sessions[0].lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Input shapes, then output names and shapes, as the file declares them.
    pub fn signature(&self) -> (Vec<Shape>, Vec<(String, Shape)>) {
        let s = self.session();
        let shape =
            |t: &ort::value::ValueType| t.tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
        (
            s.inputs().iter().map(|i| shape(i.dtype())).collect(),
            s.outputs()
                .iter()
                .map(|o| (o.name().to_string(), shape(o.dtype())))
                .collect(),
        )
    }

    /// A custom metadata value of the model (PP-OCR's `character`, YOLO's `names`).
    pub fn metadata(&self, key: &str) -> Option<String> {
        let s = self.session();
        s.metadata().ok().and_then(|m| m.custom(key))
    }

    /// Runs the model on one f32 input; every output copied out.
    pub fn run(&self, input: &ndarray::Array4<f32>) -> Result<Vec<Output>, String> {
        let model = &self.model;
        let value = ort::value::TensorRef::from_array_view(input)
            .map_err(|e| format!("{model} input: {e}"))?;
        let mut session = self.session();
        let outputs = session
            .run(ort::inputs![value])
            .map_err(|e| format!("{model}: {e}"))?;
        let mut out = Vec::new();
        for (name, value) in outputs.iter() {
            let a = value
                .try_extract_array::<f32>()
                .map_err(|e| format!("{model} output {name}: {e}"))?;
            out.push(Output {
                name: name.to_string(),
                shape: a.shape().to_vec(),
                // One copy of the contiguous buffer: walking a dynamic-rank array element by
                // element was 3.5 % of a NanoDet scan's CPU (perf; its outputs are ~400,000
                // floats a picture).
                data: match a.as_slice() {
                    Some(contiguous) => contiguous.to_vec(),
                    None => a.iter().copied().collect(),
                },
            });
        }
        Ok(out)
    }
}

/// Whether a declared shape fits the wanted one: same rank, and each dimension equal or left
/// open by the file (-1 / symbolic) or by the caller (-1).
pub fn fits(shape: &[i64], want: &[i64]) -> bool {
    shape.len() == want.len()
        && shape
            .iter()
            .zip(want)
            .all(|(a, b)| *a == *b || *a < 0 || *b < 0)
}

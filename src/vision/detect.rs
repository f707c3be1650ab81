//! Detector heads: NanoDet (COCO-80 objects), the YOLOv8 layout (any Ultralytics-style export,
//! tested on NudeNet 320n) and BlazeFace (faces: boxes, scores and six key points; detection
//! only, no recognition, no identity). Each is driven by its manifest entry alone.
//!
//! Post-processing follows each model's reference code (docs/models.md): NanoDet's distribution
//! boxes with per-class NMS, YOLOv8's centre boxes with per-class NMS, BlazeFace's anchor
//! offsets with MediaPipe's weighted NMS. `scripts/vision_reference.py` repeats it in numpy for
//! the correctness tests.

use std::path::Path;

use serde_json::json;

use super::manifest::ModelEntry;
use super::session::{ModelFile, Output, fits};
use crate::analyze::{Analyzer, ItemView, ObservationDraft};

/// One detection, in the picture's pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub label: String,
    pub score: f32,
    /// x0, y0, x1, y1.
    pub bbox: [f32; 4],
    /// BlazeFace: eyes, nose tip, mouth, ear tragions (x, y).
    pub keypoints: Vec<[f32; 2]>,
}

pub struct Detector {
    pub entry: ModelEntry,
    model: ModelFile,
    labels: Vec<String>,
    name: &'static str,
    error_margin: &'static str,
}

impl Detector {
    pub fn load(entry: &ModelEntry, dir: &Path, workers: usize) -> Result<Detector, String> {
        let name = &entry.name;
        let model = ModelFile::load(name, &entry.path(dir), entry.sha256.as_deref(), workers)?;
        let (inputs, outputs) = model.signature();
        let spec = &entry.input;
        let (h, w) = (spec.height as i64, spec.width as i64);
        let want_in: [i64; 4] = if spec.layout == "NCHW" {
            [-1, 3, h, w]
        } else {
            [-1, h, w, 3]
        };
        let mismatch = |why: String| {
            format!(
                "model {name}: tensors {inputs:?} -> {outputs:?} do not match the manifest ({} head): {why}",
                entry.head
            )
        };
        if inputs.len() != 1 || !fits(&inputs[0], &want_in) {
            return Err(mismatch(format!("input is not {want_in:?}")));
        }
        // Labels: the manifest's, else the file's own (`names`, as Ultralytics writes them).
        let mut labels = entry.labels.clone();
        if labels.is_empty() && entry.head == "yolov8" {
            labels = model
                .metadata("names")
                .map(|n| parse_names(&n))
                .unwrap_or_default();
        }
        if entry.head == "blazeface" && labels.is_empty() {
            labels = vec!["face".into()];
        }
        match entry.head.as_str() {
            "nanodet" => {
                let classes = labels.len() as i64;
                for level in nanodet_levels(w as usize, h as usize) {
                    let n = level.cells as i64;
                    let has = |c: i64| outputs.iter().any(|o| fits(&o.1, &[1, n, c]));
                    if !has(classes) || !has(44) {
                        return Err(mismatch(format!(
                            "no [1, {n}, {classes}] scores and [1, {n}, 44] boxes for stride {}",
                            level.stride
                        )));
                    }
                }
            }
            "yolov8" => {
                let ok = outputs.len() == 1
                    && outputs[0].1.len() == 3
                    && (outputs[0].1[1] < 0 || outputs[0].1[1] == 4 + labels.len() as i64);
                if !ok || labels.is_empty() {
                    return Err(mismatch(format!(
                        "want one [1, 4 + {} classes, anchors] output and the class names",
                        labels.len()
                    )));
                }
            }
            "blazeface" => {
                let total: i64 = entry.anchors.iter().map(|[g, a]| (g * g * a) as i64).sum();
                let count = |last: i64| {
                    outputs
                        .iter()
                        .filter(|o| o.1.len() == 3 && o.1[2] == last)
                        .map(|o| o.1[1])
                        .sum::<i64>()
                };
                if count(16) != total || count(1) != total {
                    return Err(mismatch(format!(
                        "the anchors {:?} make {total} boxes; the outputs give {} regressors and {} scores",
                        entry.anchors,
                        count(16),
                        count(1)
                    )));
                }
            }
            other => return Err(format!("model {name}: head {other:?} is not a detector")),
        }
        Ok(Detector {
            entry: entry.clone(),
            model,
            labels,
            name: Box::leak(entry.name.clone().into_boxed_str()),
            error_margin: Box::leak(entry.error_margin.clone().into_boxed_str()),
        })
    }

    pub fn model_sha256(&self) -> &str {
        &self.model.sha256
    }

    /// The detections in a picture, best first.
    pub fn detect(&self, img: &image::RgbImage) -> Result<Vec<Detection>, String> {
        self.detect_at(img, self.entry.threshold.unwrap_or(0.5) as f32)
    }

    /// The detections scored at least `threshold` (below the operating point: for measuring
    /// average precision).
    pub fn detect_at(
        &self,
        img: &image::RgbImage,
        threshold: f32,
    ) -> Result<Vec<Detection>, String> {
        let (input, back) = super::preprocess::tensor(&self.entry.input, img);
        let outputs = self.model.run(&input)?;
        let spec = &self.entry.input;
        let mut found = match self.entry.head.as_str() {
            "nanodet" => nanodet(
                &outputs,
                spec.width,
                spec.height,
                &self.labels,
                threshold,
                self.entry.iou.unwrap_or(0.6) as f32,
            ),
            "yolov8" => yolov8(
                &outputs,
                &self.labels,
                threshold,
                self.entry.iou.unwrap_or(0.45) as f32,
            ),
            _ => blazeface(
                &outputs,
                spec.width,
                spec.height,
                &self.entry.anchors,
                threshold,
                self.entry.iou.unwrap_or(0.3) as f32,
            ),
        };
        // Back to the picture's pixels.
        let (iw, ih) = (img.width() as f32, img.height() as f32);
        for d in &mut found {
            for (i, v) in d.bbox.iter_mut().enumerate() {
                let (f, max) = if i % 2 == 0 {
                    (back[0], iw)
                } else {
                    (back[1], ih)
                };
                *v = (*v * f).clamp(0.0, max);
            }
            for k in &mut d.keypoints {
                k[0] *= back[0];
                k[1] *= back[1];
            }
        }
        Ok(found)
    }
}

/// Ultralytics writes class names as a Python dict: `{0: 'person', 1: 'bicycle'}`.
pub fn parse_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.trim_matches(|c| c == '{' || c == '}').split(", ") {
        if let Some((_, name)) = part.split_once(": ") {
            out.push(name.trim_matches(|c| c == '\'' || c == '"').to_string());
        }
    }
    out
}

struct Level {
    stride: usize,
    grid_w: usize,
    cells: usize,
}

fn nanodet_levels(w: usize, h: usize) -> Vec<Level> {
    [8, 16, 32]
        .iter()
        .map(|&stride| {
            let (gw, gh) = (w.div_ceil(stride), h.div_ceil(stride));
            Level {
                stride,
                grid_w: gw,
                cells: gw * gh,
            }
        })
        .collect()
}

/// NanoDet: per stride, sigmoid class scores and 4 x 11-bin distributions of the distance from
/// the cell centre to each side. Every class above the threshold in a cell is a candidate.
fn nanodet(
    outputs: &[Output],
    w: usize,
    h: usize,
    labels: &[String],
    threshold: f32,
    iou: f32,
) -> Vec<Detection> {
    let classes = labels.len();
    let mut found = Vec::new();
    for level in nanodet_levels(w, h) {
        let find = |c: usize| {
            outputs
                .iter()
                .find(|o| o.shape == [1, level.cells, c])
                .map(|o| &o.data)
        };
        let (Some(scores), Some(dists)) = (find(classes), find(44)) else {
            continue;
        };
        let s = level.stride as f32;
        for cell in 0..level.cells {
            let row = &scores[cell * classes..(cell + 1) * classes];
            if !row.iter().any(|&p| p >= threshold) {
                continue;
            }
            let cx = ((cell % level.grid_w) as f32 + 0.5) * s;
            let cy = ((cell / level.grid_w) as f32 + 0.5) * s;
            let mut side = [0f32; 4];
            for (k, d) in side.iter_mut().enumerate() {
                let bins = &dists[cell * 44 + k * 11..cell * 44 + (k + 1) * 11];
                let max = bins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = bins.iter().map(|b| (b - max).exp()).collect();
                let sum: f32 = e.iter().sum();
                *d = e.iter().enumerate().map(|(i, v)| i as f32 * v).sum::<f32>() / sum * s;
            }
            let bbox = [
                (cx - side[0]).max(0.0),
                (cy - side[1]).max(0.0),
                (cx + side[2]).min(w as f32),
                (cy + side[3]).min(h as f32),
            ];
            for (c, &p) in row.iter().enumerate() {
                if p >= threshold {
                    found.push(Detection {
                        label: labels[c].clone(),
                        score: p,
                        bbox,
                        keypoints: Vec::new(),
                    });
                }
            }
        }
    }
    nms_per_class(found, iou)
}

/// YOLOv8: one `[1, 4 + C, A]` output; per anchor the centre box and C class scores (sigmoid
/// applied); the best class is the candidate.
fn yolov8(outputs: &[Output], labels: &[String], threshold: f32, iou: f32) -> Vec<Detection> {
    let Some(o) = outputs.first() else {
        return Vec::new();
    };
    let (rows, anchors) = (o.shape[1], o.shape[2]);
    let classes = rows.saturating_sub(4).min(labels.len());
    let at = |r: usize, a: usize| o.data[r * anchors + a];
    let mut found = Vec::new();
    for a in 0..anchors {
        let Some((c, p)) = (0..classes)
            .map(|c| (c, at(4 + c, a)))
            .max_by(|x, y| x.1.total_cmp(&y.1))
        else {
            continue;
        };
        if p < threshold {
            continue;
        }
        let (cx, cy, bw, bh) = (at(0, a), at(1, a), at(2, a), at(3, a));
        found.push(Detection {
            label: labels[c].clone(),
            score: p,
            bbox: [cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0],
            keypoints: Vec::new(),
        });
    }
    nms_per_class(found, iou)
}

/// BlazeFace: anchors at cell centres of each `[grid, per cell]` layer; regressors are offsets
/// in input pixels (box centre, size, then six key points); classificators are logits.
fn blazeface(
    outputs: &[Output],
    w: usize,
    h: usize,
    layers: &[[usize; 2]],
    threshold: f32,
    iou: f32,
) -> Vec<Detection> {
    let mut anchors = Vec::new();
    for &[grid, per] in layers {
        for y in 0..grid {
            for x in 0..grid {
                for _ in 0..per {
                    anchors.push([
                        (x as f32 + 0.5) / grid as f32,
                        (y as f32 + 0.5) / grid as f32,
                    ]);
                }
            }
        }
    }
    let regressors = concat_in_layer_order(outputs, 16, layers);
    let logits = concat_in_layer_order(outputs, 1, layers);
    let (wf, hf) = (w as f32, h as f32);
    let mut found = Vec::new();
    for (i, a) in anchors.iter().enumerate() {
        let (Some(&logit), Some(r)) = (logits.get(i), regressors.get(i * 16..(i + 1) * 16)) else {
            break;
        };
        let score = 1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp());
        if score < threshold {
            continue;
        }
        let (cx, cy) = (r[0] + a[0] * wf, r[1] + a[1] * hf);
        let (bw, bh) = (r[2], r[3]);
        found.push(Detection {
            label: "face".into(),
            score,
            bbox: [cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0],
            keypoints: (0..6)
                .map(|k| [r[4 + 2 * k] + a[0] * wf, r[5 + 2 * k] + a[1] * hf])
                .collect(),
        });
    }
    weighted_nms(found, iou)
}

/// The outputs whose last dimension is `last`, concatenated in the order of the anchor layers
/// (one output may cover several consecutive layers, as in the 896-box short-range file).
fn concat_in_layer_order(outputs: &[Output], last: usize, layers: &[[usize; 2]]) -> Vec<f32> {
    let mut pool: Vec<&Output> = outputs
        .iter()
        .filter(|o| o.shape.len() == 3 && o.shape[2] == last)
        .collect();
    let sizes: Vec<usize> = layers.iter().map(|[g, a]| g * g * a).collect();
    let mut out = Vec::new();
    let mut layer = 0;
    while layer < sizes.len() {
        let mut covered = 0;
        let next = (layer..sizes.len()).find_map(|end| {
            covered += sizes[end];
            pool.iter()
                .position(|o| o.shape[1] == covered)
                .map(|p| (p, end))
        });
        let Some((p, end)) = next else {
            break;
        };
        out.extend_from_slice(&pool.remove(p).data);
        layer = end + 1;
    }
    out
}

pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Greedy non-maximum suppression within each class: best first, a box overlapping a kept box
/// of its class by more than `threshold` IoU is dropped.
pub fn nms_per_class(mut found: Vec<Detection>, threshold: f32) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        if !kept
            .iter()
            .any(|k| k.label == d.label && iou(&k.bbox, &d.bbox) > threshold)
        {
            kept.push(d);
        }
    }
    kept
}

/// MediaPipe's weighted NMS: the best box takes the score-weighted mean of itself and every
/// box overlapping it by more than `threshold`, which are then dropped.
pub fn weighted_nms(mut found: Vec<Detection>, threshold: f32) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    while !found.is_empty() {
        let top = found[0].clone();
        let (group, rest): (Vec<Detection>, Vec<Detection>) = found
            .into_iter()
            .partition(|d| iou(&top.bbox, &d.bbox) > threshold);
        found = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = top.clone();
        if group.len() > 1 && total > 0.0 {
            for (i, v) in merged.bbox.iter_mut().enumerate() {
                *v = group.iter().map(|d| d.bbox[i] * d.score).sum::<f32>() / total;
            }
            for (k, p) in merged.keypoints.iter_mut().enumerate() {
                for (j, v) in p.iter_mut().enumerate() {
                    *v = group
                        .iter()
                        .map(|d| d.keypoints[k][j] * d.score)
                        .sum::<f32>()
                        / total;
                }
            }
        }
        kept.push(merged);
        // The top box itself is always in its own group (IoU 1), so the loop ends.
        if group.is_empty() {
            break;
        }
    }
    kept
}

/// Scene hints from COCO objects: a heuristic, said so in every observation.
const SCENE_HINTS: &[(&str, &[&str])] = &[
    ("bedroom", &["bed"]),
    ("bathroom", &["toilet"]),
    ("kitchen", &["oven", "microwave", "refrigerator", "toaster"]),
    ("living room", &["couch", "tv"]),
    ("dining room or restaurant", &["dining table", "wine glass"]),
    (
        "street or road",
        &[
            "car",
            "bus",
            "truck",
            "traffic light",
            "stop sign",
            "fire hydrant",
            "parking meter",
            "motorcycle",
        ],
    ),
    ("office or study", &["laptop", "keyboard", "mouse"]),
    (
        "outdoors with animals",
        &["horse", "sheep", "cow", "elephant", "zebra", "giraffe"],
    ),
    ("beach or water", &["surfboard", "boat", "kite"]),
    ("snow", &["skis", "snowboard"]),
];

fn box_json(b: &[f32; 4]) -> serde_json::Value {
    json!([b[0].round(), b[1].round(), b[2].round(), b[3].round()])
}

impl Analyzer for Detector {
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
        let found = self.detect(&img)?;
        // The boxes are in this picture's pixels: its size lets a viewer draw them on a
        // thumbnail of any scale.
        let frame = [img.width(), img.height()];
        let provenance = json!({
            "model_sha256": self.model.sha256, "file": self.entry.file, "input": self.entry.input,
            "threshold": self.entry.threshold, "iou": self.entry.iou,
        });
        let model = &self.entry.name;
        let mut out = Vec::new();
        if self.entry.head == "blazeface" {
            if found.is_empty() {
                return Ok(out);
            }
            let faces: Vec<serde_json::Value> = found
                .iter()
                .map(|d| {
                    json!({"score": d.score, "box": box_json(&d.bbox),
                           "keypoints": d.keypoints.iter().map(|k| [k[0].round(), k[1].round()]).collect::<Vec<_>>()})
                })
                .collect();
            out.push(ObservationDraft {
                kind: crate::model::ObservationKind::ImageFaces,
                value: json!({"model": model, "count": found.len(), "faces": faces, "best_score": found[0].score, "frame": frame}),
                confidence: found[0].score as f64,
                provenance,
            });
            return Ok(out);
        }
        // One observation per label, so that a rule can ask for a label.
        let mut labels: Vec<&str> = Vec::new();
        for d in &found {
            if !labels.contains(&d.label.as_str()) {
                labels.push(&d.label);
            }
        }
        for label in labels {
            let of: Vec<&Detection> = found.iter().filter(|d| d.label == label).collect();
            out.push(ObservationDraft {
                kind: crate::model::ObservationKind::ImageObject,
                value: json!({
                    "model": model, "task": self.entry.task, "label": label, "count": of.len(),
                    "score": of[0].score,
                    "boxes": of.iter().map(|d| json!({"score": d.score, "box": box_json(&d.bbox)})).collect::<Vec<_>>(),
                    "frame": frame,
                }),
                confidence: of[0].score as f64,
                provenance: provenance.clone(),
            });
        }
        if self.entry.task == "objects" {
            for (scene, cues) in SCENE_HINTS {
                let because: Vec<&Detection> = found
                    .iter()
                    .filter(|d| cues.contains(&d.label.as_str()))
                    .collect();
                if let Some(best) = because.first() {
                    let mut names: Vec<&str> = because.iter().map(|d| d.label.as_str()).collect();
                    names.sort();
                    names.dedup();
                    out.push(ObservationDraft {
                        kind: crate::model::ObservationKind::SceneHint,
                        value: json!({
                            "scene": scene, "because": names, "model": model,
                            "method": "heuristic: objects typical of the scene were detected; not a scene classifier",
                        }),
                        confidence: best.score as f64,
                        provenance: provenance.clone(),
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(label: &str, score: f32, bbox: [f32; 4]) -> Detection {
        Detection {
            label: label.into(),
            score,
            bbox,
            keypoints: Vec::new(),
        }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_of_one_class_only() {
        let kept = nms_per_class(
            vec![
                det("cat", 0.5, [0.0, 0.0, 10.0, 10.0]),
                det("cat", 0.9, [1.0, 1.0, 11.0, 11.0]),
                det("dog", 0.4, [0.0, 0.0, 10.0, 10.0]),
                det("cat", 0.3, [50.0, 50.0, 60.0, 60.0]),
            ],
            0.5,
        );
        let got: Vec<(&str, f32)> = kept.iter().map(|d| (d.label.as_str(), d.score)).collect();
        assert_eq!(got, vec![("cat", 0.9), ("dog", 0.4), ("cat", 0.3)]);
        assert!((iou(&[0.0, 0.0, 10.0, 10.0], &[5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn weighted_nms_blends_the_overlapping_boxes_by_score() {
        let kept = weighted_nms(
            vec![
                det("face", 0.75, [0.0, 0.0, 10.0, 10.0]),
                det("face", 0.25, [2.0, 0.0, 12.0, 10.0]),
            ],
            0.3,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].score, 0.75);
        assert!((kept[0].bbox[0] - 0.5).abs() < 1e-6 && (kept[0].bbox[2] - 10.5).abs() < 1e-6);
    }

    #[test]
    fn ultralytics_names_parse_in_order() {
        assert_eq!(
            parse_names("{0: 'FEMALE_GENITALIA_COVERED', 1: 'FACE_FEMALE', 2: \"BELLY\"}"),
            vec!["FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BELLY"]
        );
    }

    #[test]
    fn yolov8_decodes_centre_boxes_and_the_best_class() {
        // 4 + 2 classes, 3 anchors, row-major [rows][anchors].
        let data = vec![
            10.0, 50.0, 0.0, // cx
            10.0, 50.0, 0.0, // cy
            4.0, 20.0, 1.0, // w
            6.0, 10.0, 1.0, // h
            0.9, 0.1, 0.2, // class a
            0.2, 0.6, 0.1, // class b
        ];
        let o = Output {
            name: "o".into(),
            shape: vec![1, 6, 3],
            data,
        };
        let got = yolov8(&[o], &["a".into(), "b".into()], 0.5, 0.45);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].label.as_str(), got[0].bbox),
            ("a", [8.0, 7.0, 12.0, 13.0])
        );
        assert_eq!(
            (got[1].label.as_str(), got[1].bbox),
            ("b", [40.0, 45.0, 60.0, 55.0])
        );
    }

    #[test]
    fn blazeface_layers_concatenate_from_one_or_several_outputs() {
        let layers = [[2, 1], [1, 2]]; // 4 + 2 boxes
        let one = Output {
            name: "r".into(),
            shape: vec![1, 6, 1],
            data: (0..6).map(|v| v as f32).collect(),
        };
        assert_eq!(concat_in_layer_order(&[one], 1, &layers).len(), 6);
        let small = Output {
            name: "b".into(),
            shape: vec![1, 2, 1],
            data: vec![8.0, 9.0],
        };
        let big = Output {
            name: "a".into(),
            shape: vec![1, 4, 1],
            data: vec![1.0, 2.0, 3.0, 4.0],
        };
        assert_eq!(
            concat_in_layer_order(&[small, big], 1, &layers),
            vec![1.0, 2.0, 3.0, 4.0, 8.0, 9.0]
        );
    }
}

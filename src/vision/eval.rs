//! `spoor models eval MODEL --images DIR --labels PATH`: a classifier's measured error on a
//! labelled set — the confusion matrix over its labels, and precision and recall of its
//! positive label at its operating threshold — written as the model's card
//! (`models/cards/MODEL.json`), which `models list` shows beside the manifest's words.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::classifier::Classifier;
use super::manifest::Manifest;

#[derive(Debug, Serialize)]
pub struct Card {
    pub model: String,
    pub model_sha256: String,
    pub images: usize,
    /// Labels file and its SHA-256, so the figures can be traced to their data.
    pub labels_file: String,
    pub labels_sha256: String,
    /// `confusion[true_label][predicted_label]` = count; predicted = the most probable label.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// For the positive label at the threshold: null where undefined (no positive predicted,
    /// or none in the data). Per-class recall is in `per_class_recall`.
    pub positive: Option<String>,
    pub threshold: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub false_positive_rate: Option<f64>,
    pub per_class_recall: BTreeMap<String, Option<f64>>,
    pub skipped: Vec<String>,
}

/// Runs the evaluation and writes the card under `models_dir/cards/`.
pub fn evaluate(
    models_dir: &Path,
    name: &str,
    images: &Path,
    labels: &Path,
) -> Result<(serde_json::Value, std::path::PathBuf), String> {
    let manifest = Manifest::load(models_dir)?;
    let entry = manifest
        .get(name)
        .ok_or_else(|| format!("model {name:?} is not in the manifest"))?;
    let card = match entry.head.as_str() {
        "nanodet" | "yolov8" | "blazeface" => {
            serde_json::to_value(evaluate_detector(models_dir, entry, images, labels)?)
        }
        "ppocr" => serde_json::to_value(evaluate_ocr(models_dir, entry, images, labels)?),
        _ => serde_json::to_value(evaluate_classifier(models_dir, entry, images, labels)?),
    }
    .map_err(|e| e.to_string())?;
    let dir = models_dir.join("cards");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(format!("{name}.json"));
    std::fs::write(&out, serde_json::to_vec_pretty(&card).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok((card, out))
}

fn evaluate_classifier(
    models_dir: &Path,
    entry: &super::manifest::ModelEntry,
    images: &Path,
    labels: &Path,
) -> Result<Card, String> {
    let name = &entry.name;
    let model = Classifier::load(entry, models_dir, 1)?;
    let text = std::fs::read_to_string(labels).map_err(|e| format!("{}: {e}", labels.display()))?;
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
    let mut skipped = Vec::new();
    let mut count = 0;
    let pos_index = entry
        .positive
        .as_ref()
        .and_then(|p| entry.labels.iter().position(|l| l == p));
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((file, truth)) = line.split_once('\t') else {
            return Err(format!(
                "{} line {}: not FILE<TAB>LABEL",
                labels.display(),
                n + 1
            ));
        };
        if !entry.labels.iter().any(|l| l == truth) {
            return Err(format!(
                "{} line {}: label {truth:?} is not one of the model's {:?}",
                labels.display(),
                n + 1,
                entry.labels
            ));
        }
        let path = images.join(file);
        let decoded = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                let mime = crate::evidence::typing::detect(&b[..b.len().min(8192)]).mime;
                crate::media::decode(&b, &mime)
            });
        let img = match decoded {
            Ok(img) => img.to_rgb8(),
            Err(e) => {
                skipped.push(format!("{file}: {e}"));
                continue;
            }
        };
        let scores = model.scores(&img)?;
        let top = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| entry.labels[i].clone())
            .unwrap_or_default();
        *confusion
            .entry(truth.to_string())
            .or_default()
            .entry(top)
            .or_default() += 1;
        if let (Some(i), Some(t)) = (pos_index, entry.threshold) {
            let predicted = scores[i] as f64 >= t;
            let actual = Some(truth) == entry.positive.as_deref();
            match (predicted, actual) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                (false, false) => tn += 1,
            }
        }
        count += 1;
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let per_class_recall = entry
        .labels
        .iter()
        .map(|l| {
            let row = confusion.get(l);
            let total: usize = row.map(|r| r.values().sum()).unwrap_or(0);
            let right = row.and_then(|r| r.get(l)).copied().unwrap_or(0);
            (l.clone(), ratio(right, total))
        })
        .collect();
    let card = Card {
        model: name.to_string(),
        model_sha256: model.model_sha256.clone(),
        images: count,
        labels_file: labels.display().to_string(),
        labels_sha256: super::file_sha256(labels)?,
        confusion,
        positive: entry.positive.clone(),
        threshold: entry.threshold,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        false_positive_rate: ratio(fp, fp + tn),
        per_class_recall,
        skipped,
    };
    Ok(card)
}

/// Labelled lines `FILE<TAB>REST`, comments and blank lines skipped, with their line numbers.
fn labelled_lines(labels: &Path) -> Result<Vec<(usize, String, String)>, String> {
    let text = std::fs::read_to_string(labels).map_err(|e| format!("{}: {e}", labels.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((file, rest)) = line.split_once('\t') else {
            return Err(format!("{} line {}: no tab", labels.display(), n + 1));
        };
        out.push((n + 1, file.to_string(), rest.to_string()));
    }
    Ok(out)
}

fn read_picture(images: &Path, file: &str) -> Result<image::RgbImage, String> {
    crate::media::decode_file(&images.join(file)).map(|i| i.to_rgb8())
}

#[derive(Debug, Serialize)]
pub struct DetectorCard {
    pub model: String,
    pub model_sha256: String,
    pub images: usize,
    pub objects: usize,
    pub labels_file: String,
    pub labels_sha256: String,
    /// Mean over the classes present in the labels of the average precision at IoU 0.5
    /// (all-point interpolation, detections down to score 0.05).
    pub map50: Option<f64>,
    pub ap50: BTreeMap<String, Option<f64>>,
    /// At the manifest's threshold, over all classes, a detection is right when it overlaps an
    /// unmatched labelled object of its class by IoU >= 0.5.
    pub threshold: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub per_class_recall: BTreeMap<String, Option<f64>>,
    pub skipped: Vec<String>,
}

/// Labels: `FILE<TAB>LABEL<TAB>x0,y0,x1,y1` per object (pixels of the picture as shown),
/// `FILE<TAB>-` for a picture with none.
fn evaluate_detector(
    models_dir: &Path,
    entry: &super::manifest::ModelEntry,
    images: &Path,
    labels: &Path,
) -> Result<DetectorCard, String> {
    let model = super::detect::Detector::load(entry, models_dir, 1)?;
    let mut truth: BTreeMap<String, Vec<(String, [f32; 4])>> = BTreeMap::new();
    for (n, file, rest) in labelled_lines(labels)? {
        let objects = truth.entry(file).or_default();
        if rest.trim() == "-" {
            continue;
        }
        let bad = || {
            format!(
                "{} line {n}: not FILE<TAB>LABEL<TAB>x0,y0,x1,y1",
                labels.display()
            )
        };
        let (label, b) = rest.split_once('\t').ok_or_else(bad)?;
        let v: Vec<f32> = b
            .split(',')
            .map(|x| x.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        if v.len() != 4 {
            return Err(bad());
        }
        objects.push((label.to_string(), [v[0], v[1], v[2], v[3]]));
    }
    let mut found: Vec<(String, Vec<super::detect::Detection>)> = Vec::new();
    let mut skipped = Vec::new();
    for file in truth.keys() {
        match read_picture(images, file).and_then(|img| model.detect_at(&img, 0.05)) {
            Ok(d) => found.push((file.clone(), d)),
            Err(e) => skipped.push(format!("{file}: {e}")),
        }
    }
    truth.retain(|f, _| found.iter().any(|(g, _)| g == f));
    let threshold = entry.threshold.unwrap_or(0.5) as f32;
    let m = match_detections(&truth, &found, threshold);
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let present: Vec<&String> = m
        .ap50
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k)
        .collect();
    Ok(DetectorCard {
        model: entry.name.clone(),
        model_sha256: model.model_sha256().to_string(),
        images: truth.len(),
        objects: truth.values().map(Vec::len).sum(),
        labels_file: labels.display().to_string(),
        labels_sha256: super::file_sha256(labels)?,
        map50: (!present.is_empty()).then(|| {
            present
                .iter()
                .map(|k| m.ap50[*k].unwrap_or(0.0))
                .sum::<f64>()
                / present.len() as f64
        }),
        ap50: m.ap50,
        threshold: entry.threshold,
        precision: ratio(m.tp, m.tp + m.fp),
        recall: ratio(m.tp, m.objects),
        per_class_recall: m.per_class_recall,
        skipped,
    })
}

pub struct Matched {
    pub ap50: BTreeMap<String, Option<f64>>,
    pub tp: usize,
    pub fp: usize,
    pub objects: usize,
    pub per_class_recall: BTreeMap<String, Option<f64>>,
}

/// Average precision at IoU 0.5 per class (PASCAL VOC 2010+ all-point interpolation; classes
/// with no labelled object get none), and the counts at `threshold`.
pub fn match_detections(
    truth: &BTreeMap<String, Vec<(String, [f32; 4])>>,
    found: &[(String, Vec<super::detect::Detection>)],
    threshold: f32,
) -> Matched {
    let mut classes: std::collections::BTreeSet<String> = Default::default();
    truth.values().flatten().for_each(|(l, _)| {
        classes.insert(l.clone());
    });
    found.iter().flat_map(|(_, d)| d).for_each(|d| {
        classes.insert(d.label.clone());
    });
    let (mut ap50, mut per_class_recall) = (BTreeMap::new(), BTreeMap::new());
    let (mut tp_all, mut fp_all, mut objects_all) = (0, 0, 0);
    for class in classes {
        let objects: usize = truth
            .values()
            .flatten()
            .filter(|(l, _)| *l == class)
            .count();
        let mut dets: Vec<(&str, &super::detect::Detection)> = found
            .iter()
            .flat_map(|(f, ds)| ds.iter().map(move |d| (f.as_str(), d)))
            .filter(|(_, d)| d.label == class)
            .collect();
        dets.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
        let mut used: BTreeMap<(&str, usize), bool> = BTreeMap::new();
        let mut hits = Vec::new();
        for (file, d) in &dets {
            let best = truth
                .get(*file)
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, (l, _))| *l == class)
                .map(|(i, (_, b))| (i, super::detect::iou(b, &d.bbox)))
                .filter(|(i, o)| *o >= 0.5 && !used.contains_key(&(*file, *i)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, _)) = best {
                used.insert((file, i), true);
            }
            hits.push((d.score, best.is_some()));
        }
        let at = hits.iter().filter(|(s, _)| *s >= threshold);
        let tp = at.clone().filter(|(_, h)| *h).count();
        let fp = at.count() - tp;
        tp_all += tp;
        fp_all += fp;
        objects_all += objects;
        per_class_recall.insert(
            class.clone(),
            (objects > 0).then(|| tp as f64 / objects as f64),
        );
        ap50.insert(
            class,
            (objects > 0).then(|| average_precision(&hits, objects)),
        );
    }
    Matched {
        ap50,
        tp: tp_all,
        fp: fp_all,
        objects: objects_all,
        per_class_recall,
    }
}

/// All-point interpolated AP of a ranked list of (score, correct) against `objects` labelled.
pub fn average_precision(ranked: &[(f32, bool)], objects: usize) -> f64 {
    let mut points = Vec::new();
    let mut tp = 0;
    for (n, (_, hit)) in ranked.iter().enumerate() {
        if *hit {
            tp += 1;
        }
        points.push((tp as f64 / objects as f64, tp as f64 / (n + 1) as f64));
    }
    // Precision envelope from the right, then the area under it.
    for i in (0..points.len().saturating_sub(1)).rev() {
        points[i].1 = points[i].1.max(points[i + 1].1);
    }
    let mut ap = 0.0;
    let mut last_recall = 0.0;
    for (r, p) in points {
        ap += (r - last_recall) * p;
        last_recall = r;
    }
    ap
}

#[derive(Debug, Serialize)]
pub struct OcrCard {
    pub model: String,
    pub images: usize,
    pub labels_file: String,
    pub labels_sha256: String,
    /// Edit distance over the labelled characters (lines joined by newlines).
    pub character_error_rate: Option<f64>,
    /// Words read that are in the labelled text (as a multiset), and labelled words read.
    pub word_precision: Option<f64>,
    pub word_recall: Option<f64>,
    pub pictures_read_exactly: usize,
    pub skipped: Vec<String>,
}

/// Labels: `FILE<TAB>TEXT`, lines of the text separated by the two characters `\n`.
fn evaluate_ocr(
    models_dir: &Path,
    entry: &super::manifest::ModelEntry,
    images: &Path,
    labels: &Path,
) -> Result<OcrCard, String> {
    let ocr = super::ocr::Ocr::load(entry, models_dir, 1)?;
    let (mut edits, mut chars, mut exact, mut count) = (0usize, 0usize, 0usize, 0usize);
    let (mut right, mut read, mut wanted) = (0usize, 0usize, 0usize);
    let mut skipped = Vec::new();
    for (_, file, text) in labelled_lines(labels)? {
        let truth = text.replace("\\n", "\n");
        let lines = match read_picture(images, &file).and_then(|img| ocr.read(&img)) {
            Ok(l) => l,
            Err(e) => {
                skipped.push(format!("{file}: {e}"));
                continue;
            }
        };
        let got: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        let got = got.join("\n");
        let (a, b): (Vec<char>, Vec<char>) = (got.chars().collect(), truth.chars().collect());
        edits += levenshtein(&a, &b);
        chars += b.len();
        exact += usize::from(got == truth);
        let mut pool: Vec<&str> = truth.split_whitespace().collect();
        wanted += pool.len();
        for w in got.split_whitespace() {
            read += 1;
            if let Some(i) = pool.iter().position(|p| *p == w) {
                pool.swap_remove(i);
                right += 1;
            }
        }
        count += 1;
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    Ok(OcrCard {
        model: entry.name.clone(),
        images: count,
        labels_file: labels.display().to_string(),
        labels_sha256: super::file_sha256(labels)?,
        character_error_rate: ratio(edits, chars),
        word_precision: ratio(right, read),
        word_recall: ratio(right, wanted),
        pictures_read_exactly: exact,
        skipped,
    })
}

pub fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::detect::Detection;

    fn det(label: &str, score: f32, bbox: [f32; 4]) -> Detection {
        Detection {
            label: label.into(),
            score,
            bbox,
            keypoints: Vec::new(),
        }
    }

    #[test]
    fn average_precision_follows_the_voc_all_point_definition() {
        // Ranked: hit, miss, hit against 2 objects: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
        // Envelope: 1 up to recall 1/2, 2/3 up to 1: AP = 0.5 + 0.5 * 2/3.
        let ap = average_precision(&[(0.9, true), (0.8, false), (0.7, true)], 2);
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-12, "{ap}");
        assert_eq!(average_precision(&[(0.9, false)], 1), 0.0);
    }

    #[test]
    fn detections_match_each_labelled_object_once_at_iou_half() {
        let mut truth = BTreeMap::new();
        truth.insert(
            "a.jpg".to_string(),
            vec![("dog".to_string(), [0.0, 0.0, 10.0, 10.0])],
        );
        truth.insert("b.jpg".to_string(), vec![]);
        let found = vec![
            (
                "a.jpg".to_string(),
                vec![
                    det("dog", 0.9, [1.0, 1.0, 10.0, 10.0]),
                    det("dog", 0.8, [0.0, 0.0, 10.0, 9.0]),
                ],
            ),
            (
                "b.jpg".to_string(),
                vec![det("cat", 0.6, [0.0, 0.0, 5.0, 5.0])],
            ),
        ];
        let m = match_detections(&truth, &found, 0.5);
        // The second dog box is a duplicate (false positive); the cat has no labelled object.
        assert_eq!((m.tp, m.fp, m.objects), (1, 2, 1));
        assert_eq!(m.ap50["dog"], Some(1.0));
        assert_eq!(m.ap50["cat"], None);
        assert_eq!(levenshtein(&['a', 'b', 'c'], &['a', 'x', 'c', 'd']), 2);
    }
}

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
) -> Result<(Card, std::path::PathBuf), String> {
    let manifest = Manifest::load(models_dir)?;
    let entry = manifest
        .get(name)
        .ok_or_else(|| format!("model {name:?} is not in the manifest"))?;
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
    let dir = models_dir.join("cards");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(format!("{name}.json"));
    std::fs::write(&out, serde_json::to_vec_pretty(&card).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok((card, out))
}

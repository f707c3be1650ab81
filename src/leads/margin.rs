//! The measured precision behind an observation: what a lead's score is multiplied by
//! (docs/scoring.md). Deterministic analyzers (a digest in a hash set, a term in a text, a
//! position in a radius, a figure of the network) state a fact of the evidence: 1. A model's
//! observation is as good as the model is at its threshold: the precision its card measured
//! (models/cards, embedded here so a case is scored the same on a machine without the model
//! files), or, where the card has none, 0.5 and the words "not measured".

use serde::Serialize;
use serde_json::Value;

use crate::model::StoredObservation;

const CARDS: &[(&str, &str)] = &[
    (
        "open_nsfw",
        include_str!("../../models/cards/open_nsfw.json"),
    ),
    ("nsfwjs", include_str!("../../models/cards/nsfwjs.json")),
    ("nanodet", include_str!("../../models/cards/nanodet.json")),
    (
        "blazeface",
        include_str!("../../models/cards/blazeface.json"),
    ),
    (
        "blazeface-back",
        include_str!("../../models/cards/blazeface-back.json"),
    ),
    ("ocr", include_str!("../../models/cards/ocr.json")),
];

/// The factor used when a model's precision is not measured: a coin's, said so in words.
pub const UNMEASURED: f64 = 0.5;
/// The least factor of a measured precision, so that a lead of a poorly measured model
/// stays in the queue (ranked low) rather than vanishing: 0.1.
pub const FLOOR: f64 = 0.1;

/// Kinds whose observation is a model's output.
const MODEL_KINDS: &[&str] = &[
    "image.classification",
    "image.object",
    "image.object_of_interest",
    "image.faces",
    "image.text",
    "image.similar",
    "location.possible_place",
    "scene.hint",
];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Precision {
    /// What the contribution is multiplied by.
    pub factor: f64,
    /// `deterministic`, `measured` or `not-measured`.
    pub basis: &'static str,
    pub model: Option<String>,
    /// The card's precision and the threshold it was measured at.
    pub measured: Option<f64>,
    pub threshold: Option<f64>,
    /// Pictures the card was measured on.
    pub images: Option<u64>,
    /// The SHA-256 of the model file the card was measured on.
    pub model_sha256: Option<String>,
    pub words: String,
}

fn card(model: &str) -> Option<Value> {
    CARDS
        .iter()
        .find(|(name, _)| *name == model)
        .and_then(|(_, text)| serde_json::from_str(text).ok())
}

/// What a report says of a model's card: its digest, threshold and measured figures (None
/// for an analyzer without a card).
pub fn card_summary(model: &str) -> Option<serde_json::Value> {
    let c = card(model)?;
    Some(serde_json::json!({
        "card": format!("models/cards/{model}.json"),
        "model_sha256": c.get("model_sha256"), "threshold": c.get("threshold"),
        "precision": c.get("precision"), "recall": c.get("recall"), "images": c.get("images"),
        "labels_sha256": c.get("labels_sha256"),
    }))
}

/// The precision behind one observation.
pub fn precision_of(obs: &StoredObservation) -> Precision {
    if !MODEL_KINDS.contains(&obs.kind.as_str()) {
        return Precision {
            factor: 1.0,
            basis: "deterministic",
            model: None,
            measured: None,
            threshold: None,
            images: None,
            model_sha256: None,
            words: format!(
                "deterministic ({}): a fact of the evidence, not a model's score",
                obs.analyzer
            ),
        };
    }
    let model = obs
        .value
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(&obs.analyzer)
        .to_string();
    let card = card(&model);
    let measured = card
        .as_ref()
        .and_then(|c| c.get("precision"))
        .and_then(Value::as_f64);
    let threshold = card
        .as_ref()
        .and_then(|c| c.get("threshold"))
        .and_then(Value::as_f64);
    let images = card
        .as_ref()
        .and_then(|c| c.get("images"))
        .and_then(Value::as_u64);
    let model_sha256 = card
        .as_ref()
        .and_then(|c| c.get("model_sha256"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let digest = model_sha256
        .as_deref()
        .map_or(String::new(), |d| format!(" (model file SHA-256 {d})"));
    match measured {
        Some(p) => Precision {
            factor: p.max(FLOOR),
            basis: "measured",
            words: format!(
                "model {model}{digest}: precision {:.2} at threshold {} on {} labelled pictures (models/cards/{model}.json){}",
                p,
                threshold.map_or("(none)".into(), |t| t.to_string()),
                images.unwrap_or(0),
                if p < FLOOR {
                    format!("; counted at {FLOOR}")
                } else {
                    String::new()
                }
            ),
            model: Some(model),
            measured: Some(p),
            threshold,
            images,
            model_sha256,
        },
        None => Precision {
            factor: UNMEASURED,
            basis: "not-measured",
            words: format!(
                "model {model}{digest}: precision NOT measured (no labelled positives{}); counted at {UNMEASURED}",
                if card.is_some() {
                    format!(" in models/cards/{model}.json")
                } else {
                    ", no card".into()
                }
            ),
            model: Some(model),
            measured: None,
            threshold,
            images,
            model_sha256,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obs(kind: &str, analyzer: &str, value: Value) -> StoredObservation {
        StoredObservation::for_test(kind, analyzer, value)
    }

    #[test]
    fn precision_follows_the_cards() {
        let p = precision_of(&obs("hashset.match", "hashsets", json!({})));
        assert_eq!((p.factor, p.basis), (1.0, "deterministic"));
        // nanodet's card: 19 of 29 detections right at 0.35.
        let p = precision_of(&obs("image.object", "nanodet", json!({"model": "nanodet"})));
        assert_eq!(p.basis, "measured");
        assert!((p.factor - 19.0 / 29.0).abs() < 1e-9, "{}", p.factor);
        assert_eq!(p.threshold, Some(0.35));
        // open_nsfw's card has no positives: not measured, said so.
        let p = precision_of(&obs(
            "image.classification",
            "open_nsfw",
            json!({"model": "open_nsfw"}),
        ));
        assert_eq!((p.factor, p.basis), (UNMEASURED, "not-measured"));
        assert!(p.words.contains("NOT measured"), "{}", p.words);
        // blazeface's card measures 0 at IoU 0.5: floored, and said so.
        let p = precision_of(&obs(
            "image.faces",
            "blazeface",
            json!({"model": "blazeface"}),
        ));
        assert_eq!(p.factor, FLOOR);
        assert!(p.words.contains("counted at 0.1"), "{}", p.words);
        let p = precision_of(&obs("image.object", "nudenet", json!({"model": "nudenet"})));
        assert!(p.words.contains("no card"), "{}", p.words);
    }
}

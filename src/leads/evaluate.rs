//! Evaluating the rules: pure, over typed observations (store::leads reads them), so it is
//! tested without a case store. One lead per subject with every rule that fired on it, the
//! observations each rule rested on (with the analyzer's error margin), a score and a
//! deterministic rank.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::rules::{Condition, RuleSet};
use crate::model::{IdentityObservations, ItemObservations, LeadDraft, StoredObservation, Subject};
use crate::store::audit::digest_hex;

/// How a rule reads an observation: a field of its value, or one of the attributes every
/// observation has (model::OBSERVATION_ATTRIBUTES).
trait Fields {
    fn field(&self, name: &str) -> Option<Value>;
    fn satisfies(&self, conditions: &BTreeMap<String, Condition>) -> bool;
}

impl Fields for StoredObservation {
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "confidence" => Some(json!(self.confidence)),
            "analyzer" => Some(json!(self.analyzer)),
            _ => self.value.get(name).cloned(),
        }
    }

    fn satisfies(&self, conditions: &BTreeMap<String, Condition>) -> bool {
        conditions
            .iter()
            .all(|(field, c)| c.holds(self.field(field).as_ref()))
    }
}

/// Stable lead id for an item: `L` + 12 hex of SHA-256(source label, 0, path bytes).
pub fn item_lead_id(label: &str, path: &[u8]) -> String {
    let mut key = label.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(path);
    format!("L{}", &digest_hex(&key)[..12])
}

fn render(template: &str, obs: &StoredObservation, path: &str, source: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let text = match name {
            "path" => path.to_string(),
            "source" => source.to_string(),
            _ => match obs.field(name) {
                Some(Value::String(s)) => s,
                Some(Value::Null) | None => "none".into(),
                Some(Value::Number(n)) if n.is_f64() => readable_number(n.as_f64().unwrap_or(0.0)),
                Some(v) => v.to_string(),
            },
        };
        out.push_str(&text);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Stable lead id for an identity of the network: `L` + 12 hex of SHA-256(0, "identity",
/// 0, key) (a source label is never empty, so it cannot meet an item's).
pub fn identity_lead_id(key: &str) -> String {
    let mut bytes = b"\0identity\0".to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("L{}", &digest_hex(&bytes)[..12])
}

/// A fraction as people read it: four decimals at most, no trailing zeros (0.6410 → 0.641).
fn readable_number(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// The leads the rules propose over `items` and the network's `identities`, ranked: by
/// score, ties by lead id. `margins` holds each analyzer's error margin by
/// `store::error_margin_key`.
pub fn evaluate(
    rules: &RuleSet,
    margins: &HashMap<String, String>,
    items: &[ItemObservations],
    identities: &[IdentityObservations],
) -> Vec<LeadDraft> {
    let mut leads: Vec<LeadDraft> = items
        .iter()
        .filter_map(|item| item_lead(rules, margins, item))
        .chain(
            identities
                .iter()
                .filter_map(|identity| identity_lead(rules, margins, identity)),
        )
        .collect();
    leads.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    for (rank, lead) in leads.iter_mut().enumerate() {
        lead.rank = rank as i64 + 1;
    }
    leads
}

/// The rules that fire on one subject's observations, with their summed contribution.
/// `shown` and `source` fill `{path}` and `{source}` in the explanations.
fn fire(
    rules: &RuleSet,
    margins: &HashMap<String, String>,
    observations: &[StoredObservation],
    shown: &str,
    source: &str,
) -> (Vec<Value>, f64) {
    let mut hits = Vec::new();
    let mut score = 0.0;
    for rule in &rules.rules {
        let matched: Vec<&StoredObservation> = observations
            .iter()
            .filter(|o| rule.kinds.contains(&o.kind) && o.satisfies(&rule.conditions))
            .collect();
        let Some(best) = matched
            .iter()
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        else {
            continue;
        };
        if rule.unless.iter().any(|u| {
            observations
                .iter()
                .any(|o| o.kind == u.kind && o.satisfies(&u.conditions))
        }) {
            continue;
        }
        let contribution = rule.weight * best.confidence;
        score += contribution;
        hits.push(json!({
            "rule": rule.id,
            "title": rule.title,
            "weight": rule.weight,
            "contribution": contribution,
            "explanation": render(&rule.explain, best, shown, source),
            "observations": matched.iter().map(|o| json!({
                "kind": o.kind,
                "analyzer": o.analyzer,
                "analyzer_version": o.analyzer_version,
                "value": o.value,
                "confidence": o.confidence,
                "provenance": o.provenance,
                "error_margin": margins.get(&crate::store::error_margin_key(&o.analyzer, &o.analyzer_version)),
            })).collect::<Vec<_>>(),
        }));
    }
    (hits, score)
}

/// The lead on one item, when any rule fires on it.
fn item_lead(
    rules: &RuleSet,
    margins: &HashMap<String, String>,
    item: &ItemObservations,
) -> Option<LeadDraft> {
    let (label, path) = (&item.source, &item.path);
    let shown = crate::evidence::display_path(path);
    let (hits, score) = fire(rules, margins, &item.observations, &shown, label);
    if hits.is_empty() {
        return None;
    }
    let hits = json!({"subject": {"source": label, "path": shown}, "rules_version": rules.version, "hits": hits});
    Some(LeadDraft {
        id: item_lead_id(label, path),
        subject: Subject::Item {
            source: label.clone(),
            path: path.clone(),
        },
        item: Some(item.item),
        score,
        rank: 0,
        hits,
    })
}

/// The lead on one identity of the network, when any rule fires on it. `{path}` in an
/// explanation is the identity's label, `{source}` its devices.
fn identity_lead(
    rules: &RuleSet,
    margins: &HashMap<String, String>,
    identity: &IdentityObservations,
) -> Option<LeadDraft> {
    let field = |name: &str| {
        identity.observations.iter().find_map(|o| {
            o.value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    };
    let label = field("label").unwrap_or_else(|| identity.key.clone());
    let devices = field("devices").unwrap_or_default();
    let (hits, score) = fire(rules, margins, &identity.observations, &label, &devices);
    if hits.is_empty() {
        return None;
    }
    let hits = json!({"subject": {"identity": identity.key, "label": label}, "rules_version": rules.version, "hits": hits});
    Some(LeadDraft {
        id: identity_lead_id(&identity.key),
        subject: Subject::Identity(identity.key.clone()),
        item: None,
        score,
        rank: 0,
        hits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        let obs = StoredObservation {
            kind: "k".into(),
            analyzer: "a".into(),
            analyzer_version: "1".into(),
            value: json!({"status": "bad", "n": 3}),
            confidence: 0.7,
            provenance: Value::Null,
        };
        let c = |t: &str| -> BTreeMap<String, Condition> { toml::from_str(t).unwrap() };
        assert!(obs.satisfies(&c("status = \"bad\"")));
        assert!(!obs.satisfies(&c("status = \"good\"")));
        assert!(obs.satisfies(&c("n = { gte = 3 }\nconfidence = { gt = 0.5 }")));
        assert!(!obs.satisfies(&c("confidence = { gt = 0.8 }")));
        assert!(obs.satisfies(&c("status = { in = [\"bad\", \"worse\"] }")));
        assert_eq!(
            render("{path}: {status} {missing}", &obs, "a/b", "dev"),
            "a/b: bad none"
        );
    }
}

//! Evaluating the rules: pure, over typed observations (store::leads reads them) and the
//! links between subjects (who owns which device, who talks to whom, who sent which record),
//! so it is tested without a case store. One lead per subject with every rule that fired on
//! it, the observations each rule rested on (in words, with the model's measured precision),
//! the counter-indications, a score (docs/scoring.md) and a deterministic rank.
//!
//! Rules fire in two steps: the rules on observations, then the combinations, each after the
//! rules it requires (a cycle is refused when the rules load).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::margin::{Precision, precision_of};
use super::rules::{Condition, Relation, Rule, RuleSet, SubjectKind};
use super::words;
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

/// What joins subjects for combinations: device owners, contacts, senders of records.
#[derive(Clone, Debug, Default)]
pub struct Links {
    /// Device (source label) → the identities that own it (`--owner`), by key.
    pub owners: BTreeMap<String, Vec<String>>,
    /// Identity → the identities it has contact with, either way.
    pub correspondents: HashMap<String, BTreeSet<String>>,
    /// (item id, a record's locator as JSON text) → the key of the record's sender.
    pub senders: HashMap<(i64, String), String>,
}

/// Stable lead id for an item: `L` + 12 hex of SHA-256(source label, 0, path bytes).
pub fn item_lead_id(label: &str, path: &[u8]) -> String {
    let mut key = label.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(path);
    format!("L{}", &digest_hex(&key)[..12])
}

/// Stable lead id for an identity of the network: `L` + 12 hex of SHA-256(0, "identity",
/// 0, key) (a source label is never empty, so it cannot meet an item's).
pub fn identity_lead_id(key: &str) -> String {
    let mut bytes = b"\0identity\0".to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("L{}", &digest_hex(&bytes)[..12])
}

fn render(template: &str, field: &dyn Fn(&str) -> Option<Value>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(
            &field(&rest[open + 1..open + close]).map_or("none".into(), |v| words::plain(&v)),
        );
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// One subject as the evaluator sees it.
struct Subj<'a> {
    lead: String,
    shown: String,
    source: String,
    observations: &'a [StoredObservation],
    /// The device an item is on; "network" for an identity.
    device: String,
}

/// A rule that fired on a subject.
struct Fired<'a> {
    rule: &'a Rule,
    confidence: f64,
    precision: Option<Precision>,
    contribution: f64,
    group: String,
    matched: Vec<&'a StoredObservation>,
    with: Vec<&'a StoredObservation>,
    parts: Vec<Part>,
    explanation: String,
}

impl Fired<'_> {
    /// How strongly it stands, 0..1: confidence × measured precision.
    fn strength(&self) -> f64 {
        self.confidence * self.precision.as_ref().map_or(1.0, |p| p.factor)
    }
}

#[derive(Clone)]
struct Part {
    rule: String,
    lead: String,
    shown: String,
    via: Relation,
    strength: f64,
}

fn fire_on_observations<'a>(rule: &'a Rule, s: &Subj<'a>) -> Option<Fired<'a>> {
    let matched: Vec<&StoredObservation> = s
        .observations
        .iter()
        .filter(|o| rule.kinds.contains(&o.kind) && o.satisfies(&rule.conditions))
        .collect();
    // The best observation: the strongest after its model's precision.
    let best = matched
        .iter()
        .map(|o| (*o, precision_of(o)))
        .max_by(|a, b| (a.0.confidence * a.1.factor).total_cmp(&(b.0.confidence * b.1.factor)))?;
    let found = |u: &super::rules::Unless| {
        s.observations
            .iter()
            .filter(|o| o.kind == u.kind && o.satisfies(&u.conditions))
            .collect::<Vec<_>>()
    };
    if rule.unless.iter().any(|u| !found(u).is_empty()) {
        return None;
    }
    let mut with = Vec::new();
    for w in &rule.with {
        let also = found(w);
        if also.is_empty() {
            return None;
        }
        with.extend(also);
    }
    let (obs, precision) = best;
    let explanation = render(&rule.explain, &|name| match name {
        "path" => Some(json!(s.shown)),
        "source" => Some(json!(s.source)),
        _ => obs.field(name),
    });
    Some(Fired {
        rule,
        confidence: obs.confidence,
        contribution: rule.weight * obs.confidence * precision.factor,
        group: format!("{}@{}", obs.analyzer, s.device),
        precision: Some(precision),
        matched,
        with,
        parts: Vec::new(),
        explanation,
    })
}

/// The subjects of both kinds, with the index maps the relations need.
struct World<'a> {
    items: Vec<Subj<'a>>,
    identities: Vec<Subj<'a>>,
    item_ids: Vec<i64>,
    identity_keys: Vec<&'a str>,
    identity_by_key: HashMap<&'a str, usize>,
    items_by_device: HashMap<&'a str, Vec<usize>>,
    cluster_of: Vec<Option<String>>,
    items_by_cluster: HashMap<String, Vec<usize>>,
    /// Per item, the items on other devices its `image.similar` observation names, each with
    /// how much the likeness counts: similarity × the embedding model's precision.
    similar: Vec<Vec<(usize, f64)>>,
    links: &'a Links,
}

impl World<'_> {
    fn owners_of(&self, item: usize) -> Vec<usize> {
        self.links
            .owners
            .get(&self.items[item].device)
            .into_iter()
            .flatten()
            .filter_map(|k| self.identity_by_key.get(k.as_str()).copied())
            .collect()
    }

    fn correspondents_of(&self, identity: usize) -> Vec<usize> {
        self.links
            .correspondents
            .get(self.identity_keys[identity])
            .into_iter()
            .flatten()
            .filter_map(|k| self.identity_by_key.get(k.as_str()).copied())
            .collect()
    }

    fn devices_of(&self, identity: usize) -> Vec<&str> {
        let key = self.identity_keys[identity];
        self.links
            .owners
            .iter()
            .filter(|(_, keys)| keys.iter().any(|k| k == key))
            .map(|(d, _)| d.as_str())
            .collect()
    }
}

/// The subjects a relation reaches, as (is an item, index).
fn related(world: &World, from: (SubjectKind, usize), via: Relation) -> Vec<(SubjectKind, usize)> {
    use SubjectKind::*;
    let (kind, at) = from;
    match (via, kind) {
        (Relation::Itself, _) => vec![from],
        (Relation::DeviceItems, Identity) => world
            .devices_of(at)
            .into_iter()
            .flat_map(|d| world.items_by_device.get(d).into_iter().flatten())
            .map(|&i| (Item, i))
            .collect(),
        (Relation::Correspondents, Identity) => world
            .correspondents_of(at)
            .into_iter()
            .map(|i| (Identity, i))
            .collect(),
        (Relation::Owner, Item) => world
            .owners_of(at)
            .into_iter()
            .map(|i| (Identity, i))
            .collect(),
        (Relation::OwnerCorrespondents, Item) => {
            let owners = world.owners_of(at);
            let mut out: BTreeSet<usize> = BTreeSet::new();
            for &o in &owners {
                out.extend(world.correspondents_of(o));
            }
            out.retain(|i| !owners.contains(i));
            out.into_iter().map(|i| (Identity, i)).collect()
        }
        (Relation::NearDuplicates, Item) => world.cluster_of[at]
            .as_ref()
            .and_then(|c| world.items_by_cluster.get(c))
            .into_iter()
            .flatten()
            .filter(|&&i| i != at)
            .map(|&i| (Item, i))
            .collect(),
        (Relation::SimilarOnOtherDevices, Item) => {
            world.similar[at].iter().map(|&(i, _)| (Item, i)).collect()
        }
        // `sent` is resolved per observation (fire_combination); other pairs are refused
        // when the rules load.
        _ => Vec::new(),
    }
}

/// Whether `fired`'s observations occur in a record that identity `key` sent.
fn sent_by(world: &World, item: usize, fired: &Fired, key: &str) -> bool {
    fired.matched.iter().any(|o| {
        o.value
            .get("occurrences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|occ| occ.get("in"))
            .any(|locator| {
                world
                    .links
                    .senders
                    .get(&(world.item_ids[item], locator.to_string()))
                    .is_some_and(|s| s == key)
            })
    })
}

/// What fired, per subject.
struct FiredSets<'a> {
    items: Vec<Vec<Fired<'a>>>,
    identities: Vec<Vec<Fired<'a>>>,
}

impl<'a> FiredSets<'a> {
    fn on(&self, kind: SubjectKind, at: usize) -> &[Fired<'a>] {
        match kind {
            SubjectKind::Item => &self.items[at],
            SubjectKind::Identity => &self.identities[at],
        }
    }
}

fn fire_combination<'a>(
    rule: &'a Rule,
    world: &World,
    fired: &FiredSets,
    subject: (SubjectKind, usize),
) -> Option<Fired<'a>> {
    let combine = rule.combine.as_ref()?;
    if fired
        .on(subject.0, subject.1)
        .iter()
        .any(|f| combine.unless_fired.contains(&f.rule.id))
    {
        return None;
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut weakest = f64::INFINITY;
    for req in &combine.requires {
        let targets: Vec<(SubjectKind, usize)> = if req.via == Relation::Sent {
            (0..world.items.len())
                .map(|i| (SubjectKind::Item, i))
                .collect()
        } else {
            related(world, subject, req.via)
        };
        let mut best: Option<Part> = None;
        for (kind, at) in targets {
            let subj = match kind {
                SubjectKind::Item => &world.items[at],
                SubjectKind::Identity => &world.identities[at],
            };
            for f in fired.on(kind, at) {
                if !req.rules.contains(&f.rule.id) {
                    continue;
                }
                if req.via == Relation::Sent
                    && !sent_by(world, at, f, world.identity_keys[subject.1])
                {
                    continue;
                }
                // A likeness is only as strong as the embedding says and its model is measured.
                let link = if req.via == Relation::SimilarOnOtherDevices {
                    world.similar[subject.1]
                        .iter()
                        .find(|(i, _)| *i == at)
                        .map_or(0.0, |(_, w)| *w)
                } else {
                    1.0
                };
                let part = Part {
                    rule: f.rule.id.clone(),
                    lead: subj.lead.clone(),
                    // An item with its device: the parts of a combination span devices.
                    shown: match kind {
                        SubjectKind::Item => format!("{}:{}", subj.source, subj.shown),
                        SubjectKind::Identity => subj.shown.clone(),
                    },
                    via: req.via,
                    strength: f.strength() * link,
                };
                if best.as_ref().is_none_or(|b| part.strength > b.strength) {
                    best = Some(part.clone());
                }
                if parts.len() < 20 {
                    parts.push(part);
                }
            }
        }
        weakest = weakest.min(best?.strength);
    }
    let s = match subject.0 {
        SubjectKind::Item => &world.items[subject.1],
        SubjectKind::Identity => &world.identities[subject.1],
    };
    let evidence = parts
        .iter()
        .map(|p| format!("{} on {}", p.rule, p.shown))
        .collect::<Vec<_>>()
        .join("; ");
    let explanation = render(&rule.explain, &|name| match name {
        "path" | "label" => Some(json!(s.shown)),
        "source" => Some(json!(s.source)),
        "evidence" => Some(json!(evidence)),
        _ => None,
    });
    Some(Fired {
        rule,
        confidence: weakest,
        precision: None,
        contribution: rule.weight * weakest,
        group: format!("combination:{}", rule.id),
        matched: Vec::new(),
        with: Vec::new(),
        parts,
        explanation,
    })
}

/// Why a reader might doubt the lead, from what the subject's observations say.
fn counter_indications(s: &Subj, fired: &[Fired]) -> Vec<String> {
    let mut out = Vec::new();
    for o in s.observations {
        if o.kind == "hashset.match"
            && o.value.get("status").and_then(Value::as_str) == Some("good")
        {
            out.push(format!(
                "also in the known-good hash set {}: a file known from ordinary software or content",
                words::plain(o.value.get("set").unwrap_or(&Value::Null))
            ));
        }
        if o.kind == "network.cross_device" {
            for m in o
                .value
                .get("merges")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let records = m.get("records").and_then(Value::as_u64);
                let rule = m.get("rule").and_then(Value::as_str).unwrap_or("");
                let ids = m.get("identifiers").map(words::plain).unwrap_or_default();
                if records == Some(1) {
                    out.push(format!("the merge of {ids} ({rule}) rests on one record"));
                } else if rule == "contact-entry" {
                    out.push(format!(
                        "the merge of {ids} rests on a contact entry: a name in an address book, not proof of one person"
                    ));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    for f in fired {
        for o in f.matched.iter().chain(&f.with) {
            let p = precision_of(o);
            if p.basis == "not-measured" && seen.insert(format!("unmeasured {:?}", p.model)) {
                out.push(format!(
                    "the precision of {} is not measured: its score is counted at {}",
                    p.model.clone().unwrap_or_default(),
                    super::margin::UNMEASURED
                ));
            }
            let score = o.value.get("score").and_then(Value::as_f64);
            if let (Some(score), Some(t)) = (score, p.threshold)
                && (score - t).abs() < 0.05
                && seen.insert(format!("near {:?}", p.model))
            {
                out.push(format!(
                    "{} scores {} within 0.05 of its threshold {t}: a small change of the picture could turn it",
                    p.model.clone().unwrap_or_default(),
                    words::number(score)
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn observation_json(o: &StoredObservation, margins: &HashMap<String, String>) -> Value {
    json!({
        "kind": o.kind,
        "analyzer": o.analyzer,
        "analyzer_version": o.analyzer_version,
        "value": o.value,
        "words": words::describe(o),
        "confidence": o.confidence,
        "provenance": o.provenance,
        "precision": precision_of(o),
        "error_margin": margins.get(&crate::store::error_margin_key(&o.analyzer, &o.analyzer_version)),
    })
}

/// The score of a subject's fired rules (docs/scoring.md): contributions grouped by
/// independence (analyzer and device; a combination is its own group); within a group only
/// the largest counts, a repeat of the same observation adds nothing; the groups add up.
/// Returns the score and, per fired rule, whether it is the one its group counts.
fn score(fired: &[Fired]) -> (f64, Vec<bool>) {
    let mut best: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for (i, f) in fired.iter().enumerate() {
        let slot = best.entry(f.group.as_str()).or_insert((f.contribution, i));
        if f.contribution > slot.0 {
            *slot = (f.contribution, i);
        }
    }
    let counted: Vec<bool> = (0..fired.len())
        .map(|i| best.values().any(|&(_, j)| j == i))
        .collect();
    (best.values().map(|(c, _)| c).sum(), counted)
}

fn lead_of(
    rules: &RuleSet,
    margins: &HashMap<String, String>,
    s: &Subj,
    fired: &[Fired],
    subject: Value,
) -> Option<(f64, Value)> {
    if fired.is_empty() {
        return None;
    }
    let (total, counted) = score(fired);
    let hits: Vec<Value> = fired
        .iter()
        .zip(&counted)
        .map(|(f, counted)| {
            json!({
                "rule": f.rule.id,
                "title": f.rule.title,
                "weight": f.rule.weight,
                "confidence": f.confidence,
                "precision": f.precision,
                "contribution": f.contribution,
                "group": f.group,
                "counted": counted,
                "four_eyes": f.rule.four_eyes,
                "explanation": f.explanation,
                "observations": f.matched.iter().map(|o| observation_json(o, margins)).collect::<Vec<_>>(),
                "with": f.with.iter().map(|o| observation_json(o, margins)).collect::<Vec<_>>(),
                "parts": f.parts.iter().map(|p| json!({
                    "rule": p.rule, "lead": p.lead, "subject": p.shown, "via": p.via.as_str(), "strength": p.strength,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let groups = counted.iter().filter(|c| **c).count();
    Some((
        total,
        json!({
            "subject": subject,
            "rules_version": rules.version,
            "score": {"total": total, "independent_groups": groups, "formula": "sum over independent groups of the largest weight x confidence x precision (docs/scoring.md)"},
            "four_eyes": fired.iter().any(|f| f.rule.four_eyes),
            "hits": hits,
            "counter_indications": counter_indications(s, fired),
        }),
    ))
}

/// The leads the rules propose over `items` and the network's `identities`, ranked: by
/// score, ties by lead id. `margins` holds each analyzer's error margin by
/// `store::error_margin_key`.
pub fn evaluate(
    rules: &RuleSet,
    margins: &HashMap<String, String>,
    items: &[ItemObservations],
    identities: &[IdentityObservations],
    links: &Links,
) -> Vec<LeadDraft> {
    let field = |obs: &[StoredObservation], name: &str| {
        obs.iter().find_map(|o| {
            o.value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    };
    let item_subjects: Vec<Subj> = items
        .iter()
        .map(|i| Subj {
            lead: item_lead_id(&i.source, &i.path),
            shown: crate::evidence::display_path(&i.path),
            source: i.source.clone(),
            observations: &i.observations,
            device: i.source.clone(),
        })
        .collect();
    let identity_subjects: Vec<Subj> = identities
        .iter()
        .map(|i| Subj {
            lead: identity_lead_id(&i.key),
            shown: field(&i.observations, "label").unwrap_or_else(|| i.key.clone()),
            source: field(&i.observations, "devices").unwrap_or_default(),
            observations: &i.observations,
            device: "network".into(),
        })
        .collect();
    let cluster_of: Vec<Option<String>> = items
        .iter()
        .map(|i| {
            i.observations
                .iter()
                .find(|o| o.kind == "image.near_duplicate")
                .and_then(|o| o.value.get("cluster"))
                .map(|c| c.to_string())
        })
        .collect();
    let mut items_by_cluster: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in cluster_of.iter().enumerate() {
        if let Some(c) = c {
            items_by_cluster.entry(c.clone()).or_default().push(i);
        }
    }
    let mut items_by_device: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_place: HashMap<(&str, String), usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        items_by_device
            .entry(item.source.as_str())
            .or_default()
            .push(i);
        by_place.insert(
            (
                item.source.as_str(),
                crate::evidence::display_path(&item.path),
            ),
            i,
        );
    }
    let similar: Vec<Vec<(usize, f64)>> = items
        .iter()
        .map(|item| {
            let mut out = Vec::new();
            for o in item
                .observations
                .iter()
                .filter(|o| o.kind == "image.similar")
            {
                let precision = precision_of(o).factor;
                for n in o
                    .value
                    .get("neighbours")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let (Some(source), Some(path)) = (
                        n.get("source").and_then(Value::as_str),
                        n.get("path").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    let similarity = n.get("similarity").and_then(Value::as_f64).unwrap_or(0.0);
                    if source != item.source
                        && let Some(&i) = by_place.get(&(source, path.to_string()))
                    {
                        out.push((i, similarity.clamp(0.0, 1.0) * precision));
                    }
                }
            }
            out
        })
        .collect();
    let world = World {
        item_ids: items.iter().map(|i| i.item.0).collect(),
        identity_keys: identities.iter().map(|i| i.key.as_str()).collect(),
        identity_by_key: identities
            .iter()
            .enumerate()
            .map(|(n, i)| (i.key.as_str(), n))
            .collect(),
        items: item_subjects,
        identities: identity_subjects,
        items_by_device,
        cluster_of,
        items_by_cluster,
        similar,
        links,
    };
    let mut fired = FiredSets {
        items: (0..items.len()).map(|_| Vec::new()).collect(),
        identities: (0..identities.len()).map(|_| Vec::new()).collect(),
    };
    for rule in rules.evaluation_order() {
        let kind = rule.subject();
        let count = match kind {
            SubjectKind::Item => world.items.len(),
            SubjectKind::Identity => world.identities.len(),
        };
        let found: Vec<(usize, Fired)> = (0..count)
            .filter_map(|at| {
                let s = match kind {
                    SubjectKind::Item => &world.items[at],
                    SubjectKind::Identity => &world.identities[at],
                };
                let f = if rule.combine.is_some() {
                    fire_combination(rule, &world, &fired, (kind, at))
                } else {
                    fire_on_observations(rule, s)
                };
                f.map(|f| (at, f))
            })
            .collect();
        for (at, f) in found {
            match kind {
                SubjectKind::Item => fired.items[at].push(f),
                SubjectKind::Identity => fired.identities[at].push(f),
            }
        }
    }
    let mut leads: Vec<LeadDraft> = Vec::new();
    for (at, item) in items.iter().enumerate() {
        let s = &world.items[at];
        let subject = json!({"source": item.source, "path": s.shown, "sha256": item.sha256});
        if let Some((score, hits)) = lead_of(rules, margins, s, &fired.items[at], subject) {
            leads.push(LeadDraft {
                id: s.lead.clone(),
                subject: Subject::Item {
                    source: item.source.clone(),
                    path: item.path.clone(),
                },
                item: Some(item.item),
                score,
                rank: 0,
                hits,
            });
        }
    }
    for (at, identity) in identities.iter().enumerate() {
        let s = &world.identities[at];
        let subject = json!({"identity": identity.key, "label": s.shown});
        if let Some((score, hits)) = lead_of(rules, margins, s, &fired.identities[at], subject) {
            leads.push(LeadDraft {
                id: s.lead.clone(),
                subject: Subject::Identity(identity.key.clone()),
                item: None,
                score,
                rank: 0,
                hits,
            });
        }
    }
    leads.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    for (rank, lead) in leads.iter_mut().enumerate() {
        lead.rank = rank as i64 + 1;
    }
    leads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ItemId;

    fn obs(kind: &str, analyzer: &str, value: Value) -> StoredObservation {
        StoredObservation::for_test(kind, analyzer, value)
    }

    fn item(
        id: i64,
        source: &str,
        path: &str,
        observations: Vec<StoredObservation>,
    ) -> ItemObservations {
        ItemObservations {
            item: ItemId(id),
            source: source.into(),
            path: path.as_bytes().to_vec(),
            sha256: None,
            observations,
        }
    }

    fn identity(key: &str, observations: Vec<StoredObservation>) -> IdentityObservations {
        IdentityObservations {
            key: key.into(),
            observations,
        }
    }

    fn rules_of(extra: &str) -> RuleSet {
        let text = format!(
            "version = \"t\"\n\
             [[rule]]\nid = \"bad\"\ntitle = \"t\"\nkinds = [\"hashset.match\"]\nwhere = {{ status = \"bad\" }}\nweight = 100.0\nexplain = \"{{path}}\"\n\
             [[rule]]\nid = \"pdq\"\ntitle = \"t\"\nkinds = [\"image.pdq_match\"]\nweight = 80.0\nexplain = \"{{path}}\"\n\
             [[rule]]\nid = \"mime\"\ntitle = \"t\"\nkinds = [\"type.extension_mismatch\"]\nweight = 20.0\nexplain = \"{{path}}\"\n\
             [[rule]]\nid = \"broker\"\ntitle = \"t\"\nkinds = [\"network.metrics\"]\nwhere = {{ betweenness_rank = {{ lte = 1 }} }}\nweight = 15.0\nexplain = \"{{label}}\"\n\
             [[rule]]\nid = \"core\"\ntitle = \"t\"\nkinds = [\"network.metrics\"]\nwhere = {{ inner_core = true }}\nweight = 8.0\nexplain = \"{{label}}\"\n\
             [[rule]]\nid = \"burner\"\ntitle = \"t\"\nkinds = [\"network.burner\"]\nweight = 15.0\nexplain = \"{{label}}\"\n\
             [[rule]]\nid = \"iban\"\ntitle = \"t\"\nkinds = [\"watchlist.match\"]\nweight = 40.0\nexplain = \"{{value}}\"\n\
             [[rule]]\nid = \"poi\"\ntitle = \"t\"\nkinds = [\"location.place_of_interest\"]\nweight = 25.0\nexplain = \"{{place}}\"\n\
             [[rule]]\nid = \"nude-face\"\ntitle = \"t\"\nkinds = [\"image.classification\"]\nwhere = {{ above_threshold = true }}\nwith = [{{ kind = \"image.faces\", where = {{ count = {{ gte = 1 }} }} }}]\nweight = 40.0\nexplain = \"{{path}}\"\n\
             {extra}"
        );
        RuleSet::parse(&text, "test").unwrap()
    }

    fn rule(id: &str, combine: &str) -> String {
        format!(
            "[[rule]]\nid = \"{id}\"\ntitle = \"t\"\ncombine = {combine}\nweight = 30.0\nexplain = \"{{path}}: {{evidence}}\"\n"
        )
    }

    #[test]
    fn independent_analyzers_add_up_and_repeats_do_not() {
        let rules = rules_of("");
        let items = [item(
            1,
            "laptop",
            "a.png",
            vec![
                obs(
                    "hashset.match",
                    "hashsets",
                    json!({"status": "bad", "set": "s"}),
                ),
                obs("image.pdq_match", "pdqlist", json!({"status": "bad"})),
            ],
        )];
        let ids = [identity(
            "tel:+1",
            vec![obs(
                "network.metrics",
                "network",
                json!({"label": "Bram", "betweenness_rank": 1, "inner_core": true}),
            )],
        )];
        let leads = evaluate(&rules, &HashMap::new(), &items, &ids, &Links::default());
        let by = |id: &str| leads.iter().find(|l| l.id == id).unwrap();
        // Two analyzers on the picture: 100 + 80.
        assert_eq!(by(&item_lead_id("laptop", b"a.png")).score, 180.0);
        // Broker and inner core read the same network observation: the larger counts, the
        // other is listed as a repeat.
        let person = by(&identity_lead_id("tel:+1"));
        assert_eq!(person.score, 15.0);
        let hits = person.hits["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[1]["counted"], false);
        assert_eq!(leads[0].rank, 1);
        assert!(leads[0].score >= leads[1].score);
    }

    #[test]
    fn a_model_is_weighed_by_its_card_and_needs_its_companion() {
        let rules = rules_of("");
        let nudity = |score: f64| StoredObservation {
            confidence: score,
            ..obs(
                "image.classification",
                "open_nsfw",
                json!({"model": "open_nsfw", "above_threshold": true, "score": score}),
            )
        };
        let face = obs(
            "image.faces",
            "blazeface",
            json!({"model": "blazeface", "count": 1}),
        );
        let items = [
            item(1, "phone", "alone.jpg", vec![nudity(0.9)]),
            item(2, "phone", "face.jpg", vec![nudity(0.82), face]),
        ];
        let leads = evaluate(&rules, &HashMap::new(), &items, &[], &Links::default());
        assert_eq!(leads.len(), 1, "no face, no lead from nude-face");
        // open_nsfw's precision is not measured: 40 x 0.82 x 0.5.
        assert!(
            (leads[0].score - 40.0 * 0.82 * 0.5).abs() < 1e-9,
            "{}",
            leads[0].score
        );
        let counter = leads[0].hits["counter_indications"].to_string();
        assert!(
            counter.contains("not measured") && counter.contains("within 0.05"),
            "{counter}"
        );
        assert_eq!(leads[0].hits["hits"][0]["with"][0]["kind"], "image.faces");
    }

    #[test]
    fn combinations_follow_owners_contacts_senders_and_clusters() {
        let extra = [
            rule("central-holder", "{ subject = \"identity\", requires = [{ rules = [\"broker\"], via = \"self\" }, { rules = [\"bad\", \"near-bad\"], via = \"device-items\" }] }"),
            rule("near-bad", "{ subject = \"item\", requires = [{ rules = [\"bad\", \"pdq\"], via = \"near-duplicates\" }], unless_fired = [\"bad\", \"pdq\"] }"),
            rule("iban-by-broker", "{ subject = \"identity\", requires = [{ rules = [\"broker\"], via = \"self\" }, { rules = [\"iban\"], via = \"sent\" }] }"),
            rule("poi-burner", "{ subject = \"item\", requires = [{ rules = [\"poi\"], via = \"self\" }, { rules = [\"burner\"], via = \"owner-correspondents\" }] }"),
        ]
        .concat();
        let rules = rules_of(&extra);
        let cluster = |c: i64| obs("image.near_duplicate", "neardup", json!({"cluster": c}));
        let locator = json!({"line": 7});
        let items = [
            item(
                1,
                "laptop",
                "bad.png",
                vec![
                    obs("hashset.match", "hashsets", json!({"status": "bad"})),
                    cluster(1),
                ],
            ),
            item(2, "phone", "copy.jpg", vec![cluster(1)]),
            item(
                3,
                "phone",
                "chat.txt",
                vec![obs(
                    "watchlist.match",
                    "watchlist",
                    json!({"value": "NL91", "occurrences": [{"in": locator}]}),
                )],
            ),
            item(
                4,
                "phone",
                "pier.jpg",
                vec![obs(
                    "location.place_of_interest",
                    "places-of-interest",
                    json!({"place": "Pier 4"}),
                )],
            ),
        ];
        let metrics = |label: &str, rank: i64| {
            obs(
                "network.metrics",
                "network",
                json!({"label": label, "betweenness_rank": rank}),
            )
        };
        let ids = [
            identity("tel:+1", vec![metrics("Bram", 1)]),
            identity("tel:+2", vec![metrics("Anna", 1)]),
            identity(
                "tel:+3",
                vec![obs("network.burner", "network", json!({"label": "burner"}))],
            ),
        ];
        let mut links = Links::default();
        links.owners.insert("laptop".into(), vec!["tel:+1".into()]);
        links.owners.insert("phone".into(), vec!["tel:+2".into()]);
        links
            .correspondents
            .insert("tel:+2".into(), ["tel:+3".to_string()].into());
        links
            .senders
            .insert((3, locator.to_string()), "tel:+2".into());
        let leads = evaluate(&rules, &HashMap::new(), &items, &ids, &links);
        let rules_of_lead = |id: &str| -> Vec<String> {
            leads.iter().find(|l| l.id == id).map_or(vec![], |l| {
                l.hits["hits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["rule"].as_str().unwrap().to_string())
                    .collect()
            })
        };
        assert_eq!(
            rules_of_lead(&identity_lead_id("tel:+1")),
            ["broker", "central-holder"]
        );
        // Anna sent the IBAN, Bram did not; Anna's phone holds no known-bad file but a
        // near-duplicate of one, which is flagged media too.
        assert_eq!(
            rules_of_lead(&identity_lead_id("tel:+2")),
            ["broker", "iban-by-broker", "central-holder"]
        );
        assert_eq!(
            rules_of_lead(&item_lead_id("phone", b"copy.jpg")),
            ["near-bad"]
        );
        assert_eq!(
            rules_of_lead(&item_lead_id("laptop", b"bad.png")),
            ["bad"],
            "unless_fired"
        );
        assert_eq!(
            rules_of_lead(&item_lead_id("phone", b"pier.jpg")),
            ["poi", "poi-burner"]
        );
        let anna = leads
            .iter()
            .find(|l| l.id == identity_lead_id("tel:+2"))
            .unwrap();
        let parts = anna.hits["hits"][1]["parts"].as_array().unwrap();
        assert_eq!(anna.hits["hits"][1]["rule"], "iban-by-broker");
        assert_eq!(parts[1]["lead"], item_lead_id("phone", b"chat.txt"));
        assert_eq!(parts[1]["via"], "sent");
    }

    #[test]
    fn a_likeness_counts_as_much_as_its_similarity_and_model() {
        let rules = rules_of(&rule(
            "like-bad",
            "{ subject = \"item\", requires = [{ rules = [\"bad\"], via = \"similar-on-other-devices\" }], unless_fired = [\"bad\"] }",
        ));
        let similar = |source: &str, path: &str, s: f64| {
            obs(
                "image.similar",
                "similarity",
                json!({"model": "nsfwjs", "neighbours": [{"source": source, "path": path, "similarity": s}]}),
            )
        };
        let items = [
            item(
                1,
                "laptop",
                "bad.png",
                vec![obs("hashset.match", "hashsets", json!({"status": "bad"}))],
            ),
            item(
                2,
                "phone",
                "like.jpg",
                vec![similar("laptop", "bad.png", 0.8)],
            ),
            // A neighbour on the same device is no link across devices.
            item(
                3,
                "laptop",
                "same.jpg",
                vec![similar("laptop", "bad.png", 0.99)],
            ),
        ];
        let leads = evaluate(&rules, &HashMap::new(), &items, &[], &Links::default());
        let like = leads
            .iter()
            .find(|l| l.id == item_lead_id("phone", b"like.jpg"))
            .unwrap();
        // 30 x similarity 0.8 x nsfwjs's unmeasured precision 0.5.
        assert!(
            (like.score - 30.0 * 0.8 * 0.5).abs() < 1e-9,
            "{}",
            like.score
        );
        assert!(
            leads
                .iter()
                .all(|l| l.id != item_lead_id("laptop", b"same.jpg"))
        );
    }

    #[test]
    fn bad_combinations_are_refused_with_their_line() {
        let cycle = [
            rule(
                "a",
                "{ subject = \"item\", requires = [{ rules = [\"b\"], via = \"self\" }] }",
            ),
            rule(
                "b",
                "{ subject = \"item\", requires = [{ rules = [\"a\"], via = \"self\" }] }",
            ),
        ]
        .concat();
        let text = format!("version = \"t\"\n{cycle}");
        let e = RuleSet::parse(&text, "r.toml").unwrap_err();
        assert!(
            e.contains("line 3") && e.contains("a cycle of combinations: a → b → a"),
            "{e}"
        );
        let e = RuleSet::parse(
            &format!(
                "version = \"t\"\n{}",
                rule(
                    "x",
                    "{ subject = \"item\", requires = [{ rules = [\"nope\"], via = \"self\" }] }"
                )
            ),
            "r.toml",
        )
        .unwrap_err();
        assert!(e.contains("unknown rule \"nope\""), "{e}");
        // device-items starts from an identity.
        let text = format!(
            "version = \"t\"\n[[rule]]\nid = \"bad\"\ntitle = \"t\"\nkinds = [\"hashset.match\"]\nweight = 1.0\nexplain = \"e\"\n{}",
            rule(
                "x",
                "{ subject = \"item\", requires = [{ rules = [\"bad\"], via = \"device-items\" }] }"
            )
        );
        let e = RuleSet::parse(&text, "r.toml").unwrap_err();
        assert!(
            e.contains("line 9") && e.contains("starts from Identity"),
            "{e}"
        );
        let threshold = |w: &str| {
            RuleSet::parse(
                &format!(
                    "version = \"t\"\n[[rule]]\nid = \"x\"\ntitle = \"t\"\nkinds = [\"image.classification\"]\nwhere = {w}\nweight = 1.0\nexplain = \"e\"\n"
                ),
                "r.toml",
            )
        };
        assert!(
            threshold("{ confidence = { gte = 1.5 } }")
                .unwrap_err()
                .contains("between 0 and 1")
        );
        assert!(
            threshold("{ score = { gt = 0.9, lt = 0.5 } }")
                .unwrap_err()
                .contains("could never fire")
        );
        assert!(
            threshold("{ score = { gt = nan } }")
                .unwrap_err()
                .contains("finite")
        );
        assert!(threshold("{ score = { gte = 0.5, lte = 0.5 } }").is_ok());
    }
}

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

/// Stable lead id for a picture cluster, a place or a pair of identities: `L` + 12 hex of
/// SHA-256(0, its subject key), which starts with its kind (`picture-cluster:sha256:…`).
pub fn group_lead_id(subject_key: &str) -> String {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(subject_key.as_bytes());
    format!("L{}", &digest_hex(&bytes)[..12])
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
    /// The device an item is on; "network" for an identity, "case" for a group.
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
    target: (SubjectKind, usize),
    device: String,
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

/// The subjects of every kind, with the index maps the relations need.
struct World<'a> {
    /// By `SubjectKind::index`: items, identities, picture clusters, places, pairs.
    subjects: [Vec<Subj<'a>>; 5],
    /// For a group (picture cluster, place, pair), its members: items, or identities for a
    /// pair; empty for items and identities.
    members: [Vec<Vec<usize>>; 5],
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

impl<'a> World<'a> {
    fn subj(&self, kind: SubjectKind, at: usize) -> &Subj<'a> {
        &self.subjects[kind.index()][at]
    }

    fn owners_of(&self, item: usize) -> Vec<usize> {
        self.links
            .owners
            .get(&self.subjects[0][item].device)
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

/// The subjects a relation reaches.
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
        (Relation::Members, PictureCluster | Place) => world.members[kind.index()][at]
            .iter()
            .map(|&i| (Item, i))
            .collect(),
        (Relation::Members, IdentityPair) => world.members[kind.index()][at]
            .iter()
            .map(|&i| (Identity, i))
            .collect(),
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

/// What fired, per subject, by `SubjectKind::index`.
struct FiredSets<'a>([Vec<Vec<Fired<'a>>>; 5]);

impl<'a> FiredSets<'a> {
    fn on(&self, kind: SubjectKind, at: usize) -> &[Fired<'a>] {
        &self.0[kind.index()][at]
    }
}

/// The strongest choice of one part per requirement on distinct subjects (a pair: the burner
/// on one side, the central person on the other), by its weakest part. Each requirement's
/// eight strongest subjects are tried: a pair has two.
fn best_distinct(candidates: &[Vec<Part>]) -> Option<Vec<Part>> {
    fn go(
        candidates: &[Vec<Part>],
        used: &mut Vec<(SubjectKind, usize)>,
        chosen: &mut Vec<Part>,
        best: &mut Option<(f64, Vec<Part>)>,
    ) {
        let Some(here) = candidates.get(chosen.len()) else {
            let weakest = chosen
                .iter()
                .map(|p| p.strength)
                .fold(f64::INFINITY, f64::min);
            if best.as_ref().is_none_or(|b| weakest > b.0) {
                *best = Some((weakest, chosen.clone()));
            }
            return;
        };
        let mut tried: Vec<(SubjectKind, usize)> = Vec::new();
        for p in here {
            if used.contains(&p.target) || tried.contains(&p.target) {
                continue;
            }
            if tried.len() == 8 {
                break;
            }
            tried.push(p.target);
            used.push(p.target);
            chosen.push(p.clone());
            go(candidates, used, chosen, best);
            chosen.pop();
            used.pop();
        }
    }
    let mut best = None;
    go(candidates, &mut Vec::new(), &mut Vec::new(), &mut best);
    best.map(|(_, parts)| parts)
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
    // Per requirement, every part that meets it, strongest first.
    let mut candidates: Vec<Vec<Part>> = Vec::new();
    for req in &combine.requires {
        let targets: Vec<(SubjectKind, usize)> = if req.via == Relation::Sent {
            (0..world.subjects[0].len())
                .map(|i| (SubjectKind::Item, i))
                .collect()
        } else {
            related(world, subject, req.via)
        };
        let mut found: Vec<Part> = Vec::new();
        for (kind, at) in targets {
            let subj = world.subj(kind, at);
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
                found.push(Part {
                    rule: f.rule.id.clone(),
                    lead: subj.lead.clone(),
                    // An item with its device: the parts of a combination span devices.
                    shown: match kind {
                        SubjectKind::Item => format!("{}:{}", subj.source, subj.shown),
                        _ => subj.shown.clone(),
                    },
                    via: req.via,
                    strength: f.strength() * link,
                    target: (kind, at),
                    device: subj.device.clone(),
                });
            }
        }
        if found.is_empty() {
            return None;
        }
        if let Some(n) = req.min_devices {
            let devices: BTreeSet<&str> = found.iter().map(|p| p.device.as_str()).collect();
            if devices.len() < n {
                return None;
            }
        }
        found.sort_by(|a, b| {
            b.strength
                .total_cmp(&a.strength)
                .then_with(|| a.lead.cmp(&b.lead))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        candidates.push(found);
    }
    let chosen: Vec<Part> = if combine.distinct {
        best_distinct(&candidates)?
    } else {
        candidates.iter().map(|c| c[0].clone()).collect()
    };
    let weakest = chosen
        .iter()
        .map(|p| p.strength)
        .fold(f64::INFINITY, f64::min);
    // The parts it rests on, the chosen ones first, then the others (at most 20 in all).
    let mut parts = chosen;
    for p in candidates.iter().flatten() {
        if parts.len() >= 20 {
            break;
        }
        if !parts.iter().any(|q| q.lead == p.lead && q.rule == p.rule) {
            parts.push(p.clone());
        }
    }
    let s = world.subj(subject.0, subject.1);
    let evidence = parts
        .iter()
        .map(|p| format!("{} on {}", p.rule, p.shown))
        .collect::<Vec<_>>()
        .join("; ");
    let devices: BTreeSet<&str> = candidates
        .iter()
        .flatten()
        .map(|p| p.device.as_str())
        .filter(|d| *d != "network")
        .collect();
    let members = world.members[subject.0.index()]
        .get(subject.1)
        .map_or(1, |m| m.len().max(1));
    let explanation = render(&rule.explain, &|name| match name {
        "path" | "label" => Some(json!(s.shown)),
        "source" => Some(json!(s.source)),
        "evidence" => Some(json!(evidence)),
        "members" => Some(json!(members)),
        "devices" => Some(json!(
            devices.iter().copied().collect::<Vec<_>>().join(", ")
        )),
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

/// Identical copies (one SHA-256) and PDQ near-duplicate clusters, joined: each group of two
/// or more items is a picture cluster, named by the smallest SHA-256 among its members so
/// the name survives a rescan.
fn picture_clusters(
    items: &[ItemObservations],
    subjects: &[Subj],
    cluster_of: &[Option<String>],
) -> (Vec<Subj<'static>>, Vec<Vec<usize>>) {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..items.len()).collect();
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let keys = item
            .sha256
            .iter()
            .map(|h| format!("sha256:{h}"))
            .chain(cluster_of[i].iter().map(|c| format!("near:{c}")));
        for key in keys {
            let j = *first.entry(key).or_insert(i);
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..items.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<(String, Vec<usize>)> = groups
        .into_values()
        .filter(|m| m.len() >= 2)
        .map(|mut m| {
            m.sort_by(|&a, &b| {
                (&subjects[a].source, &subjects[a].shown)
                    .cmp(&(&subjects[b].source, &subjects[b].shown))
            });
            let key = m
                .iter()
                .filter_map(|&i| items[i].sha256.as_deref())
                .min()
                .map(|h| format!("sha256:{h}"))
                .unwrap_or_else(|| format!("item:{}", subjects[m[0]].lead));
            (key, m)
        })
        .collect();
    out.sort();
    let mut subjs = Vec::new();
    let mut members = Vec::new();
    for (key, m) in out {
        let first = &subjects[m[0]];
        let devices: BTreeSet<&str> = m.iter().map(|&i| subjects[i].source.as_str()).collect();
        subjs.push(Subj {
            lead: group_lead_id(&Subject::PictureCluster(key).key()),
            shown: format!(
                "{}:{} and {} other cop{}",
                first.source,
                first.shown,
                m.len() - 1,
                if m.len() == 2 { "y" } else { "ies" }
            ),
            source: devices.into_iter().collect::<Vec<_>>().join(", "),
            observations: &[],
            device: "case".into(),
        });
        members.push(m);
    }
    (subjs, members)
}

/// The places of interest pictures were taken at (`location.place_of_interest`), each with
/// its pictures.
fn places_of_interest(
    items: &[ItemObservations],
    subjects: &[Subj],
) -> (Vec<Subj<'static>>, Vec<Vec<usize>>) {
    let mut by_place: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        for o in item
            .observations
            .iter()
            .filter(|o| o.kind == "location.place_of_interest")
        {
            if let Some(place) = o.value.get("place").and_then(Value::as_str) {
                let m = by_place.entry(place.to_string()).or_default();
                if !m.contains(&i) {
                    m.push(i);
                }
            }
        }
    }
    let mut subjs = Vec::new();
    let mut members = Vec::new();
    for (place, m) in by_place {
        let devices: BTreeSet<&str> = m.iter().map(|&i| subjects[i].source.as_str()).collect();
        subjs.push(Subj {
            lead: group_lead_id(&Subject::Place(format!("poi:{place}")).key()),
            shown: place,
            source: devices.into_iter().collect::<Vec<_>>().join(", "),
            observations: &[],
            device: "case".into(),
        });
        members.push(m);
    }
    (subjs, members)
}

/// The pairs of identities in contact of which at least one carries a rule's finding (a
/// pair rule needs one), each once, in the order of their keys.
fn identity_pairs(world: &World, fired: &FiredSets) -> (Vec<Subj<'static>>, Vec<Vec<usize>>) {
    let mut pairs: BTreeSet<(&str, &str, usize, usize)> = BTreeSet::new();
    for a in 0..world.identity_keys.len() {
        if fired.on(SubjectKind::Identity, a).is_empty() {
            continue;
        }
        for b in world.correspondents_of(a) {
            let (ka, kb) = (world.identity_keys[a], world.identity_keys[b]);
            if a == b {
                continue;
            }
            pairs.insert(if ka <= kb {
                (ka, kb, a, b)
            } else {
                (kb, ka, b, a)
            });
        }
    }
    let mut subjs = Vec::new();
    let mut members = Vec::new();
    for (ka, kb, a, b) in pairs {
        let subject = Subject::IdentityPair(ka.to_string(), kb.to_string());
        subjs.push(Subj {
            lead: group_lead_id(&subject.key()),
            shown: format!(
                "{} and {}",
                world.subj(SubjectKind::Identity, a).shown,
                world.subj(SubjectKind::Identity, b).shown
            ),
            source: "network".into(),
            observations: &[],
            device: "network".into(),
        });
        members.push(vec![a, b]);
    }
    (subjs, members)
}

/// Fires `rule` on every subject of its kind.
fn fire_rule<'a>(rule: &'a Rule, world: &World<'a>, fired: &mut FiredSets<'a>) {
    let kind = rule.subject();
    let found: Vec<(usize, Fired)> = (0..world.subjects[kind.index()].len())
        .filter_map(|at| {
            let f = if rule.combine.is_some() {
                fire_combination(rule, world, fired, (kind, at))
            } else {
                fire_on_observations(rule, world.subj(kind, at))
            };
            f.map(|f| (at, f))
        })
        .collect();
    for (at, f) in found {
        fired.0[kind.index()][at].push(f);
    }
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

/// What a lead's `subject` says about a subject, and which subject it is.
fn subject_of(
    world: &World,
    items: &[ItemObservations],
    identities: &[IdentityObservations],
    fired: &FiredSets,
    kind: SubjectKind,
    at: usize,
) -> (Value, Subject, Option<crate::model::ItemId>) {
    let s = world.subj(kind, at);
    let member = |i: usize| {
        let m = world.subj(SubjectKind::Item, i);
        let poi = items[i].observations.iter().find(|o| {
            o.kind == "location.place_of_interest"
                && o.value.get("place").and_then(Value::as_str) == Some(s.shown.as_str())
        });
        let mut v = json!({
            "source": m.source,
            "path": m.shown,
            "sha256": items[i].sha256,
            "lead": (!fired.on(SubjectKind::Item, i).is_empty()).then(|| m.lead.clone()),
        });
        if let Some(o) = poi.filter(|_| kind == SubjectKind::Place) {
            for f in ["latitude", "longitude", "distance_m", "radius_m"] {
                v[f] = o.value.get(f).cloned().unwrap_or(Value::Null);
            }
        }
        v
    };
    let members = || -> Vec<Value> {
        world.members[kind.index()][at]
            .iter()
            .map(|&i| member(i))
            .collect()
    };
    let devices = || -> Vec<&str> { s.source.split(", ").filter(|d| !d.is_empty()).collect() };
    match kind {
        SubjectKind::Item => {
            let item = &items[at];
            (
                json!({"source": item.source, "path": s.shown, "sha256": item.sha256}),
                Subject::Item {
                    source: item.source.clone(),
                    path: item.path.clone(),
                },
                Some(item.item),
            )
        }
        SubjectKind::Identity => (
            json!({"identity": identities[at].key, "label": s.shown}),
            Subject::Identity(identities[at].key.clone()),
            None,
        ),
        SubjectKind::PictureCluster => {
            let shas: Vec<&str> = world.members[kind.index()][at]
                .iter()
                .filter_map(|&i| items[i].sha256.as_deref())
                .collect();
            let key = shas
                .iter()
                .min()
                .map(|h| format!("sha256:{h}"))
                .unwrap_or_else(|| {
                    format!(
                        "item:{}",
                        world
                            .subj(SubjectKind::Item, world.members[kind.index()][at][0])
                            .lead
                    )
                });
            (
                json!({"cluster": key, "label": s.shown, "members": members(), "devices": devices()}),
                Subject::PictureCluster(key),
                None,
            )
        }
        SubjectKind::Place => (
            json!({"place": s.shown, "label": s.shown, "members": members(), "devices": devices()}),
            Subject::Place(format!("poi:{}", s.shown)),
            None,
        ),
        SubjectKind::IdentityPair => {
            let m = &world.members[kind.index()][at];
            let (a, b) = (world.identity_keys[m[0]], world.identity_keys[m[1]]);
            (
                json!({
                    "identities": [a, b],
                    "labels": [world.subj(SubjectKind::Identity, m[0]).shown, world.subj(SubjectKind::Identity, m[1]).shown],
                    "label": s.shown,
                    "leads": [world.subj(SubjectKind::Identity, m[0]).lead, world.subj(SubjectKind::Identity, m[1]).lead],
                }),
                Subject::IdentityPair(a.to_string(), b.to_string()),
                None,
            )
        }
    }
}

/// The leads the rules propose over `items` and the network's `identities`, and over the
/// groups they form (picture clusters, places of interest, pairs of identities in contact),
/// ranked: by score, ties by lead id. A picture cluster or place gathers its members' leads
/// (`part_of`): it ranks at least as high as its strongest member, and the members share its
/// rank. `margins` holds each analyzer's error margin by `store::error_margin_key`.
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
    let (cluster_subjects, cluster_members) = picture_clusters(items, &item_subjects, &cluster_of);
    let (place_subjects, place_members) = places_of_interest(items, &item_subjects);
    let mut world = World {
        item_ids: items.iter().map(|i| i.item.0).collect(),
        identity_keys: identities.iter().map(|i| i.key.as_str()).collect(),
        identity_by_key: identities
            .iter()
            .enumerate()
            .map(|(n, i)| (i.key.as_str(), n))
            .collect(),
        subjects: [
            item_subjects,
            identity_subjects,
            cluster_subjects,
            place_subjects,
            Vec::new(),
        ],
        members: [
            Vec::new(),
            Vec::new(),
            cluster_members,
            place_members,
            Vec::new(),
        ],
        items_by_device,
        cluster_of,
        items_by_cluster,
        similar,
        links,
    };
    let empty = |n: usize| (0..n).map(|_| Vec::new()).collect::<Vec<_>>();
    let mut fired = FiredSets(std::array::from_fn(|k| empty(world.subjects[k].len())));
    // Pairs are built once the rules on identities have fired (a pair needs a member that
    // carries one, and no other subject's rule can require a pair's), so a network of a
    // million contacts is not a million subjects.
    let (pair_rules, other_rules): (Vec<&Rule>, Vec<&Rule>) = rules
        .evaluation_order()
        .into_iter()
        .partition(|r| r.subject() == SubjectKind::IdentityPair);
    for rule in other_rules {
        fire_rule(rule, &world, &mut fired);
    }
    if !pair_rules.is_empty() {
        let (pairs, members) = identity_pairs(&world, &fired);
        let at = SubjectKind::IdentityPair.index();
        fired.0[at] = empty(pairs.len());
        world.subjects[at] = pairs;
        world.members[at] = members;
        for rule in pair_rules {
            fire_rule(rule, &world, &mut fired);
        }
    }
    let mut drafts: Vec<(SubjectKind, usize, LeadDraft)> = Vec::new();
    for kind in SubjectKind::ALL {
        for at in 0..world.subjects[kind.index()].len() {
            let s = world.subj(kind, at);
            let (json, subject, item) = subject_of(&world, items, identities, &fired, kind, at);
            if let Some((score, hits)) = lead_of(rules, margins, s, fired.on(kind, at), json) {
                drafts.push((
                    kind,
                    at,
                    LeadDraft {
                        id: s.lead.clone(),
                        subject,
                        item,
                        score,
                        rank: 0,
                        hits,
                        part_of: None,
                    },
                ));
            }
        }
    }
    gather_and_rank(&world, drafts)
}

/// Puts each member's lead under the strongest group lead gathering it (its own score, ties
/// by id), raises a group to its strongest member's score, and ranks: the leads that stand
/// on their own by score (ties by id), each group's members after it with its rank.
fn gather_and_rank(world: &World, drafts: Vec<(SubjectKind, usize, LeadDraft)>) -> Vec<LeadDraft> {
    let item_lead: HashMap<usize, usize> = drafts
        .iter()
        .enumerate()
        .filter(|(_, d)| d.0 == SubjectKind::Item)
        .map(|(n, d)| (d.1, n))
        .collect();
    // Member lead (index in drafts) → its group lead.
    let mut parent: HashMap<usize, usize> = HashMap::new();
    for (g, (kind, at, lead)) in drafts.iter().enumerate() {
        if !kind.gathers_members() {
            continue;
        }
        for m in &world.members[kind.index()][*at] {
            let Some(&n) = item_lead.get(m) else { continue };
            let better = parent.get(&n).is_none_or(|&p| {
                let other = &drafts[p].2;
                lead.score > other.score || (lead.score == other.score && lead.id < other.id)
            });
            if better {
                parent.insert(n, g);
            }
        }
    }
    let mut leads: Vec<LeadDraft> = drafts.into_iter().map(|d| d.2).collect();
    let mut gathered: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (&m, &g) in &parent {
        gathered.entry(g).or_default().push(m);
    }
    let order =
        |a: &LeadDraft, b: &LeadDraft| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id));
    // In the order they are listed (`parent` is a hash map: its order is not).
    for members in gathered.values_mut() {
        members.sort_by(|&a, &b| order(&leads[a], &leads[b]));
    }
    for (&g, members) in &gathered {
        let own = leads[g].score;
        let best = members.iter().map(|&m| leads[m].score).fold(0.0, f64::max);
        let ids: Vec<String> = members.iter().map(|&m| leads[m].id.clone()).collect();
        let group_id = leads[g].id.clone();
        for &m in members {
            leads[m].part_of = Some(group_id.clone());
            leads[m].hits["part_of"] = json!(group_id);
        }
        let lead = &mut leads[g];
        lead.score = own.max(best);
        lead.hits["gathers"] = json!(ids);
        lead.hits["score"]["own"] = json!(own);
        lead.hits["score"]["best_member"] = json!(best);
        lead.hits["score"]["total"] = json!(lead.score);
        lead.hits["score"]["formula"] = json!(
            "the larger of the group's own score (its rules, as for any lead) and its strongest member's (docs/scoring.md)"
        );
    }
    let mut top: Vec<usize> = (0..leads.len())
        .filter(|n| !parent.contains_key(n))
        .collect();
    top.sort_by(|&a, &b| order(&leads[a], &leads[b]));
    let mut placed: Vec<usize> = Vec::with_capacity(leads.len());
    for (rank, &t) in top.iter().enumerate() {
        leads[t].rank = rank as i64 + 1;
        placed.push(t);
        if let Some(members) = gathered.get(&t) {
            for &m in members {
                leads[m].rank = rank as i64 + 1;
                placed.push(m);
            }
        }
    }
    let mut slots: Vec<Option<LeadDraft>> = leads.into_iter().map(Some).collect();
    placed.into_iter().filter_map(|n| slots[n].take()).collect()
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
    fn groups_gather_their_members_and_pairs_need_distinct_members() {
        let extra = [
            rule("copies", "{ subject = \"picture-cluster\", requires = [{ rules = [\"bad\", \"pdq\"], via = \"members\" }] }"),
            rule("meeting", "{ subject = \"place\", requires = [{ rules = [\"poi\"], via = \"members\", min_devices = 2 }] }"),
            rule("burner-handler", "{ subject = \"identity-pair\", requires = [{ rules = [\"burner\"], via = \"members\" }, { rules = [\"broker\"], via = \"members\" }], distinct = true }"),
        ]
        .concat();
        let rules = rules_of(&extra);
        let with_sha = |mut i: ItemObservations, sha: &str| {
            i.sha256 = Some(sha.into());
            i
        };
        let bad = || obs("hashset.match", "hashsets", json!({"status": "bad"}));
        let cluster = obs("image.near_duplicate", "neardup", json!({"cluster": 1}));
        let poi = |place: &str| {
            obs(
                "location.place_of_interest",
                "places-of-interest",
                json!({"place": place, "latitude": 43.46, "longitude": 11.88}),
            )
        };
        let items = [
            with_sha(
                item(1, "laptop", "bad.png", vec![bad(), cluster.clone()]),
                "aa",
            ),
            // An identical copy (the same SHA-256) and a near-duplicate (one PDQ cluster).
            with_sha(item(2, "phone", "copy.png", vec![bad()]), "aa"),
            item(
                3,
                "usb",
                "near.jpg",
                vec![
                    obs("image.pdq_match", "pdq", json!({"status": "bad"})),
                    cluster,
                ],
            ),
            with_sha(item(4, "usb", "other.png", vec![bad()]), "bb"),
            item(5, "phone", "square-1.jpg", vec![poi("Square")]),
            item(6, "laptop", "square-2.jpg", vec![poi("Square")]),
            item(7, "phone", "pier.jpg", vec![poi("Pier")]),
        ];
        let metrics = |label: &str, rank: i64| {
            obs(
                "network.metrics",
                "network",
                json!({"label": label, "betweenness_rank": rank}),
            )
        };
        let burner = || obs("network.burner", "network", json!({"label": "burner"}));
        let ids = [
            identity("tel:+1", vec![metrics("Bram", 1)]),
            identity("tel:+3", vec![burner()]),
            // Both a broker and a burner: a pair with someone plain is not "a burner and
            // a central person".
            identity("tel:+4", vec![metrics("Dirk", 1), burner()]),
            identity("tel:+6", vec![metrics("Eva", 9)]),
        ];
        let mut links = Links::default();
        for (a, b) in [
            ("tel:+1", "tel:+3"),
            ("tel:+4", "tel:+6"),
            ("tel:+4", "tel:+9"),
        ] {
            links
                .correspondents
                .entry(a.into())
                .or_default()
                .insert(b.into());
            links
                .correspondents
                .entry(b.into())
                .or_default()
                .insert(a.into());
        }
        let leads = evaluate(&rules, &HashMap::new(), &items, &ids, &links);
        let find = |id: &str| leads.iter().find(|l| l.id == id);
        let cluster_id = group_lead_id("picture-cluster:sha256:aa");
        let cluster = find(&cluster_id).expect("a lead on the picture cluster");
        let members: Vec<&str> = cluster.hits["subject"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["path"].as_str().unwrap())
            .collect();
        assert_eq!(members, ["bad.png", "copy.png", "near.jpg"]);
        assert_eq!(
            cluster.hits["subject"]["devices"],
            json!(["laptop", "phone", "usb"])
        );
        for (source, path) in [
            ("laptop", "bad.png"),
            ("phone", "copy.png"),
            ("usb", "near.jpg"),
        ] {
            let m = find(&item_lead_id(source, path.as_bytes())).unwrap();
            assert_eq!(m.part_of.as_deref(), Some(cluster_id.as_str()), "{path}");
            assert_eq!(m.hits["part_of"], json!(cluster_id));
            assert_eq!(m.rank, cluster.rank, "members share their group's rank");
        }
        // A file with no copy stands alone.
        let other = find(&item_lead_id("usb", b"other.png")).unwrap();
        assert_eq!(other.part_of, None);
        // The group ranks at least as high as its strongest member: own 30, best member 100.
        assert_eq!(cluster.hits["score"]["own"], json!(30.0));
        assert_eq!(cluster.score, 100.0);
        // Two devices at the square make a place lead; the pier, one device, does not.
        let square = find(&group_lead_id("place:poi:Square")).expect("the square's lead");
        assert_eq!(
            square.hits["subject"]["members"].as_array().unwrap().len(),
            2
        );
        assert_eq!(
            square.hits["subject"]["members"][0]["latitude"],
            json!(43.46)
        );
        assert!(find(&group_lead_id("place:poi:Pier")).is_none());
        assert_eq!(
            find(&item_lead_id("phone", b"pier.jpg")).unwrap().part_of,
            None
        );
        // The pair: a burner and a broker, each on one side. Dirk alone is both; his
        // pair with Eva does not fire, and a contact outside the identities is no pair.
        let pair = find(&group_lead_id("identity-pair:tel:+1|tel:+3")).expect("the pair's lead");
        assert_eq!(
            pair.hits["subject"]["identities"],
            json!(["tel:+1", "tel:+3"])
        );
        assert_eq!(pair.hits["hits"][0]["parts"].as_array().unwrap().len(), 2);
        assert!(find(&group_lead_id("identity-pair:tel:+4|tel:+6")).is_none());
        assert!(
            !leads
                .iter()
                .any(|l| l.subject.kind() == "identity-pair" && l.id != pair.id)
        );
        // Ranks: the leads that stand alone are 1..n with no gap, each group before its members.
        let mut expected = 1;
        for (n, l) in leads.iter().enumerate() {
            if l.part_of.is_none() {
                assert_eq!(l.rank, expected);
                expected += 1;
            } else {
                assert!(leads[..n].iter().any(|g| Some(&g.id) == l.part_of.as_ref()));
            }
        }
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
            e.contains("line 9") && e.contains("starts from an identity"),
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

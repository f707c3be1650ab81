//! The rules: data in TOML, validated when they load against the catalogue of observation
//! kinds (model::OBSERVATION_KINDS), so a misspelt kind or field is an error with its line.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::audit::digest_hex;

pub const DEFAULT_RULES: &str = include_str!("default_rules.toml");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: String,
    #[serde(rename = "rule", default)]
    rules: Vec<Rule>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    /// The observation kinds the rule fires on (empty for a combination).
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(rename = "where", default)]
    pub conditions: BTreeMap<String, Condition>,
    #[serde(default)]
    pub unless: Vec<Unless>,
    /// Observations the same subject must also have for the rule to fire ("a nudity score
    /// together with detected faces"); they are listed with the lead as corroboration.
    #[serde(default)]
    pub with: Vec<Unless>,
    /// A combination across modalities: fires on a subject when other rules fired on it or
    /// on subjects related to it (an identity's devices' items, an item's device owner …).
    #[serde(default)]
    pub combine: Option<Combine>,
    pub weight: f64,
    pub explain: String,
    /// Its leads count as findings only once two distinct reviewers confirmed them.
    #[serde(default)]
    pub four_eyes: bool,
}

/// A combination rule's subject and what it requires.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Combine {
    pub subject: SubjectKind,
    pub requires: Vec<Requirement>,
    /// The combination does not fire on a subject these rules already fired on (a
    /// near-duplicate of a known-bad picture that is itself listed adds nothing).
    #[serde(default)]
    pub unless_fired: Vec<String>,
    /// Each requirement must be met on a different subject (a pair: the burner on one side,
    /// the central person on the other).
    #[serde(default)]
    pub distinct: bool,
}

/// One requirement: one of `rules` fired on a subject reached by `via`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub rules: Vec<String>,
    pub via: Relation,
    /// The rules must have fired on subjects of at least this many devices (a picture
    /// spread over devices, a place visited by several).
    #[serde(default)]
    pub min_devices: Option<usize>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    Item,
    Identity,
    /// Identical copies and PDQ near-duplicates of one picture, on any device: its members'
    /// leads are gathered under it.
    PictureCluster,
    /// A place of interest, with the pictures taken there: its members' leads are gathered
    /// under it.
    Place,
    /// Two identities in contact.
    IdentityPair,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 5] = [
        SubjectKind::Item,
        SubjectKind::Identity,
        SubjectKind::PictureCluster,
        SubjectKind::Place,
        SubjectKind::IdentityPair,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// As stored in `leads.subject` (model::SUBJECT_KINDS).
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Item => "item",
            SubjectKind::Identity => "identity",
            SubjectKind::PictureCluster => "picture-cluster",
            SubjectKind::Place => "place",
            SubjectKind::IdentityPair => "identity-pair",
        }
    }

    /// A group gathers its members' leads under its own (picture clusters, places).
    pub fn gathers_members(self) -> bool {
        matches!(self, SubjectKind::PictureCluster | SubjectKind::Place)
    }
}

/// How a combination reaches from its subject to the subjects of another rule.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// The subject itself.
    #[serde(rename = "self")]
    Itself,
    /// Identity → the items on the devices it owns (`--owner`).
    DeviceItems,
    /// Identity → the items in whose records (messages) it is the sender, where the other
    /// rule's observation occurs in such a record: "an IBAN sent by".
    Sent,
    /// Identity → the identities it has contact with.
    Correspondents,
    /// Item → the identities owning its device.
    Owner,
    /// Item → the identities the owners of its device have contact with.
    OwnerCorrespondents,
    /// Item → the other pictures of its near-duplicate cluster (on any device).
    NearDuplicates,
    /// Item → the pictures on other devices its embedding is closest to (`image.similar`).
    SimilarOnOtherDevices,
    /// A picture cluster or a place → its items; a pair → its two identities.
    Members,
}

impl Relation {
    /// The kind of subject the relation reaches from `from`, or None when it does not start
    /// there.
    pub fn reaches(self, from: SubjectKind) -> Option<SubjectKind> {
        use SubjectKind::*;
        match (self, from) {
            (Relation::Itself, _) => Some(from),
            (Relation::DeviceItems | Relation::Sent, Identity) => Some(Item),
            (Relation::Correspondents, Identity) => Some(Identity),
            (Relation::Owner | Relation::OwnerCorrespondents, Item) => Some(Identity),
            (Relation::NearDuplicates | Relation::SimilarOnOtherDevices, Item) => Some(Item),
            (Relation::Members, PictureCluster | Place) => Some(Item),
            (Relation::Members, IdentityPair) => Some(Identity),
            _ => None,
        }
    }

    /// The kinds the relation starts from, in words.
    fn starts_from(self) -> &'static str {
        match self {
            Relation::Itself => "any subject",
            Relation::DeviceItems | Relation::Sent | Relation::Correspondents => "an identity",
            Relation::Owner
            | Relation::OwnerCorrespondents
            | Relation::NearDuplicates
            | Relation::SimilarOnOtherDevices => "an item",
            Relation::Members => "a picture cluster, a place or an identity pair",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Itself => "self",
            Relation::DeviceItems => "device-items",
            Relation::Sent => "sent",
            Relation::Correspondents => "correspondents",
            Relation::Owner => "owner",
            Relation::OwnerCorrespondents => "owner-correspondents",
            Relation::NearDuplicates => "near-duplicates",
            Relation::SimilarOnOtherDevices => "similar-on-other-devices",
            Relation::Members => "members",
        }
    }
}

impl Rule {
    /// What the rule's leads are about: identities for the network's kinds and for a
    /// combination on identities, items for the rest.
    pub fn subject(&self) -> SubjectKind {
        match &self.combine {
            Some(c) => c.subject,
            None if self.kinds.iter().all(|k| k.starts_with("network.")) => SubjectKind::Identity,
            None => SubjectKind::Item,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Unless {
    pub kind: String,
    #[serde(rename = "where", default)]
    pub conditions: BTreeMap<String, Condition>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Condition {
    Ops(Ops),
    Equals(Value),
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ops {
    eq: Option<Value>,
    ne: Option<Value>,
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
    #[serde(rename = "in")]
    one_of: Option<Vec<Value>>,
}

impl Condition {
    pub(super) fn holds(&self, actual: Option<&Value>) -> bool {
        let actual = actual.unwrap_or(&Value::Null);
        match self {
            Condition::Equals(v) => values_equal(actual, v),
            Condition::Ops(o) => {
                let num = actual.as_f64();
                o.eq.as_ref().is_none_or(|v| values_equal(actual, v))
                    && o.ne.as_ref().is_none_or(|v| !values_equal(actual, v))
                    && o.gt.is_none_or(|t| num.is_some_and(|n| n > t))
                    && o.gte.is_none_or(|t| num.is_some_and(|n| n >= t))
                    && o.lt.is_none_or(|t| num.is_some_and(|n| n < t))
                    && o.lte.is_none_or(|t| num.is_some_and(|n| n <= t))
                    && o.one_of
                        .as_ref()
                        .is_none_or(|list| list.iter().any(|v| values_equal(actual, v)))
            }
        }
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A rule names only observation kinds spoor makes, and only their fields (in `where`, in
/// `unless`, and as `{field}` in `explain`): a misspelt kind or field would load and never
/// fire (issue 12.6), so it is an error naming the rule's line.
fn check_against_catalogue(rule: &Rule) -> Result<(), String> {
    use crate::model::{OBSERVATION_ATTRIBUTES, closest_kind, observation_kind};
    let known = |kind: &str| {
        observation_kind(kind).ok_or_else(|| {
            format!(
                "unknown observation kind {kind:?}{}",
                closest_kind(kind).map_or(String::new(), |k| format!(" (did you mean {k:?}?)"))
            )
        })
    };
    let kinds = rule
        .kinds
        .iter()
        .map(|k| known(k))
        .collect::<Result<Vec<_>, _>>()?;
    let has_field = |kinds: &[&crate::model::KindSpec], field: &str| {
        OBSERVATION_ATTRIBUTES.contains(&field) || kinds.iter().any(|k| k.fields.contains(&field))
    };
    let names = |kinds: &[&crate::model::KindSpec]| {
        kinds.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
    };
    for field in rule.conditions.keys() {
        if !has_field(&kinds, field) {
            return Err(format!(
                "`where` names {field:?}, which no observation of {} has",
                names(&kinds)
            ));
        }
    }
    let mut rest = rule.explain.as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let field = &rest[open + 1..open + close];
        if !matches!(field, "path" | "source") && !has_field(&kinds, field) {
            return Err(format!(
                "`explain` uses {{{field}}}, which no observation of {} has",
                names(&kinds)
            ));
        }
        rest = &rest[open + close + 1..];
    }
    for u in rule.unless.iter().chain(&rule.with) {
        let kind = known(&u.kind)?;
        for field in u.conditions.keys() {
            if !has_field(&[kind], field) {
                return Err(format!(
                    "`unless`/`with` names {field:?}, which no observation of {} has",
                    kind.name
                ));
            }
        }
    }
    Ok(())
}

/// Thresholds a rule can meet: finite numbers, a confidence within 0..1, and a range that is
/// not empty (`gt = 5, lt = 3` would never fire).
fn check_threshold(field: &str, c: &Condition) -> Result<(), String> {
    let Condition::Ops(o) = c else {
        return Ok(());
    };
    for (name, t) in [("gt", o.gt), ("gte", o.gte), ("lt", o.lt), ("lte", o.lte)] {
        let Some(t) = t else { continue };
        if !t.is_finite() {
            return Err(format!(
                "threshold {field} {name} = {t} is not a finite number"
            ));
        }
        if field == "confidence" && !(0.0..=1.0).contains(&t) {
            return Err(format!(
                "threshold confidence {name} = {t}: a confidence is between 0 and 1"
            ));
        }
    }
    let low =
        o.gt.into_iter()
            .chain(o.gte)
            .fold(f64::NEG_INFINITY, f64::max);
    let high = o.lt.into_iter().chain(o.lte).fold(f64::INFINITY, f64::min);
    let closed = o.gte.is_some_and(|g| g == low) && o.lte.is_some_and(|l| l == high);
    if low > high || (low == high && !closed) {
        return Err(format!(
            "thresholds on {field} leave no value ({low} .. {high}): the rule could never fire"
        ));
    }
    Ok(())
}

/// A combination's explanation may use `{path}` (the subject as shown), `{source}` (its
/// devices) and `{evidence}` (the leads it rests on, in words).
fn check_combination_explain(rule: &Rule) -> Result<(), String> {
    let mut rest = rule.explain.as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let field = &rest[open + 1..open + close];
        if !matches!(
            field,
            "path" | "source" | "evidence" | "label" | "members" | "devices"
        ) {
            return Err(format!(
                "`explain` uses {{{field}}}; a combination knows {{path}}, {{label}}, {{source}}, {{evidence}}, {{members}} and {{devices}}"
            ));
        }
        rest = &rest[open + close + 1..];
    }
    Ok(())
}

/// Combinations name existing rules, over relations that fit their subjects, and form no
/// cycle. `Ok(Some(message))` names the first problem with its line.
fn check_combinations(rules: &[Rule], line_of: &dyn Fn(&str) -> usize) -> Result<(), String> {
    let by_id: HashMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), r)).collect();
    for rule in rules {
        let Some(c) = &rule.combine else { continue };
        let at = line_of(&format!("\"{}\"", rule.id));
        let bad = |why: String| -> Result<(), String> {
            Err(format!("line {at}: rule {:?}: {why}", rule.id))
        };
        if c.requires.is_empty() {
            return bad("`combine.requires` is empty".into());
        }
        if c.distinct && c.requires.len() < 2 {
            return bad("`distinct` needs two requirements or more".into());
        }
        for id in &c.unless_fired {
            match by_id.get(id.as_str()) {
                None => return bad(format!("`unless_fired` names the unknown rule {id:?}")),
                Some(other) if other.subject() != c.subject => {
                    return bad(format!(
                        "`unless_fired` names {id:?}, which is about {:?}, not {:?}",
                        other.subject(),
                        c.subject
                    ));
                }
                _ => {}
            }
        }
        for req in &c.requires {
            let Some(to) = req.via.reaches(c.subject) else {
                return bad(format!(
                    "`via = \"{}\"` starts from {}, but the combination is about {}",
                    req.via.as_str(),
                    req.via.starts_from(),
                    c.subject.as_str()
                ));
            };
            if req.min_devices == Some(0) {
                return bad(
                    "`min_devices = 0` asks for nothing: leave it out or give 1 or more".into(),
                );
            }
            if req.rules.is_empty() {
                return bad("a requirement names no rule".into());
            }
            for id in &req.rules {
                let Some(other) = by_id.get(id.as_str()) else {
                    return bad(format!("requires the unknown rule {id:?}"));
                };
                if other.subject() != to {
                    return bad(format!(
                        "requires {id:?} via \"{}\", which reaches {:?}, but {id:?} is about {:?}",
                        req.via.as_str(),
                        to,
                        other.subject()
                    ));
                }
            }
        }
    }
    // Cycles: depth-first over "requires", colouring rules on the current path.
    fn visit<'a>(
        id: &'a str,
        by_id: &HashMap<&'a str, &'a Rule>,
        state: &mut HashMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match state.get(id) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| *p == id).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(id);
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(id, 1);
        path.push(id);
        if let Some(c) = by_id.get(id).and_then(|r| r.combine.as_ref()) {
            for next in c
                .requires
                .iter()
                .flat_map(|q| &q.rules)
                .chain(&c.unless_fired)
            {
                {
                    if let Some(cycle) = visit(next.as_str(), by_id, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(id, 2);
        None
    }
    let mut state = HashMap::new();
    for rule in rules {
        if let Some(cycle) = visit(rule.id.as_str(), &by_id, &mut state, &mut Vec::new()) {
            let at = line_of(&format!("\"{}\"", cycle[0]));
            return Err(format!(
                "line {at}: rule {:?}: a cycle of combinations: {}",
                cycle[0],
                cycle.join(" → ")
            ));
        }
    }
    Ok(())
}

impl RuleSet {
    /// The rules in the order combinations can be evaluated: every rule after the rules it
    /// requires (the order of the file otherwise).
    pub fn evaluation_order(&self) -> Vec<&Rule> {
        let mut done: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut out = Vec::new();
        while out.len() < self.rules.len() {
            let before = out.len();
            for r in &self.rules {
                if done.contains(r.id.as_str()) {
                    continue;
                }
                let ready = r.combine.as_ref().is_none_or(|c| {
                    c.requires
                        .iter()
                        .flat_map(|q| &q.rules)
                        .chain(&c.unless_fired)
                        .all(|id| done.contains(id.as_str()))
                });
                if ready {
                    done.insert(r.id.as_str());
                    out.push(r);
                }
            }
            if out.len() == before {
                break; // a cycle: refused at load, so not reached
            }
        }
        out
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// A validated rule set with its text and digest (recorded with every run and lead).
#[derive(Clone, Debug)]
pub struct RuleSet {
    pub version: String,
    pub rules: Vec<Rule>,
    pub source_text: String,
    pub digest: String,
    pub origin: String,
}

impl RuleSet {
    pub fn default_set() -> RuleSet {
        RuleSet::parse(DEFAULT_RULES, "built-in default rules")
            .expect("the embedded rules are valid (tested)")
    }

    pub fn from_file(path: &Path) -> Result<RuleSet, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("rules file {}: {e}", path.display()))?;
        RuleSet::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<RuleSet, String> {
        let file: RulesFile =
            toml::from_str(text).map_err(|e| format!("rules file {origin}: {e}"))?;
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .map(|n| n + 1)
                .unwrap_or(0)
        };
        let mut seen = HashMap::new();
        for rule in &file.rules {
            let at = line_of(&format!("\"{}\"", rule.id));
            let bad = |reason: String| {
                format!(
                    "rules file {origin}: line {at}: rule {:?}: {reason}",
                    rule.id
                )
            };
            if rule.id.trim().is_empty() {
                return Err(bad("empty id".into()));
            }
            if let Some(first) = seen.insert(rule.id.clone(), at) {
                return Err(bad(format!("duplicate id (first at line {first})")));
            }
            match (&rule.combine, rule.kinds.is_empty()) {
                (None, true) => {
                    return Err(bad("`kinds` is empty: the rule could never fire".into()));
                }
                (Some(_), false) => {
                    return Err(bad(
                        "a rule has either `kinds` or `combine`, not both".into()
                    ));
                }
                _ => {}
            }
            if rule.combine.is_none() {
                let network = rule
                    .kinds
                    .iter()
                    .filter(|k| k.starts_with("network."))
                    .count();
                if network != 0 && network != rule.kinds.len() {
                    return Err(bad(
                        "`kinds` mixes the network's kinds (about identities) with kinds about items"
                            .into(),
                    ));
                }
            }
            if rule.combine.is_some()
                && !(rule.conditions.is_empty() && rule.unless.is_empty() && rule.with.is_empty())
            {
                return Err(bad(
                    "a combination has no `where`, `unless` or `with`: it reads other rules' leads"
                        .into(),
                ));
            }
            if !rule.weight.is_finite() || rule.weight <= 0.0 {
                return Err(bad(format!(
                    "weight {} must be a positive number",
                    rule.weight
                )));
            }
            if rule.explain.matches('{').count() != rule.explain.matches('}').count() {
                return Err(bad("unbalanced braces in `explain`".into()));
            }
            if rule.combine.is_none() {
                check_against_catalogue(rule).map_err(bad)?;
            } else {
                check_combination_explain(rule).map_err(bad)?;
            }
            for (field, c) in rule
                .conditions
                .iter()
                .chain(rule.unless.iter().flat_map(|u| u.conditions.iter()))
                .chain(rule.with.iter().flat_map(|u| u.conditions.iter()))
            {
                check_threshold(field, c).map_err(bad)?;
                if let Condition::Ops(o) = c
                    && o.eq.is_none()
                    && o.ne.is_none()
                    && o.gt.is_none()
                    && o.gte.is_none()
                    && o.lt.is_none()
                    && o.lte.is_none()
                    && o.one_of.is_none()
                {
                    return Err(bad(
                        "a condition table needs one of eq, ne, gt, gte, lt, lte, in".into(),
                    ));
                }
            }
        }
        check_combinations(&file.rules, &line_of)
            .map_err(|e| format!("rules file {origin}: {e}"))?;
        Ok(RuleSet {
            version: file.version,
            rules: file.rules,
            source_text: text.to_string(),
            digest: digest_hex(text.as_bytes()),
            origin: origin.to_string(),
        })
    }

    /// Every observation kind the rules read (fired on or in `unless`).
    pub fn kinds(&self) -> Vec<String> {
        let mut k: Vec<String> = self
            .rules
            .iter()
            .flat_map(|r| {
                r.kinds
                    .iter()
                    .cloned()
                    .chain(r.unless.iter().map(|u| u.kind.clone()))
                    .chain(r.with.iter().map(|u| u.kind.clone()))
            })
            .collect();
        // Read for every lead: a known-good match is a counter-indication, near-duplicate
        // clusters and similar pictures link pictures for combinations.
        k.push("hashset.match".into());
        k.push("image.near_duplicate".into());
        k.push("image.similar".into());
        // Places gather the pictures taken at a place of interest.
        k.push("location.place_of_interest".into());
        k.sort();
        k.dedup();
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_are_valid() {
        let r = RuleSet::default_set();
        assert!(r.rules.iter().any(|r| r.id == "hashset-known-bad"));
    }

    #[test]
    fn invalid_rules_name_the_line() {
        let err = RuleSet::parse("version = \"1\"\n[[rule]]\nid = \"x\"\ntitle = \"t\"\nkinds = []\nweight = 1.0\nexplain = \"e\"\n", "r.toml").unwrap_err();
        assert!(err.contains("line 3") && err.contains("kinds"), "{err}");
        // Issue 12.6: a misspelt kind or field is refused with the rule's line.
        let rule = |body: &str| {
            format!("version = \"1\"\n[[rule]]\nid = \"x\"\ntitle = \"t\"\n{body}\nweight = 1.0\n")
        };
        let err = RuleSet::parse(
            &rule("kinds = [\"hashset.mach\"]\nexplain = \"e\""),
            "r.toml",
        )
        .unwrap_err();
        assert!(
            err.contains("line 3")
                && err.contains(
                    "unknown observation kind \"hashset.mach\" (did you mean \"hashset.match\"?)"
                ),
            "{err}"
        );
        let err = RuleSet::parse(
            &rule("kinds = [\"hashset.match\"]\nwhere = { staus = \"bad\" }\nexplain = \"e\""),
            "r.toml",
        )
        .unwrap_err();
        assert!(
            err.contains("\"staus\", which no observation of hashset.match has"),
            "{err}"
        );
        let err = RuleSet::parse(
            &rule("kinds = [\"hashset.match\"]\nexplain = \"{path} {sett}\""),
            "r.toml",
        )
        .unwrap_err();
        assert!(err.contains("{sett}"), "{err}");
        let err = RuleSet::parse(&rule("kinds = [\"hashset.match\"]\nunless = [{ kind = \"image.pdq\", where = { status = \"good\" } }]\nexplain = \"e\""), "r.toml").unwrap_err();
        assert!(err.contains("`unless`/`with` names \"status\""), "{err}");
        assert!(RuleSet::parse(&rule("kinds = [\"hashset.match\"]\nwhere = { status = \"bad\", confidence = { gte = 0.5 } }\nexplain = \"{path} on {source}: {set}\""), "r.toml").is_ok());
        let err = RuleSet::parse(
            "version = \"1\"\n[[rule]]\nid = \"x\"\nbogus = 1\n",
            "r.toml",
        )
        .unwrap_err();
        assert!(err.contains("line 4") || err.contains("bogus"), "{err}");
    }
}

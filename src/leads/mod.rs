//! Rules (data, in TOML) and the leads they produce.
//!
//! Takes the observations in the store and a [`RuleSet`]; produces one lead per subject with
//! every rule that fired on it, the observations each rule rested on (with the analyzer's
//! error margin), a score and a deterministic rank. A lead is a proposal: its state changes
//! only through a recorded review. Rebuilding keeps reviewed leads (marked inactive when no
//! rule fires any more) and drops unreviewed ones that no longer fire.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::case::audit::digest_hex;

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
    pub kinds: Vec<String>,
    #[serde(rename = "where", default)]
    pub conditions: BTreeMap<String, Condition>,
    #[serde(default)]
    pub unless: Vec<Unless>,
    pub weight: f64,
    pub explain: String,
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
    fn holds(&self, actual: Option<&Value>) -> bool {
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
    let has_field = |kinds: &[&crate::model::ObservationKind], field: &str| {
        OBSERVATION_ATTRIBUTES.contains(&field) || kinds.iter().any(|k| k.fields.contains(&field))
    };
    let names = |kinds: &[&crate::model::ObservationKind]| {
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
    for u in &rule.unless {
        let kind = known(&u.kind)?;
        for field in u.conditions.keys() {
            if !has_field(&[kind], field) {
                return Err(format!(
                    "`unless` names {field:?}, which no observation of {} has",
                    kind.name
                ));
            }
        }
    }
    Ok(())
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
            if rule.kinds.is_empty() {
                return Err(bad("`kinds` is empty: the rule could never fire".into()));
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
            check_against_catalogue(rule).map_err(bad)?;
            for c in rule
                .conditions
                .values()
                .chain(rule.unless.iter().flat_map(|u| u.conditions.values()))
            {
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
        Ok(RuleSet {
            version: file.version,
            rules: file.rules,
            source_text: text.to_string(),
            digest: digest_hex(text.as_bytes()),
            origin: origin.to_string(),
        })
    }

    fn kinds(&self) -> Vec<String> {
        let mut k: Vec<String> = self
            .rules
            .iter()
            .flat_map(|r| {
                r.kinds
                    .iter()
                    .cloned()
                    .chain(r.unless.iter().map(|u| u.kind.clone()))
            })
            .collect();
        k.sort();
        k.dedup();
        k
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct LeadCounts {
    pub active: i64,
    pub proposed: i64,
    pub confirmed: i64,
    pub rejected: i64,
    pub needs_info: i64,
}

#[derive(Clone, Debug)]
struct StoredObservation {
    kind: String,
    analyzer: String,
    analyzer_version: String,
    value: Value,
    confidence: f64,
    provenance: Value,
}

impl StoredObservation {
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
                Some(v) => v.to_string(),
            },
        };
        out.push_str(&text);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Recomputes every lead from the stored observations, in one transaction.
pub fn rebuild(conn: &mut Connection, rules: &RuleSet) -> rusqlite::Result<LeadCounts> {
    let tx = conn.transaction()?;
    let margins: HashMap<String, String> = {
        let mut stmt = tx.prepare("SELECT key, value FROM meta WHERE key LIKE 'analyzer:%'")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let kinds = rules.kinds();
    let mut by_item: BTreeMap<i64, (String, Vec<u8>, Vec<StoredObservation>)> = BTreeMap::new();
    {
        let placeholders = vec!["?"; kinds.len()].join(",");
        let sql = format!(
            "SELECT o.item_id, s.label, i.path, o.kind, o.analyzer, o.analyzer_version, o.value, o.confidence, o.provenance
             FROM observations o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
             WHERE o.kind IN ({placeholders}) ORDER BY o.item_id, o.kind, o.analyzer, o.value"
        );
        let mut stmt = tx.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(kinds.iter()))?;
        while let Some(r) = rows.next()? {
            let item: i64 = r.get(0)?;
            let obs = StoredObservation {
                kind: r.get(3)?,
                analyzer: r.get(4)?,
                analyzer_version: r.get(5)?,
                value: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or(Value::Null),
                confidence: r.get(7)?,
                provenance: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or(Value::Null),
            };
            by_item
                .entry(item)
                .or_insert_with(|| {
                    (
                        r.get(1).unwrap_or_default(),
                        r.get(2).unwrap_or_default(),
                        Vec::new(),
                    )
                })
                .2
                .push(obs);
        }
    }

    let mut leads: Vec<(String, i64, crate::model::Subject, f64, Value)> = Vec::new();
    for (item_id, (label, path, observations)) in &by_item {
        let shown = crate::evidence::display_path(path);
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
                "explanation": render(&rule.explain, best, &shown, label),
                "observations": matched.iter().map(|o| json!({
                    "kind": o.kind,
                    "analyzer": o.analyzer,
                    "analyzer_version": o.analyzer_version,
                    "value": o.value,
                    "confidence": o.confidence,
                    "provenance": o.provenance,
                    "error_margin": margins.get(&crate::case::error_margin_key(&o.analyzer, &o.analyzer_version)),
                })).collect::<Vec<_>>(),
            }));
        }
        if !hits.is_empty() {
            let hits = json!({"subject": {"source": label, "path": shown}, "rules_version": rules.version, "hits": hits});
            let subject = crate::model::Subject::Item {
                source: label.clone(),
                path: path.clone(),
            };
            leads.push((item_lead_id(label, path), *item_id, subject, score, hits));
        }
    }
    leads.sort_by(|a, b| b.3.total_cmp(&a.3).then_with(|| a.0.cmp(&b.0)));

    tx.execute("UPDATE leads SET active = 0, rank = 0", [])?;
    {
        let mut upsert = tx.prepare(
            "INSERT INTO leads(id, subject, subject_key, item_id, score, rank, hits, rules_digest, active, state) VALUES (?1,?7,?8,?2,?3,?4,?5,?6,1,'proposed')
             ON CONFLICT(id) DO UPDATE SET subject = excluded.subject, subject_key = excluded.subject_key, item_id = excluded.item_id, score = excluded.score, rank = excluded.rank, hits = excluded.hits, rules_digest = excluded.rules_digest, active = 1",
        )?;
        for (rank, (id, item_id, subject, score, hits)) in leads.iter().enumerate() {
            upsert.execute(params![
                id,
                item_id,
                score,
                rank as i64 + 1,
                hits.to_string(),
                rules.digest,
                subject.kind(),
                subject.key()
            ])?;
        }
    }
    tx.execute(
        "DELETE FROM leads WHERE active = 0 AND id NOT IN (SELECT lead_id FROM reviews)",
        [],
    )?;
    let counts = counts(&tx)?;
    tx.commit()?;
    Ok(counts)
}

pub fn counts(conn: &Connection) -> rusqlite::Result<LeadCounts> {
    let n = |clause: &str| -> rusqlite::Result<i64> {
        conn.query_row(
            &format!("SELECT COUNT(*) FROM leads WHERE {clause}"),
            [],
            |r| r.get(0),
        )
    };
    Ok(LeadCounts {
        active: n("active = 1")?,
        proposed: n("state = 'proposed'")?,
        confirmed: n("state = 'confirmed'")?,
        rejected: n("state = 'rejected'")?,
        needs_info: n("state = 'needs-info'")?,
    })
}

/// A lead as listed and exported.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LeadRow {
    pub id: String,
    /// What the lead is about: `item`, `identity`, `identity-pair`, `place`,
    /// `picture-cluster` or `case` (model::Subject), and which one (`item:42`).
    pub subject: String,
    pub subject_key: String,
    pub rank: i64,
    pub score: f64,
    pub state: crate::model::LeadState,
    pub active: bool,
    pub source: String,
    pub path: String,
    pub rules: Vec<String>,
    pub hits: Value,
    pub rules_digest: String,
    /// Key of the item's thumbnail under CASE/thumbs (its SHA-256, a frame's pixel SHA-256),
    /// when it is a picture; the file exists only if the item was decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_key: Option<String>,
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<LeadRow>> {
    let mut stmt = conn.prepare(
        "SELECT l.id, l.rank, l.score, l.state, l.active, s.label, i.path, l.hits, l.rules_digest,
                CASE WHEN i.mime NOT LIKE 'image/%' THEN NULL
                     WHEN i.sha256 IS NOT NULL THEN lower(hex(i.sha256))
                     ELSE json_extract(i.derivation, '$.pixels_sha256') END,
                l.subject, l.subject_key
         FROM leads l LEFT JOIN items i ON i.id = l.item_id LEFT JOIN sources s ON s.id = i.source_id
         ORDER BY l.active DESC, l.rank, l.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let damaged = |column: usize, what: String| {
            rusqlite::Error::FromSqlConversionFailure(
                column,
                rusqlite::types::Type::Text,
                what.into(),
            )
        };
        let hits: Value = serde_json::from_str(&r.get::<_, String>(7)?)
            .map_err(|e| damaged(7, format!("a lead's stored hits do not read back ({e})")))?;
        let state: String = r.get(3)?;
        let state = crate::model::LeadState::parse(&state)
            .ok_or_else(|| damaged(3, format!("unknown lead state {state:?} in the case store")))?;
        let rules = hits["hits"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h["rule"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(LeadRow {
            id: r.get(0)?,
            subject: r.get(10)?,
            subject_key: r.get(11)?,
            rank: r.get(1)?,
            score: r.get(2)?,
            state,
            active: r.get::<_, i64>(4)? != 0,
            source: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            path: r
                .get::<_, Option<Vec<u8>>>(6)?
                .map(|p| crate::evidence::display_path(&p))
                .unwrap_or_default(),
            rules,
            hits,
            rules_digest: r.get(8)?,
            thumbnail_key: r.get(9)?,
        })
    })?;
    rows.collect()
}

/// Finds a lead by its id or a unique prefix of it.
pub fn resolve_id(conn: &Connection, wanted: &str) -> Result<String, String> {
    let mut stmt = conn
        .prepare("SELECT id FROM leads WHERE id LIKE ?1 || '%' ORDER BY id")
        .map_err(|e| e.to_string())?;
    let ids: Vec<String> = stmt
        .query_map([wanted], |r| r.get(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("no lead {wanted:?} in this case")),
        many => Err(format!("{wanted:?} is ambiguous: {}", many.join(", "))),
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
        assert!(err.contains("`unless` names \"status\""), "{err}");
        assert!(RuleSet::parse(&rule("kinds = [\"hashset.match\"]\nwhere = { status = \"bad\", confidence = { gte = 0.5 } }\nexplain = \"{path} on {source}: {set}\""), "r.toml").is_ok());
        let err = RuleSet::parse(
            "version = \"1\"\n[[rule]]\nid = \"x\"\nbogus = 1\n",
            "r.toml",
        )
        .unwrap_err();
        assert!(err.contains("line 4") || err.contains("bogus"), "{err}");
    }

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

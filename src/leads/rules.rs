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
            })
            .collect();
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
        assert!(err.contains("`unless` names \"status\""), "{err}");
        assert!(RuleSet::parse(&rule("kinds = [\"hashset.match\"]\nwhere = { status = \"bad\", confidence = { gte = 0.5 } }\nexplain = \"{path} on {source}: {set}\""), "r.toml").is_ok());
        let err = RuleSet::parse(
            "version = \"1\"\n[[rule]]\nid = \"x\"\nbogus = 1\n",
            "r.toml",
        )
        .unwrap_err();
        assert!(err.contains("line 4") || err.contains("bogus"), "{err}");
    }
}

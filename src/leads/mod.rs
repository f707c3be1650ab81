//! Rules (data, in TOML) and the leads they produce.
//!
//! [`rules`] loads and validates a rule set; [`evaluate`] turns typed observations into
//! ranked lead proposals (pure); [`rebuild`] reads the observations from the store,
//! evaluates, and writes the leads back. A lead is a proposal: its state changes only
//! through a recorded review. Rebuilding keeps reviewed leads (marked inactive when no rule
//! fires any more) and drops unreviewed ones that no longer fire.

pub mod evaluate;
pub mod rules;

use rusqlite::Connection;

pub use crate::model::{LeadCounts, LeadRow};
pub use evaluate::{evaluate, identity_lead_id, item_lead_id};
pub use rules::{Condition, DEFAULT_RULES, Ops, Rule, RuleSet, Unless};

use crate::store;

/// Recomputes every lead from the stored observations (of items and of the network's
/// identities), and keeps `rules` as the set in force, so that later rebuilds (after an
/// identity decision) use the same rules.
pub fn rebuild(conn: &mut Connection, rules: &RuleSet) -> rusqlite::Result<LeadCounts> {
    let margins = store::leads::error_margins(conn)?;
    let kinds = rules.kinds();
    let items = store::leads::item_observations(conn, &kinds)?;
    let identities = store::graph::identity_observations(conn, &kinds)?;
    let leads = evaluate(rules, &margins, &items, &identities);
    store::meta_set(conn, RULES_IN_FORCE, &rules.source_text)?;
    store::meta_set(conn, RULES_ORIGIN, &rules.origin)?;
    store::leads::replace_leads(conn, &leads, &rules.digest)
}

const RULES_IN_FORCE: &str = "rules_in_force";
const RULES_ORIGIN: &str = "rules_origin";

/// The rule set the case's leads were last built with (the built-in set for a case that has
/// none recorded).
pub fn rules_in_force(conn: &Connection) -> Result<RuleSet, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    match store::meta_get(conn, RULES_IN_FORCE).map_err(db)? {
        Some(text) => {
            let origin = store::meta_get(conn, RULES_ORIGIN)
                .map_err(db)?
                .unwrap_or_else(|| "the case's rules".into());
            RuleSet::parse(&text, &origin)
        }
        None => Ok(RuleSet::default_set()),
    }
}

pub fn counts(conn: &Connection) -> rusqlite::Result<LeadCounts> {
    store::leads::lead_counts(conn)
}

/// Every lead, active ones first by rank.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<LeadRow>> {
    store::leads::list_leads(conn)
}

/// Finds a lead by its id or a unique prefix of it.
pub fn resolve_id(conn: &Connection, wanted: &str) -> Result<String, String> {
    let ids = store::leads::lead_ids_starting(conn, wanted).map_err(|e| e.to_string())?;
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("no lead {wanted:?} in this case")),
        many => Err(format!("{wanted:?} is ambiguous: {}", many.join(", "))),
    }
}

//! Rules (data, in TOML) and the leads they produce.
//!
//! [`rules`] loads and validates a rule set; [`evaluate`] turns typed observations into
//! ranked lead proposals (pure); [`rebuild`] reads the observations from the store,
//! evaluates, and writes the leads back. A lead is a proposal: its state changes only
//! through a recorded review. Rebuilding keeps reviewed leads (marked inactive when no rule
//! fires any more) and drops unreviewed ones that no longer fire.

pub mod evaluate;
pub mod margin;
pub mod rules;
pub mod words;

use rusqlite::Connection;

pub use crate::model::{LeadCounts, LeadRow};
pub use evaluate::{Links, evaluate, identity_lead_id, item_lead_id};
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
    let links = links(conn, rules, &items)?;
    let leads = evaluate(rules, &margins, &items, &identities, &links);
    store::meta_set(conn, RULES_IN_FORCE, &rules.source_text)?;
    store::meta_set(conn, RULES_ORIGIN, &rules.origin)?;
    store::leads::replace_leads(conn, &leads, &rules.digest)
}

/// The links combinations follow, from the case's stored network: device owners (the
/// `device-owner` and `device-accounts` merges), contacts between people, and — only when a
/// combination follows `sent` — the sender of each record an observation occurs in.
fn links(
    conn: &Connection,
    rules: &RuleSet,
    items: &[crate::model::ItemObservations],
) -> rusqlite::Result<Links> {
    use crate::leads::rules::Relation;
    let combinations: Vec<_> = rules
        .rules
        .iter()
        .filter_map(|r| r.combine.as_ref())
        .collect();
    if combinations.is_empty() {
        return Ok(Links::default());
    }
    let analysed = match crate::graph::of_case(conn) {
        Ok(a) => a,
        // No network (a case without communications): nothing to link.
        Err(_) => return Ok(Links::default()),
    };
    let network = &analysed.network;
    let mut links = Links::default();
    for (node, merge) in &network.ledger {
        if merge.rule == "device-owner" || merge.rule == "device-accounts" {
            let owners = links.owners.entry(merge.device.clone()).or_default();
            let key = &network.nodes[*node].key;
            if !owners.contains(key) {
                owners.push(key.clone());
            }
        }
    }
    use crate::graph::network::NodeKind;
    let mut sender_of_record: std::collections::HashMap<i64, usize> = Default::default();
    for e in &network.edges {
        let (a, b) = (&network.nodes[e.from], &network.nodes[e.to]);
        if a.kind == NodeKind::Person && b.kind == NodeKind::Person {
            links
                .correspondents
                .entry(a.key.clone())
                .or_default()
                .insert(b.key.clone());
            links
                .correspondents
                .entry(b.key.clone())
                .or_default()
                .insert(a.key.clone());
        }
        for r in &e.records {
            sender_of_record.entry(*r).or_insert(e.from);
        }
    }
    let sent_rules: Vec<&String> = combinations
        .iter()
        .flat_map(|c| c.requires.iter().filter(|q| q.via == Relation::Sent))
        .flat_map(|q| q.rules.iter())
        .collect();
    if sent_rules.is_empty() {
        return Ok(links);
    }
    // The records an occurrence points at: only those of the observations the `sent`
    // requirements can read, so a case of a million messages is not loaded whole.
    let kinds: std::collections::BTreeSet<&str> = sent_rules
        .iter()
        .filter_map(|id| rules.rule(id))
        .flat_map(|r| r.kinds.iter().map(String::as_str))
        .collect();
    let mut find = conn.prepare("SELECT id FROM records WHERE item_id = ?1 AND locator = ?2")?;
    for item in items {
        for o in item
            .observations
            .iter()
            .filter(|o| kinds.contains(o.kind.as_str()))
        {
            let occurrences = o
                .value
                .get("occurrences")
                .and_then(serde_json::Value::as_array);
            for locator in occurrences
                .into_iter()
                .flatten()
                .filter_map(|x| x.get("in"))
            {
                let text = locator.to_string();
                if links.senders.contains_key(&(item.item.0, text.clone())) {
                    continue;
                }
                let id: Option<i64> = find
                    .query_row(rusqlite::params![item.item.0, text], |r| r.get(0))
                    .ok();
                if let Some(sender) = id.and_then(|id| sender_of_record.get(&id)) {
                    links
                        .senders
                        .insert((item.item.0, text), network.nodes[*sender].key.clone());
                }
            }
        }
    }
    Ok(links)
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

//! The processing record of a case, for a data-protection impact assessment (DPIA) and for
//! court: which evidence was read, by which analyzers and models (with digests and measured
//! cards), against which lists and rules, and who decided, revealed and reported what, when.
//! Everything here is read from the case store and its audit chain; nothing is typed in.

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::store::{self, audit};

pub fn processing_record(conn: &Connection) -> Result<Value, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let margins = store::leads::error_margins(conn).map_err(db)?;
    let analyzers: Vec<Value> = store::report::analyzers_used(conn)
        .map_err(db)?
        .into_iter()
        .map(|(name, version, observations)| {
            let card = crate::leads::margin::card_summary(&name);
            json!({
                "analyzer": name, "version": version, "observations": observations,
                "error_margin": margins.get(&store::error_margin_key(&name, &version)),
                "model_card": card,
            })
        })
        .collect();
    let rules = crate::leads::rules_in_force(conn)?;
    let entries = audit::entries(conn).map_err(db)?;
    let of = |actions: &[&str]| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| actions.contains(&e.action.as_str()))
            .map(|e| {
                let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
                json!({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "details": details})
            })
            .collect()
    };
    let reviews = crate::review::list(conn).map_err(db)?;
    Ok(json!({
        "purpose": "what spoor did with the evidence of this case, for a data-protection impact assessment and for court",
        "tool": {"name": "spoor", "version": crate::TOOL_VERSION},
        "evidence": store::report::sources(conn).map_err(db)?,
        "runs": store::report::runs(conn).map_err(db)?,
        "analyzers": analyzers,
        "hash_sets": store::report::hashsets(conn).map_err(db)?,
        "lists_of_interest": store::report::interest_lists(conn).map_err(db)?,
        "rules": {
            "version": rules.version, "origin": rules.origin, "sha256": rules.digest,
            "rules": rules.rules.iter().map(|r| json!({"id": r.id, "title": r.title, "weight": r.weight, "four_eyes": r.four_eyes})).collect::<Vec<_>>(),
        },
        "rules_changes": of(&["rules-change"]).into_iter().map(|mut e| { e["details"]["rules"] = Value::Null; e }).collect::<Vec<_>>(),
        "decisions": reviews,
        "identity_decisions": entries.iter().filter(|e| e.action.starts_with("identity-")).map(|e| json!({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null)})).collect::<Vec<_>>(),
        "media_revealed": of(&["reveal"]),
        "reports_and_exports": of(&["report", "graph-export"]),
        "verifications": of(&["verify"]),
    }))
}

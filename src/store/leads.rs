//! Leads and reviews in the store: the observations the rules read, the ranked leads they
//! write, and the lists every reader gets.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, params};
use serde_json::Value;

use super::json_at;
use crate::model::{
    ItemId, ItemObservations, LeadCounts, LeadDraft, LeadRow, LeadState, ReviewRow,
    StoredObservation,
};

/// Every analyzer's recorded error margin, by `error_margin_key`.
pub fn error_margins(conn: &Connection) -> rusqlite::Result<HashMap<String, String>> {
    let mut stmt = conn.prepare("SELECT key, value FROM meta WHERE key LIKE 'analyzer:%'")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.collect()
}

/// An observation from the columns kind, analyzer, analyzer_version, value, confidence and
/// provenance of a row, from column `first` on.
pub(crate) fn observation_at(
    r: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<StoredObservation> {
    Ok(StoredObservation {
        kind: r.get(first)?,
        analyzer: r.get(first + 1)?,
        analyzer_version: r.get(first + 2)?,
        value: json_at(r, first + 3)?,
        confidence: r.get(first + 4)?,
        provenance: json_at(r, first + 5)?,
    })
}

/// The observations of the given kinds, grouped by item, in item-id order; within an item
/// by kind, analyzer and value, so evaluation is deterministic.
pub fn item_observations(
    conn: &Connection,
    kinds: &[String],
) -> rusqlite::Result<Vec<ItemObservations>> {
    let placeholders = vec!["?"; kinds.len()].join(",");
    let sql = format!(
        "SELECT o.item_id, s.label, i.path, o.kind, o.analyzer, o.analyzer_version, o.value, o.confidence, o.provenance,
                lower(hex(i.sha256))
         FROM observations o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
         WHERE o.kind IN ({placeholders}) ORDER BY o.item_id, o.kind, o.analyzer, o.value"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(kinds.iter()))?;
    let mut by_item: BTreeMap<i64, ItemObservations> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let item: i64 = r.get(0)?;
        let observation = observation_at(r, 3)?;
        if let std::collections::btree_map::Entry::Vacant(e) = by_item.entry(item) {
            let entry = ItemObservations {
                item: ItemId(item),
                source: r.get(1)?,
                path: r.get(2)?,
                sha256: r.get::<_, Option<String>>(9)?.filter(|h| !h.is_empty()),
                observations: Vec::new(),
            };
            e.insert(entry);
        }
        if let Some(entry) = by_item.get_mut(&item) {
            entry.observations.push(observation);
        }
    }
    Ok(by_item.into_values().collect())
}

/// Replaces the active leads with `leads` (ranked) in one transaction: a lead already
/// stored keeps its state and reviews; one no rule proposes any more is kept inactive when
/// reviewed and dropped when not.
pub fn replace_leads(
    conn: &mut Connection,
    leads: &[LeadDraft],
    rules_digest: &str,
) -> rusqlite::Result<LeadCounts> {
    let tx = conn.transaction()?;
    tx.execute("UPDATE leads SET active = 0, rank = 0, part_of = NULL", [])?;
    {
        let mut upsert = tx.prepare(
            "INSERT INTO leads(id, subject, subject_key, item_id, score, rank, hits, rules_digest, active, state, rules, part_of) VALUES (?1,?7,?8,?2,?3,?4,?5,?6,1,'proposed',?9,?10)
             ON CONFLICT(id) DO UPDATE SET subject = excluded.subject, subject_key = excluded.subject_key, item_id = excluded.item_id, score = excluded.score, rank = excluded.rank, hits = excluded.hits, rules_digest = excluded.rules_digest, active = 1, rules = excluded.rules, part_of = excluded.part_of",
        )?;
        for lead in leads {
            upsert.execute(params![
                lead.id,
                lead.item.map(|i| i.0),
                lead.score,
                lead.rank,
                lead.hits.to_string(),
                rules_digest,
                lead.subject.kind(),
                lead.subject.key(),
                lead_rules(&lead.hits).join(","),
                lead.part_of
            ])?;
        }
    }
    tx.execute(
        "DELETE FROM leads WHERE active = 0 AND id NOT IN (SELECT lead_id FROM reviews)",
        [],
    )?;
    let counts = lead_counts(&tx)?;
    tx.commit()?;
    Ok(counts)
}

pub fn lead_counts(conn: &Connection) -> rusqlite::Result<LeadCounts> {
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

/// Every lead, active ones first by rank.
pub fn list_leads(conn: &Connection) -> rusqlite::Result<Vec<LeadRow>> {
    leads_where(conn, "1", &[])
}

/// Every lead's rules (comma-separated) and state.
pub fn rules_and_states(conn: &Connection) -> rusqlite::Result<Vec<(String, String, usize)>> {
    // Counted in SQLite on the covering index (schema 10): 100,000 leads are a few hundred
    // groups of (rules, state), not 100,000 rows.
    let mut stmt =
        conn.prepare_cached("SELECT rules, state, COUNT(*) FROM leads GROUP BY rules, state")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as usize))
    })?;
    rows.collect()
}

/// One lead, by its exact id.
pub fn lead_row(conn: &Connection, id: &str) -> rusqlite::Result<Option<LeadRow>> {
    Ok(leads_where(conn, "l.id = ?1", &[&id])?.into_iter().next())
}

fn leads_where(
    conn: &Connection,
    clause: &str,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<LeadRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT l.id, l.rank, l.score, l.state, l.active, s.label, i.path, l.hits, l.rules_digest,
                CASE WHEN i.mime NOT LIKE 'image/%' THEN NULL
                     WHEN i.sha256 IS NOT NULL THEN lower(hex(i.sha256))
                     ELSE json_extract(i.derivation, '$.pixels_sha256') END,
                l.subject, l.subject_key, l.part_of
         FROM leads l LEFT JOIN items i ON i.id = l.item_id LEFT JOIN sources s ON s.id = i.source_id
         WHERE {clause}
         ORDER BY l.active DESC, l.rank, l.part_of IS NOT NULL, l.score DESC, l.id"
    ))?;
    let rows = stmt.query_map(args, |r| {
        let hits: Value = json_at(r, 7)?;
        let state: String = r.get(3)?;
        let state = LeadState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown lead state {state:?} in the case store").into(),
            )
        })?;
        let rules = lead_rules(&hits);
        Ok(LeadRow {
            id: r.get(0)?,
            subject: r.get(10)?,
            subject_key: r.get(11)?,
            rank: r.get(1)?,
            score: r.get(2)?,
            state,
            active: r.get::<_, i64>(4)? != 0,
            // A lead on an identity has no item: it shows where it comes from and its label.
            source: r
                .get::<_, Option<String>>(5)?
                .or_else(|| {
                    let devices = hits["subject"]["devices"].as_array()?;
                    Some(
                        devices
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(","),
                    )
                })
                .unwrap_or_else(|| "(network)".into()),
            path: r
                .get::<_, Option<Vec<u8>>>(6)?
                .map(|p| crate::evidence::display_path(&p))
                .or_else(|| {
                    let label = hits["subject"]["label"].as_str()?;
                    let Some(key) = hits["subject"]["identity"].as_str() else {
                        // A picture cluster, a place, a pair: its kind and its label.
                        let kind: String = r.get(10).ok()?;
                        return Some(format!("{} {label}", kind.replace('-', " ")));
                    };
                    Some(if label == key {
                        format!("identity {key}")
                    } else {
                        format!("identity {label} ({key})")
                    })
                })
                .unwrap_or_default(),
            part_of: r.get(12)?,
            rules,
            hits,
            rules_digest: r.get(8)?,
            thumbnail_key: r.get(9)?,
        })
    })?;
    rows.collect()
}

/// The lead ids starting with `prefix`, in order.
pub fn lead_ids_starting(conn: &Connection, prefix: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM leads WHERE id LIKE ?1 || '%' ORDER BY id")?;
    let rows = stmt.query_map([prefix], |r| r.get(0))?;
    rows.collect()
}

/// A lead's state and stored hits (what a decision is recorded against).
pub fn lead_state_and_hits(
    conn: &Connection,
    id: &str,
) -> rusqlite::Result<Option<(String, String)>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT state, hits FROM leads WHERE id = ?1", [id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
}

/// Records a decision and the lead's new state (inside the caller's transaction, with its
/// audit entry).
pub fn record_review(
    conn: &Connection,
    review: &ReviewRow,
    state: LeadState,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO reviews(lead_id, decision, reviewer, reason, at, audit_seq) VALUES (?1,?2,?3,?4,?5,?6)",
        params![review.lead, review.decision, review.reviewer, review.reason, review.at, review.audit_seq],
    )?;
    conn.execute(
        "UPDATE leads SET state = ?1 WHERE id = ?2",
        params![state.as_str(), review.lead],
    )?;
    Ok(())
}

/// The decisions on one lead, in the order they were made.
pub fn reviews_of(conn: &Connection, lead: &str) -> rusqlite::Result<Vec<ReviewRow>> {
    let mut stmt = conn.prepare(
        "SELECT lead_id, decision, reviewer, reason, at, audit_seq FROM reviews WHERE lead_id = ?1 ORDER BY audit_seq",
    )?;
    let rows = stmt.query_map([lead], review_at)?;
    rows.collect()
}

/// A review from the columns lead_id, decision, reviewer, reason, at, audit_seq.
fn review_at(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReviewRow> {
    Ok(ReviewRow {
        lead: r.get(0)?,
        decision: r.get(1)?,
        reviewer: r.get(2)?,
        reason: r.get(3)?,
        at: r.get(4)?,
        audit_seq: r.get(5)?,
    })
}

/// Every decision, in the order they were made.
pub fn list_reviews(conn: &Connection) -> rusqlite::Result<Vec<ReviewRow>> {
    let mut stmt = conn.prepare(
        "SELECT lead_id, decision, reviewer, reason, at, audit_seq FROM reviews ORDER BY audit_seq",
    )?;
    let rows = stmt.query_map([], review_at)?;
    rows.collect()
}

/// The rules that fired, in the order of the lead's hits.
fn lead_rules(hits: &Value) -> Vec<String> {
    hits["hits"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h["rule"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

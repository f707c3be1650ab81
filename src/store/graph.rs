//! The records the network graph is built from, read in a stable order (source, item, row).

use rusqlite::Connection;

use super::json_at;
use crate::model::{IdentityDecision, ItemId, StoredParticipant, StoredRecord};

/// Every communication record of the case, by source label, item path and row id.
pub fn records(conn: &Connection) -> rusqlite::Result<Vec<StoredRecord>> {
    let mut stmt = conn.prepare(
        "SELECT r.id, r.item_id, s.label, i.path, r.kind, r.format, COALESCE(r.time_utc, r.time_local),
                r.zone_known, r.direction, r.participants, r.thread, r.body,
                json_extract(r.extra, '$.duration_s')
         FROM records r JOIN items i ON i.id = r.item_id JOIN sources s ON s.id = i.source_id
         ORDER BY s.label, i.path, r.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let participants = json_at(r, 9)?;
        let participants: Vec<StoredParticipant> =
            serde_json::from_value(participants).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    9,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
        Ok(StoredRecord {
            id: r.get(0)?,
            item: ItemId(r.get(1)?),
            source: r.get(2)?,
            path: crate::evidence::display_path(&r.get::<_, Vec<u8>>(3)?),
            kind: r.get(4)?,
            format: r.get(5)?,
            time: r.get(6)?,
            zone_known: r.get(7)?,
            direction: r.get(8)?,
            participants,
            thread: r.get(10)?,
            body: r.get(11)?,
            duration_s: r.get(12)?,
            owners_given: Vec::new(),
        })
    })?;
    let mut records: Vec<StoredRecord> = rows.collect::<rusqlite::Result<_>>()?;
    // The owners given for each export (`--owner`), as its comms.export observation records.
    let mut stmt = conn.prepare(
        "SELECT item_id, json_extract(provenance, '$.owners') FROM observations
         WHERE kind = 'comms.export' AND json_extract(provenance, '$.owners') IS NOT NULL",
    )?;
    let mut owners: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let text: String = r.get(1)?;
        let list: Vec<String> = serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?;
        owners.insert(r.get(0)?, list);
    }
    for record in &mut records {
        if let Some(list) = owners.get(&record.item.0) {
            record.owners_given = list.clone();
        }
    }
    Ok(records)
}

/// Where a record is: its source, item path and place in the item.
pub fn record_origin(
    conn: &Connection,
    id: i64,
) -> rusqlite::Result<Option<(String, String, String)>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT s.label, i.path, r.locator FROM records r JOIN items i ON i.id = r.item_id
         JOIN sources s ON s.id = i.source_id WHERE r.id = ?1",
        [id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                crate::evidence::display_path(&r.get::<_, Vec<u8>>(1)?),
                r.get::<_, String>(2)?,
            ))
        },
    )
    .optional()
}

/// Every identity decision, in the order they were made.
pub fn identity_decisions(conn: &Connection) -> rusqlite::Result<Vec<IdentityDecision>> {
    let mut stmt = conn.prepare(
        "SELECT id, action, identifiers, undoes, reviewer, reason, at, audit_seq
         FROM identity_decisions ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        let identifiers = json_at(r, 2)?;
        let identifiers: Vec<String> = serde_json::from_value(identifiers).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?;
        Ok(IdentityDecision {
            id: r.get(0)?,
            action: r.get(1)?,
            identifiers,
            undoes: r.get(3)?,
            reviewer: r.get(4)?,
            reason: r.get(5)?,
            at: r.get(6)?,
            audit_seq: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Records a decision with its audit entry, in one transaction; returns its id.
pub fn record_identity_decision(
    conn: &mut Connection,
    action: &str,
    identifiers: &[String],
    undoes: Option<i64>,
    reviewer: &str,
    reason: &str,
    at: &str,
) -> rusqlite::Result<i64> {
    let tx = conn.transaction()?;
    let seq = super::audit::append(
        &tx,
        reviewer,
        &format!("identity-{action}"),
        &serde_json::json!({"identifiers": identifiers, "undoes": undoes, "reason": reason}),
    )?;
    tx.execute(
        "INSERT INTO identity_decisions(action, identifiers, undoes, reviewer, reason, at, audit_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            action,
            serde_json::to_string(identifiers).unwrap_or_default(),
            undoes,
            reviewer,
            reason,
            at,
            seq
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

/// Replaces the stored network and its observations on identities (`kinds`, made by `card`)
/// with `network` (built from its inputs) and `observations`, in one transaction, with the
/// card's error margin.
pub fn replace_identity_observations(
    conn: &mut Connection,
    card: &crate::model::PassCard,
    kinds: &[crate::model::ObservationKind],
    observations: &[(String, crate::model::ObservationDraft)],
    network: (&crate::graph::Analysed, &str),
) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    save_network(&tx, network.0, network.1)?;
    for kind in kinds {
        tx.execute(
            "DELETE FROM observations WHERE subject = 'identity' AND kind = ?1 AND analyzer = ?2",
            rusqlite::params![kind.name(), card.name],
        )?;
    }
    {
        let mut insert = tx.prepare(
            "INSERT INTO observations(item_id, subject, subject_key, kind, analyzer, analyzer_version, value, confidence, provenance)
             VALUES (NULL,'identity',?1,?2,?3,?4,?5,?6,?7)",
        )?;
        for (key, o) in observations {
            insert.execute(rusqlite::params![
                key,
                o.kind.name(),
                card.name,
                card.version,
                o.value.to_string(),
                o.confidence,
                o.provenance.to_string()
            ])?;
        }
    }
    super::record_error_margin(&tx, card.name, card.version, card.error_margin)?;
    tx.commit()?;
    Ok(observations.len())
}

/// Every identity with its observations of `kinds`, by key.
pub fn identity_observations(
    conn: &Connection,
    kinds: &[String],
) -> rusqlite::Result<Vec<crate::model::IdentityObservations>> {
    use crate::model::IdentityObservations;
    let placeholders = vec!["?"; kinds.len()].join(",");
    let sql = format!(
        "SELECT subject_key, kind, analyzer, analyzer_version, value, confidence, provenance
         FROM observations WHERE subject = 'identity' AND kind IN ({placeholders})
         ORDER BY subject_key, kind, analyzer, value"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(kinds.iter()))?;
    let mut out: Vec<IdentityObservations> = Vec::new();
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let observation = super::leads::observation_at(r, 1)?;
        match out.last_mut() {
            Some(last) if last.key == key => last.observations.push(observation),
            _ => out.push(IdentityObservations {
                key,
                observations: vec![observation],
            }),
        }
    }
    Ok(out)
}

/// What the network is built from, to tell a stored network from a stale one: the records
/// and the identity decisions (their count and last id; both only grow), and the version of
/// the network code.
pub fn network_inputs(conn: &Connection) -> rusqlite::Result<String> {
    let (records, last_record): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM records",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (decisions, last_decision): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM identity_decisions",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(format!(
        "network {}; records {records} to {last_record}; decisions {decisions} to {last_decision}",
        crate::graph::observe::NETWORK_CARD.version
    ))
}

const NETWORK_META: &str = "network";

fn to_text<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

pub(super) fn from_text<T: serde::de::DeserializeOwned>(
    column: usize,
    text: &str,
) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Replaces the stored network with `analysed`, built from `inputs` (inside the caller's
/// transaction, with the observations made from it).
pub fn save_network(
    tx: &Connection,
    analysed: &crate::graph::Analysed,
    inputs: &str,
) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM network_nodes; DELETE FROM network_edges; DELETE FROM network_ledger;",
    )?;
    let network = &analysed.network;
    {
        let mut insert =
            tx.prepare("INSERT INTO network_nodes(idx, key, node, metrics) VALUES (?1,?2,?3,?4)")?;
        for (i, (node, metrics)) in network.nodes.iter().zip(&analysed.metrics).enumerate() {
            insert.execute(rusqlite::params![
                i as i64,
                node.key,
                to_text(node)?,
                to_text(metrics)?
            ])?;
        }
        let mut insert = tx.prepare(
            "INSERT INTO network_edges(from_idx, to_idx, kind, edge, contacts) VALUES (?1,?2,?3,?4,?5)",
        )?;
        for e in &network.edges {
            insert.execute(rusqlite::params![
                e.from as i64,
                e.to as i64,
                e.kind.as_str(),
                to_text(e)?,
                e.count as i64
            ])?;
        }
        let mut insert =
            tx.prepare("INSERT INTO network_ledger(node_idx, merge) VALUES (?1,?2)")?;
        for (i, m) in &network.ledger {
            insert.execute(rusqlite::params![*i as i64, to_text(m)?])?;
        }
    }
    let summary = serde_json::json!({
        "inputs": inputs,
        "unused": network.unused,
        "components": analysed.components,
        "bridges": analysed.bridges,
        "communities": analysed.communities,
        "modularity": analysed.modularity,
        "betweenness_method": analysed.betweenness_method,
    });
    super::meta_set(tx, NETWORK_META, &summary.to_string())
}

/// The stored network, when it was built from `inputs` (else None: it is stale or absent).
pub fn load_network(
    conn: &Connection,
    inputs: &str,
) -> rusqlite::Result<Option<crate::graph::Analysed>> {
    let Some(text) = super::meta_get(conn, NETWORK_META)? else {
        return Ok(None);
    };
    let summary: serde_json::Value = from_text(0, &text)?;
    if summary["inputs"].as_str() != Some(inputs) {
        return Ok(None);
    }
    let field = |name: &str| -> rusqlite::Result<serde_json::Value> { Ok(summary[name].clone()) };
    let mut analysed = crate::graph::Analysed {
        components: from_text(0, &field("components")?.to_string())?,
        bridges: from_text(0, &field("bridges")?.to_string())?,
        communities: from_text(0, &field("communities")?.to_string())?,
        modularity: from_text(0, &field("modularity")?.to_string())?,
        betweenness_method: from_text(0, &field("betweenness_method")?.to_string())?,
        ..Default::default()
    };
    analysed.network.unused = from_text(0, &field("unused")?.to_string())?;
    let mut stmt = conn.prepare("SELECT node, metrics FROM network_nodes ORDER BY idx")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        analysed
            .network
            .nodes
            .push(from_text(0, &r.get::<_, String>(0)?)?);
        analysed
            .metrics
            .push(from_text(1, &r.get::<_, String>(1)?)?);
    }
    let mut stmt = conn.prepare("SELECT edge FROM network_edges ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        analysed
            .network
            .edges
            .push(from_text(0, &r.get::<_, String>(0)?)?);
    }
    let mut stmt = conn.prepare("SELECT node_idx, merge FROM network_ledger ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let node: i64 = r.get(0)?;
        analysed
            .network
            .ledger
            .push((node as usize, from_text(1, &r.get::<_, String>(1)?)?));
    }
    Ok(Some(analysed))
}

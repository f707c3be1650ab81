//! The case store's queries for the whole-case passes: typed views read from it, and the one
//! place their results are written. The passes themselves (media, places, vision, text) are
//! pure functions over these views and import no SQL (issue 12: "the store owns its SQL";
//! the per-item writer is still engine::writer, to be moved here).

use rusqlite::{Connection, params};

use crate::model::{ItemId, PassOutput, StoredGps, StoredPdq};

/// Every `image.pdq` observation of the case, by source label and path.
pub fn pdq_observations(conn: &Connection) -> rusqlite::Result<Vec<StoredPdq>> {
    let mut stmt = conn.prepare(
        "SELECT o.item_id, s.label, i.path, o.value
         FROM observations o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
         WHERE o.kind = 'image.pdq'
         ORDER BY s.label, i.path, o.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let text: String = r.get(3)?;
        let value = serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?;
        Ok(StoredPdq {
            item: ItemId(r.get(0)?),
            source: r.get(1)?,
            path: r.get(2)?,
            value,
        })
    })?;
    rows.collect()
}

/// Every `image.gps` observation of the case, by source label and path.
pub fn gps_observations(conn: &Connection) -> rusqlite::Result<Vec<StoredGps>> {
    let mut stmt = conn.prepare(
        "SELECT o.item_id, json_extract(o.value, '$.latitude'), json_extract(o.value, '$.longitude')
         FROM observations o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
         WHERE o.kind = 'image.gps' ORDER BY s.label, i.path",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredGps {
            item: ItemId(r.get(0)?),
            latitude: r.get(1)?,
            longitude: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// Writes what a whole-case pass returned, in one transaction: what it wrote before is
/// replaced when it owns its kind, its observations are inserted (an equal one is not stored
/// twice), and its error margin is recorded beside them.
pub fn store_pass(conn: &mut Connection, out: &PassOutput) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    if let Some(kind) = out.replaces {
        tx.execute("DELETE FROM observations WHERE kind = ?1", params![kind])?;
    }
    for (item, draft) in &out.observations {
        crate::engine::writer::insert_observation(
            &tx,
            item.0,
            out.card.name,
            out.card.version,
            draft,
        )?;
    }
    crate::case::record_error_margin(&tx, out.card.name, out.card.version, out.card.error_margin)?;
    tx.commit()?;
    Ok(out.observations.len())
}

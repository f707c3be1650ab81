//! The case store's queries for the whole-case passes: typed views read from it, and the one
//! place their results are written. The passes themselves (media, places, vision, text) are
//! pure functions over these views and import no SQL (issue 12: "the store owns its SQL";
//! the per-item writer is still engine::writer, to be moved here).

use rusqlite::{Connection, params};

use super::json_at;

use crate::model::{
    CaseText, ItemId, PassOutput, RecordedEntry, RecordedSource, StoredEmbedding, StoredGps,
    StoredPdq,
};

/// Every `image.pdq` observation of the case, by source label and path.
pub fn pdq_observations(conn: &Connection) -> rusqlite::Result<Vec<StoredPdq>> {
    let mut stmt = conn.prepare(
        "SELECT o.item_id, s.label, i.path, o.value
         FROM observations o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
         WHERE o.kind = 'image.pdq'
         ORDER BY s.label, i.path, o.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let value = json_at(r, 3)?;
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

/// What the interest pass reads: every `text.entity` and `image.object` observation (value
/// and confidence), every GPS position, in item order, and the records with one of
/// `party_identifiers` among their participants.
pub fn interest_inputs(
    conn: &Connection,
    party_identifiers: &[String],
) -> rusqlite::Result<crate::interest::InterestInputs> {
    let of_kind = |kind: &str| -> rusqlite::Result<Vec<(ItemId, serde_json::Value, f64)>> {
        let mut stmt = conn.prepare(
            "SELECT item_id, value, confidence FROM observations WHERE kind = ?1 AND item_id IS NOT NULL
             ORDER BY item_id, id",
        )?;
        let rows = stmt.query_map([kind], |r| {
            Ok((ItemId(r.get(0)?), json_at(r, 1)?, r.get(2)?))
        })?;
        rows.collect()
    };
    let mut parties = Vec::new();
    if !party_identifiers.is_empty() {
        let placeholders = vec!["?"; party_identifiers.len()].join(",");
        let mut stmt = conn.prepare(&format!(
            "SELECT r.item_id, r.locator, json_extract(j.value, '$.identifier'), json_extract(j.value, '$.role')
             FROM records r, json_each(r.participants) j
             WHERE json_extract(j.value, '$.identifier') IN ({placeholders}) ORDER BY r.id"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(party_identifiers), |r| {
            Ok((
                ItemId(r.get(0)?),
                json_at(r, 1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            ))
        })?;
        for row in rows {
            parties.push(row?);
        }
    }
    Ok(crate::interest::InterestInputs {
        entities: of_kind("text.entity")?,
        parties,
        gps: gps_observations(conn)?,
        objects: of_kind("image.object")?,
    })
}

/// The `image.embedding` observations of one model, by source label and path.
pub fn embedding_observations(
    conn: &Connection,
    model: &str,
) -> rusqlite::Result<Vec<StoredEmbedding>> {
    let mut stmt = conn.prepare(
        "SELECT o.item_id, s.label, i.path, o.value FROM observations o
         JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
         WHERE o.kind = 'image.embedding' AND json_extract(o.value, '$.model') = ?1 ORDER BY s.label, i.path",
    )?;
    let rows = stmt.query_map([model], |r| {
        let path: Vec<u8> = r.get(2)?;
        let value = json_at(r, 3)?;
        Ok(StoredEmbedding {
            item: ItemId(r.get(0)?),
            source: r.get(1)?,
            path: crate::evidence::display_path(&path),
            value,
        })
    })?;
    rows.collect()
}

/// Every searchable text of the case: message bodies (by record), then text read off
/// pictures (OCR) and documents' text (by observation).
pub fn case_texts(conn: &Connection) -> rusqlite::Result<Vec<CaseText>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT r.item_id, s.label, i.path, r.locator, r.body FROM records r
         JOIN items i ON i.id = r.item_id JOIN sources s ON s.id = i.source_id
         WHERE r.body IS NOT NULL AND r.body != '' ORDER BY r.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        out.push(CaseText {
            item: ItemId(r.get(0)?),
            source: r.get(1)?,
            path: crate::evidence::display_path(&r.get::<_, Vec<u8>>(2)?),
            kind: "record",
            locator: json_at(r, 3)?,
            text: r.get(4)?,
        });
    }
    let mut stmt = conn.prepare(
        "SELECT o.item_id, s.label, i.path, o.kind, o.analyzer, json_extract(o.value, '$.text'),
                json_extract(o.value, '$.truncated')
         FROM observations o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
         WHERE o.kind IN ('image.text', 'text.document') ORDER BY o.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (kind, locator) = if r.get::<_, String>(3)? == "image.text" {
            ("ocr", serde_json::json!({"ocr": r.get::<_, String>(4)?}))
        } else {
            let truncated = r.get::<_, Option<bool>>(6)?.unwrap_or(false);
            (
                "document",
                serde_json::json!({"document": true, "truncated": truncated}),
            )
        };
        out.push(CaseText {
            item: ItemId(r.get(0)?),
            source: r.get(1)?,
            path: crate::evidence::display_path(&r.get::<_, Vec<u8>>(2)?),
            kind,
            locator,
            text: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Writes what a whole-case pass returned, in one transaction: what it wrote before is
/// replaced when it owns its kind, its observations are inserted (an equal one is not stored
/// twice), and its error margin is recorded beside them.
pub fn store_pass(conn: &mut Connection, out: &PassOutput) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    for kind in out.replaces {
        tx.execute(
            "DELETE FROM observations WHERE kind = ?1 AND analyzer = ?2",
            params![kind.name(), out.card.name],
        )?;
    }
    for (item, draft) in &out.observations {
        crate::store::items::insert_observation(
            &tx,
            item.0,
            out.card.name,
            out.card.version,
            draft,
        )?;
    }
    crate::store::record_error_margin(&tx, out.card.name, out.card.version, out.card.error_margin)?;
    tx.commit()?;
    Ok(out.observations.len())
}

/// Every source with its walked entries as the scan recorded them (items made from other
/// items, such as keyframes and zip members, have no file of their own to re-read).
pub fn evidence_as_recorded(conn: &Connection) -> rusqlite::Result<Vec<RecordedSource>> {
    let mut sources =
        conn.prepare("SELECT id, label, root_path, root_digest FROM sources ORDER BY id")?;
    let mut entries = conn.prepare(
        "SELECT path, kind, size, sha256, link_target FROM items WHERE source_id = ?1 AND parent_id IS NULL",
    )?;
    let rows: Vec<(i64, String, Vec<u8>, Option<String>)> = sources
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, label, root, root_digest)| {
            let entries = entries
                .query_map([id], |r| {
                    Ok(RecordedEntry {
                        path: r.get(0)?,
                        kind: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        sha256: r.get(3)?,
                        link_target: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(RecordedSource {
                label,
                root,
                root_digest,
                entries,
            })
        })
        .collect()
}

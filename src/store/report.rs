//! What a report shows of the sources, the error records and the hash sets, read once for
//! both formats (report::report_data).

use rusqlite::Connection;
use serde_json::{Value, json};

/// Every source with its totals, by label.
pub fn sources(conn: &Connection) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn
        .prepare("SELECT label, root_path, examiner, first_started, finished, file_count, dir_count, other_count, byte_count, error_count, root_digest FROM sources ORDER BY label")
        ?;
    let rows = stmt
        .query_map([], |r| {
            Ok(json!({
                "label": r.get::<_, String>(0)?, "root": String::from_utf8_lossy(&r.get::<_, Vec<u8>>(1)?),
                "examiner": r.get::<_, String>(2)?, "first_scan": r.get::<_, String>(3)?, "finished": r.get::<_, Option<String>>(4)?,
                "files": r.get::<_, Option<i64>>(5)?, "dirs": r.get::<_, Option<i64>>(6)?, "other": r.get::<_, Option<i64>>(7)?,
                "bytes": r.get::<_, Option<i64>>(8)?, "errors": r.get::<_, Option<i64>>(9)?, "root_digest": r.get::<_, Option<String>>(10)?,
            }))
        })
        ?;
    rows.collect()
}

/// Every error record, by source, path and stage.
pub fn errors(conn: &Connection) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn.prepare("SELECT s.label, e.path, e.stage, e.reason FROM item_errors e LEFT JOIN sources s ON s.id = e.source_id ORDER BY s.label, e.path, e.stage")?;
    let rows = stmt
        .query_map([], |r| Ok(json!({"source": r.get::<_, Option<String>>(0)?, "path": crate::evidence::display_path(&r.get::<_, Vec<u8>>(1)?), "stage": r.get::<_, String>(2)?, "reason": r.get::<_, String>(3)?})))
        ?;
    rows.collect()
}

/// Every hash set and PDQ list used in the case, by name.
pub fn hashsets(conn: &Connection) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn.prepare("SELECT DISTINCT name, format, status, category, file_sha256, entries, problems FROM hashsets ORDER BY name")?;
    let rows = stmt
        .query_map([], |r| Ok(json!({"name": r.get::<_, String>(0)?, "format": r.get::<_, String>(1)?, "status": r.get::<_, String>(2)?, "category": r.get::<_, Option<String>>(3)?, "sha256": r.get::<_, String>(4)?, "entries": r.get::<_, i64>(5)?, "problems": r.get::<_, i64>(6)?})))
        ?;
    rows.collect()
}

/// How many observations of one kind the case holds.
pub fn observations_of_kind(conn: &Connection, kind: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM observations WHERE kind = ?1",
        [kind],
        |r| r.get(0),
    )
}

/// What reports say of the item a lead is about: size, digests, MIME type and GPS position,
/// by lead id (item leads only).
pub fn lead_items(conn: &Connection) -> rusqlite::Result<std::collections::HashMap<String, Value>> {
    let mut stmt = conn.prepare(
        "SELECT l.id, i.size, lower(hex(i.md5)), lower(hex(i.sha1)), lower(hex(i.sha256)), i.mime, i.mtime,
                (SELECT json_extract(o.value, '$.latitude') FROM observations o WHERE o.item_id = i.id AND o.kind = 'image.gps' LIMIT 1),
                (SELECT json_extract(o.value, '$.longitude') FROM observations o WHERE o.item_id = i.id AND o.kind = 'image.gps' LIMIT 1)
         FROM leads l JOIN items i ON i.id = l.item_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let hex = |i: usize| -> rusqlite::Result<Option<String>> {
            Ok(r.get::<_, Option<String>>(i)?.filter(|h| !h.is_empty()))
        };
        Ok((
            r.get::<_, String>(0)?,
            json!({
                "size": r.get::<_, i64>(1)?, "md5": hex(2)?, "sha1": hex(3)?, "sha256": hex(4)?,
                "mime": r.get::<_, Option<String>>(5)?, "mtime": r.get::<_, Option<String>>(6)?,
                "latitude": r.get::<_, Option<f64>>(7)?, "longitude": r.get::<_, Option<f64>>(8)?,
            }),
        ))
    })?;
    rows.collect()
}

/// Every scan run: when, by whom, with which configuration and rules, and how it ended.
pub fn runs(conn: &Connection) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn.prepare(
        "SELECT id, started, finished, examiner, status, config_digest, rules_digest FROM runs ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(json!({
            "run": r.get::<_, i64>(0)?, "started": r.get::<_, String>(1)?, "finished": r.get::<_, Option<String>>(2)?,
            "examiner": r.get::<_, String>(3)?, "status": r.get::<_, String>(4)?,
            "config_digest": r.get::<_, String>(5)?, "rules_digest": r.get::<_, String>(6)?,
        }))
    })?;
    rows.collect()
}

/// The analyzers that made the case's observations (name and version), with how many, and
/// the lists of interest and hash sets they read (from the observations' provenance).
pub fn analyzers_used(conn: &Connection) -> rusqlite::Result<Vec<(String, String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT analyzer, analyzer_version, COUNT(*) FROM observations GROUP BY analyzer, analyzer_version ORDER BY analyzer, analyzer_version",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// The lists of interest the case's observations were matched against: (list, sha256, kind).
pub fn interest_lists(conn: &Connection) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT kind, json_extract(provenance, '$.list'), json_extract(provenance, '$.list_sha256') FROM observations
         WHERE kind IN ('watchlist.match', 'location.place_of_interest', 'image.object_of_interest', 'text.keyword_hit')
         ORDER BY 1, 2",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(json!({"kind": r.get::<_, String>(0)?, "list": r.get::<_, Option<String>>(1)?, "sha256": r.get::<_, Option<String>>(2)?}))
    })?;
    rows.collect()
}

/// How many items the case holds.
pub fn item_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
}

/// The entity values of watch-list matches and of text entities that identify people
/// (phone numbers, e-mail addresses, IBANs, wallets, cards): what a pseudonymized report hides.
pub fn entity_values(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT json_extract(value, '$.value') FROM observations
         WHERE kind IN ('watchlist.match', 'text.entity')
           AND json_extract(value, '$.entity') IN ('phone', 'email', 'iban', 'bitcoin', 'ethereum', 'card')",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, Option<String>>(0))?;
    Ok(rows.filter_map(|r| r.ok().flatten()).collect())
}

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

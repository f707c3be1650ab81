//! The export lines of `spoor export` (docs/schema.md), read from the store in a stable
//! order so two scans of the same evidence export byte-identically. Each kind is streamed
//! through `emit`: a case of a million items is never held in memory whole.

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::evidence::digest::to_hex;

/// Where an export goes: one JSON value per line.
pub type Emit<'a> = &'a mut dyn FnMut(Value) -> Result<(), ExportError>;

/// Writing an export fails on the output (a closed pipe is the reader's choice) or on the
/// store.
pub enum ExportError {
    Io(std::io::Error),
    Other(String),
}

impl From<String> for ExportError {
    fn from(s: String) -> Self {
        ExportError::Other(s)
    }
}

fn path_fields(obj: &mut serde_json::Map<String, Value>, path: &[u8]) {
    match std::str::from_utf8(path) {
        Ok(s) => {
            obj.insert("path".into(), json!(s));
        }
        Err(_) => {
            // Non-UTF-8 names are kept byte-exact in `path_hex`; `path` is for reading.
            obj.insert("path".into(), json!(String::from_utf8_lossy(path)));
            obj.insert("path_hex".into(), json!(to_hex(path)));
        }
    }
}

/// A JSON column spoor wrote; NULL is `null`, and text that does not read back is an error
/// (a damaged store), never exported as `null`.
fn stored_json(text: Option<&str>) -> Result<Value, ExportError> {
    match text {
        None => Ok(Value::Null),
        Some(t) => serde_json::from_str(t).map_err(|e| {
            ExportError::Other(format!(
                "case store: a JSON column does not read back ({e})"
            ))
        }),
    }
}

fn hex_opt(v: Option<Vec<u8>>) -> Value {
    v.map(|b| json!(to_hex(&b))).unwrap_or(Value::Null)
}

/// Every item, by source and path, as `spoor export` writes it (docs/schema.md).
pub fn items(conn: &Connection, emit: Emit) -> Result<(), ExportError> {
    let db = |e: rusqlite::Error| ExportError::Other(format!("case store: {e}"));
    let mut stmt = conn
        .prepare(
            "SELECT s.label, i.path, i.kind, i.size, i.mode, i.uid, i.gid, i.inode, i.nlink, i.mtime, i.atime, i.ctime, i.btime, i.md5, i.sha1, i.sha256, i.mime, i.link_target,
                    (SELECT CASE WHEN SUM(json_extract(o.value, '$.status') = 'bad') > 0 THEN 'bad' ELSE 'good' END
                     FROM observations o WHERE o.item_id = i.id AND o.kind = 'hashset.match' HAVING COUNT(*) > 0),
                    p.path, i.derivation
             FROM items i JOIN sources s ON s.id = i.source_id LEFT JOIN items p ON p.id = i.parent_id
             ORDER BY s.label, i.path",
        )
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let mut o = serde_json::Map::new();
        o.insert("record".into(), json!("item"));
        o.insert("source".into(), json!(r.get::<_, String>(0).map_err(db)?));
        path_fields(&mut o, &r.get::<_, Vec<u8>>(1).map_err(db)?);
        o.insert("kind".into(), json!(r.get::<_, String>(2).map_err(db)?));
        for (i, name) in [
            (3, "size"),
            (4, "mode"),
            (5, "uid"),
            (6, "gid"),
            (7, "inode"),
            (8, "nlink"),
        ] {
            o.insert(name.into(), json!(r.get::<_, i64>(i).map_err(db)?));
        }
        for (i, name) in [(9, "mtime"), (10, "atime"), (11, "ctime"), (12, "btime")] {
            o.insert(
                name.into(),
                json!(r.get::<_, Option<String>>(i).map_err(db)?),
            );
        }
        for (i, name) in [(13, "md5"), (14, "sha1"), (15, "sha256")] {
            o.insert(name.into(), hex_opt(r.get(i).map_err(db)?));
        }
        o.insert(
            "mime".into(),
            json!(r.get::<_, Option<String>>(16).map_err(db)?),
        );
        let target: Option<Vec<u8>> = r.get(17).map_err(db)?;
        o.insert(
            "link_target".into(),
            json!(target.as_deref().map(String::from_utf8_lossy)),
        );
        // Derived from the item's hash-set observations: "good" marks it ignorable.
        o.insert(
            "known".into(),
            json!(r.get::<_, Option<String>>(18).map_err(db)?),
        );
        // Items made from another item (a video's keyframes, an e-mail's attachments): the
        // parent's path and how.
        if let Some(parent) = r.get::<_, Option<Vec<u8>>>(19).map_err(db)? {
            o.insert(
                "parent_path".into(),
                json!(crate::evidence::display_path(&parent)),
            );
            let derivation: Option<String> = r.get(20).map_err(db)?;
            o.insert(
                "derivation".into(),
                derivation
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or(Value::Null),
            );
        }
        emit(Value::Object(o))?;
    }
    Ok(())
}

/// Every observation, by source, path, kind, analyzer and value.
pub fn observations(conn: &Connection, emit: Emit) -> Result<(), ExportError> {
    let db = |e: rusqlite::Error| ExportError::Other(format!("case store: {e}"));
    let mut stmt = conn
        .prepare(
            "SELECT s.label, i.path, o.subject, o.kind, o.analyzer, o.analyzer_version, o.value, o.confidence, o.provenance, o.subject_key
             FROM observations o LEFT JOIN items i ON i.id = o.item_id LEFT JOIN sources s ON s.id = i.source_id
             ORDER BY s.label, i.path, o.subject_key, o.kind, o.analyzer, o.value",
        )
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let mut o = serde_json::Map::new();
        o.insert("record".into(), json!("observation"));
        o.insert(
            "source".into(),
            json!(r.get::<_, Option<String>>(0).map_err(db)?),
        );
        path_fields(
            &mut o,
            &r.get::<_, Option<Vec<u8>>>(1)
                .map_err(db)?
                .unwrap_or_default(),
        );
        o.insert("subject".into(), json!(r.get::<_, String>(2).map_err(db)?));
        if let Some(key) = r.get::<_, Option<String>>(9).map_err(db)? {
            o.insert("subject_key".into(), json!(key));
        }
        o.insert("kind".into(), json!(r.get::<_, String>(3).map_err(db)?));
        o.insert("analyzer".into(), json!(r.get::<_, String>(4).map_err(db)?));
        o.insert(
            "analyzer_version".into(),
            json!(r.get::<_, String>(5).map_err(db)?),
        );
        o.insert(
            "value".into(),
            stored_json(Some(&r.get::<_, String>(6).map_err(db)?))?,
        );
        o.insert("confidence".into(), json!(r.get::<_, f64>(7).map_err(db)?));
        o.insert(
            "provenance".into(),
            stored_json(Some(&r.get::<_, String>(8).map_err(db)?))?,
        );
        emit(Value::Object(o))?;
    }
    Ok(())
}

/// Every communication record, by source, item, then its place in the item.
pub fn records(conn: &Connection, emit: Emit) -> Result<(), ExportError> {
    let db = |e: rusqlite::Error| ExportError::Other(format!("case store: {e}"));
    // Ordered by source, item, then the record's place in the item (line / element order).
    let mut stmt = conn
        .prepare(
            "SELECT s.label, i.path, r.kind, r.format, r.locator, r.time_utc, r.time_local, r.time_offset, r.zone_known,
                    r.time_assumption, r.direction, r.participants, r.body, r.thread, r.extra, r.analyzer, r.analyzer_version
             FROM records r JOIN items i ON i.id = r.item_id JOIN sources s ON s.id = i.source_id
             ORDER BY s.label, i.path, r.id",
        )
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let text = |i: usize| r.get::<_, Option<String>>(i).map_err(db);
        let parse = |v: Option<String>| stored_json(v.as_deref());
        let mut o = serde_json::Map::new();
        o.insert("record".into(), json!("comm"));
        o.insert("source".into(), json!(text(0)?));
        path_fields(&mut o, &r.get::<_, Vec<u8>>(1).map_err(db)?);
        o.insert("kind".into(), json!(text(2)?));
        o.insert("format".into(), json!(text(3)?));
        o.insert("locator".into(), parse(text(4)?)?);
        o.insert(
            "time".into(),
            json!({
                "utc": text(5)?, "local": text(6)?, "offset": text(7)?,
                "zone_known": r.get::<_, bool>(8).map_err(db)?, "assumption": text(9)?,
            }),
        );
        o.insert("direction".into(), json!(text(10)?));
        o.insert("participants".into(), parse(text(11)?)?);
        o.insert("body".into(), json!(text(12)?));
        o.insert("thread".into(), json!(text(13)?));
        o.insert("extra".into(), parse(text(14)?)?);
        o.insert("analyzer".into(), json!(text(15)?));
        o.insert("analyzer_version".into(), json!(text(16)?));
        emit(Value::Object(o))?;
    }
    Ok(())
}

/// Every error record, by source, path, stage and reason.
pub fn errors(conn: &Connection, emit: Emit) -> Result<(), ExportError> {
    let db = |e: rusqlite::Error| ExportError::Other(format!("case store: {e}"));
    let mut stmt = conn
        .prepare("SELECT s.label, e.path, e.stage, e.reason FROM item_errors e LEFT JOIN sources s ON s.id = e.source_id ORDER BY s.label, e.path, e.stage, e.reason")
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let mut o = serde_json::Map::new();
        o.insert("record".into(), json!("error"));
        o.insert(
            "source".into(),
            json!(r.get::<_, Option<String>>(0).map_err(db)?),
        );
        path_fields(&mut o, &r.get::<_, Vec<u8>>(1).map_err(db)?);
        o.insert("stage".into(), json!(r.get::<_, String>(2).map_err(db)?));
        o.insert("reason".into(), json!(r.get::<_, String>(3).map_err(db)?));
        emit(Value::Object(o))?;
    }
    Ok(())
}

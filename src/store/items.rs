//! Writing one scanned item: its row, its observations, records and error records, and its
//! children's, inside the writer's transaction (engine::writer batches them).

use rusqlite::{Connection, params};

use crate::evidence::digest::FileDigests;
use crate::evidence::walk::WalkEntry;
use crate::model::{CommRecord, ItemError, ObservationDraft};

pub struct ItemResult {
    pub source_id: i64,
    pub entry: WalkEntry,
    pub digests: Option<FileDigests>,
    pub mime: Option<String>,
    pub observations: Vec<(&'static str, &'static str, ObservationDraft)>,
    pub errors: Vec<ItemError>,
    /// Items found inside this one (a video's keyframes), stored with it or not at all.
    pub children: Vec<ChildResult>,
    /// Communication records parsed from it (analyzer, version, record).
    pub records: Vec<(&'static str, &'static str, CommRecord)>,
}

/// An item made from another: no file of its own in the evidence, so no walk metadata and no
/// file digests; `derivation` says what it is and where in the parent it came from.
pub struct ChildResult {
    /// The parent's path, "//", and a name no walked path can have.
    pub rel_path: Vec<u8>,
    pub kind: &'static str,
    pub size: u64,
    pub mime: Option<String>,
    pub derivation: serde_json::Value,
    /// Digests of its bytes, where it has bytes of its own (an attachment; not a video frame).
    pub digests: Option<FileDigests>,
    pub observations: Vec<(&'static str, &'static str, ObservationDraft)>,
    pub errors: Vec<ItemError>,
    /// Communication records parsed from it (a forwarded message, an attached contact card).
    pub records: Vec<(&'static str, &'static str, CommRecord)>,
}

pub struct ErrorRecord {
    pub source_id: i64,
    pub path: Vec<u8>,
    pub stage: crate::model::Stage,
    pub reason: String,
}

pub fn insert_item(tx: &Connection, run_id: i64, r: &ItemResult) -> rusqlite::Result<()> {
    let m = &r.entry.meta;
    use crate::evidence::walk::RFC3339_LEN;
    // Formatted into buffers on the stack and bound as text: no allocation per timestamp.
    let mut bufs = [[0u8; RFC3339_LEN]; 4];
    let [b_mtime, b_atime, b_ctime, b_btime] = &mut bufs;
    let mtime = m.mtime.map(|t| t.rfc3339_in(b_mtime));
    let atime = m.atime.map(|t| t.rfc3339_in(b_atime));
    let ctime = m.ctime.map(|t| t.rfc3339_in(b_ctime));
    let btime = m.btime.map(|t| t.rfc3339_in(b_btime));
    let (md5, sha1, sha256) = match &r.digests {
        Some(d) => (
            Some(&d.md5.0[..]),
            Some(&d.sha1.0[..]),
            Some(&d.sha256.0[..]),
        ),
        None => (None, None, None),
    };
    let inserted = tx.prepare_cached(
        "INSERT INTO items(source_id, path, kind, size, mode, uid, gid, inode, nlink, mtime, atime, ctime, btime, md5, sha1, sha256, mime, link_target)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)
         ON CONFLICT(source_id, path) DO NOTHING",
    )?
    .execute(params![
            r.source_id,
            r.entry.rel_path,
            m.kind.as_str(),
            m.size as i64,
            m.mode,
            m.uid,
            m.gid,
            m.inode as i64,
            m.nlink as i64,
            mtime.as_deref(),
            atime.as_deref(),
            ctime.as_deref(),
            btime.as_deref(),
            md5,
            sha1,
            sha256,
            r.mime,
            r.entry.link_target,
    ])?;
    if inserted == 0 {
        return Ok(()); // already stored by an earlier run: its observations are there too
    }
    let item_id = tx.last_insert_rowid();
    for (analyzer, version, o) in &r.observations {
        insert_observation(tx, item_id, analyzer, version, o)?;
    }
    for e in &r.errors {
        insert_error(
            tx,
            run_id,
            r.source_id,
            &r.entry.rel_path,
            e.stage.as_str(),
            &e.reason,
        )?;
    }
    for (analyzer, version, record) in &r.records {
        insert_record(tx, item_id, analyzer, version, record)?;
    }
    for child in &r.children {
        let inserted = tx.prepare_cached(
            "INSERT INTO items(source_id, path, kind, size, mode, uid, gid, inode, nlink, mime, parent_id, derivation, md5, sha1, sha256)
             VALUES (?1,?2,?3,?4,0,0,0,0,0,?5,?6,?7,?8,?9,?10) ON CONFLICT(source_id, path) DO NOTHING",
        )?
        .execute(params![
            r.source_id,
            child.rel_path,
            child.kind,
            child.size as i64,
            child.mime,
            item_id,
            child.derivation.to_string(),
            child.digests.map(|d| d.md5.0.to_vec()),
            child.digests.map(|d| d.sha1.0.to_vec()),
            child.digests.map(|d| d.sha256.0.to_vec()),
        ])?;
        if inserted == 0 {
            continue;
        }
        let child_id = tx.last_insert_rowid();
        for (analyzer, version, o) in &child.observations {
            insert_observation(tx, child_id, analyzer, version, o)?;
        }
        for e in &child.errors {
            insert_error(
                tx,
                run_id,
                r.source_id,
                &child.rel_path,
                e.stage.as_str(),
                &e.reason,
            )?;
        }
        for (analyzer, version, record) in &child.records {
            insert_record(tx, child_id, analyzer, version, record)?;
        }
    }
    Ok(())
}

/// Inserts a communication record of a stored item, keyed by its place in the item.
pub fn insert_record(
    tx: &Connection,
    item_id: i64,
    analyzer: &str,
    version: &str,
    r: &CommRecord,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO records(item_id, analyzer, analyzer_version, kind, format, locator, time_utc, time_local, time_offset,
                             zone_known, time_assumption, direction, participants, body, thread, extra)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        item_id,
        analyzer,
        version,
        r.kind.as_str(),
        r.format,
        r.locator.to_string(),
        r.time.utc,
        r.time.local,
        r.time.offset,
        r.time.zone_known,
        r.time.assumption,
        r.direction,
        serde_json::to_string(&r.participants).unwrap_or_default(),
        r.body,
        r.thread,
        r.extra.to_string(),
    ])?;
    Ok(())
}

/// Inserts an observation of a stored item; one that is already there is kept as it is.
pub fn insert_observation(
    tx: &Connection,
    item_id: i64,
    analyzer: &str,
    version: &str,
    o: &ObservationDraft,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO observations(item_id, subject, kind, analyzer, analyzer_version, value, confidence, provenance)
         VALUES (?1,'item',?2,?3,?4,?5,?6,?7) ON CONFLICT DO NOTHING",
    )?
    .execute(params![item_id, o.kind.name(), analyzer, version, o.value.to_string(), o.confidence, o.provenance.to_string()])?;
    Ok(())
}

pub fn insert_error(
    tx: &Connection,
    run_id: i64,
    source_id: i64,
    path: &[u8],
    stage: &str,
    reason: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO item_errors(source_id, path, stage, reason, run_id) VALUES (?1,?2,?3,?4,?5) ON CONFLICT DO NOTHING",
    )?
    .execute(params![source_id, path, stage, reason, run_id])?;
    Ok(())
}

/// Adds observations of items already stored, in one transaction; one already there is
/// kept as it is (a hash set matched again against earlier items).
pub fn add_observations(
    conn: &mut Connection,
    observations: &[(crate::model::ItemId, &str, &str, ObservationDraft)],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for (item, analyzer, version, o) in observations {
        insert_observation(&tx, item.0, analyzer, version, o)?;
    }
    tx.commit()
}

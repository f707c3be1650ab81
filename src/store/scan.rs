//! The scan's bookkeeping in the store: a run's row, the sources it registers, the hash sets
//! and PDQ lists it used, crash recovery, resume, and each source's totals when it ends. The
//! engine decides what happens; every statement it needs is here.

use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::{audit, meta_get, meta_set};
use crate::evidence::digest::{self, FileDigests, Sha256};
use crate::hashsets::LoadedHashSet;
use crate::media::pdqlist::PdqList;
use crate::model::ItemId;

/// The rule set a run works under, as the store keeps it (the leads module owns the rules;
/// the store only records which were in force).
pub struct RulesInForce<'a> {
    pub digest: &'a str,
    pub version: &'a str,
    pub text: &'a str,
}

/// A run's row, `status = 'running'` until [`finish_run`].
pub fn begin_run(
    conn: &Connection,
    started: &str,
    examiner: &str,
    config_digest: &str,
    rules_digest: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO runs(started, examiner, command, status, config_digest, rules_digest) VALUES (?1,?2,?3,'running',?4,?5)",
        params![started, examiner, audit::command_line(), config_digest, rules_digest],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Ends a run: its row says how it ended and carries the summary, and the audit chain gets
/// `action` with `details`, in one transaction.
pub fn finish_run(
    conn: &mut Connection,
    run_id: i64,
    finished: &str,
    interrupted: bool,
    summary: &serde_json::Value,
    examiner: &str,
    details: &serde_json::Value,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let (status, action) = if interrupted {
        ("interrupted", "scan-interrupted")
    } else {
        ("complete", "scan-complete")
    };
    tx.execute(
        "UPDATE runs SET finished = ?1, status = ?2, summary = ?3 WHERE id = ?4",
        params![finished, status, summary.to_string(), run_id],
    )?;
    audit::append(&tx, examiner, action, details)?;
    tx.commit()
}

/// Records the rule set in force, with an audit entry when it changed since the last run.
pub fn record_rules_change(
    conn: &Connection,
    actor: &str,
    rules: &RulesInForce,
) -> rusqlite::Result<()> {
    let previous = meta_get(conn, "rules_digest")?;
    if previous.as_deref() != Some(rules.digest) {
        // In force first, so the entry's own rules digest is the new one.
        meta_set(conn, "rules_digest", rules.digest)?;
        meta_set(conn, "rules_text", rules.text)?;
        audit::append(
            conn,
            actor,
            "rules-change",
            &json!({"from": previous, "to": rules.digest, "rules_version": rules.version, "rules": rules.text}),
        )?;
    }
    Ok(())
}

/// The hash sets of a run, with every problem found while parsing them.
pub fn store_hashsets(
    conn: &Connection,
    run_id: i64,
    sets: &[LoadedHashSet],
) -> rusqlite::Result<()> {
    for h in sets {
        conn.execute(
            "INSERT INTO hashsets(run_id, name, path, format, status, category, file_sha256, entries, problems) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![run_id, h.name, h.spec.path.to_string_lossy(), h.parsed.format.as_str(), h.spec.status.as_str(), h.spec.category, h.file_sha256.to_hex(), h.parsed.entries.len() as i64, h.parsed.problems.len() as i64],
        )?;
        let problems = h.parsed.problems.iter().map(|p| (&p.location, &p.reason));
        store_problems(conn, conn.last_insert_rowid(), problems)?;
    }
    Ok(())
}

/// The PDQ lists of a run, kept beside the hash sets (format `pdq-list`).
pub fn store_pdqlists(conn: &Connection, run_id: i64, lists: &[PdqList]) -> rusqlite::Result<()> {
    for l in lists {
        conn.execute(
            "INSERT INTO hashsets(run_id, name, path, format, status, category, file_sha256, entries, problems) VALUES (?1,?2,?3,'pdq-list',?4,?5,?6,?7,?8)",
            params![run_id, l.name, l.spec.path.to_string_lossy(), l.spec.status.as_str(), l.spec.category, l.file_sha256.to_hex(), l.entries.len() as i64, l.problems.len() as i64],
        )?;
        let problems = l.problems.iter().map(|p| (&p.location, &p.reason));
        store_problems(conn, conn.last_insert_rowid(), problems)?;
    }
    Ok(())
}

fn store_problems<'a>(
    conn: &Connection,
    hashset_id: i64,
    problems: impl Iterator<Item = (&'a String, &'a String)>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO hashset_problems(hashset_id, location, reason) VALUES (?1,?2,?3)",
    )?;
    for (location, reason) in problems {
        stmt.execute(params![hashset_id, location, reason])?;
    }
    Ok(())
}

/// An item a dead run left in flight: `None` when it was committed after all, else the
/// number of crashes it has now been in flight at (this one counted).
pub fn count_crash(
    conn: &Connection,
    source_id: i64,
    path: &[u8],
) -> rusqlite::Result<Option<i64>> {
    let stored: Option<i64> = conn
        .query_row(
            "SELECT id FROM items WHERE source_id = ?1 AND path = ?2",
            params![source_id, path],
            |r| r.get(0),
        )
        .optional()?;
    if stored.is_some() {
        return Ok(None);
    }
    conn.execute(
        "INSERT INTO crash_suspects(source_id, path, crashes) VALUES (?1, ?2, 1) ON CONFLICT(source_id, path) DO UPDATE SET crashes = crashes + 1",
        params![source_id, path],
    )?;
    conn.query_row(
        "SELECT crashes FROM crash_suspects WHERE source_id = ?1 AND path = ?2",
        params![source_id, path],
        |r| r.get(0),
    )
    .map(Some)
}

/// The paths of a source already stored (a resumed scan skips them).
pub fn stored_paths(conn: &Connection, source_id: i64) -> rusqlite::Result<HashSet<Vec<u8>>> {
    let mut stmt = conn.prepare("SELECT path FROM items WHERE source_id = ?1")?;
    let rows = stmt.query_map([source_id], |r| r.get::<_, Vec<u8>>(0))?;
    rows.collect()
}

/// The items of a source that were in flight at a crash, with how many.
pub fn crash_suspects(
    conn: &Connection,
    source_id: i64,
) -> rusqlite::Result<HashMap<Vec<u8>, i64>> {
    let mut stmt = conn.prepare("SELECT path, crashes FROM crash_suspects WHERE source_id = ?1")?;
    let rows = stmt.query_map([source_id], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
    })?;
    rows.collect()
}

/// The highest item id so far: what a run finds stored before it starts.
pub fn last_item_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(id), 0) FROM items", [], |r| r.get(0))
}

/// An item stored by an earlier run, with its digests (a hash set added later is matched
/// against these; the evidence is not read again).
pub struct StoredDigests {
    pub item: ItemId,
    pub digests: FileDigests,
    pub size: u64,
}

/// The digested items of a source with ids up to `up_to`.
pub fn stored_digests(
    conn: &Connection,
    source_id: i64,
    up_to: i64,
) -> rusqlite::Result<Vec<StoredDigests>> {
    let mut select = conn.prepare(
        "SELECT id, md5, sha1, sha256, size FROM items WHERE source_id = ?1 AND id <= ?2 AND sha256 IS NOT NULL",
    )?;
    let mut rows = select.query(params![source_id, up_to])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let md5: Vec<u8> = r.get(1)?;
        let sha1: Vec<u8> = r.get(2)?;
        let sha256: Vec<u8> = r.get(3)?;
        let (Some(md5), Some(sha1), Some(sha256)) = (
            digest::Md5::from_slice(&md5),
            digest::Sha1::from_slice(&sha1),
            Sha256::from_slice(&sha256),
        ) else {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Blob,
                "a stored digest has the wrong length".into(),
            ));
        };
        out.push(StoredDigests {
            item: ItemId(r.get(0)?),
            digests: FileDigests { md5, sha1, sha256 },
            size: r.get::<_, i64>(4)? as u64,
        });
    }
    Ok(out)
}

/// The source's id in this case, adding it when new. Refuses a --label that differs from
/// the one the source already has, and a label that already names another source.
pub fn register_source(
    conn: &Connection,
    root: &Path,
    label: &str,
    label_given: bool,
    examiner: &str,
    now: &str,
) -> Result<i64, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let root_bytes = root.as_os_str().as_bytes();
    let existing: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, label FROM sources WHERE root_path = ?1",
            [root_bytes],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db)?;
    if let Some((id, stored_label)) = existing {
        if label_given && stored_label != label {
            return Err(format!(
                "source {} is labelled {stored_label:?} in this case, not {label:?}: use that label or leave --label out",
                root.display(),
            ));
        }
        conn.execute(
            "UPDATE sources SET last_started = ?1 WHERE id = ?2",
            params![now, id],
        )
        .map_err(db)?;
        return Ok(id);
    }
    let clash: Option<Vec<u8>> = conn
        .query_row(
            "SELECT root_path FROM sources WHERE label = ?1",
            [label],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    if let Some(other) = clash {
        return Err(format!(
            "label {label:?} already names source {} in this case: give {} another --label",
            crate::evidence::display_path(&other),
            root.display()
        ));
    }
    conn.execute(
        "INSERT INTO sources(label, root_path, examiner, first_started, last_started) VALUES (?1,?2,?3,?4,?4)",
        params![label, root_bytes, examiner, now],
    )
    .map_err(db)?;
    Ok(conn.last_insert_rowid())
}

/// What a source holds once scanned, as the summary and the `sources` row give it.
pub struct SourceTotals {
    pub label: String,
    pub files: i64,
    pub dirs: i64,
    pub other: i64,
    pub bytes: i64,
    pub errors: i64,
    pub known_bad: i64,
    pub known_good: i64,
    pub derived: i64,
    /// SHA-256 of every evidence file (not of the children derived from them), by path: what
    /// the root digest is computed over, so `spoor verify` can recompute it from disk.
    pub evidence_digests: Vec<(Vec<u8>, Sha256)>,
}

pub fn source_totals(conn: &Connection, id: i64) -> rusqlite::Result<SourceTotals> {
    // One pass over the source's evidence items for the four figures and the root digest's
    // inputs (two passes took 0.15 s of a 100,000-file scan; the table was read twice).
    let (mut files, mut dirs, mut other, mut bytes) = (0i64, 0i64, 0i64, 0i64);
    let mut evidence_digests = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT kind, size, path, sha256 FROM items WHERE source_id = ?1 AND parent_id IS NULL",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        match r.get_ref(0)?.as_str()? {
            "file" => {
                files += 1;
                bytes += r.get::<_, i64>(1)?;
            }
            "dir" => dirs += 1,
            _ => other += 1,
        }
        if let Some(sha256) = r.get_ref(3)?.as_blob_or_null()? {
            let sha256 = Sha256::from_slice(sha256).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Blob,
                    "a stored SHA-256 has the wrong length".into(),
                )
            })?;
            evidence_digests.push((r.get::<_, Vec<u8>>(2)?, sha256));
        }
    }
    let (known_bad, known_good): (i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(bad > 0), 0), COALESCE(SUM(bad = 0), 0) FROM (
             SELECT SUM(json_extract(o.value, '$.status') = 'bad') AS bad
             FROM observations o JOIN items i ON i.id = o.item_id
             WHERE i.source_id = ?1 AND o.kind = 'hashset.match' GROUP BY o.item_id)",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let count = |sql: &str| conn.query_row(sql, [id], |r| r.get::<_, i64>(0));
    // `parent_id >= 1` and `+source_id`: through the parent index (derived items only), not
    // the (source, path) one, which read every item of the source for this.
    let derived = count("SELECT COUNT(*) FROM items WHERE +source_id = ?1 AND parent_id >= 1")?;
    let errors = count("SELECT COUNT(*) FROM item_errors WHERE source_id = ?1")?;
    let label = conn.query_row("SELECT label FROM sources WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    Ok(SourceTotals {
        label,
        files,
        dirs,
        other,
        bytes,
        errors,
        known_bad,
        known_good,
        derived,
        evidence_digests,
    })
}

/// Writes a source's totals and root digest; `finished` only when the scan completed it.
pub fn record_source_end(
    conn: &Connection,
    id: i64,
    totals: &SourceTotals,
    root_digest: &str,
    complete: bool,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sources SET finished = CASE WHEN ?1 THEN ?2 ELSE finished END, file_count=?3, dir_count=?4, other_count=?5, byte_count=?6, error_count=?7, root_digest=?8 WHERE id=?9",
        params![complete, now, totals.files, totals.dirs, totals.other, totals.bytes, totals.errors, root_digest, id],
    )?;
    Ok(())
}

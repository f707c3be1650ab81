//! The case directory and its SQLite store.
//!
//! ```text
//! CASE/
//!   case.sqlite     items, observations, errors, leads, reviews, audit
//!   scan.journal    in-flight marks of the running scan (crash recovery), and its
//!                   memory-mapped slots, scan.journal.slots
//!   index/ thumbs/  later stages
//!   exports/        what `report` writes
//! ```
//!
//! Opening a case creates what is missing and migrates the schema; a location that cannot be
//! written is an error here, before any evidence is touched.

pub mod audit;
pub mod export;
pub mod graph;
pub mod items;
pub mod leads;
pub mod passes;
pub mod report;
pub mod scan;
mod schema;
pub mod web;

pub use passes::*;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

pub use schema::SCHEMA_VERSION;

pub struct CaseDir {
    pub root: PathBuf,
    /// True when this process created the directory (so it may remove it again if a later
    /// check fails before anything was stored).
    pub created: bool,
}

impl CaseDir {
    pub fn db_path(&self) -> PathBuf {
        self.root.join("case.sqlite")
    }
    pub fn journal_path(&self) -> PathBuf {
        self.root.join("scan.journal")
    }
    pub fn exports(&self) -> PathBuf {
        self.root.join("exports")
    }
}

/// Creates (if needed) and checks a case directory for writing. Touches no evidence.
pub fn prepare_for_writing(root: &Path) -> Result<CaseDir, String> {
    let created = !root.exists();
    for sub in ["", "index", "thumbs", "exports"] {
        let dir = root.join(sub);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("case directory {}: cannot create: {e}", dir.display()))?;
    }
    // Root ignores permission bits, and a read-only mount only shows on write: so write.
    let probe = root.join(".spoor-write-probe");
    std::fs::write(&probe, b"probe")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| format!("case directory {}: not writable: {e}", root.display()))?;
    Ok(CaseDir {
        root: root.to_path_buf(),
        created,
    })
}

/// An existing case, for reading commands; refuses to create one by mistake.
pub fn existing(root: &Path) -> Result<CaseDir, String> {
    let case = CaseDir {
        root: root.to_path_buf(),
        created: false,
    };
    if !case.db_path().is_file() {
        return Err(format!(
            "{} is not a spoor case (no case.sqlite)",
            root.display()
        ));
    }
    Ok(case)
}

pub fn open_store(case: &CaseDir) -> Result<Connection, String> {
    let path = case.db_path();
    let conn =
        Connection::open(&path).map_err(|e| format!("case store {}: {e}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    )
    .map_err(|e| format!("case store {}: {e}", path.display()))?;
    schema::migrate(&conn).map_err(|e| format!("case store {}: migration: {e}", path.display()))?;
    Ok(conn)
}

/// The connection of the one bulk writer of a scan. Fewer, larger WAL checkpoints and a
/// bigger page cache: with the defaults (1000 pages, 2 MB) the writer thread took 19% of a
/// 100,000-file scan (perf).
pub fn open_bulk_writer(case: &CaseDir) -> Result<Connection, String> {
    let conn = open_store(case)?;
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;")
        .map_err(|e| format!("case store: {e}"))?;
    Ok(conn)
}

/// Copies the bulk writer's committed WAL frames into the case file while a scan runs, from a
/// thread of its own (SQLite's PASSIVE checkpoint: it never blocks the writer or a reader).
/// Why: the bulk writer checkpoints rarely (see [`open_bulk_writer`]), so the whole WAL was
/// copied and synced at the first write after the items stage: 0.28-0.41 s of a 5 s scan of
/// 100,000 files, mostly waiting on the disk, with both cores idle. Done on the way, that
/// wait overlaps the hashing; the checkpoint's CPU was under 1 % of the scan's samples.
/// A checkpoint that fails (busy) loses nothing: the frames stay in the WAL for the next.
pub struct BackgroundCheckpoint {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Time between checkpoints: at the bulk writer's ~7 MB/s of WAL a checkpoint copies a few
/// MB at a time.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl BackgroundCheckpoint {
    pub fn start(case: &CaseDir) -> Result<Self, String> {
        let conn = open_store(case)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("spoor-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| format!("checkpoint thread: {e}"))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for BackgroundCheckpoint {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A column holding JSON that spoor wrote; one that does not read back is an error (a
/// damaged store), never a row left out.
pub(crate) fn json_at(row: &rusqlite::Row, column: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Key under which an analyzer's error margin is kept in `meta` (leads show it).
pub fn error_margin_key(analyzer: &str, version: &str) -> String {
    format!("analyzer:{analyzer}:{version}")
}

pub fn record_error_margin(
    conn: &Connection,
    analyzer: &str,
    version: &str,
    margin: &str,
) -> rusqlite::Result<()> {
    meta_set(conn, &error_margin_key(analyzer, version), margin)
}

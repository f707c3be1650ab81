//! In-flight journal: one line before an item is processed (`B`), one after (`E`).
//!
//! Items are committed in batches, so the store alone cannot tell which item was being read
//! when the process died. After a crash, an item with `B` and no `E` that is not in the store
//! was in flight; each such crash is counted in `crash_suspects`, and an item in flight at two
//! crashes is skipped with an error record instead of being read again, so a file that kills
//! the process cannot trap the examiner in a restart loop (bulk_extractor's restarter does
//! the same). Lines are single `write(2)` calls on an `O_APPEND` file: they survive `kill -9`
//! (the page cache outlives the process) and do not interleave between threads.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::evidence::digest::to_hex;

pub struct Journal {
    file: File,
}

impl Journal {
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        Ok(Journal {
            file: OpenOptions::new().create(true).append(true).open(path)?,
        })
    }

    fn line(&self, mark: char, source_id: i64, path: &[u8]) {
        let line = format!("{mark} {source_id} {}\n", to_hex(path));
        // A journal write that fails weakens crash recovery but loses no evidence data.
        let _ = (&self.file).write_all(line.as_bytes());
    }

    pub fn begin(&self, source_id: i64, path: &[u8]) {
        self.line('B', source_id, path);
    }

    pub fn end(&self, source_id: i64, path: &[u8]) {
        self.line('E', source_id, path);
    }
}

/// Items begun and never ended, from a journal left by a run that did not finish.
pub fn unfinished(path: &Path) -> std::io::Result<Vec<(i64, Vec<u8>)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut begun: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut ended: HashSet<(i64, Vec<u8>)> = HashSet::new();
    for line in text.lines() {
        let mut parts = line.split(' ');
        let (Some(mark), Some(id), Some(hex)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(id), Some(path)) = (id.parse::<i64>(), from_hex(hex)) else {
            continue;
        };
        match mark {
            "B" => begun.push((id, path)),
            "E" => {
                ended.insert((id, path));
            }
            _ => {}
        }
    }
    let mut seen = HashSet::new();
    Ok(begun
        .into_iter()
        .filter(|k| !ended.contains(k) && seen.insert(k.clone()))
        .collect())
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn clear(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begun_without_end_is_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let j = Journal::open(&p).unwrap();
        j.begin(1, b"a");
        j.begin(1, b"b\xff");
        j.end(1, b"a");
        j.begin(2, b"a");
        assert_eq!(
            unfinished(&p).unwrap(),
            vec![(1, b"b\xff".to_vec()), (2, b"a".to_vec())]
        );
    }
}

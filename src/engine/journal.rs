//! In-flight journal: which items were being read when the process died.
//!
//! Items are committed in batches, so the store alone cannot tell which item was being read
//! when the process died. After a crash, an item begun and never ended that is not in the
//! store was in flight; each such crash is counted in `crash_suspects`, and an item in flight
//! at two crashes is skipped with an error record instead of being read again, so a file that
//! kills the process cannot trap the examiner in a restart loop (bulk_extractor's restarter
//! does the same).
//!
//! Two places hold the marks, both of which outlive the process (the page cache survives
//! `kill -9`; neither survives the machine losing power, which the store's own commits cover):
//!
//! - slots in a small file mapped shared into memory (`scan.journal.slots`): an item takes a
//!   free slot, writes its path and then the word that says the slot is in use, and clears
//!   that word when it ends — no system call per item. The text lines below cost two
//!   `write(2)` per item; on 100,000 small files those were 0.4 s of a 4.9 s scan
//!   (scripts/bench-hash.sh, 2026-12-02).
//! - text lines (`B` before, `E` after) in an `O_APPEND` file, single `write(2)` calls that do
//!   not interleave between threads: for a path longer than a slot, when every slot is taken,
//!   or where the file cannot be mapped.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::evidence::digest::to_hex;

/// Bytes per slot: the in-use word, the source id, then the path.
const SLOT_BYTES: usize = 4096;
const SLOT_HEADER: usize = 16;
const SLOT_PATH_MAX: usize = SLOT_BYTES - SLOT_HEADER;
/// Slots in the file: items in flight at once (rayon's workers, plus any nested work).
const SLOTS: usize = 64;
/// The high half of an in-use word (`SPOR`); the low half is the path's length.
const IN_USE: u64 = 0x5350_4f52 << 32;

pub struct Journal {
    file: File,
    slots: Option<Slots>,
}

/// What [`Journal::begin`] marked, for [`Journal::end`].
pub struct InFlight<'p> {
    slot: Option<usize>,
    source_id: i64,
    path: &'p [u8],
}

/// The mapped slots file and which slots are taken (a bit each).
struct Slots {
    base: std::ptr::NonNull<u8>,
    taken: AtomicU64,
}

// The mapping is written only through slots a thread holds alone (taken by compare-exchange
// on `taken`) and through atomic in-use words.
unsafe impl Send for Slots {}
unsafe impl Sync for Slots {}

impl Slots {
    fn map(path: &Path) -> std::io::Result<Slots> {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        file.set_len((SLOTS * SLOT_BYTES) as u64)?;
        // SAFETY: a fresh shared mapping of a file this process just sized; it is unmapped
        // in Drop, and no reference into it outlives `self`.
        let base = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                SLOTS * SLOT_BYTES,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
                &file,
                0,
            )?
        };
        let base = std::ptr::NonNull::new(base.cast::<u8>())
            .ok_or_else(|| std::io::Error::other("mmap returned null"))?;
        Ok(Slots {
            base,
            taken: AtomicU64::new(0),
        })
    }

    fn word(&self, slot: usize) -> &AtomicU64 {
        // SAFETY: slot < SLOTS, so the word lies in the mapping; slots start page-aligned.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(slot * SLOT_BYTES)
                .cast::<AtomicU64>()
        }
    }

    fn take(&self) -> Option<usize> {
        let mut taken = self.taken.load(Ordering::Relaxed);
        loop {
            let free = (!taken).trailing_zeros() as usize;
            if free >= SLOTS {
                return None;
            }
            match self.taken.compare_exchange_weak(
                taken,
                taken | 1 << free,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(free),
                Err(now) => taken = now,
            }
        }
    }

    fn mark(&self, slot: usize, source_id: i64, path: &[u8]) {
        // SAFETY: this thread holds `slot` alone; the source id and path fit in it.
        unsafe {
            let at = self.base.as_ptr().add(slot * SLOT_BYTES);
            std::ptr::copy_nonoverlapping(source_id.to_ne_bytes().as_ptr(), at.add(8), 8);
            std::ptr::copy_nonoverlapping(path.as_ptr(), at.add(SLOT_HEADER), path.len());
        }
        // Written last: a process killed before this line leaves the slot free, not torn.
        self.word(slot)
            .store(IN_USE | path.len() as u64, Ordering::Release);
    }

    fn clear(&self, slot: usize) {
        self.word(slot).store(0, Ordering::Release);
        self.taken.fetch_and(!(1 << slot), Ordering::Release);
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, of this length, unmapped once.
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), SLOTS * SLOT_BYTES) };
    }
}

/// The slots file beside the text journal.
fn slots_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".slots");
    PathBuf::from(name)
}

impl Journal {
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        Ok(Journal {
            file: OpenOptions::new().create(true).append(true).open(path)?,
            // Without the mapping every mark is a text line, as before the slots.
            slots: Slots::map(&slots_path(path)).ok(),
        })
    }

    fn line(&self, mark: char, source_id: i64, path: &[u8]) {
        let line = format!("{mark} {source_id} {}\n", to_hex(path));
        // A journal write that fails weakens crash recovery but loses no evidence data.
        let _ = (&self.file).write_all(line.as_bytes());
    }

    pub fn begin<'p>(&self, source_id: i64, path: &'p [u8]) -> InFlight<'p> {
        let slot = match &self.slots {
            Some(slots) if path.len() <= SLOT_PATH_MAX => slots.take(),
            _ => None,
        };
        match (slot, &self.slots) {
            (Some(slot), Some(slots)) => slots.mark(slot, source_id, path),
            _ => self.line('B', source_id, path),
        }
        InFlight {
            slot,
            source_id,
            path,
        }
    }

    pub fn end(&self, item: InFlight) {
        match (item.slot, &self.slots) {
            (Some(slot), Some(slots)) => slots.clear(slot),
            _ => self.line('E', item.source_id, item.path),
        }
    }
}

/// The items a slots file says were in flight.
fn in_flight_slots(path: &Path) -> std::io::Result<Vec<(i64, Vec<u8>)>> {
    let bytes = match std::fs::read(slots_path(path)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(bytes
        .chunks_exact(SLOT_BYTES)
        .filter_map(|slot| {
            // Native byte order: the word is stored as an atomic, and the file never leaves the
            // machine that wrote it (it is read back at the next scan's start).
            let word = u64::from_ne_bytes(slot[..8].try_into().ok()?);
            let len = (word & 0xffff_ffff) as usize;
            if word & !0xffff_ffff != IN_USE || len > SLOT_PATH_MAX {
                return None;
            }
            let source_id = i64::from_ne_bytes(slot[8..16].try_into().ok()?);
            Some((source_id, slot[SLOT_HEADER..SLOT_HEADER + len].to_vec()))
        })
        .collect())
}

/// Items begun and never ended, from a journal left by a run that did not finish.
pub fn unfinished(path: &Path) -> std::io::Result<Vec<(i64, Vec<u8>)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
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
    let from_lines = begun.into_iter().filter(|k| !ended.contains(k));
    Ok(from_lines
        .chain(in_flight_slots(path)?)
        .filter(|k| seen.insert(k.clone()))
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
    for file in [path.to_path_buf(), slots_path(path)] {
        match std::fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begun_without_end_is_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let j = Journal::open(&p).unwrap();
        assert!(j.slots.is_some(), "the slots file is mapped");
        let a = j.begin(1, b"a");
        let _b = j.begin(1, b"b\xff");
        j.end(a);
        let _a2 = j.begin(2, b"a");
        // A path longer than a slot is a text line, and counts the same.
        let long = vec![b'x'; SLOT_PATH_MAX + 1];
        let _long = j.begin(3, &long);
        let ended_long = j.begin(3, &long[1..]);
        j.end(ended_long);
        let mut found = unfinished(&p).unwrap();
        found.sort();
        assert_eq!(
            found,
            vec![
                (1, b"b\xff".to_vec()),
                (2, b"a".to_vec()),
                (3, long.clone())
            ]
        );
        // Read by another process after this one died: the file, not the mapping.
        drop(j);
        assert_eq!(unfinished(&p).unwrap().len(), 3);
        clear(&p).unwrap();
        assert!(!p.exists() && !slots_path(&p).exists());
        assert!(unfinished(&p).unwrap().is_empty());
    }

    #[test]
    fn more_items_in_flight_than_slots_fall_back_to_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let j = Journal::open(&p).unwrap();
        let names: Vec<Vec<u8>> = (0..SLOTS + 5)
            .map(|i| format!("f{i}").into_bytes())
            .collect();
        let marks: Vec<_> = names.iter().map(|n| j.begin(7, n)).collect();
        assert_eq!(marks.iter().filter(|m| m.slot.is_none()).count(), 5);
        assert_eq!(unfinished(&p).unwrap().len(), SLOTS + 5);
        for m in marks {
            j.end(m);
        }
        assert!(unfinished(&p).unwrap().is_empty());
        // Freed slots are taken again.
        let again = j.begin(7, b"g");
        assert!(again.slot.is_some());
        assert_eq!(unfinished(&p).unwrap(), vec![(7, b"g".to_vec())]);
    }
}

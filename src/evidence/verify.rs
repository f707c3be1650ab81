//! Re-verification of evidence against what a scan recorded.
//!
//! Takes the case store; re-walks every source and re-hashes every regular file; reports,
//! by path, files changed (content, size, type or link target), missing and added since the
//! scan, and the recomputed root digest. Reads evidence exactly as the scan does (read-only,
//! no links followed).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use rayon::prelude::*;
use serde::Serialize;

use super::digest::{self, Sha256};
use super::walk::{self, EntryKind, WalkEvent};
use super::{display_path, root_digest};
pub use crate::model::{RecordedEntry, RecordedSource};

#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceVerification {
    pub label: String,
    pub root: String,
    pub recorded_root_digest: Option<String>,
    pub current_root_digest: String,
    pub changed: Vec<String>,
    pub missing: Vec<String>,
    pub added: Vec<String>,
    pub unreadable: Vec<String>,
}

impl SourceVerification {
    pub fn differs(&self) -> bool {
        self.recorded_root_digest
            .as_deref()
            .is_some_and(|then| then != self.current_root_digest)
            || !(self.changed.is_empty()
                && self.missing.is_empty()
                && self.added.is_empty()
                && self.unreadable.is_empty())
    }
}

/// (path, Ok(Some(why changed)) | Ok(None) unchanged | Err(unreadable), digest now)
type Checked = (Vec<u8>, Result<Option<String>, String>, Option<Sha256>);

struct Stored {
    kind: EntryKind,
    size: u64,
    sha256: Option<Sha256>,
    link_target: Option<Vec<u8>>,
}

// Long (~134 lines) on purpose: one walk per source, each file compared with what the case
// recorded (missing, changed, added, unreadable), then the root digest recomputed like with like.
/// Re-verifies every source as the store recorded it ([`crate::store::evidence_as_recorded`]).
pub fn verify_sources(sources: Vec<RecordedSource>) -> Vec<SourceVerification> {
    let mut out = Vec::new();
    for source in sources {
        let RecordedSource {
            label,
            root,
            root_digest: recorded,
            entries,
        } = source;
        let mut stored: HashMap<Vec<u8>, Stored> = entries
            .into_iter()
            .map(|e| {
                (
                    e.path,
                    Stored {
                        kind: EntryKind::parse(&e.kind),
                        size: e.size,
                        sha256: e.sha256.and_then(|s| Sha256::from_slice(&s)),
                        link_target: e.link_target,
                    },
                )
            })
            .collect();
        let root_path =
            PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&root));
        let mut report = SourceVerification {
            label: label.clone(),
            root: root_path.display().to_string(),
            recorded_root_digest: recorded,
            ..Default::default()
        };
        let root_fd = match walk::open_root(&root_path) {
            Ok(fd) => fd,
            Err(e) => {
                report.unreadable.push(format!("(source root): {e}"));
                out.push(report);
                continue;
            }
        };
        let mut files = Vec::new();
        let stop = AtomicBool::new(false);
        let events = std::sync::Mutex::new(Vec::new());
        walk::walk(&root_fd, &stop, 4, &|batch| {
            events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(batch)
        });
        for event in events.into_inner().unwrap_or_else(|p| p.into_inner()) {
            match event {
                WalkEvent::Failure(f) => {
                    report
                        .unreadable
                        .push(format!("{}: {}", display_path(&f.rel_path), f.reason))
                }
                WalkEvent::Entry(e) => match stored.remove(&e.rel_path) {
                    None => report.added.push(display_path(&e.rel_path)),
                    Some(s) if s.kind != e.meta.kind => report.changed.push(format!(
                        "{}: was {}, now {}",
                        display_path(&e.rel_path),
                        s.kind.as_str(),
                        e.meta.kind.as_str()
                    )),
                    Some(s) if s.kind == EntryKind::Symlink && s.link_target != e.link_target => {
                        report.changed.push(format!(
                            "{}: link target changed",
                            display_path(&e.rel_path)
                        ))
                    }
                    Some(s) if s.kind == EntryKind::File => files.push((e.rel_path, s)),
                    Some(_) => {}
                },
            }
        }
        for path in stored.keys() {
            report.missing.push(display_path(path));
        }
        let checked: Vec<Checked> = files
            .into_par_iter()
            .map_init(digest::ReadBuffer::new, |buf, (path, s)| {
                let outcome = walk::open_regular_file(&root_fd, &path)
                    .map_err(|e| e.to_string())
                    .and_then(|f| {
                        digest::digest_reader(f, buf, &|| false).map_err(|e| e.to_string())
                    });
                match outcome {
                    Err(e) => (path, Err(e), None),
                    Ok(o) => {
                        let now = o.digests.sha256;
                        let verdict = match s.sha256 {
                            None => None, // unreadable at scan time: nothing to compare with
                            Some(then) if then != now => {
                                Some(format!("content changed (sha256 was {then}, now {now})"))
                            }
                            Some(_) if s.size != o.bytes => {
                                Some(format!("size changed ({} → {})", s.size, o.bytes))
                            }
                            Some(_) => None,
                        };
                        // Like with like: the root digest at scan time covers the files it
                        // could read then, so one unreadable then stays out of it now.
                        (path, Ok(verdict), s.sha256.map(|_| now))
                    }
                }
            })
            .collect();
        let mut current = Vec::new();
        for (path, verdict, now) in &checked {
            match verdict {
                Err(e) => report
                    .unreadable
                    .push(format!("{}: {e}", display_path(path))),
                Ok(Some(why)) => report
                    .changed
                    .push(format!("{}: {why}", display_path(path))),
                Ok(None) => {}
            }
            if let Some(d) = now {
                current.push((path.as_slice(), d));
            }
        }
        report.current_root_digest = root_digest(current).to_hex();
        for list in [
            &mut report.changed,
            &mut report.missing,
            &mut report.added,
            &mut report.unreadable,
        ] {
            list.sort();
        }
        out.push(report);
    }
    out
}

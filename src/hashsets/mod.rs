//! Known-file hash sets: NSRL RDS (v1.5/v2 `NSRLFile.txt`, also inside its zip), HashKeeper
//! `.hsh`, iLook `.hsh`, md5deep/hashdeep output, BSD `MD5 (name) = hash` lines, plain lists,
//! and Project VIC VICS JSON (1.3 and 2.0 `Media` records).
//!
//! Takes a file and what the investigator says it is (known-good, or known-bad with an
//! optional category); produces a [`LoadedHashSet`] with every entry that parsed and a
//! [`Problem`] (line number or record path, reason) for every one that did not. A malformed
//! line never stops the import. The format is recognised from the content, not the name.

mod parse;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::evidence::digest::{FileDigests, Md5, Sha1, Sha256};

pub use parse::parse_bytes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetStatus {
    KnownGood,
    KnownBad,
}

impl SetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SetStatus::KnownGood => "good",
            SetStatus::KnownBad => "bad",
        }
    }
}

/// `FILE[:good|:bad[:CATEGORY]]` from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashSetSpec {
    pub path: PathBuf,
    pub status: SetStatus,
    pub category: Option<String>,
}

impl HashSetSpec {
    /// Parses the argument. A path that itself contains `:` works when the status is given.
    /// Without a status the set is known-bad: a list handed to an investigator is one of
    /// files to look for; NSRL and other ignorable sets are passed with `:good`.
    pub fn parse(arg: &str) -> Result<HashSetSpec, String> {
        if let Some((head, tail)) = arg.rsplit_once(':') {
            match tail {
                "good" => {
                    return Ok(HashSetSpec {
                        path: head.into(),
                        status: SetStatus::KnownGood,
                        category: None,
                    });
                }
                "bad" => {
                    return Ok(HashSetSpec {
                        path: head.into(),
                        status: SetStatus::KnownBad,
                        category: None,
                    });
                }
                _ => {}
            }
            if let Some((path, status)) = head.rsplit_once(':') {
                if status == "bad" && !tail.is_empty() {
                    return Ok(HashSetSpec {
                        path: path.into(),
                        status: SetStatus::KnownBad,
                        category: Some(tail.to_string()),
                    });
                }
                if status == "good" {
                    return Err(format!(
                        "hash set {arg:?}: a category is only for known-bad sets (FILE:bad:CATEGORY)"
                    ));
                }
            }
        }
        if arg.is_empty() {
            return Err("empty hash set argument".into());
        }
        Ok(HashSetSpec {
            path: arg.into(),
            status: SetStatus::KnownBad,
            category: None,
        })
    }
}

/// One row of a hash set. At least one digest is present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashEntry {
    pub md5: Option<Md5>,
    pub sha1: Option<Sha1>,
    pub sha256: Option<Sha256>,
    pub name: Option<String>,
    pub size: Option<u64>,
    /// Per-entry category (VICS `Category`), overriding the set's.
    pub category: Option<String>,
}

/// A line or record that did not import, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `line 17`, or `value[0].Media[3]` for JSON.
    pub location: String,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    NsrlRds,
    NsrlRdsZip,
    HashKeeper,
    ILook,
    HeaderCsv,
    Hashdeep,
    Md5deep,
    Bsd,
    PlainList,
    VicsJson,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::NsrlRds => "nsrl-rds",
            Format::NsrlRdsZip => "nsrl-rds-zip",
            Format::HashKeeper => "hashkeeper",
            Format::ILook => "ilook",
            Format::HeaderCsv => "csv",
            Format::Hashdeep => "hashdeep",
            Format::Md5deep => "md5deep",
            Format::Bsd => "bsd",
            Format::PlainList => "plain",
            Format::VicsJson => "vics-json",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ParsedSet {
    pub format: Format,
    pub entries: Vec<HashEntry>,
    pub problems: Vec<Problem>,
}

#[derive(Clone, Debug)]
pub struct LoadedHashSet {
    pub spec: HashSetSpec,
    /// File name of the set, used as its name in observations.
    pub name: String,
    /// SHA-256 of the set file as read, so a lead names exactly which list it came from.
    pub file_sha256: Sha256,
    pub parsed: ParsedSet,
}

/// Reads and parses a hash set file. An unreadable or unrecognisable file is an error (fatal
/// at plan time); malformed lines inside a recognised file are [`Problem`]s.
pub fn load(spec: &HashSetSpec) -> Result<LoadedHashSet, String> {
    let bytes =
        std::fs::read(&spec.path).map_err(|e| format!("hash set {}: {e}", spec.path.display()))?;
    let parsed =
        parse_bytes(&bytes).map_err(|e| format!("hash set {}: {e}", spec.path.display()))?;
    Ok(LoadedHashSet {
        name: file_name(&spec.path),
        file_sha256: crate::evidence::digest::sha256_bytes(&bytes),
        spec: spec.clone(),
        parsed,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// One item's match against one set.
#[derive(Clone, Debug, PartialEq)]
pub struct HashMatch {
    pub set_index: usize,
    pub algorithm: &'static str,
    pub status: SetStatus,
    pub category: Option<String>,
    pub entry_name: Option<String>,
    /// How many entries of the set carry this digest (NSRL lists one file under many names).
    pub entries_matched: usize,
    /// False when the entry gives a size and it differs from the file's: a digest collision
    /// or a corrupt list, never to be read as a clean match.
    pub size_agrees: Option<bool>,
}

/// All loaded sets, indexed by each digest for O(1) lookups.
#[derive(Default)]
pub struct HashSetIndex {
    pub sets: Vec<LoadedHashSet>,
    md5: HashMap<Md5, Vec<(u32, u32)>>,
    sha1: HashMap<Sha1, Vec<(u32, u32)>>,
    sha256: HashMap<Sha256, Vec<(u32, u32)>>,
}

impl HashSetIndex {
    pub fn new(sets: Vec<LoadedHashSet>) -> HashSetIndex {
        let mut index = HashSetIndex::default();
        for (s, set) in sets.iter().enumerate() {
            for (e, entry) in set.parsed.entries.iter().enumerate() {
                let key = (s as u32, e as u32);
                if let Some(d) = entry.md5 {
                    index.md5.entry(d).or_default().push(key);
                }
                if let Some(d) = entry.sha1 {
                    index.sha1.entry(d).or_default().push(key);
                }
                if let Some(d) = entry.sha256 {
                    index.sha256.entry(d).or_default().push(key);
                }
            }
        }
        index.sets = sets;
        index
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Matches per set, strongest algorithm first (SHA-256, SHA-1, MD5); one match per set.
    pub fn lookup(&self, digests: &FileDigests, size: u64) -> Vec<HashMatch> {
        let mut per_set: Vec<Option<HashMatch>> = vec![None; self.sets.len()];
        let candidates = [
            ("sha256", self.sha256.get(&digests.sha256)),
            ("sha1", self.sha1.get(&digests.sha1)),
            ("md5", self.md5.get(&digests.md5)),
        ];
        for (algorithm, hits) in candidates {
            let Some(hits) = hits else { continue };
            for &(s, e) in hits {
                let slot = &mut per_set[s as usize];
                if let Some(m) = slot {
                    if m.algorithm == algorithm {
                        m.entries_matched += 1;
                    }
                    continue;
                }
                let set = &self.sets[s as usize];
                let entry = &set.parsed.entries[e as usize];
                *slot = Some(HashMatch {
                    set_index: s as usize,
                    algorithm,
                    status: set.spec.status,
                    category: entry.category.clone().or_else(|| set.spec.category.clone()),
                    entry_name: entry.name.clone(),
                    entries_matched: 1,
                    size_agrees: entry.size.map(|s| s == size),
                });
            }
        }
        per_set.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parsing() {
        assert_eq!(
            HashSetSpec::parse("nsrl.zip:good").unwrap(),
            HashSetSpec {
                path: "nsrl.zip".into(),
                status: SetStatus::KnownGood,
                category: None
            }
        );
        assert_eq!(
            HashSetSpec::parse("vics.json:bad:CAT-1").unwrap(),
            HashSetSpec {
                path: "vics.json".into(),
                status: SetStatus::KnownBad,
                category: Some("CAT-1".into())
            }
        );
        assert_eq!(
            HashSetSpec::parse("list.txt").unwrap().status,
            SetStatus::KnownBad
        );
        assert_eq!(
            HashSetSpec::parse("c:/x/list.txt:bad").unwrap().path,
            PathBuf::from("c:/x/list.txt")
        );
        assert!(HashSetSpec::parse("list.txt:good:CAT-1").is_err());
    }
}

//! Zip archives opened as containers: every member becomes a child item (`NAME.zip//path/in/zip`)
//! that goes through every stage, as Autopsy's and IPED's archive expansion does. The case this
//! is for first: WhatsApp's "Export chat" with media is a zip of `_chat.txt` and the pictures,
//! and seized phones and laptops hold many such exports; their chat is then parsed and their
//! pictures matched like any other file.
//!
//! Only plain zips (`application/zip` by signature): documents built on zip (docx, odt, apk,
//! jar …) are typed as what they are and not opened. Members are read in memory, each checked
//! against its CRC-32 by the zip reader; what one archive's members take together is bounded
//! ([`crate::model::records::EmbedBudget`]), as are nesting (zip in zip) and each member's size, so a
//! zip bomb ends in error records, not in an exhausted machine. Encrypted members, unsafe
//! names (`../`, absolute) and damaged members are error records with the member's name; the
//! other members are kept. A zip of any size is read: one over 512 MiB from its file, seeking to
//! each member, instead of from memory.

use serde_json::json;
use std::collections::HashSet;
use std::io::Read;

use crate::analyze::{Analysis, Analyzer, ItemView, ObservationDraft};
use crate::evidence::typing::ContentType;
use crate::evidence::walk::EntryKind;

pub struct ZipAnalyzer;

const ZIP: &str = "application/zip";

impl Analyzer for ZipAnalyzer {
    fn name(&self) -> &'static str {
        "archive"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "exact: members are the archive's own bytes, CRC-32 checked; encrypted members and members \
         past 512 MiB per archive are not extracted (error records say which); zip-based documents \
         (docx, odt, apk, jar) are not opened"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.entry.meta.kind == EntryKind::File
            && item
                .content_type
                .is_some_and(|ct| ct.mime == ZIP && ct.by_signature)
    }
    fn wants_content(&self, content_type: &ContentType, size: u64) -> bool {
        content_type.mime == ZIP && size <= crate::model::records::MAX_IN_MEMORY
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        self.analyze_full(item).map(|a| a.observations)
    }
    fn analyze_full(&self, item: &ItemView) -> Result<Analysis, String> {
        match (item.content, item.reopen) {
            (Some(content), _) if !item.expand => listing(std::io::Cursor::new(content)),
            (Some(content), _) => members(std::io::Cursor::new(content)),
            // A zip larger than what is handed over in memory is read from the file: the
            // central directory, then each member by seeking to it.
            (None, Some(reopen)) => members(reopen()?),
            (None, None) => Err(format!(
                "zip of {} bytes held nowhere to read it from; members not extracted",
                item.entry.meta.size
            )),
        }
    }
}

/// A copy of a zip already expanded elsewhere in the same evidence file: its `archive.zip`
/// observation, nothing extracted again.
fn listing(reader: impl Read + std::io::Seek) -> Result<Analysis, String> {
    let archive = zip::ZipArchive::new(reader)
        .map_err(|e| format!("not a readable zip ({e}); members not extracted"))?;
    let mut analysis = Analysis::default();
    analysis.observations.push(ObservationDraft {
        kind: crate::model::ObservationKind::ArchiveZip,
        value: json!({
            "members": archive.len(), "extracted": 0,
            "not_extracted_because": "an identical copy is already expanded within this evidence file",
            "comment": String::from_utf8_lossy(archive.comment()),
        }),
        confidence: 1.0,
        provenance: json!({"reader": "zip 9"}),
    });
    Ok(analysis)
}

/// The members of a zip as embedded files, its `archive.zip` observation, and what could not
/// be extracted.
fn members(mut reader: impl Read + std::io::Seek) -> Result<Analysis, String> {
    // The zip reader keys members by name, so of two members with one name it keeps one: the
    // central directory, read here, says which names occur more than once (issue 11.1).
    let central = central_directory(&mut reader);
    reader
        .rewind()
        .map_err(|e| format!("seek: {e}; members not extracted"))?;
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| format!("not a readable zip ({e}); members not extracted"))?;
    let mut analysis = Analysis::default();
    let mut budget = crate::model::records::EmbedBudget::default();
    let mut tally = Tally::default();
    let duplicated: HashSet<Vec<u8>> = match &central {
        Ok(entries) => {
            let mut seen = HashSet::new();
            entries
                .iter()
                .filter(|e| !seen.insert(e.name.clone()))
                .map(|e| e.name.clone())
                .collect()
        }
        Err(_) => HashSet::new(),
    };
    for index in 0..archive.len() {
        let name = archive
            .name_for_index(index)
            .and_then(Result::ok)
            .map(|n| n.into_owned())
            .unwrap_or_else(|| format!("#{index}"));
        if duplicated.contains(name.as_bytes()) {
            continue; // every member of this name is read below, from its own header
        }
        match archive.by_index(index) {
            Ok(mut member) => take(&mut member, index, &mut budget, &mut analysis, &mut tally),
            Err(e) => analysis
                .damage
                .push(format!("member {name}: {e}; not extracted")),
        }
    }
    let listed = archive.len();
    let comment = String::from_utf8_lossy(archive.comment()).into_owned();
    let offset = archive.offset();
    let mut members = listed;
    if let Ok(entries) = &central {
        members = members.max(entries.len());
        let mut reader = archive.into_inner();
        for (index, entry) in entries.iter().enumerate() {
            if !duplicated.contains(&entry.name) {
                continue;
            }
            let shown = String::from_utf8_lossy(&entry.name);
            let read = reader
                .seek(std::io::SeekFrom::Start(offset + entry.local_offset))
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    zip::read::read_zipfile_from_stream_with_compressed_size(
                        &mut reader,
                        entry.compressed_size,
                    )
                    .map_err(|e| e.to_string())
                });
            match read {
                Ok(Some(mut member)) => take(&mut member, index, &mut budget, &mut analysis, &mut tally),
                Ok(None) => analysis.damage.push(format!(
                    "member {shown:?} (entry {index}, one of several of that name): no local header \
                     at its offset; not extracted"
                )),
                Err(e) => analysis.damage.push(format!(
                    "member {shown:?} (entry {index}, one of several of that name): {e}; not extracted"
                )),
            }
        }
    }
    analysis.observations.push(ObservationDraft {
            kind: crate::model::ObservationKind::ArchiveZip,
            value: json!({
                "members": members, "extracted": tally.extracted, "directories": tally.directories,
                "not_extracted": members - tally.extracted - tally.directories,
                "names_used_more_than_once": duplicated.len(),
                "problems": analysis.damage.len(),
                "comment": comment,
            }),
            confidence: 1.0,
            provenance: json!({"reader": "zip 9", "times": "member times are the zip's MS-DOS local times, zone unknown"}),
        });
    Ok(analysis)
}

#[derive(Default)]
struct Tally {
    extracted: usize,
    directories: usize,
}

/// One member: its bytes (bounded, CRC-checked by the reader) as an embedded file, or the
/// reason it is not one.
fn take<R: Read>(
    member: &mut zip::read::ZipFile<'_, R>,
    index: usize,
    budget: &mut crate::model::records::EmbedBudget,
    analysis: &mut Analysis,
    tally: &mut Tally,
) {
    let stored_name = String::from_utf8_lossy(member.name_raw()).into_owned();
    if member.is_dir() {
        tally.directories += 1;
        return;
    }
    let (path, unsafe_because) = member_path(&stored_name);
    if let Some(why) = unsafe_because {
        // Flagged, and still analysed: nothing is written to disk, so the name can do no
        // harm here, and dropping the member would lose its bytes.
        analysis.damage.push(format!(
            "member {stored_name:?}: its name is {why} (extracted by an unzip tool it would \
             leave the archive's folder); analysed as {path:?}"
        ));
    }
    let declared = member.size();
    let mut bytes = Vec::new();
    let admitted = budget.admit(declared.min(usize::MAX as u64) as usize);
    let read = admitted.and_then(|_| {
        // The declared size can lie: never read more than it, plus one byte to notice.
        member
            .take(declared + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("damaged ({e})"))
            .and_then(|n| {
                if n as u64 == declared {
                    Ok(())
                } else {
                    Err(format!("holds {n} bytes where its header says {declared}"))
                }
            })
    });
    if let Err(why) = read {
        let tail = if why.ends_with("not extracted") {
            ""
        } else {
            "; not extracted"
        };
        analysis
            .damage
            .push(format!("member {stored_name}: {why}{tail}"));
        return;
    }
    analysis.embedded.push(crate::model::Embedded {
        name: path,
        derivation: json!({
            "what": "zip member",
            "member": stored_name,
            "index": index,
            "compressed_size": member.compressed_size(),
            "method": format!("{:?}", member.compression()),
            "crc32": format!("{:08x}", member.crc32()),
            "modified_local": member.last_modified().map(|t| format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()
            )),
            "transfer_decoded": true,
        }),
        bytes,
    });
    tally.extracted += 1;
}

/// One entry of the central directory, as far as finding its member again needs.
struct CentralEntry {
    name: Vec<u8>,
    /// Of its local header, from the start of the zip proper (the reader adds any prefix).
    local_offset: u64,
    compressed_size: u64,
}

/// The central directory read directly (ZIP64 included), in order, every entry kept even
/// when names repeat. The zip reader still decides what is readable; this only says which
/// entries it would fold together.
fn central_directory(
    reader: &mut (impl Read + std::io::Seek),
) -> Result<Vec<CentralEntry>, String> {
    use std::io::SeekFrom;
    const MAX_DIRECTORY: u64 = 256 << 20;
    let len = reader.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let tail_len = len.min(65_557);
    reader
        .seek(SeekFrom::Start(len - tail_len))
        .map_err(|e| e.to_string())?;
    let mut tail = vec![0; tail_len as usize];
    reader.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let at = tail
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .ok_or("no end of central directory")?;
    let eocd = &tail[at..];
    if eocd.len() < 22 {
        return Err("end of central directory cut short".into());
    }
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as u64;
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let eocd_pos = len - tail_len + at as u64;
    let (count, mut size, mut offset) = (u16_at(eocd, 10), u32_at(eocd, 12), u32_at(eocd, 16));
    let mut directory_end = eocd_pos;
    if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        // ZIP64: its locator sits right before the end record and points at the ZIP64 end.
        let locator = at
            .checked_sub(20)
            .filter(|l| &tail[*l..*l + 4] == b"PK\x06\x07");
        let Some(l) = locator else {
            return Err("ZIP64 locator missing".into());
        };
        let record = u64_at(&tail, l + 8);
        let mut z = [0u8; 56];
        reader
            .seek(SeekFrom::Start(record))
            .map_err(|e| e.to_string())?;
        reader.read_exact(&mut z).map_err(|e| e.to_string())?;
        if &z[..4] != b"PK\x06\x06" {
            return Err("ZIP64 end record missing".into());
        }
        (size, offset) = (u64_at(&z, 40), u64_at(&z, 48));
        directory_end = record;
    }
    if size > MAX_DIRECTORY || size > directory_end {
        return Err(format!("central directory of {size} bytes"));
    }
    // Where the directory is, from its end; bytes before the zip proper (a self-extractor's
    // stub) shift the offsets it states, which the zip reader's `offset()` accounts for.
    let start = directory_end - size;
    if offset > start {
        return Err("central directory offset past its place".into());
    }
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|e| e.to_string())?;
    let mut directory = vec![0; size as usize];
    reader
        .read_exact(&mut directory)
        .map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    let mut i = 0usize;
    while i + 46 <= directory.len() && &directory[i..i + 4] == b"PK\x01\x02" {
        let e = &directory[i..];
        let (name_len, extra_len, comment_len) = (
            u16_at(e, 28) as usize,
            u16_at(e, 30) as usize,
            u16_at(e, 32) as usize,
        );
        let end = 46 + name_len + extra_len + comment_len;
        if e.len() < end {
            break;
        }
        let mut compressed_size = u32_at(e, 20);
        let uncompressed = u32_at(e, 24);
        let mut local_offset = u32_at(e, 42);
        // ZIP64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in order.
        let mut extra = &e[46 + name_len..46 + name_len + extra_len];
        while extra.len() >= 4 {
            let (id, n) = (u16_at(extra, 0), u16_at(extra, 2) as usize);
            let body = &extra[4..(4 + n).min(extra.len())];
            if id == 1 {
                let mut k = 0;
                let mut next = || {
                    let v = body
                        .get(k..k + 8)
                        .map(|b| u64::from_le_bytes(b.try_into().unwrap()));
                    k += 8;
                    v
                };
                if uncompressed == 0xFFFF_FFFF {
                    next();
                }
                if compressed_size == 0xFFFF_FFFF {
                    compressed_size = next().unwrap_or(compressed_size);
                }
                if local_offset == 0xFFFF_FFFF {
                    local_offset = next().unwrap_or(local_offset);
                }
            }
            extra = &extra[(4 + n).min(extra.len())..];
        }
        entries.push(CentralEntry {
            name: e[46..46 + name_len].to_vec(),
            local_offset,
            compressed_size,
        });
        i += end;
    }
    Ok(entries)
}

/// A member's stored name as a relative child path (`a/b.txt`; `\\` is a separator too, as
/// Windows tools write it), and why the name is unsafe when it is: absolute (`/tmp/x`,
/// `C:\\x`, `//server/share`) or climbing out (`../`).
fn member_path(stored: &str) -> (String, Option<&'static str>) {
    let absolute = stored.starts_with('/')
        || stored.starts_with('\\')
        || (stored.len() >= 2
            && stored.as_bytes()[0].is_ascii_alphabetic()
            && stored.as_bytes()[1] == b':');
    let parts: Vec<&str> = stored
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let climbs = parts.contains(&"..");
    let path = parts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            // A drive letter becomes a plain folder name (`C`), `..` a visible one.
            if i == 0 && absolute && c.len() == 2 && c.ends_with(':') {
                c[..1].to_string()
            } else if *c == ".." {
                "dot-dot".to_string()
            } else {
                crate::model::records::safe_name(c)
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let path = if path.is_empty() {
        "unnamed".to_string()
    } else {
        path
    };
    let why = if absolute {
        Some("absolute")
    } else if climbs {
        Some("climbing out with ../")
    } else {
        None
    };
    (path, why)
}

#[cfg(test)]
mod tests {
    use super::member_path;

    #[test]
    fn member_names_become_relative_paths_and_unsafe_ones_are_said() {
        assert_eq!(member_path("a/b.txt"), ("a/b.txt".into(), None));
        assert_eq!(member_path("dir\\a.txt"), ("dir/a.txt".into(), None));
        assert_eq!(member_path("./a//b"), ("a/b".into(), None));
        assert_eq!(
            member_path("/tmp/x/p.txt"),
            ("tmp/x/p.txt".into(), Some("absolute"))
        );
        assert_eq!(
            member_path("C:\\Windows\\p.txt"),
            ("C/Windows/p.txt".into(), Some("absolute"))
        );
        assert_eq!(
            member_path("//server/share/p"),
            ("server/share/p".into(), Some("absolute"))
        );
        assert_eq!(
            member_path("../../etc/passwd"),
            (
                "dot-dot/dot-dot/etc/passwd".into(),
                Some("climbing out with ../")
            )
        );
        assert_eq!(member_path("/"), ("unnamed".into(), Some("absolute")));
    }
}

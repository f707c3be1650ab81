//! Zip archives opened as containers: every member becomes a child item (`NAME.zip//path/in/zip`)
//! that goes through every stage, as Autopsy's and IPED's archive expansion does. The case this
//! is for first: WhatsApp's "Export chat" with media is a zip of `_chat.txt` and the pictures,
//! and seized phones and laptops hold many such exports; their chat is then parsed and their
//! pictures matched like any other file.
//!
//! Only plain zips (`application/zip` by signature): documents built on zip (docx, odt, apk,
//! jar …) are typed as what they are and not opened. Members are read in memory, each checked
//! against its CRC-32 by the zip reader; what one archive's members take together is bounded
//! ([`crate::comms::EmbedBudget`]), as are nesting (zip in zip) and each member's size, so a
//! zip bomb ends in error records, not in an exhausted machine. Encrypted members, unsafe
//! names (`../`, absolute) and damaged members are error records with the member's name; the
//! other members are kept. A zip of any size is read: one over 512 MiB from its file, seeking to
//! each member, instead of from memory.

use serde_json::json;
use std::io::Read;

use crate::engine::analyzer::{Analysis, Analyzer, ItemView, ObservationDraft};
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
        content_type.mime == ZIP && size <= crate::comms::MAX_IN_MEMORY
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        self.analyze_full(item).map(|a| a.observations)
    }
    fn analyze_full(&self, item: &ItemView) -> Result<Analysis, String> {
        match (item.content, item.reopen) {
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

/// The members of a zip as embedded files, its `archive.zip` observation, and what could not
/// be extracted.
fn members(reader: impl Read + std::io::Seek) -> Result<Analysis, String> {
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| format!("not a readable zip ({e}); members not extracted"))?;
    let mut analysis = Analysis::default();
    let mut budget = crate::comms::EmbedBudget::default();
    let (mut extracted, mut directories) = (0usize, 0usize);
    for index in 0..archive.len() {
        let name = archive
            .name_for_index(index)
            .and_then(Result::ok)
            .map(|n| n.into_owned())
            .unwrap_or_else(|| format!("#{index}"));
        let mut member = match archive.by_index(index) {
            Ok(m) => m,
            Err(e) => {
                analysis
                    .damage
                    .push(format!("member {name}: {e}; not extracted"));
                continue;
            }
        };
        let stored_name = String::from_utf8_lossy(member.name_raw()).into_owned();
        if member.is_dir() {
            directories += 1;
            continue;
        }
        let Some(safe) = member.enclosed_name() else {
            analysis.damage.push(format!(
                    "member {stored_name:?}: its name leaves the archive (absolute or ../); not extracted"
                ));
            continue;
        };
        let declared = member.size();
        let mut bytes = Vec::new();
        let admitted = budget.admit(declared.min(usize::MAX as u64) as usize);
        let read = admitted.and_then(|_| {
            // The declared size can lie: never read more than it, plus one byte to notice.
            (&mut member)
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
            analysis
                .damage
                .push(format!("member {stored_name}: {why}; not extracted"));
            continue;
        }
        let path = safe
            .components()
            .map(|c| crate::comms::safe_name(&c.as_os_str().to_string_lossy()))
            .collect::<Vec<_>>()
            .join("/");
        analysis.embedded.push(crate::comms::Embedded {
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
        extracted += 1;
    }
    analysis.observations.push(ObservationDraft {
            kind: "archive.zip".into(),
            value: json!({
                "members": archive.len(), "extracted": extracted, "directories": directories,
                "not_extracted": analysis.damage.len(),
                "comment": String::from_utf8_lossy(archive.comment()),
            }),
            confidence: 1.0,
            provenance: json!({"reader": "zip 9", "times": "member times are the zip's MS-DOS local times, zone unknown"}),
        });
    Ok(analysis)
}

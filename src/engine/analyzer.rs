//! The analyzers of the foundation (hash sets, extension check); the interface they
//! implement is [`crate::analyze`], re-exported here.

use std::sync::Arc;

use serde_json::json;

pub use crate::analyze::{Analysis, Analyzer, Companion, ItemView, ObservationDraft, Reopen};
use crate::evidence::digest::FileDigests;
use crate::evidence::typing;
use crate::evidence::walk::EntryKind;
use crate::hashsets::HashSetIndex;

/// Looks each file's digests up in the loaded hash sets.
pub struct HashSetAnalyzer {
    pub index: Arc<HashSetIndex>,
}

impl Analyzer for HashSetAnalyzer {
    fn name(&self) -> &'static str {
        "hashset"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "exact digest equality; a false match needs a digest collision (MD5 and SHA-1 collisions can be \
         manufactured, so an MD5/SHA-1-only match of a crafted file is weaker than a SHA-256 match); the \
         list itself may be wrong, and its source is named in the observation"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        !self.index.is_empty() && item.digests.is_some()
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        Ok(item
            .digests
            .map(|d| self.observe(d, item.entry.meta.size))
            .unwrap_or_default())
    }
}

impl HashSetAnalyzer {
    /// The observations for one file's digests and size. Also used on digests already in the
    /// store, so that a set added in a later run applies to items scanned before it.
    pub fn observe(&self, digests: &FileDigests, size: u64) -> Vec<ObservationDraft> {
        self.index
            .lookup(digests, size)
            .into_iter()
            .map(|m| {
                let set = &self.index.sets[m.set_index];
                ObservationDraft {
                    kind: crate::model::ObservationKind::HashsetMatch,
                    value: json!({
                        "set": set.name,
                        "status": m.status.as_str(),
                        "category": m.category,
                        "algorithm": m.algorithm,
                        "entry_name": m.entry_name,
                        "entries_matched": m.entries_matched,
                        "size_agrees": m.size_agrees,
                    }),
                    confidence: if m.size_agrees == Some(false) {
                        0.5
                    } else {
                        1.0
                    },
                    provenance: json!({
                        "set_sha256": set.file_sha256.to_hex(),
                        "set_format": set.parsed.format.as_str()
                    }),
                }
            })
            .collect()
    }
}

/// A name whose extension does not fit the content's signature.
pub struct ExtensionMismatchAnalyzer;

impl Analyzer for ExtensionMismatchAnalyzer {
    fn name(&self) -> &'static str {
        "extension"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "signature typing of ~200 formats (infer); containers (zip, OLE2, ISO-BMFF) accept every extension \
         of their family, so a .docx renamed .xlsx is not flagged; text, unknown content and generic \
         extensions (.bin, .dat, .tmp ...) never are; two-byte signatures (exe, mp3, bmp ...) occur by chance in \
         about 1 of 65,536 random files and carry confidence 0.6"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.entry.meta.kind == EntryKind::File && item.content_type.is_some()
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        let Some(ct) = item.content_type else {
            return Ok(Vec::new());
        };
        Ok(typing::extension_mismatch(&item.entry.rel_path, ct)
            .map(|(claimed, detected)| ObservationDraft {
                kind: crate::model::ObservationKind::TypeExtensionMismatch,
                value: json!({ "extension": claimed, "detected_extension": detected, "detected_mime": ct.mime }),
                confidence: typing::signature_confidence(&detected),
                provenance: json!({ "head_bytes": item.head.len() }),
            })
            .into_iter()
            .collect())
    }
}

//! The analyzer interface and the analyzers of the foundation (hash sets, extension check).
//!
//! An analyzer is a pure function of one item: it declares what it accepts, reads only the
//! [`ItemView`], and returns observations. It never writes to the store; the engine does.
//! A panic inside one is caught by the engine and recorded as that item's error.

use std::sync::Arc;

use serde_json::json;

use crate::evidence::digest::FileDigests;
use crate::evidence::typing::{self, ContentType};
use crate::evidence::walk::{EntryKind, WalkEntry};
use crate::hashsets::HashSetIndex;

/// What an analyzer sees of one item.
pub struct ItemView<'a> {
    pub source_label: &'a str,
    pub entry: &'a WalkEntry,
    pub digests: Option<&'a FileDigests>,
    pub content_type: Option<&'a ContentType>,
    /// The first bytes of the content (up to `digest::HEAD_LEN`).
    pub head: &'a [u8],
    /// The whole content, when an analyzer asked for it (`Analyzer::wants_content`).
    pub content: Option<&'a [u8]>,
    /// The decoded picture (orientation applied), for images the engine could decode and for
    /// video frames; decoded once per item whatever the number of analyzers using it.
    pub image: Option<&'a image::DynamicImage>,
    /// What decoded `image` ("image 0.25", "libheif", "ffmpeg 5.1 …").
    pub decoder: &'a str,
    /// Reads the file beside this one whose name is this one's plus a suffix (a database's
    /// `-wal`), read-only, up to a size limit: None when there is none, or for items that are
    /// not files of the evidence (a video frame, an attachment).
    pub companion: Option<&'a Companion<'a>>,
    /// Opens this item's file again, read-only, for an analyzer that streams a file too large
    /// to be handed over in memory (an mbox of several GB). None for items that are not files
    /// of the evidence.
    pub reopen: Option<&'a Reopen<'a>>,
    /// False for a copy of a container whose contents the engine has already expanded within
    /// the same evidence file (the sixteen identical zips of a 42.zip-style nest): an
    /// analyzer that only extracts files (a zip) then describes it without extracting again.
    pub expand: bool,
}

/// See [`ItemView::reopen`].
pub type Reopen<'a> = dyn Fn() -> Result<std::fs::File, String> + 'a;

/// See [`ItemView::companion`]: `Some(Ok(bytes))`, `Some(Err(reason))` when it exists but
/// cannot be read, `None` when there is no such file.
pub type Companion<'a> = dyn Fn(&str) -> Option<Result<Vec<u8>, String>> + 'a;

/// An observation before the engine has attached it to a stored item.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationDraft {
    pub kind: String,
    pub value: serde_json::Value,
    /// 1.0 for exact facts (a digest matched); a model's calibrated score otherwise.
    pub confidence: f64,
    /// What produced it beyond the analyzer's name and version (set digest, model digest).
    pub provenance: serde_json::Value,
}

/// Everything an analyzer made of one item: observations, communication records (comms
/// parsers), and damage found on the way (error records beside what could be read).
#[derive(Default)]
pub struct Analysis {
    pub observations: Vec<ObservationDraft>,
    pub records: Vec<crate::comms::CommRecord>,
    pub damage: Vec<String>,
    /// Files carried inside the item (e-mail attachments): the engine makes each a child item
    /// that goes through every stage, digests and hash sets included.
    pub embedded: Vec<crate::comms::Embedded>,
}

pub trait Analyzer: Send + Sync {
    fn name(&self) -> &'static str;
    fn version(&self) -> &'static str;
    /// The measured or known error margin, shown with every lead that rests on it.
    fn error_margin(&self) -> &'static str;
    fn accepts(&self, item: &ItemView) -> bool;
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String>;
    /// Like `analyze`, for input that is damaged but partly usable: the observations of what
    /// could be read, and the damage, which the engine records as error records of this
    /// analyzer beside them (nothing read is lost, nothing damaged goes unsaid).
    fn analyze_partial(
        &self,
        item: &ItemView,
    ) -> Result<(Vec<ObservationDraft>, Vec<String>), String> {
        self.analyze(item).map(|o| (o, Vec::new()))
    }
    /// Everything at once; the engine calls this. Parsers that make records override it.
    fn analyze_full(&self, item: &ItemView) -> Result<Analysis, String> {
        self.analyze_partial(item)
            .map(|(observations, damage)| Analysis {
                observations,
                damage,
                ..Default::default()
            })
    }
    /// Whether the engine should keep the whole content of a file of this type and size in
    /// memory while hashing it (read once, handed over in `ItemView::content`).
    fn wants_content(&self, _content_type: &ContentType, _size: u64) -> bool {
        false
    }
}

/// A shared analyzer (a loaded model, whose sessions are made once per scan) is an analyzer.
impl<T: Analyzer + ?Sized> Analyzer for Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn version(&self) -> &'static str {
        (**self).version()
    }
    fn error_margin(&self) -> &'static str {
        (**self).error_margin()
    }
    fn accepts(&self, item: &ItemView) -> bool {
        (**self).accepts(item)
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        (**self).analyze(item)
    }
    fn analyze_partial(
        &self,
        item: &ItemView,
    ) -> Result<(Vec<ObservationDraft>, Vec<String>), String> {
        (**self).analyze_partial(item)
    }
    fn analyze_full(&self, item: &ItemView) -> Result<Analysis, String> {
        (**self).analyze_full(item)
    }
    fn wants_content(&self, content_type: &ContentType, size: u64) -> bool {
        (**self).wants_content(content_type, size)
    }
}

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
                    kind: "hashset.match".into(),
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
                kind: "type.extension_mismatch".into(),
                value: json!({ "extension": claimed, "detected_extension": detected, "detected_mime": ct.mime }),
                confidence: typing::signature_confidence(&detected),
                provenance: json!({ "head_bytes": item.head.len() }),
            })
            .into_iter()
            .collect())
    }
}

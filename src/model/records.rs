//! The records that pass between stages: what an analyzer returns (observations,
//! communication records, embedded files, damage), before the engine stores it. Depends on
//! serde alone.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Message,
    Call,
    Contact,
    Account,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Message => "message",
            RecordKind::Call => "call",
            RecordKind::Contact => "contact",
            RecordKind::Account => "account",
        }
    }
}

/// When, as the source says it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RecordTime {
    /// RFC 3339 in UTC, when the source's zone or offset is known.
    pub utc: Option<String>,
    /// The source's own wall-clock time, `YYYY-MM-DDTHH:MM:SS`, when it gave one.
    pub local: Option<String>,
    /// The offset the source gave (`+01:00`), when it gave one.
    pub offset: Option<String>,
    pub zone_known: bool,
    /// What was assumed to read the time (date order, clock), said, never silent.
    pub assumption: Option<String>,
}

/// One side of a record: its role (`from`, `to`, `cc`, `bcc`, `party`, `member`), the
/// normalised identifier (`tel:+31612345678`, `email:a@b.nl`, `whatsapp-name:Alice`), the text
/// as the source wrote it, and a display name when the source gave one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Participant {
    pub role: &'static str,
    pub identifier: String,
    pub raw: String,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommRecord {
    pub kind: RecordKind,
    /// `whatsapp-txt`, `sms-backup-restore`, …
    pub format: &'static str,
    /// Where in the source: `{"line": 12, "byte": 345}`, `{"element": "sms", "index": 3, "byte": 1200}`.
    pub locator: serde_json::Value,
    pub time: RecordTime,
    /// `incoming`, `outgoing`, `missed`, `system`, or `unknown`.
    pub direction: &'static str,
    pub participants: Vec<Participant>,
    pub body: Option<String>,
    /// The conversation: a chat's name, an SMS thread's address.
    pub thread: Option<String>,
    /// Format-specific facts (call duration, attachment names, MMS subject, SMS status …).
    pub extra: serde_json::Value,
}

impl CommRecord {
    /// The device's or export's own account: no time, no direction, its identifiers as `owner`
    /// participants (`(raw, identifier, name)`).
    pub fn account(
        format: &'static str,
        locator: serde_json::Value,
        owner: Vec<(String, String, Option<String>)>,
        extra: serde_json::Value,
    ) -> CommRecord {
        CommRecord {
            kind: RecordKind::Account,
            format,
            locator,
            time: RecordTime::default(),
            direction: "none",
            participants: owner
                .into_iter()
                .map(|(raw, identifier, name)| Participant {
                    role: "owner",
                    identifier,
                    raw,
                    name,
                })
                .collect(),
            body: None,
            thread: None,
            extra,
        }
    }
}

/// A file inside an item: its bytes, a name for its child item (unique within the parent) and
/// where it came from.
#[derive(Debug)]
pub struct Embedded {
    /// `message-3/attachment-1/invoice.pdf`: the place in the parent, then the file name as
    /// the source gave it (path separators replaced).
    pub name: String,
    pub bytes: Vec<u8>,
    /// What it is and where it was in the parent (message locator, Message-ID, part, declared
    /// type and name).
    pub derivation: serde_json::Value,
}

/// An observation before the engine has attached it to a stored item.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationDraft {
    pub kind: super::ObservationKind,
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
    pub records: Vec<CommRecord>,
    pub damage: Vec<String>,
    /// Files carried inside the item (e-mail attachments): the engine makes each a child item
    /// that goes through every stage, digests and hash sets included.
    pub embedded: Vec<Embedded>,
    /// Text found in the item beside its records (OCR lines): the engine hands it, with the
    /// records' bodies, to the text stage, which finds its entities. A producer never calls
    /// the text stage itself.
    pub texts: Vec<FoundText>,
}

/// Text an analyzer read from an item, and where in the item it is (`{"ocr": MODEL}`).
pub struct FoundText {
    pub locator: serde_json::Value,
    pub text: String,
}

/// The largest file held in memory whole: an export parsed at once, or what the files
/// extracted from one container take together (a 2 GB export becomes an error record).
pub const MAX_IN_MEMORY: u64 = 512 << 20;

/// A file name for a child item's path: no separators, no control characters, not empty.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(120)
        .collect();
    match cleaned.trim() {
        "" | "." | ".." => "unnamed".to_string(),
        t => t.to_string(),
    }
}

/// Bounds what the files extracted from one export (attachments, MMS parts) take in memory
/// together, until the engine has analysed them: past it, a file is listed in its record but
/// not extracted, and said so (the export keeps it).
#[derive(Default)]
pub struct EmbedBudget {
    used: usize,
}

/// See [`EmbedBudget`].
pub const MAX_EMBEDDED: usize = MAX_IN_MEMORY as usize;

impl EmbedBudget {
    pub fn admit(&mut self, bytes: usize) -> Result<(), String> {
        if self.used + bytes > MAX_EMBEDDED {
            return Err(format!(
                "the export's extracted files are over {} MiB together; not extracted",
                MAX_EMBEDDED >> 20
            ));
        }
        self.used += bytes;
        Ok(())
    }
}

/// An item's row id in the case store, as whole-case passes see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub i64);

/// A stored `image.pdq` observation as the passes over PDQ hashes read it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPdq {
    pub item: ItemId,
    pub source: String,
    pub path: Vec<u8>,
    /// The observation's value (`hash`, `quality`, `dihedral` …).
    pub value: serde_json::Value,
}

/// What a whole-case pass (not a per-item analyzer) records about itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassCard {
    pub name: &'static str,
    pub version: &'static str,
    pub error_margin: &'static str,
}

/// What a whole-case pass returns; the engine stores it in one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct PassOutput {
    pub card: PassCard,
    /// The observation kinds the pass owns and recomputes whole: what it wrote of them
    /// before is replaced. Empty: its observations are only added (equal ones are not
    /// stored twice).
    pub replaces: &'static [super::ObservationKind],
    pub observations: Vec<(ItemId, ObservationDraft)>,
}

/// A stored `image.gps` observation as the places pass reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoredGps {
    pub item: ItemId,
    pub latitude: f64,
    pub longitude: f64,
}

/// A stored `image.embedding` observation as the similarity pass reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEmbedding {
    pub item: ItemId,
    pub source: String,
    /// The item's path as shown (escaped where it is not UTF-8).
    pub path: String,
    pub value: serde_json::Value,
}

/// A searchable text of the case: a message body, text read off a picture (OCR) or a
/// document's text, with where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseText {
    pub item: ItemId,
    pub source: String,
    pub path: String,
    /// `record`, `ocr` or `document`.
    pub kind: &'static str,
    pub locator: serde_json::Value,
    pub text: String,
}

/// Which stage of the pipeline a problem with an item was met in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Listing a directory or an entry.
    Walk,
    /// Opening or reading a file.
    Read,
    /// A file in flight during earlier crashes, not read again.
    Resume,
    /// The engine itself (a panic outside any analyzer).
    Engine,
    /// Decoding a picture once for all analyzers.
    ImageDecode,
    Thumbnail,
    Video,
    /// Files inside files: depth and expansion limits.
    Embedded,
    /// An analyzer, by its name (`comms`, `archive`, `pdq` …).
    Analyzer(&'static str),
}

impl Stage {
    /// As stored in `item_errors.stage` and exported.
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Walk => "walk",
            Stage::Read => "read",
            Stage::Resume => "resume",
            Stage::Engine => "engine",
            Stage::ImageDecode => "image.decode",
            Stage::Thumbnail => "thumbnail",
            Stage::Video => "video",
            Stage::Embedded => "embedded",
            Stage::Analyzer(name) => name,
        }
    }
}

/// A problem with one item: the stage it was met in and why, in words. Stored as an error
/// record with the item's path; the run goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemError {
    pub stage: Stage,
    pub reason: String,
}

impl ItemError {
    pub fn new(stage: Stage, reason: impl Into<String>) -> ItemError {
        ItemError {
            stage,
            reason: reason.into(),
        }
    }
}

/// A source as the case store recorded it, for `spoor verify` to compare with the evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedSource {
    pub label: String,
    /// The source root's path bytes.
    pub root: Vec<u8>,
    pub root_digest: Option<String>,
    /// Its walked entries (not the items derived from them).
    pub entries: Vec<RecordedEntry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEntry {
    pub path: Vec<u8>,
    /// `file`, `dir`, `symlink` …
    pub kind: String,
    pub size: u64,
    /// The raw 32 bytes, when the file could be read at scan time.
    pub sha256: Option<Vec<u8>>,
    pub link_target: Option<Vec<u8>>,
}

/// A communication record as the store holds it, for the network graph: who took part, when,
/// on which device (source), and the record's row id for provenance.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    pub id: i64,
    pub item: ItemId,
    /// The device: the source's label.
    pub source: String,
    pub path: String,
    pub kind: String,
    pub format: String,
    /// RFC 3339 UTC when the source's zone was known, else its wall-clock time.
    pub time: Option<String>,
    pub zone_known: bool,
    pub direction: String,
    pub participants: Vec<StoredParticipant>,
    pub thread: Option<String>,
    pub body: Option<String>,
    /// Call length in seconds, when the source gave it.
    pub duration_s: Option<f64>,
    /// The device owner's identifiers as the investigator gave them for this item's source
    /// (`--owner`), as written.
    pub owners_given: Vec<String>,
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct StoredParticipant {
    pub role: String,
    pub identifier: String,
    pub raw: String,
    pub name: Option<String>,
}

/// An investigator's decision on identities, as recorded (`spoor graph merge|split|undo`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct IdentityDecision {
    pub id: i64,
    /// `merge`, `split` or `undo`.
    pub action: String,
    /// Merge: the identifiers made one identity; split: the identifier kept apart.
    pub identifiers: Vec<String>,
    /// Undo: the decision it takes back.
    pub undoes: Option<i64>,
    pub reviewer: String,
    pub reason: String,
    pub at: String,
    pub audit_seq: i64,
}

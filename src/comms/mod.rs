//! Communication exports parsed into records (message, call, contact, account), each with its
//! participants as normalised identifiers, its direction, its time (in UTC with the offset the
//! source gave, or marked "zone unknown" with the assumption used), its body and the exact place
//! in the source it came from, so that every later edge of the network graph points back to
//! evidence. Formats are recognised by content, not by name.

pub mod cdr;
// Identifier normalisation and text encodings are text handling that the entity extractor
// shares; they live in `text` (so `text` needs nothing of `comms`) and keep their old paths.
pub use crate::text::{encoding, identifiers};
pub mod email;
pub mod jsonchats;
pub mod smsbackup;
pub mod sqlite;
pub mod typedstream;
pub mod vcard;
pub mod whatsapp;

use serde_json::json;

use crate::analyze::{Analysis, Analyzer, ItemView, ObservationDraft};
use crate::evidence::typing::ContentType;
pub use crate::model::{CommRecord, Embedded, Participant, RecordKind, RecordTime};

pub use crate::model::records::MAX_IN_MEMORY;

/// RFC 3339 in UTC of milliseconds since 1970, with the milliseconds only when there are any.
pub fn utc_of_millis(ms: i64) -> String {
    let whole = crate::evidence::walk::Timestamp {
        secs: ms.div_euclid(1000),
        nanos: 0,
    }
    .to_rfc3339();
    match ms.rem_euclid(1000) {
        0 => whole.replace(".000000000", ""),
        f => whole.replace(".000000000", &format!(".{f:03}")),
    }
}

/// Seconds since 1970 of a `YYYY-MM-DD?HH:MM:SS` wall-clock time read as UTC; None for a date
/// or time that does not exist (30 February, hour 24).
pub fn civil_seconds(s: &str) -> Option<i64> {
    let p = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, mo, d) = (p(0, 4)?, p(5, 7)?, p(8, 10)?);
    let (h, mi, se) = (p(11, 13)?, p(14, 16)?, p(17, 19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || se > 60
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// Direction of Android's `Telephony.TextBasedSmsColumns.TYPE` (SMS Backup & Restore and
/// `mmssms.db` alike).
pub fn android_sms_direction(kind: Option<i64>) -> &'static str {
    match kind {
        Some(1) => "incoming",
        Some(2) | Some(4) | Some(5) | Some(6) => "outgoing",
        Some(3) => "draft",
        _ => "unknown",
    }
}

/// Direction of Android's `CallLog.Calls.TYPE`.
pub fn android_call_direction(kind: Option<i64>) -> &'static str {
    match kind {
        Some(1) => "incoming",
        Some(2) => "outgoing",
        Some(3) => "missed",
        Some(4) => "voicemail",
        Some(5) => "rejected",
        Some(6) => "blocked",
        _ => "unknown",
    }
}

/// The other party of a message or call: `from` when they sent or placed it, else `to`, with
/// the address as written and its identifier (in the app's namespace when it is no number).
pub(crate) fn counterpart(
    raw: &str,
    they_sent: bool,
    namespace: &str,
    region: Option<&str>,
    name: Option<String>,
) -> Participant {
    Participant {
        role: if they_sent { "from" } else { "to" },
        identifier: identifiers::identify(raw, namespace, region),
        raw: raw.to_string(),
        name,
    }
}

/// What a parser made of one file: its records, and the damage it found (each with its
/// location), everything parseable kept.
#[derive(Default)]
pub struct Parsed {
    pub records: Vec<CommRecord>,
    pub damage: Vec<String>,
    /// Facts about the export as a whole (date order found, owner named in it …).
    pub summary: serde_json::Value,
    /// Files carried inside the export (e-mail attachments), for the engine to make child items.
    pub embedded: Vec<Embedded>,
}

pub(crate) use crate::model::records::{EmbedBudget, safe_name};

/// Settings every parser shares.
#[derive(Clone, Debug, Default)]
pub struct CommsOptions {
    /// Default region for phone numbers written without a country code (`NL`).
    pub region: Option<String>,
    /// The device owner's own identifiers, given by the investigator for every source.
    pub owners: Vec<String>,
    /// Owners of one source each (`--owner LABEL=IDENTIFIER`): each seized phone has its own.
    pub owners_by_source: Vec<(String, String)>,
    /// CDR layouts from `--cdr-mapping` files; bandicoot's is always known.
    pub cdr_mappings: Vec<cdr::Mapping>,
}

impl CommsOptions {
    /// The options for one source: its own owners after the ones given for every source.
    /// `None` when no owner is given per source (the options apply as they are).
    fn for_source(&self, label: &str) -> Option<CommsOptions> {
        if self.owners_by_source.is_empty() {
            return None;
        }
        let mut options = self.clone();
        options.owners.extend(
            self.owners_by_source
                .iter()
                .filter(|(l, _)| l == label)
                .map(|(_, id)| id.clone()),
        );
        options.owners_by_source.clear();
        Some(options)
    }

    /// Every CDR layout known: the given ones first, then bandicoot's.
    fn mappings(&self) -> Vec<cdr::Mapping> {
        let mut all = self.cdr_mappings.clone();
        all.push(cdr::Mapping::bandicoot());
        all
    }
}

/// The comms parsers as one analyzer: recognises the format by content and parses it.
pub struct CommsAnalyzer {
    pub options: CommsOptions,
}

/// Whether the comms parsers take this item (its entities are then found per record).
pub fn is_export(head: &[u8], options: &CommsOptions) -> bool {
    recognise(head, options).is_some()
}

/// Whether typing called the item an SQLite database (by its first bytes).
fn typed_as_database(item: &ItemView) -> bool {
    item.content_type
        .is_some_and(|ct| ct.by_signature && ct.mime == "application/vnd.sqlite3")
}

/// A format recognised from the first bytes (and, for text, the first lines).
fn recognise(head: &[u8], options: &CommsOptions) -> Option<&'static str> {
    if sqlite::recognise(head) {
        return Some("sqlite");
    }
    // Every format below is text: of a sample with bytes that never occur in text outside
    // UTF-16 (a disk image, a JPEG; or an export followed by zeros, a pre-allocated or carved
    // file) only what comes before the first such byte is read.
    let sample = encoding::text_prefix(&head[..head.len().min(4096)]);
    if sample.is_empty() {
        return None;
    }
    let decoded = encoding::to_utf8(sample, encoding::detect(sample));
    let text = String::from_utf8_lossy(&decoded);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    if options
        .cdr_mappings
        .iter()
        .chain([cdr::Mapping::bandicoot_ref()])
        .any(|m| m.fits(first_line))
    {
        return Some(cdr::FORMAT);
    }
    if smsbackup::recognise(text) {
        return Some(smsbackup::FORMAT);
    }
    if vcard::recognise(text) {
        return Some(vcard::FORMAT);
    }
    if email::recognise_mbox(text) {
        return Some(email::MBOX);
    }
    if email::recognise_eml(text) {
        return Some(email::EML);
    }
    if jsonchats::recognise(text) {
        return Some("json-chat");
    }
    if whatsapp::recognise_signal(text) {
        return Some(whatsapp::SIGNAL.format);
    }
    if whatsapp::recognise(text) {
        return Some(whatsapp::FORMAT);
    }
    None
}

impl Analyzer for CommsAnalyzer {
    fn name(&self) -> &'static str {
        "comms"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "records are what the export says, parsed exactly; the export itself can be edited. WhatsApp text \
         exports carry local time without a zone and an ambiguous date order when no day exceeds 12: both \
         assumptions are written on every record. Display names are not identities"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.entry.meta.kind == crate::evidence::walk::EntryKind::File
            && (recognise(item.head, &self.options).is_some() || typed_as_database(item))
    }
    fn wants_content(&self, content_type: &ContentType, size: u64) -> bool {
        size <= MAX_IN_MEMORY
            && (content_type.mime.starts_with("text/")
                || content_type.mime.contains("xml")
                || content_type.mime.contains("json")
                || content_type.mime.contains("vcard")
                || content_type.mime.contains("csv")
                || content_type.mime.starts_with("message/")
                || content_type.mime.contains("mbox")
                || content_type.mime.contains("sqlite")
                || content_type.mime == "application/octet-stream")
    }
    /// Only what [`Analyzer::accepts`] will take: a file typed as octet-stream is most often
    /// a disk image or a media file, and keeping each one whole (up to 512 MiB) cost a scan
    /// of a tree with 125 MB images its page faults and copies (scripts/bench-hash.sh, perf).
    fn wants_content_of(&self, content_type: &ContentType, size: u64, head: &[u8]) -> bool {
        self.wants_content(content_type, size)
            && (recognise(head, &self.options).is_some()
                || (content_type.by_signature && content_type.mime == "application/vnd.sqlite3"))
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        self.analyze_full(item).map(|a| a.observations)
    }
    fn analyze_full(&self, item: &ItemView) -> Result<Analysis, String> {
        match self.options.for_source(item.source_label) {
            Some(options) => CommsAnalyzer { options }.parse_item(item),
            None => self.parse_item(item),
        }
    }
}

impl CommsAnalyzer {
    /// Recognises and parses one item with these options.
    fn parse_item(&self, item: &ItemView) -> Result<Analysis, String> {
        let Some(format) = recognise(item.head, &self.options) else {
            if typed_as_database(item) {
                // Typing calls anything starting "SQLi" a database; SQLite itself wants the
                // whole 16-byte header. Typed as a database means parsed or said (issue 11.4).
                let header = &item.head[..item.head.len().min(16)];
                return Err(format!(
                    "typed as an SQLite database, but its header is {:?}, not \"SQLite format 3\\0\" \
                     (damaged or cut short); not parsed",
                    String::from_utf8_lossy(header)
                ));
            }
            return Ok(Analysis::default());
        };
        let Some(content) = item.content else {
            // An mbox and an SMS Backup & Restore XML (the exports that grow to GBs: mail
            // archives, backups with MMS pictures) are read as they go, whatever their size;
            // the other formats are parsed whole, in memory. Read as UTF-8, as both are written.
            if let (email::MBOX | smsbackup::FORMAT, Some(reopen)) = (format, item.reopen) {
                let file = std::io::BufReader::with_capacity(1 << 20, reopen()?);
                let parsed = if format == email::MBOX {
                    email::parse_mbox_stream(file, &self.options)
                } else {
                    smsbackup::parse_stream(file, &self.options)
                };
                let mut analysis = self.analysis(format, parsed, encoding::Encoding::Utf8);
                analysis.observations[0].value["streamed"] = json!(true);
                return Ok(analysis);
            }
            return Err(format!(
                "{format}: {} bytes is more than the {} MiB parsed in memory; not parsed",
                item.entry.meta.size,
                MAX_IN_MEMORY >> 20
            ));
        };
        let name = String::from_utf8_lossy(&item.entry.rel_path).into_owned();
        // Text exports in UTF-16 or Windows-1252 are parsed from their UTF-8 decoding. Not a
        // database (binary), and not e-mail in a single-byte code: MIME declares its own
        // charsets, and mail-parser decodes them from the original bytes.
        let found_encoding = encoding::detect(content);
        let transcode = match format {
            "sqlite" => false,
            email::EML | email::MBOX => found_encoding != encoding::Encoding::Windows1252,
            _ => true,
        };
        let decoded = if transcode {
            encoding::to_utf8(content, found_encoding)
        } else {
            std::borrow::Cow::Borrowed(content)
        };
        let used_encoding = if transcode {
            found_encoding
        } else {
            encoding::Encoding::Utf8
        };
        let content: &[u8] = &decoded;
        let (format, parsed) = match format {
            smsbackup::FORMAT => (format, smsbackup::parse(content, &self.options)),
            vcard::FORMAT => (format, vcard::parse(content, &self.options)),
            email::EML => (format, email::parse_eml(content, &self.options)),
            "sqlite" => match match item.companion.and_then(|read| read("-wal")) {
                Some(Ok(wal)) if !wal.is_empty() => {
                    sqlite::parse_with_wal(content, &wal, &self.options)
                }
                Some(Err(e)) => {
                    let (f, mut parsed) = sqlite::parse(content, &self.options);
                    parsed.damage.push(format!("its -wal beside it: {e}"));
                    (f, parsed)
                }
                _ => sqlite::parse(content, &self.options),
            } {
                (Some(f), parsed) => (f, parsed),
                // A database of another app: not a communication store known here.
                (None, _) => return Ok(Analysis::default()),
            },
            email::MBOX => (format, email::parse_mbox(content, &self.options)),
            cdr::FORMAT => {
                let header = content.split(|b| *b == b'\n').next().unwrap_or(b"");
                let header = String::from_utf8_lossy(header);
                let mappings = self.options.mappings();
                let mapping = mappings
                    .iter()
                    .find(|m| m.fits(header.trim_start_matches('\u{feff}')))
                    .unwrap_or(&mappings[0]);
                (format, cdr::parse(content, &name, mapping, &self.options))
            }
            "json-chat" => match jsonchats::parse(content, &self.options) {
                (Some(f), parsed) => (f, parsed),
                // JSON of another kind: not an export; nothing to say unless it is broken.
                (None, parsed) if parsed.damage.is_empty() => return Ok(Analysis::default()),
                (None, parsed) => ("json-chat", parsed),
            },
            f if f == whatsapp::SIGNAL.format => (
                format,
                whatsapp::parse_app(content, &name, &self.options, &whatsapp::SIGNAL),
            ),
            _ => (format, whatsapp::parse(content, &name, &self.options)),
        };
        let mut parsed = parsed;
        if (format == whatsapp::FORMAT || format == whatsapp::SIGNAL.format)
            && parsed.records.is_empty()
            && parsed.damage.is_empty()
        {
            // Recognised by its first lines, yet nothing came of it: said, not an empty chat.
            parsed.damage.push(format!(
                "looks like a {format} export (message headers among its first lines) but no \
                 message could be read from it"
            ));
        }
        let mut analysis = self.analysis(format, parsed, used_encoding);
        analysis.observations[0].value["encoding"] = json!(found_encoding.name());
        Ok(analysis)
    }
}

impl CommsAnalyzer {
    /// The records, damage and attachments of a parsed export, with its `comms.export`
    /// observation.
    fn analysis(
        &self,
        format: &str,
        parsed: Parsed,
        used_encoding: encoding::Encoding,
    ) -> Analysis {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for r in &parsed.records {
            *counts.entry(r.kind.as_str()).or_default() += 1;
        }
        let observation = ObservationDraft {
            kind: crate::model::ObservationKind::CommsExport,
            value: json!({
                "format": format, "records": parsed.records.len(), "by_kind": counts,
                "damaged": parsed.damage.len(), "summary": parsed.summary,
                "encoding": used_encoding.name(),
                "offsets": if used_encoding == encoding::Encoding::Utf8 {
                    "bytes of the file"
                } else {
                    "line numbers are the file's; byte offsets are in its UTF-8 decoding"
                },
            }),
            confidence: 1.0,
            provenance: json!({"region": self.options.region, "owners": self.options.owners}),
        };
        // The entities of the message bodies are the text stage's: the engine hands it every
        // record's body.
        Analysis {
            observations: vec![observation],
            records: parsed.records,
            damage: parsed.damage,
            embedded: parsed.embedded,
            texts: Vec::new(),
        }
    }
}

//! "SMS Backup & Restore" (SyncTech) XML: `<smses>` with `<sms>` and `<mms>` (its `<parts>`
//! and `<addrs>`), and `<calls>` with `<call>`. Times are the `date` attribute, milliseconds
//! since 1970 in UTC, so the zone is known; `readable_date` (the phone's local rendering) is
//! kept in `extra`. A damaged file keeps every element read before the damage, and the damage is
//! reported with its byte offset. An MMS part's file (base64 in its `data` attribute) becomes a
//! child item, `mms-N/part-K/NAME`, that goes through every stage like an e-mail attachment.

use quick_xml::events::{BytesStart, Event};
use serde_json::json;
use std::collections::BTreeMap;

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const FORMAT: &str = "sms-backup-restore";

pub fn recognise(text: &str) -> bool {
    // The declaration, processing instructions (`<?xml-stylesheet …?>`), comments and
    // whitespace before the root element. A declaration damaged at its end (`…"UTF-8"/>`)
    // ends at its first `>`: found by scripts/fuzz.sh, it hid a whole backup.
    let mut rest = text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after
                .split_once("?>")
                .or_else(|| after.split_once('>'))
                .map_or("", |(_, r)| r)
                .trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    if rest.starts_with("<smses") || rest.starts_with("<calls") {
        return true;
    }
    // The root's name cut short by damage (`<sms` then NUL bytes: seed 3, mutant 872): the
    // start of `smses` or `calls` followed by what no XML name can hold.
    if let Some(after) = rest.strip_prefix('<') {
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let next = after[name.len()..].chars().next();
        let damaged = next.is_some_and(|c| c.is_control() && !c.is_whitespace() || c == '\u{fffd}');
        if name.len() >= 3 && ("smses".starts_with(&name) || "calls".starts_with(&name)) && damaged
        {
            return true;
        }
    }
    // A damaged root tag (`<call\u{fffd}…unt="1">`): the backup is still known by its first
    // element inside, an `<sms`, `<mms` or `<call` with the app's own `date` attribute.
    let inner = rest.split_once('>').map_or("", |(_, r)| r).trim_start();
    rest.starts_with('<')
        && ["<sms ", "<mms ", "<call "]
            .iter()
            .any(|t| inner.starts_with(t))
        && inner
            .split_once('>')
            .is_some_and(|(tag, _)| tag.contains(" date=\""))
}

fn attributes(e: &BytesStart) -> BTreeMap<String, String> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            a.unescape_value().ok().map(|v| (key, v.into_owned()))
        })
        .collect()
}

/// "null", empty and absent are all absent.
fn value<'a>(a: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    a.get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty() && *v != "null")
}

fn time(a: &BTreeMap<String, String>) -> Result<RecordTime, String> {
    let raw = value(a, "date").ok_or("no date attribute")?;
    let ms: i64 = raw
        .parse()
        .map_err(|_| format!("date {raw:?} is not milliseconds since 1970"))?;
    let utc = super::utc_of_millis(ms);
    Ok(RecordTime {
        utc: Some(utc),
        local: None,
        offset: None,
        zone_known: true,
        assumption: None,
    })
}

/// An MMS being read: its attributes, parts and addresses until `</mms>`.
struct Mms {
    at: usize,
    index: usize,
    attrs: BTreeMap<String, String>,
    parts: Vec<BTreeMap<String, String>>,
    addrs: Vec<BTreeMap<String, String>>,
}

pub fn parse(content: &[u8], options: &CommsOptions) -> Parsed {
    parse_stream(content, options)
}

// Long (~130 lines): the XML event loop of one streaming pass; each element's record is built
// by its own function (sms_record, call_record, finish_mms), what stays is the loop's state.
/// As [`parse`], reading as it goes: one element (an `<mms>` with its parts) in memory at
/// once, so a backup of several GB (pictures inside MMS) is read whole. A read error ends it
/// like broken XML: said with its byte, everything before kept.
pub fn parse_stream(input: impl std::io::BufRead, options: &CommsOptions) -> Parsed {
    let mut parsed = Parsed::default();
    let region = options.region.as_deref();
    let mut reader = quick_xml::Reader::from_reader(RunLimit::new(input));
    let mut depth = 0usize;
    let mut buf = Vec::new();
    reader.config_mut().check_end_names = true;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut declared: Option<String> = None;
    let mut mms: Option<Mms> = None;
    let mut budget = super::EmbedBudget::default();
    let owners: Vec<String> = options
        .owners
        .iter()
        .map(|o| identifiers::identify(o, identifiers::PHONE_FIELD, region))
        .collect();
    let who = Owners {
        region,
        ids: &owners,
        raw: &options.owners,
    };
    loop {
        buf.clear();
        let at = reader.buffer_position() as usize;
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                parsed.damage.push(format!(
                    "byte {}: XML broken ({e}); the {} records before it are kept",
                    reader.error_position(),
                    parsed.records.len()
                ));
                break;
            }
        };
        let is_empty = matches!(event, Event::Empty(_));
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        let root_closed = depth == 0 && matches!(event, Event::End(_) | Event::Empty(_));
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name();
                let tag = String::from_utf8_lossy(name.as_ref()).into_owned();
                let a = attributes(e);
                match tag.as_str() {
                    "smses" | "calls" => declared = a.get("count").cloned(),
                    "sms" => {
                        let index = *counts.entry("sms").and_modify(|c| *c += 1).or_insert(1);
                        match sms_record(&a, index, at, &who) {
                            Ok(record) => parsed.records.push(record),
                            Err(e) => parsed.damage.push(format!("byte {at}: sms {index}: {e}")),
                        }
                    }
                    "mms" => {
                        let index = *counts.entry("mms").and_modify(|c| *c += 1).or_insert(1);
                        mms = Some(Mms {
                            at,
                            index,
                            attrs: a,
                            parts: Vec::new(),
                            addrs: Vec::new(),
                        });
                        if is_empty {
                            finish_mms(mms.take(), &mut parsed, &who, &mut budget);
                        }
                    }
                    "part" => {
                        if let Some(m) = mms.as_mut() {
                            m.parts.push(a);
                        }
                    }
                    "addr" => {
                        if let Some(m) = mms.as_mut() {
                            m.addrs.push(a);
                        }
                    }
                    "call" => {
                        let index = *counts.entry("call").and_modify(|c| *c += 1).or_insert(1);
                        match call_record(&a, index, at, &who) {
                            Ok(record) => parsed.records.push(record),
                            Err(e) => parsed.damage.push(format!("byte {at}: call {index}: {e}")),
                        }
                    }
                    _ => {}
                }
            }
            Event::End(ref e) if e.name().as_ref() == b"mms" => {
                finish_mms(mms.take(), &mut parsed, &who, &mut budget);
            }
            Event::Eof => break,
            _ => {}
        }
        if root_closed {
            // The document ends here. What follows is not read as XML (a run of junk would
            // only grow quick-xml's buffer): it is counted, a chunk at a time, and said.
            let end = reader.buffer_position();
            match trailing_bytes(&mut reader.get_mut().inner) {
                Ok(0) => {}
                Ok(n) => parsed.damage.push(format!(
                    "byte {end}: {n} bytes other than whitespace follow the end of the document; \
                     not part of the backup, not read"
                )),
                Err(e) => parsed
                    .damage
                    .push(format!("byte {end}: reading past the document's end: {e}")),
            }
            break;
        }
    }
    if let Some(m) = mms.take() {
        let at = m.at;
        finish_mms(Some(m), &mut parsed, &who, &mut budget);
        parsed.damage.push(format!(
            "byte {at}: mms not closed; kept with the parts read"
        ));
    }
    let read: usize = counts.values().sum();
    if let Some(n) = declared.as_deref().and_then(|d| d.parse::<usize>().ok())
        && n != read
    {
        parsed.damage.push(format!(
            "the file declares {n} records and holds {read}: some are missing or damaged"
        ));
    }
    parsed.summary = json!({"declared_count": declared, "elements": counts});
    parsed
}

/// Bytes after the document other than XML whitespace, read a chunk at a time.
fn trailing_bytes(input: &mut impl std::io::BufRead) -> std::io::Result<u64> {
    let mut junk = 0u64;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(junk);
        }
        junk += chunk
            .iter()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count() as u64;
        let n = chunk.len();
        input.consume(n);
    }
}

/// Text between two tags longer than this is junk, not a backup: SMS Backup & Restore keeps
/// every body in attributes, so its text nodes are line breaks and indentation.
const MAX_TEXT_RUN: u64 = 16 << 20;
/// One tag (or comment) longer than this is junk too: an MMS part's picture (base64 in
/// `data`) is the largest attribute, and one over 512 MiB is not extracted anyway; twice that
/// leaves room for base64 and still bounds what quick-xml holds.
const MAX_TAG_RUN: u64 = 2 * super::MAX_IN_MEMORY;

/// Passes the input through to quick-xml, failing when a run of text or one tag exceeds its
/// limit: quick-xml holds a whole event in memory, so without this a run of junk (a 3 GiB NUL
/// tail, issue 11.7) grew memory with its length.
struct RunLimit<R> {
    inner: R,
    in_tag: bool,
    run: u64,
    over: bool,
}

impl<R> RunLimit<R> {
    fn new(inner: R) -> Self {
        RunLimit {
            inner,
            in_tag: false,
            run: 0,
            over: false,
        }
    }
}

impl<R: std::io::BufRead> std::io::Read for RunLimit<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = std::io::BufRead::fill_buf(self)?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for RunLimit<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.over {
            let (what, limit) = if self.in_tag {
                ("one tag", MAX_TAG_RUN)
            } else {
                ("text between tags", MAX_TEXT_RUN)
            };
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{what} runs past {} MiB: junk, not a backup; not read further",
                    limit >> 20
                ),
            ));
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(chunk) = self.inner.fill_buf() {
            let chunk = &chunk[..amt.min(chunk.len())];
            let mut rest = chunk;
            while let Some(at) = memchr::memchr2(b'<', b'>', rest) {
                self.in_tag = rest[at] == b'<';
                self.run = 0;
                rest = &rest[at + 1..];
            }
            self.run += rest.len() as u64;
            let limit = if self.in_tag {
                MAX_TAG_RUN
            } else {
                MAX_TEXT_RUN
            };
            self.over = self.run > limit;
        }
        self.inner.consume(amt);
    }
}

/// Whose backup it is: `--region` and the `--owner` identifiers, as given and as identified.
struct Owners<'a> {
    region: Option<&'a str>,
    ids: &'a [String],
    raw: &'a [String],
}

impl Owners<'_> {
    /// The device owners (`--owner`) as participants in `role`.
    fn participants(&self, role: &'static str) -> Vec<Participant> {
        self.ids
            .iter()
            .zip(self.raw)
            .map(|(id, raw)| Participant {
                role,
                identifier: id.clone(),
                raw: raw.clone(),
                name: None,
            })
            .collect()
    }
}

/// One `<sms>` element as a message record.
fn sms_record(
    a: &BTreeMap<String, String>,
    index: usize,
    at: usize,
    who: &Owners,
) -> Result<CommRecord, String> {
    let t = time(a)?;
    let direction = super::android_sms_direction(value(a, "type").and_then(|t| t.parse().ok()));
    let raw = value(a, "address").unwrap_or("").to_string();
    let other = super::counterpart(
        &raw,
        direction == "incoming",
        identifiers::PHONE_FIELD,
        who.region,
        value(a, "contact_name")
            .filter(|n| *n != "(Unknown)")
            .map(str::to_string),
    );
    let mut participants = vec![other];
    participants.extend(who.participants(if direction == "incoming" {
        "to"
    } else {
        "from"
    }));
    Ok(CommRecord {
        kind: RecordKind::Message,
        format: FORMAT,
        locator: json!({"element": "sms", "index": index, "byte": at}),
        time: t,
        direction,
        participants,
        body: a.get("body").cloned(),
        thread: Some(raw),
        extra: json!({
            "protocol": "sms", "type": value(a, "type"), "read": value(a, "read"),
            "readable_date": value(a, "readable_date"),
            "status": value(a, "status"), "date_sent": value(a, "date_sent"),
            "service_center": value(a, "service_center"),
        }),
    })
}

/// One `<call>` element as a call record.
fn call_record(
    a: &BTreeMap<String, String>,
    index: usize,
    at: usize,
    who: &Owners,
) -> Result<CommRecord, String> {
    let t = time(a)?;
    let direction = super::android_call_direction(value(a, "type").and_then(|t| t.parse().ok()));
    let raw = value(a, "number").unwrap_or("").to_string();
    let mut participants = vec![super::counterpart(
        &raw,
        direction != "outgoing",
        identifiers::PHONE_FIELD,
        who.region,
        value(a, "contact_name")
            .filter(|n| *n != "(Unknown)")
            .map(str::to_string),
    )];
    participants.extend(who.participants(if direction == "outgoing" {
        "from"
    } else {
        "to"
    }));
    Ok(CommRecord {
        kind: RecordKind::Call,
        format: FORMAT,
        locator: json!({"element": "call", "index": index, "byte": at}),
        time: t,
        direction,
        participants,
        body: None,
        thread: Some(raw),
        extra: json!({
            "duration_s": value(a, "duration").and_then(|d| d.parse::<i64>().ok()),
            "type": value(a, "type"), "presentation": value(a, "presentation"),
            "readable_date": value(a, "readable_date"),
        }),
    })
}

// Long (~133 lines) on purpose: one MMS with its addresses, text parts and attached files in
// the order the backup holds them; the parts share the message's time, direction and budget.
fn finish_mms(m: Option<Mms>, parsed: &mut Parsed, who: &Owners, budget: &mut super::EmbedBudget) {
    let Some(m) = m else { return };
    let Owners {
        region,
        ids: owners,
        raw: owner_raw,
    } = *who;
    let t = match time(&m.attrs) {
        Ok(t) => t,
        Err(e) => {
            parsed
                .damage
                .push(format!("byte {}: mms {}: {e}", m.at, m.index));
            return;
        }
    };
    // msg_box: 1 inbox, 2 sent, 3 drafts, 4 outbox.
    let direction = match value(&m.attrs, "msg_box") {
        Some("1") => "incoming",
        Some("2") | Some("4") => "outgoing",
        Some("3") => "draft",
        _ => "unknown",
    };
    // addr type (PduHeaders): 137 from, 151 to, 130 cc, 129 bcc.
    let mut participants: Vec<Participant> = m
        .addrs
        .iter()
        .filter_map(|a| {
            let raw = value(a, "address")?.to_string();
            let role = match value(a, "type") {
                Some("137") => "from",
                Some("151") => "to",
                Some("130") => "cc",
                Some("129") => "bcc",
                _ => "party",
            };
            Some(Participant {
                role,
                identifier: identifiers::identify(&raw, identifiers::PHONE_FIELD, region),
                raw,
                name: None,
            })
        })
        .collect();
    for (id, raw) in owners.iter().zip(owner_raw) {
        if let Some(p) = participants.iter_mut().find(|p| &p.identifier == id) {
            p.name = Some("owner".into());
        } else {
            participants.push(Participant {
                role: "owner",
                identifier: id.clone(),
                raw: raw.clone(),
                name: None,
            });
        }
    }
    let text: Vec<&str> = m
        .parts
        .iter()
        .filter(|p| value(p, "ct") == Some("text/plain"))
        .filter_map(|p| value(p, "text"))
        .collect();
    let locator = json!({"element": "mms", "index": m.index, "byte": m.at});
    let mut attachments = Vec::new();
    for (k, p) in m.parts.iter().enumerate() {
        if matches!(
            value(p, "ct"),
            Some("text/plain") | Some("application/smil")
        ) {
            continue;
        }
        let name = value(p, "name").or(value(p, "cl"));
        let mut description = json!({"part": k + 1, "content_type": value(p, "ct"), "name": name});
        if let Some(data) = p.get("data").filter(|d| !d.is_empty()) {
            let extracted = part_bytes(data).and_then(|bytes| {
                budget.admit(bytes.len())?;
                Ok(bytes)
            });
            match extracted {
                Ok(bytes) => {
                    use sha2::Digest;
                    let child = format!(
                        "mms-{}/part-{}/{}",
                        m.index,
                        k + 1,
                        super::safe_name(name.unwrap_or("unnamed"))
                    );
                    description["size"] = json!(bytes.len());
                    description["sha256"] = json!(crate::evidence::digest::to_hex(
                        &sha2::Sha256::digest(&bytes)
                    ));
                    description["child"] = json!(child);
                    parsed.embedded.push(super::Embedded {
                        name: child,
                        derivation: json!({
                            "what": "mms part",
                            "message": locator,
                            "part": k + 1,
                            "declared_name": name,
                            "declared_type": value(p, "ct"),
                            "transfer_decoded": true,
                        }),
                        bytes,
                    });
                }
                Err(why) => {
                    parsed.damage.push(format!(
                        "byte {}: mms {} part {}: {why}",
                        m.at,
                        m.index,
                        k + 1
                    ));
                    description["not_extracted"] = json!(why);
                }
            }
        }
        attachments.push(description);
    }
    parsed.records.push(CommRecord {
        kind: RecordKind::Message,
        format: FORMAT,
        locator,
        time: t,
        direction,
        participants,
        body: (!text.is_empty()).then(|| text.join("\n")),
        thread: value(&m.attrs, "address").map(str::to_string),
        extra: json!({
            "protocol": "mms", "subject": value(&m.attrs, "sub"), "readable_date": value(&m.attrs, "readable_date"), "message_id": value(&m.attrs, "m_id"),
            "parts": m.parts.len(), "attachments": attachments,
        }),
    });
}

/// An MMS part's file: SMS Backup & Restore writes it as base64 in the `data` attribute
/// (whitespace tolerated: some versions wrap it).
fn part_bytes(data: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let compact: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("data is not base64 ({e}); not extracted"))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    const BACKUP: &str = r#"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>
<smses count="1">
  <sms protocol="0" address="+31612345678" date="1700000000000" type="1" body="hoi" read="1" />
</smses>
"#;

    /// Issue 11.7: a backup followed by a long run of NUL bytes keeps its record, says the
    /// tail, and reads it a chunk at a time (the tail is produced on the fly, never held).
    #[test]
    fn junk_after_the_document_is_said_and_not_buffered() {
        let tail = std::io::repeat(0).take(64 << 20);
        let input = std::io::BufReader::new(BACKUP.as_bytes().chain(tail));
        let parsed = super::parse_stream(input, &Default::default());
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.damage.len(), 1, "{:?}", parsed.damage);
        assert!(
            parsed.damage[0].contains(&format!(
                "{} bytes other than whitespace follow",
                64u64 << 20
            )),
            "{:?}",
            parsed.damage
        );
    }

    /// Found by scripts/fuzz.sh (seed 7, mutants 243 and 301): a damaged declaration or root
    /// tag hid the whole backup; now it is parsed, and the damage said.
    #[test]
    fn a_backup_with_a_damaged_declaration_or_root_is_still_read() {
        let damaged_decl = BACKUP.replacen("standalone='yes' ?>", "standalone='yes' />", 1);
        let damaged_root = BACKUP.replacen("<smses count", "<smse\u{fffd}\u{fffd}ount", 1);
        // quick-xml cannot read past a declaration that is never closed: said, not skipped.
        assert!(super::recognise(&damaged_decl));
        let parsed = super::parse(damaged_decl.as_bytes(), &Default::default());
        assert!(
            parsed.damage[0].contains("not closed"),
            "{:?}",
            parsed.damage
        );
        // A root cut short by NUL bytes is still a backup: its damage is said.
        let cut = BACKUP.replacen("<smses count=\"1\">", "<sms\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 1);
        assert!(cut != BACKUP && super::recognise(&cut));
        assert!(
            !super::parse(cut.as_bytes(), &Default::default())
                .damage
                .is_empty()
        );
        assert!(!super::recognise(
            "<?xml version='1.0'?>\n<smsdata><x/></smsdata>"
        ));
        // A damaged root tag: the messages inside are read, the mismatched end tag said.
        assert!(super::recognise(&damaged_root));
        let parsed = super::parse(damaged_root.as_bytes(), &Default::default());
        assert_eq!(parsed.records.len(), 1);
        assert!(
            parsed.damage[0].contains("XML broken"),
            "{:?}",
            parsed.damage
        );
    }

    #[test]
    fn trailing_whitespace_is_not_damage() {
        let parsed = super::parse(format!("{BACKUP}\n\n  \n").as_bytes(), &Default::default());
        assert_eq!(parsed.records.len(), 1);
        assert!(parsed.damage.is_empty(), "{:?}", parsed.damage);
    }

    /// Junk inside the document (between two elements) ends the parse with a reason once the
    /// run passes its limit, instead of growing quick-xml's buffer with it.
    #[test]
    fn junk_inside_the_document_stops_at_the_run_limit() {
        let (head, rest) = BACKUP.split_at(BACKUP.find("</smses>").unwrap());
        let junk = std::io::repeat(0).take(super::MAX_TEXT_RUN * 4);
        let input = std::io::BufReader::new(head.as_bytes().chain(junk).chain(rest.as_bytes()));
        let parsed = super::parse_stream(input, &Default::default());
        assert_eq!(parsed.records.len(), 1);
        assert!(
            parsed
                .damage
                .iter()
                .any(|d| d.contains("text between tags runs past 16 MiB")),
            "{:?}",
            parsed.damage
        );
    }
}

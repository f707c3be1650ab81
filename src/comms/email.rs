//! E-mail: single messages (`.eml`, and maildir files, which are the same) and mbox files.
//! MIME, encodings and broken structure are handled by `mail-parser` (Stalwart, lenient by
//! design); this module turns each message into a record: From, To, Cc, Bcc as `email:`
//! identifiers with display names, the Date in UTC with the offset it gave, Message-ID,
//! In-Reply-To and References for threading, the body as text (HTML converted when there is no
//! text part), and the attachments listed with name, type, size and SHA-256.
//!
//! Each attachment is also handed to the engine as an embedded file, which becomes a child item
//! of the mailbox (`inbox.mbox//message-3/attachment-1/invoice.pdf`) and goes through every
//! stage: digests and hash sets, typing, pictures through the vision models, a forwarded message
//! through this parser again.

use serde_json::json;
use sha2::Digest;

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const EML: &str = "email-rfc5322";
pub const MBOX: &str = "mbox";

const HEADERS: [&str; 8] = [
    "from:",
    "to:",
    "date:",
    "subject:",
    "message-id:",
    "received:",
    "return-path:",
    "mime-version:",
];

/// A message starts with header lines, several of them well-known ones.
pub fn recognise_eml(text: &str) -> bool {
    let mut known = 0;
    for line in text.lines().take(60) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || name.contains(' ') {
            return false;
        }
        let lower = format!("{}:", name.to_ascii_lowercase());
        known += usize::from(HEADERS.contains(&lower.as_str()));
    }
    known >= 2
}

pub fn recognise_mbox(text: &str) -> bool {
    text.starts_with("From ")
        && text.lines().nth(1).is_some_and(|l| {
            recognise_eml(&text[text.find('\n').map_or(0, |i| i + 1)..]) && !l.is_empty()
        })
}

fn date(m: &mail_parser::Message) -> RecordTime {
    match m.date().filter(|d| d.is_valid()) {
        Some(d) => {
            let utc = super::utc_of_millis(d.to_timestamp() * 1000);
            let sign = if d.tz_before_gmt { '-' } else { '+' };
            RecordTime {
                utc: Some(utc),
                local: Some(format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    d.year, d.month, d.day, d.hour, d.minute, d.second
                )),
                offset: Some(format!("{sign}{:02}:{:02}", d.tz_hour, d.tz_minute)),
                zone_known: true,
                assumption: None,
            }
        }
        None => RecordTime {
            assumption: Some("no valid Date header: the message's time is not known".into()),
            ..Default::default()
        },
    }
}

fn addresses(role: &'static str, a: Option<&mail_parser::Address>, out: &mut Vec<Participant>) {
    for addr in a.into_iter().flat_map(|a| a.iter()) {
        let raw = addr.address().unwrap_or("").to_string();
        if raw.is_empty() && addr.name().is_none() {
            continue;
        }
        out.push(Participant {
            role,
            identifier: identifiers::email(&raw).unwrap_or_else(|| format!("email-raw:{raw}")),
            raw,
            name: addr.name().map(str::to_string),
        });
    }
}

fn ids(v: &mail_parser::HeaderValue) -> Vec<String> {
    match v {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// One message as a record and its attachments as embedded files (named under `place`), or
/// None when nothing in it is a message.
fn record(
    raw: &[u8],
    format: &'static str,
    locator: serde_json::Value,
    place: &str,
    options: &CommsOptions,
) -> Option<(CommRecord, Vec<super::Embedded>)> {
    let m = mail_parser::MessageParser::default().parse(raw)?;
    // Every occurrence of each header: a message with both `Cc:` and `cc:` (seen in the wild)
    // keeps the recipients of both.
    let mut participants = Vec::new();
    for (role, name) in [
        ("from", mail_parser::HeaderName::From),
        ("to", mail_parser::HeaderName::To),
        ("cc", mail_parser::HeaderName::Cc),
        ("bcc", mail_parser::HeaderName::Bcc),
    ] {
        for value in m.header_values(name) {
            addresses(role, value.as_address(), &mut participants);
        }
    }
    if participants.is_empty() && m.subject().is_none() && m.date().is_none() {
        return None;
    }
    let owners: Vec<String> = options
        .owners
        .iter()
        .filter_map(|o| identifiers::email(o))
        .collect();
    let direction = match participants.first() {
        _ if owners.is_empty() => "unknown",
        Some(p) if p.role == "from" && owners.contains(&p.identifier) => "outgoing",
        _ => "incoming",
    };
    let references = ids(m.references());
    let in_reply_to = ids(m.in_reply_to());
    let mut embedded = Vec::new();
    let attachments: Vec<serde_json::Value> = m
        .attachments()
        .enumerate()
        .map(|(k, a)| {
            use mail_parser::MimeHeaders;
            let content_type = a.content_type().map(|c| match c.subtype() {
                Some(s) => format!("{}/{s}", c.ctype()),
                None => c.ctype().to_string(),
            });
            // A forwarded message (message/rfc822) is carried whole, as its own bytes.
            let bytes = match &a.body {
                mail_parser::PartType::Message(inner) => inner.raw_message().to_vec(),
                _ => a.contents().to_vec(),
            };
            let name = a.attachment_name().map(str::to_string);
            let child = format!(
                "{place}/attachment-{}/{}",
                k + 1,
                super::safe_name(name.as_deref().unwrap_or("unnamed"))
            );
            let description = json!({
                "name": name,
                "content_type": content_type,
                "size": bytes.len(),
                "sha256": crate::evidence::digest::to_hex(&sha2::Sha256::digest(&bytes)),
                "child": child,
            });
            embedded.push(super::Embedded {
                name: child,
                derivation: json!({
                    "what": "e-mail attachment",
                    "message": locator,
                    "message_id": m.message_id(),
                    "attachment": k + 1,
                    "declared_name": name,
                    "declared_type": content_type,
                    "transfer_decoded": true,
                }),
                bytes,
            });
            description
        })
        .collect();
    let record = CommRecord {
        kind: RecordKind::Message,
        format,
        locator,
        time: date(&m),
        direction,
        participants,
        body: m.body_text(0).map(|b| b.into_owned()),
        // The thread's root: the first reference, else what it replies to, else itself.
        thread: references
            .first()
            .or(in_reply_to.first())
            .cloned()
            .or_else(|| m.message_id().map(str::to_string)),
        extra: json!({
            "subject": m.subject(), "message_id": m.message_id(), "in_reply_to": in_reply_to,
            "references": references, "attachments": attachments,
        }),
    };
    Some((record, embedded))
}

pub fn parse_eml(content: &[u8], options: &CommsOptions) -> Parsed {
    let mut parsed = Parsed::default();
    match record(content, EML, json!({"byte": 0}), "message", options) {
        Some((r, embedded)) => {
            parsed.records.push(r);
            parsed.embedded.extend(embedded);
        }
        None => parsed
            .damage
            .push("byte 0: no message could be read".into()),
    }
    parsed
}

/// mbox: messages separated by lines starting `From ` (mboxrd `>From ` unquoted).
pub fn parse_mbox(content: &[u8], options: &CommsOptions) -> Parsed {
    parse_mbox_stream(content, options)
}

/// What one message of an mbox may take in memory: a larger one is an error record.
pub const MAX_MESSAGE: usize = super::MAX_IN_MEMORY as usize;

/// An mbox read from `reader` a line at a time: one message in memory at once, whatever the
/// mailbox's size. A read error ends it, said in the damage; the messages before are kept.
pub fn parse_mbox_stream(reader: impl std::io::Read, options: &CommsOptions) -> Parsed {
    let mut parsed = Parsed::default();
    let mut budget = super::EmbedBudget::default();
    let mut on_message = |n: usize, byte: u64, message: Result<&[u8], u64>| {
        let message = match message {
            Ok(m) => m,
            Err(size) => {
                parsed.damage.push(format!(
                    "byte {byte}: message {n} is {size} bytes, over the {} MiB one message may take; not parsed",
                    MAX_MESSAGE >> 20
                ));
                return;
            }
        };
        match record(
            message,
            MBOX,
            json!({"message": n, "byte": byte}),
            &format!("message-{n}"),
            options,
        ) {
            Some((mut r, embedded)) => {
                for (k, e) in embedded.into_iter().enumerate() {
                    if let Err(why) = budget.admit(e.bytes.len()) {
                        parsed
                            .damage
                            .push(format!("byte {byte}: message {n}: {}: {why}", e.name));
                        r.extra["attachments"][k]["child"] = serde_json::Value::Null;
                        r.extra["attachments"][k]["not_extracted"] = json!(why);
                        continue;
                    }
                    parsed.embedded.push(e);
                }
                parsed.records.push(r);
            }
            None => parsed
                .damage
                .push(format!("byte {byte}: message {n} could not be read")),
        }
    };
    match split_mbox(reader, MAX_MESSAGE, &mut on_message) {
        Ok(split) => {
            if split.preamble > 0 {
                parsed.damage.push(format!(
                    "byte 0: {} bytes before the first `From ` line are no message; not parsed",
                    split.preamble
                ));
            }
            parsed.summary = json!({"messages": split.messages});
        }
        Err(e) => parsed
            .damage
            .push(format!("read failed, the messages before kept: {e}")),
    }
    parsed
}

/// See [`split_mbox`].
pub type OnMessage<'a> = dyn FnMut(usize, u64, Result<&[u8], u64>) + 'a;

/// What [`split_mbox`] found besides the messages.
pub struct MboxSplit {
    pub messages: usize,
    /// Non-blank bytes before the first `From ` line.
    pub preamble: u64,
}

/// Splits an mbox into messages at lines starting `From ` after a blank line (or at the
/// start), without holding more than one message: `on_message(number, byte offset of its
/// From line, Ok(the message, mboxrd-unquoted) | Err(its size when over max_message))`.
pub fn split_mbox(
    reader: impl std::io::Read,
    max_message: usize,
    on_message: &mut OnMessage,
) -> std::io::Result<MboxSplit> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let mut split = MboxSplit {
        messages: 0,
        preamble: 0,
    };
    // The message being read: where its From line starts, its raw size, its unquoted bytes
    // (dropped once it is over the limit).
    let mut start: Option<u64> = None;
    let mut size = 0u64;
    let mut message = Vec::new();
    let mut oversized = false;
    let mut at = 0u64;
    let mut previous_blank = true;
    // One line, kept only up to the message limit (a longer line makes its message too large
    // anyway): a 2 GB file without a newline is read through, never held.
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut line_len = 0u64;
        loop {
            let buf = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let (take, ends) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let room = (max_message + 1).saturating_sub(line.len());
            line.extend_from_slice(&buf[..take.min(room)]);
            reader.consume(take);
            line_len += take as u64;
            if ends {
                break;
            }
        }
        if line_len == 0 {
            break;
        }
        if previous_blank && line.starts_with(b"From ") {
            if let Some(s) = start {
                split.messages += 1;
                on_message(
                    split.messages,
                    s,
                    if oversized { Err(size) } else { Ok(&message) },
                );
            }
            start = Some(at);
            size = line_len;
            message.clear();
            oversized = false;
        } else if start.is_none() {
            if !line.trim_ascii().is_empty() || line_len > line.len() as u64 {
                split.preamble += line_len;
            }
        } else {
            size += line_len;
            if !oversized && message.len() as u64 + line_len > max_message as u64 {
                oversized = true;
                message = Vec::new();
            }
            if !oversized {
                // mboxrd quoting: ">From " (and ">>From "…) inside a message lose one ">".
                let quoted = line.iter().take_while(|b| **b == b'>').count();
                if quoted > 0 && line[quoted..].starts_with(b"From ") {
                    message.extend_from_slice(&line[1..]);
                } else {
                    message.extend_from_slice(&line);
                }
            }
        }
        previous_blank = line.as_slice() == b"\n" || line.as_slice() == b"\r\n";
        at += line_len;
    }
    if let Some(s) = start {
        split.messages += 1;
        on_message(
            split.messages,
            s,
            if oversized { Err(size) } else { Ok(&message) },
        );
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mbox_splits_on_from_lines_and_unquotes_from_in_bodies() {
        let mbox = b"From a@x Thu Jan  1 00:00:00 2009\nFrom: A <A@Example.org>\nTo: b@example.org\nDate: Wed, 18 Nov 2009 01:02:38 +0600\nSubject: one\n\nhello\n>From the start\n\nFrom b@x Thu Jan  1 00:00:00 2009\nFrom: b@example.org\nTo: a@example.org\nSubject: two\n\nbye\n";
        let p = parse_mbox(mbox, &CommsOptions::default());
        assert_eq!(p.records.len(), 2, "{:?}", p.damage);
        let r = &p.records[0];
        assert_eq!(r.participants[0].identifier, "email:a@example.org");
        assert_eq!(r.participants[0].name.as_deref(), Some("A"));
        assert_eq!(r.time.utc.as_deref(), Some("2009-11-17T19:02:38Z"));
        assert_eq!(r.time.offset.as_deref(), Some("+06:00"));
        assert!(r.body.as_deref().unwrap().contains("\nFrom the start"));
        assert!(!p.records[1].time.zone_known, "no Date header");
        assert!(recognise_mbox(std::str::from_utf8(mbox).unwrap()));
        assert!(recognise_eml("From: a@b.c\nTo: d@e.f\nSubject: x\n\nbody"));
        assert!(!recognise_eml("Dear Sir: hello\nthe goods: arrive\n"));
    }

    /// A reader that hands over one to three bytes at a time: every line is split across reads.
    struct Trickle<'a>(&'a [u8], usize);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 3 + 1;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_mbox_splitter_needs_no_whole_lines_and_bounds_each_message() {
        let mbox = b"junk before\r\n\r\nFrom a@x Thu Jan  1 00:00:00 2009\r\nSubject: one\r\n\r\n>From here\r\nFrom inside, no blank before\r\n\r\nFrom b@x Thu Jan  1 00:00:00 2009\r\nSubject: two\r\n\r\na body far longer than the limit of this test\r\n\r\nFrom c@x Thu Jan  1 00:00:00 2009\r\nSubject: three\r\n\r\nend";
        let collect = |reader: &mut dyn std::io::Read, max: usize| {
            let mut seen = Vec::new();
            let split = split_mbox(reader, max, &mut |n, byte, m| {
                seen.push((n, byte, m.map(|m| String::from_utf8_lossy(m).into_owned())))
            })
            .unwrap();
            (split.messages, split.preamble, seen)
        };
        let whole = collect(&mut &mbox[..], 1 << 20);
        assert_eq!(whole, collect(&mut Trickle(mbox, 0), 1 << 20));
        let (messages, preamble, seen) = whole;
        assert_eq!((messages, preamble), (3, 13));
        assert_eq!(seen[0].1, 15);
        assert_eq!(
            seen[0].2.as_deref().unwrap(),
            "Subject: one\r\n\r\nFrom here\r\nFrom inside, no blank before\r\n\r\n"
        );
        assert_eq!(seen[2].2.as_deref().unwrap(), "Subject: three\r\n\r\nend");
        // With a 40-byte limit the first two messages are only their raw size (From line
        // included); the third, 21 bytes, is whole.
        let (_, _, bounded) = collect(&mut Trickle(mbox, 0), 40);
        assert_eq!(bounded[0].2, Err(35 + 14 + 2 + 12 + 30 + 2));
        assert_eq!(bounded[1].2, Err(35 + 14 + 2 + 47 + 2));
        assert!(bounded[2].2.is_ok());
        let p = parse_mbox(mbox, &CommsOptions::default());
        assert_eq!(p.records.len(), 3);
        assert!(
            p.damage[0].contains("13 bytes before the first `From ` line"),
            "{:?}",
            p.damage
        );
    }
}

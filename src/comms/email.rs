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

/// A file name for a child item's path: no separators, no control characters, not empty.
fn safe_name(name: &str) -> String {
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
                safe_name(name.as_deref().unwrap_or("unnamed"))
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
    let mut parsed = Parsed::default();
    let mut starts = Vec::new();
    let mut at = 0;
    let mut previous_blank = true;
    for line in content.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"From ") && previous_blank {
            starts.push(at);
        }
        previous_blank = line == b"\n" || line == b"\r\n";
        at += line.len();
    }
    starts.push(content.len());
    for (n, w) in starts.windows(2).enumerate() {
        let chunk = &content[w[0]..w[1]];
        let body_start = chunk
            .iter()
            .position(|b| *b == b'\n')
            .map_or(chunk.len(), |i| i + 1);
        // mboxrd quoting: ">From " (and ">>From "…) inside a message lose one ">".
        let mut message = Vec::with_capacity(chunk.len());
        for line in chunk[body_start..].split_inclusive(|b| *b == b'\n') {
            let quoted = line.iter().take_while(|b| **b == b'>').count();
            if quoted > 0 && line[quoted..].starts_with(b"From ") {
                message.extend_from_slice(&line[1..]);
            } else {
                message.extend_from_slice(line);
            }
        }
        match record(
            &message,
            MBOX,
            json!({"message": n + 1, "byte": w[0]}),
            &format!("message-{}", n + 1),
            options,
        ) {
            Some((r, embedded)) => {
                parsed.records.push(r);
                parsed.embedded.extend(embedded);
            }
            None => parsed.damage.push(format!(
                "byte {}: message {} could not be read",
                w[0],
                n + 1
            )),
        }
    }
    parsed.summary = json!({"messages": starts.len() - 1});
    parsed
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
}

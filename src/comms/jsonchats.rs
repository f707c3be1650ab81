//! Chat exports in JSON: Telegram Desktop's `result.json` (one chat, or the whole account with
//! `chats.list` and the owner's `personal_information`), and Meta's Facebook Messenger and
//! Instagram `message_*.json` (`participants`, `messages` with `sender_name`, `timestamp_ms`,
//! `content`). Each record's locator is the JSON pointer of its message.
//!
//! Meta's exports write UTF-8 bytes as `\u00XX` escapes (the well-known mojibake: "Ã©" for
//! "é"); text whose characters are all below U+0100 and whose bytes form valid UTF-8 is
//! decoded once more, and the record says so.

use serde_json::{Value, json};

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const TELEGRAM: &str = "telegram-json";
pub const META: &str = "meta-messages-json";

/// Whether the start of a file looks like one of these exports (the whole file decides).
pub fn recognise(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('{')
        && (t.contains("\"date_unixtime\"")
            || t.contains("\"sender_name\"")
            || t.contains("\"personal_information\"")
            || (t.contains("\"chats\"") && t.contains("\"list\""))
            || (t.contains("\"messages\"") && t.contains("\"participants\"")))
}

/// Meta's double-encoded text, repaired; and whether it was.
fn unmojibake(s: &str) -> (String, bool) {
    if s.chars().all(|c| (c as u32) < 0x100) && s.chars().any(|c| (c as u32) >= 0x80) {
        let bytes: Vec<u8> = s.chars().map(|c| c as u8).collect();
        if let Ok(fixed) = String::from_utf8(bytes) {
            return (fixed, true);
        }
    }
    (s.to_string(), false)
}

/// `+HH:MM` between a local wall-clock time and the same instant in UTC (both `YYYY-MM-DDTHH:MM:SS`).
fn offset_between(local: &str, utc_secs: i64) -> Option<String> {
    let local_secs = super::civil_seconds(local)?;
    let diff = local_secs - utc_secs;
    if diff.abs() > 14 * 3600 || diff % 900 != 0 {
        return None;
    }
    let sign = if diff < 0 { '-' } else { '+' };
    Some(format!(
        "{sign}{:02}:{:02}",
        diff.abs() / 3600,
        diff.abs() % 3600 / 60
    ))
}

/// Telegram's `text`: a string, or an array of strings and entity objects, concatenated.
fn telegram_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.as_str(),
                    other => other.get("text").and_then(Value::as_str).unwrap_or(""),
                })
                .collect(),
        ),
        _ => None,
    }
}

pub fn parse(content: &[u8], options: &CommsOptions) -> (Option<&'static str>, Parsed) {
    let mut parsed = Parsed::default();
    let root: Value = match serde_json::from_slice(content) {
        Ok(v) => v,
        Err(e) => {
            parsed.damage.push(format!(
                "line {} column {}: JSON broken ({e}); nothing could be read",
                e.line(),
                e.column()
            ));
            return (None, parsed);
        }
    };
    let region = options.region.as_deref();
    if root.get("chats").is_some()
        || root
            .get("messages")
            .and_then(|m| m.get(0))
            .is_some_and(|m| m.get("date_unixtime").is_some() || m.get("from").is_some())
    {
        telegram(&root, options, region, &mut parsed);
        (Some(TELEGRAM), parsed)
    } else if root.get("messages").is_some() {
        meta(&root, options, region, &mut parsed);
        (Some(META), parsed)
    } else {
        (None, parsed)
    }
}

/// Telegram's time of an entry: `date_unixtime` is UTC, `date` the exporting computer's wall
/// clock (their difference is the offset); with only `date`, the zone is unknown and said so.
fn telegram_time(m: &Value) -> Option<RecordTime> {
    let unix = m.get("date_unixtime").and_then(|d| {
        d.as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .or_else(|| d.as_i64())
    });
    let local = m.get("date").and_then(Value::as_str).map(str::to_string);
    match (unix, local) {
        (Some(u), local) => Some(RecordTime {
            utc: Some(super::utc_of_millis(u * 1000)),
            offset: local.as_deref().and_then(|l| offset_between(l, u)),
            local,
            zone_known: true,
            assumption: None,
        }),
        (None, Some(l)) => Some(RecordTime {
            utc: None,
            local: Some(l),
            offset: None,
            zone_known: false,
            assumption: Some(
                "`date` is the exporting computer's local time, zone unknown (no date_unixtime)"
                    .into(),
            ),
        }),
        (None, None) => None,
    }
}

/// "first_name last_name" of a Telegram person, either part possibly empty.
fn telegram_full_name(person: &Value) -> Option<String> {
    let name = [person.get("first_name"), person.get("last_name")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// The account's address book in a whole-account export (`contacts.list`: names, number, the
/// date the contact was added): one `contact` record each.
fn telegram_contacts(root: &Value, region: Option<&str>, parsed: &mut Parsed) {
    let Some(list) = root.pointer("/contacts/list").and_then(Value::as_array) else {
        return;
    };
    for (i, c) in list.iter().enumerate() {
        let name = telegram_full_name(c);
        let mut participants = Vec::new();
        if let Some(id) = c
            .get("user_id")
            .and_then(Value::as_i64)
            .filter(|id| *id != 0)
        {
            participants.push(Participant {
                role: "party",
                identifier: format!("telegram:user{id}"),
                raw: id.to_string(),
                name: name.clone(),
            });
        }
        if let Some(raw) = c
            .get("phone_number")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            participants.push(Participant {
                role: "party",
                identifier: identifiers::identify(raw, "telegram-phone", region),
                raw: raw.to_string(),
                name: name.clone(),
            });
        }
        parsed.records.push(CommRecord {
            kind: RecordKind::Contact,
            format: TELEGRAM,
            locator: json!({"json_pointer": format!("/contacts/list/{i}")}),
            time: telegram_time(c).unwrap_or_default(),
            direction: "none",
            participants,
            body: None,
            thread: None,
            extra: json!({"name": name}),
        });
    }
}

// Long (~127 lines) on purpose: Telegram Desktop's result.json read top-down, chats then
// messages, each field where the export has it; the branches share the chat's context.
fn telegram(root: &Value, options: &CommsOptions, region: Option<&str>, parsed: &mut Parsed) {
    // The account's own identifiers, when the export is the whole account.
    let mut owners: Vec<String> = options
        .owners
        .iter()
        .map(|o| identifiers::identify(o, "telegram-name", region))
        .collect();
    if let Some(me) = root.get("personal_information") {
        // The account itself is a record too: who the export belongs to.
        let mut account = Vec::new();
        if let Some(id) = me.get("user_id").and_then(Value::as_i64) {
            owners.push(format!("telegram:user{id}"));
            account.push((id.to_string(), format!("telegram:user{id}")));
        }
        if let Some((raw, tel)) = me
            .get("phone_number")
            .and_then(Value::as_str)
            .and_then(|p| identifiers::phone(p, region).map(|tel| (p, tel)))
        {
            owners.push(tel.clone());
            account.push((raw.to_string(), tel));
        }
        let username = me
            .get("username")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty());
        if let Some(name) = username {
            account.push((
                name.to_string(),
                format!(
                    "telegram-username:{}",
                    name.trim_start_matches('@').to_lowercase()
                ),
            ));
        }
        let display = telegram_full_name(me);
        parsed.records.push(CommRecord::account(
            TELEGRAM,
            json!({"json_pointer": "/personal_information"}),
            account
                .into_iter()
                .map(|(raw, identifier)| (raw, identifier, display.clone()))
                .collect(),
            json!({"username": username, "bio": me.get("bio")}),
        ));
    }
    telegram_contacts(root, region, parsed);
    let chats: Vec<(String, &Value)> = match root.pointer("/chats/list").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("/chats/list/{i}"), c))
            .collect(),
        None => vec![(String::new(), root)],
    };
    for (pointer, chat) in chats {
        let thread = chat
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| chat.get("id").map(|i| format!("telegram-chat:{i}")));
        let Some(messages) = chat.get("messages").and_then(Value::as_array) else {
            parsed
                .damage
                .push(format!("{pointer}: a chat without a messages list"));
            continue;
        };
        for (i, m) in messages.iter().enumerate() {
            let at = format!("{pointer}/messages/{i}");
            let time = match telegram_time(m) {
                Some(time) => time,
                None => {
                    parsed
                        .damage
                        .push(format!("{at}: a message without a date"));
                    continue;
                }
            };
            let service = m.get("type").and_then(Value::as_str) == Some("service");
            let name = m
                .get("from")
                .or_else(|| m.get("actor"))
                .and_then(Value::as_str);
            let id = m
                .get("from_id")
                .or_else(|| m.get("actor_id"))
                .and_then(Value::as_str);
            let mut participants = Vec::new();
            let mut direction = if service { "system" } else { "unknown" };
            if let Some(raw) = id.or(name) {
                let identifier = match id {
                    Some(id) => format!("telegram:{id}"),
                    None => identifiers::identify(raw, "telegram-name", region),
                };
                if !service && !owners.is_empty() {
                    direction = if owners.contains(&identifier) {
                        "outgoing"
                    } else {
                        "incoming"
                    };
                }
                participants.push(Participant {
                    role: "from",
                    identifier,
                    raw: raw.to_string(),
                    name: name.map(str::to_string),
                });
            }
            parsed.records.push(CommRecord {
                kind: RecordKind::Message,
                format: TELEGRAM,
                locator: json!({"json_pointer": at}),
                time,
                direction,
                participants,
                body: m.get("text").and_then(telegram_text).filter(|t| !t.is_empty()),
                thread: thread.clone(),
                extra: json!({
                    "id": m.get("id"), "action": m.get("action"), "reply_to": m.get("reply_to_message_id"),
                    "media": m.get("media_type").or(m.get("photo")).or(m.get("file")),
                    "forwarded_from": m.get("forwarded_from"),
                }),
            });
        }
    }
    parsed.summary = json!({"owners_from_export": owners});
}

fn meta(root: &Value, options: &CommsOptions, region: Option<&str>, parsed: &mut Parsed) {
    let owners: Vec<String> = options
        .owners
        .iter()
        .map(|o| identifiers::identify(o, "meta-name", region))
        .collect();
    let fix = |s: &str| unmojibake(s);
    let thread = root
        .get("title")
        .and_then(Value::as_str)
        .map(|t| fix(t).0)
        .or_else(|| {
            root.get("thread_path")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let members: Vec<String> = root
        .get("participants")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(|n| fix(n).0))
        .collect();
    let mut repaired = 0usize;
    for (i, m) in root
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("/messages/{i}");
        let Some(ms) = m.get("timestamp_ms").and_then(Value::as_i64) else {
            parsed
                .damage
                .push(format!("{at}: a message without timestamp_ms"));
            continue;
        };
        let (sender, fixed_sender) = m
            .get("sender_name")
            .and_then(Value::as_str)
            .map(fix)
            .unwrap_or_default();
        let (body, fixed_body) = match m.get("content").and_then(Value::as_str) {
            Some(c) => {
                let (b, f) = fix(c);
                (Some(b), f)
            }
            None => (None, false),
        };
        repaired += usize::from(fixed_sender || fixed_body);
        let identifier = identifiers::identify(&sender, "meta-name", region);
        let direction = if owners.is_empty() {
            "unknown"
        } else if owners.contains(&identifier) {
            "outgoing"
        } else {
            "incoming"
        };
        let mut participants = vec![Participant {
            role: "from",
            identifier,
            raw: sender.clone(),
            name: Some(sender.clone()),
        }];
        participants.extend(
            members
                .iter()
                .filter(|n| **n != sender)
                .map(|n| Participant {
                    role: "to",
                    identifier: identifiers::identify(n, "meta-name", region),
                    raw: n.clone(),
                    name: Some(n.clone()),
                }),
        );
        parsed.records.push(CommRecord {
            kind: if m.get("call_duration").is_some() { RecordKind::Call } else { RecordKind::Message },
            format: META,
            locator: json!({"json_pointer": at}),
            time: RecordTime {
                utc: Some(super::utc_of_millis(ms)),
                local: None,
                offset: None,
                zone_known: true,
                assumption: None,
            },
            direction,
            participants,
            body,
            thread: thread.clone(),
            extra: json!({
                "type": m.get("type"), "photos": m.get("photos"), "videos": m.get("videos"),
                "audio_files": m.get("audio_files"), "share": m.get("share"),
                "call_duration_s": m.get("call_duration"), "mojibake_repaired": fixed_sender || fixed_body,
            }),
        });
    }
    parsed.summary = json!({"participants": members, "mojibake_repaired": repaired});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_mojibake_is_repaired_and_offsets_are_derived() {
        assert_eq!(
            unmojibake("Caf\u{00c3}\u{00a9}"),
            ("Café".to_string(), true)
        );
        assert_eq!(unmojibake("Café"), ("Café".to_string(), false));
        // 1544006350 is 2018-12-05T10:39:10Z; the export's local time an hour later.
        assert_eq!(
            offset_between("2018-12-05T11:39:10", 1544006350).as_deref(),
            Some("+01:00")
        );
        assert_eq!(
            offset_between("2018-12-05T05:39:10", 1544006350).as_deref(),
            Some("-05:00")
        );
    }
}

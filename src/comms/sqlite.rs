//! Phone databases: Android's `mmssms.db` (`sms`, `threads`, `canonical_addresses`) and
//! `calllog.db` / `contacts2.db` (`calls`), and iOS's `sms.db` (`message`, `handle`, `chat`).
//!
//! The evidence file is never opened as a database: its bytes (already read and hashed) are
//! handed to SQLite's deserialize interface as a read-only in-memory image, so SQLite cannot
//! write a journal, a WAL or anything else next to it. Records point back by table and row id.
//! Not yet: the `-wal` file beside a database (recent messages not yet checkpointed into it),
//! Android MMS (`pdu`, `addr`, `part`) and iOS attachments.

use rusqlite::{Connection, OpenFlags};
use serde_json::json;

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const ANDROID_SMS: &str = "android-mmssms-db";
pub const ANDROID_CALLS: &str = "android-calllog-db";
pub const IOS_SMS: &str = "ios-sms-db";

pub fn recognise(head: &[u8]) -> bool {
    head.starts_with(b"SQLite format 3\0")
}

fn open(content: &[u8]) -> Result<Connection, String> {
    let mut conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    conn.deserialize_read_exact("main", content, content.len(), true)
        .map_err(|e| format!("not a readable SQLite database: {e}"))?;
    // Encrypted or damaged files fail here, on the first read of the schema.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| format!("not a readable SQLite database (encrypted or damaged?): {e}"))?;
    Ok(conn)
}

fn has_table(conn: &Connection, name: &str) -> bool {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .is_ok()
}

fn known_time(utc: String) -> RecordTime {
    RecordTime {
        utc: Some(utc),
        zone_known: true,
        ..Default::default()
    }
}

/// Which database this is, and its records.
pub fn parse(content: &[u8], options: &CommsOptions) -> (Option<&'static str>, Parsed) {
    let mut parsed = Parsed::default();
    let conn = match open(content) {
        Ok(c) => c,
        Err(e) => {
            parsed.damage.push(e);
            return (Some("sqlite"), parsed);
        }
    };
    let region = options.region.as_deref();
    let owners: Vec<Participant> = options
        .owners
        .iter()
        .map(|o| Participant {
            role: "owner",
            identifier: identifiers::identify(o, "sms", region),
            raw: o.clone(),
            name: None,
        })
        .collect();
    let result = if has_table(&conn, "sms") && has_table(&conn, "threads") {
        android_sms(&conn, region, &owners, &mut parsed).map(|_| ANDROID_SMS)
    } else if has_table(&conn, "calls") {
        android_calls(&conn, region, &owners, &mut parsed).map(|_| ANDROID_CALLS)
    } else if has_table(&conn, "message") && has_table(&conn, "handle") {
        ios_sms(&conn, region, &owners, &mut parsed).map(|_| IOS_SMS)
    } else {
        return (None, parsed);
    };
    match result {
        Ok(format) => (Some(format), parsed),
        Err(e) => {
            parsed
                .damage
                .push(format!("query failed, the rows before it kept: {e}"));
            (Some("sqlite"), parsed)
        }
    }
}

fn android_sms(
    conn: &Connection,
    region: Option<&str>,
    owners: &[Participant],
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT _id, thread_id, address, date, date_sent, type, body, read, status, service_center FROM sms ORDER BY _id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let kind: Option<i64> = r.get(5)?;
        let direction = super::android_sms_direction(kind);
        let address: Option<String> = r.get(2)?;
        let raw = address.unwrap_or_default();
        let mut participants = vec![Participant {
            role: if direction == "incoming" {
                "from"
            } else {
                "to"
            },
            identifier: identifiers::identify(&raw, "sms", region),
            raw: raw.clone(),
            name: None,
        }];
        participants.extend(owners.iter().cloned());
        let Some(date) = r.get::<_, Option<i64>>(3)? else {
            parsed.damage.push(format!("sms row {id}: no date"));
            continue;
        };
        parsed.records.push(CommRecord {
            kind: RecordKind::Message,
            format: ANDROID_SMS,
            locator: json!({"table": "sms", "rowid": id}),
            time: known_time(super::utc_of_millis(date)),
            direction,
            participants,
            body: r.get(6)?,
            thread: r.get::<_, Option<i64>>(1)?.map(|t| format!("android-thread:{t}")),
            extra: json!({
                "type": kind, "read": r.get::<_, Option<i64>>(7)?, "status": r.get::<_, Option<i64>>(8)?,
                "date_sent": r.get::<_, Option<i64>>(4)?.filter(|d| *d > 0).map(super::utc_of_millis),
                "service_center": r.get::<_, Option<String>>(9)?,
            }),
        });
    }
    Ok(())
}

fn android_calls(
    conn: &Connection,
    region: Option<&str>,
    owners: &[Participant],
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare("SELECT _id, number, date, duration, type, name FROM calls ORDER BY _id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let direction = super::android_call_direction(r.get::<_, Option<i64>>(4)?);
        let raw: String = r.get::<_, Option<String>>(1)?.unwrap_or_default();
        let Some(date) = r.get::<_, Option<i64>>(2)? else {
            parsed.damage.push(format!("calls row {id}: no date"));
            continue;
        };
        let mut participants = vec![Participant {
            role: if direction == "outgoing" {
                "to"
            } else {
                "from"
            },
            identifier: identifiers::identify(&raw, "tel-raw", region),
            raw: raw.clone(),
            name: r.get(5)?,
        }];
        participants.extend(owners.iter().cloned());
        parsed.records.push(CommRecord {
            kind: RecordKind::Call,
            format: ANDROID_CALLS,
            locator: json!({"table": "calls", "rowid": id}),
            time: known_time(super::utc_of_millis(date)),
            direction,
            participants,
            body: None,
            thread: Some(raw),
            extra: json!({"duration_s": r.get::<_, Option<i64>>(3)?}),
        });
    }
    Ok(())
}

/// iOS `message.date`: seconds since 2001-01-01 UTC before iOS 11, nanoseconds since.
fn apple_time(v: i64) -> i64 {
    const APPLE_EPOCH: i64 = 978_307_200;
    if v.abs() > 10_000_000_000 {
        APPLE_EPOCH * 1000 + v / 1_000_000
    } else {
        (APPLE_EPOCH + v) * 1000
    }
}

fn ios_sms(
    conn: &Connection,
    region: Option<&str>,
    owners: &[Participant],
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let has_chats = has_table(conn, "chat") && has_table(conn, "chat_message_join");
    let sql = if has_chats {
        "SELECT m.ROWID, m.text, m.date, m.is_from_me, m.service, h.id,
                (SELECT c.chat_identifier FROM chat_message_join j JOIN chat c ON c.ROWID = j.chat_id WHERE j.message_id = m.ROWID LIMIT 1)
         FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID"
    } else {
        "SELECT m.ROWID, m.text, m.date, m.is_from_me, m.service, h.id, NULL
         FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID"
    };
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let from_me = r.get::<_, Option<i64>>(3)?.unwrap_or(0) == 1;
        let direction = if from_me { "outgoing" } else { "incoming" };
        let service: Option<String> = r.get(4)?;
        let app = if service.as_deref() == Some("iMessage") {
            "imessage"
        } else {
            "sms"
        };
        let raw: String = r.get::<_, Option<String>>(5)?.unwrap_or_default();
        let Some(date) = r.get::<_, Option<i64>>(2)? else {
            parsed.damage.push(format!("message row {id}: no date"));
            continue;
        };
        let mut participants = Vec::new();
        if !raw.is_empty() {
            participants.push(Participant {
                role: if from_me { "to" } else { "from" },
                identifier: identifiers::identify(&raw, app, region),
                raw: raw.clone(),
                name: None,
            });
        }
        participants.extend(owners.iter().cloned());
        parsed.records.push(CommRecord {
            kind: RecordKind::Message,
            format: IOS_SMS,
            locator: json!({"table": "message", "rowid": id}),
            time: known_time(super::utc_of_millis(apple_time(date))),
            direction,
            participants,
            body: r.get(1)?,
            thread: r.get::<_, Option<String>>(6)?.or(Some(raw)),
            extra: json!({"service": service, "raw_date": date}),
        });
    }
    Ok(())
}

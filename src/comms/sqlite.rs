//! Phone databases: Android's `mmssms.db` (`sms`, `threads`, `canonical_addresses`),
//! `calllog.db` (`calls`) and `contacts2.db` (`raw_contacts`, `data`, `mimetypes`, `accounts`;
//! the `calls` table it held before Android 7 too), and iOS's `sms.db` (`message`, `handle`,
//! `chat`, `attachment`).
//!
//! The evidence file is never opened as a database: its bytes (already read and hashed) are
//! handed to SQLite's deserialize interface as a read-only in-memory image, so SQLite cannot
//! write a journal, a WAL or anything else next to it. Records point back by table and row id.
//! A `-wal` file seized beside a database is applied to a private copy ([`parse_with_wal`]):
//! its rows are marked added, changed or deleted against the main file.

use rusqlite::{Connection, OpenFlags};
use serde_json::json;

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const ANDROID_SMS: &str = "android-mmssms-db";
pub const ANDROID_CALLS: &str = "android-calllog-db";
pub const ANDROID_CONTACTS: &str = "android-contacts2-db";
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
    // A database in WAL mode (header bytes 18 and 19 are 2; every recent Android database)
    // cannot be opened from memory: SQLite wants a -shm file for it. Our in-memory copy is
    // marked as a rollback-journal database instead; the pages are the same.
    let mut patched;
    let content = if content.get(18..20) == Some(&[2, 2]) {
        patched = content.to_vec();
        patched[18] = 1;
        patched[19] = 1;
        patched.as_slice()
    } else {
        content
    };
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
    // A damaged database opens (SQLite reads pages lazily) but fails at its schema; without
    // this check every table looked absent and the file passed as "another app's database".
    if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        parsed
            .damage
            .push(format!("its schema cannot be read ({e}); no table read"));
        return (Some("sqlite"), parsed);
    }
    // Header bytes 18 and 19 (write and read format) are 2 in WAL mode: recent changes may sit
    // in a `-wal` file beside the database ([`parse_with_wal`] reads it when it was seized).
    if content.get(18..20) == Some(&[2, 2]) {
        parsed.summary = json!({
            "journal_mode": "wal",
            "note": "the database is in WAL mode: rows still in its -wal file are only read when the -wal was seized beside it",
        });
    }
    let format = parse_connection(&conn, options, &mut parsed);
    (format, parsed)
}

/// The records of an open database; None when it is no database known here.
fn parse_connection(
    conn: &Connection,
    options: &CommsOptions,
    parsed: &mut Parsed,
) -> Option<&'static str> {
    let region = options.region.as_deref();
    let owners: Vec<Participant> = options
        .owners
        .iter()
        .map(|o| Participant {
            role: "owner",
            identifier: identifiers::identify(o, identifiers::PHONE_FIELD, region),
            raw: o.clone(),
            name: None,
        })
        .collect();
    let result = if has_table(conn, "raw_contacts")
        && has_table(conn, "data")
        && has_table(conn, "mimetypes")
    {
        android_contacts(conn, region, parsed).and_then(|_| {
            if has_table(conn, "accounts") {
                android_accounts(conn, region, parsed)?;
            }
            if has_table(conn, "calls") {
                android_calls(conn, region, &owners, parsed)?;
            }
            Ok(ANDROID_CONTACTS)
        })
    } else if has_table(conn, "sms") && has_table(conn, "threads") {
        android_sms(conn, region, &owners, parsed).map(|_| ANDROID_SMS)
    } else if has_table(conn, "calls") {
        android_calls(conn, region, &owners, parsed).map(|_| ANDROID_CALLS)
    } else if has_table(conn, "message") && has_table(conn, "handle") {
        ios_sms(conn, region, &owners, parsed).map(|_| IOS_SMS)
    } else {
        return None;
    };
    match result {
        Ok(format) => Some(format),
        Err(e) => {
            parsed
                .damage
                .push(format!("query failed, the rows before it kept: {e}"));
            Some("sqlite")
        }
    }
}

/// As [`parse`], with the database's `-wal` file applied: the rows the phone wrote since the
/// last checkpoint, which the main file alone does not have (on Android the newest messages).
///
/// The evidence is not touched: the main file's and the WAL's bytes are copied into a private
/// temporary folder and SQLite opens that copy, applying the WAL as it would on the phone.
/// Every record is compared with the main file's own by table and row id: a row only in the
/// WAL is marked `"wal": "added"`, a row the WAL changed `"changed"` (with the main file's
/// body as `wal_before`), a row the WAL deleted is kept from the main file, marked `"deleted"`.
pub fn parse_with_wal(
    content: &[u8],
    wal: &[u8],
    options: &CommsOptions,
) -> (Option<&'static str>, Parsed) {
    let (format, mut base) = parse(content, options);
    // SQLite skips a WAL whose header or frames do not check out, without a word: say it.
    if wal.len() < 32
        || !matches!(
            wal[..4],
            [0x37, 0x7f, 0x06, 0x82] | [0x37, 0x7f, 0x06, 0x83]
        )
    {
        base.damage.push(
            "-wal beside it is not a SQLite WAL (bad header); the main file's rows only".into(),
        );
        return (format, base);
    }
    let dir = match private_dir() {
        Ok(d) => d,
        Err(e) => {
            base.damage.push(format!("-wal not applied: {e}"));
            return (format, base);
        }
    };
    let applied = (|| -> Result<(Option<&'static str>, Parsed), String> {
        let db = dir.join("db");
        std::fs::write(&db, content).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("db-wal"), wal).map_err(|e| e.to_string())?;
        let conn = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| e.to_string())?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| e.to_string())?;
        let mut parsed = Parsed::default();
        let format = parse_connection(&conn, options, &mut parsed);
        Ok((format, parsed))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let (format_wal, mut with) = match applied {
        Ok(r) => r,
        Err(e) => {
            base.damage.push(format!(
                "-wal not applied (damaged?): {e}; the main file's rows kept"
            ));
            return (format, base);
        }
    };
    let key = |r: &CommRecord| r.locator.to_string();
    let before: std::collections::HashMap<String, &CommRecord> =
        base.records.iter().map(|r| (key(r), r)).collect();
    let after: std::collections::HashSet<String> = with.records.iter().map(key).collect();
    let (mut added, mut changed, mut deleted) = (0, 0, 0);
    for r in &mut with.records {
        let mark = match before.get(&key(r)) {
            None => {
                added += 1;
                json!("added")
            }
            Some(old) if old.body != r.body || old.participants != r.participants => {
                changed += 1;
                r.extra["wal_before"] = json!(old.body);
                json!("changed")
            }
            Some(_) => continue,
        };
        r.extra["wal"] = mark;
    }
    for old in &base.records {
        if !after.contains(&key(old)) {
            deleted += 1;
            let mut kept = old.clone();
            kept.extra["wal"] = json!("deleted");
            with.records.push(kept);
        }
    }
    with.damage.extend(base.damage);
    with.summary = json!({
        "journal_mode": "wal",
        "wal": {"bytes": wal.len(), "added": added, "changed": changed, "deleted": deleted},
    });
    (format_wal.or(format), with)
}

/// A folder of our own under the system's temporary directory, for copies of evidence.
fn private_dir() -> Result<std::path::PathBuf, String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "spoor-wal-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
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
        let mut participants = vec![super::counterpart(
            &raw,
            direction == "incoming",
            identifiers::PHONE_FIELD,
            region,
            None,
        )];
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
    if has_table(conn, "pdu") && has_table(conn, "addr") && has_table(conn, "part") {
        android_mms(conn, region, owners, parsed)?;
    }
    Ok(())
}

/// Android MMS: `pdu` (one row per message; `date` in seconds, `msg_box` 1 received, 2 sent),
/// `addr` (its addresses; `type` is the PDU header: 137 from, 151 to, 130 cc, 129 bcc) and
/// `part` (its parts: text parts make the body; pictures and other files are named with their
/// content type and `_data`, the path of the part's file on the phone, to be found in the image).
fn android_mms(
    conn: &Connection,
    region: Option<&str>,
    owners: &[Participant],
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let mut addresses =
        conn.prepare("SELECT address, type FROM addr WHERE msg_id = ?1 ORDER BY _id")?;
    let mut parts = conn.prepare(
        "SELECT _id, ct, text, name, cl, _data FROM part WHERE mid = ?1 ORDER BY seq, _id",
    )?;
    let mut stmt = conn.prepare(
        "SELECT _id, thread_id, date, date_sent, msg_box, sub, m_type, read FROM pdu ORDER BY _id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let Some(date) = r.get::<_, Option<i64>>(2)? else {
            parsed.damage.push(format!("pdu row {id}: no date"));
            continue;
        };
        let msg_box: Option<i64> = r.get(4)?;
        let direction = match msg_box {
            Some(1) => "incoming",
            Some(2) | Some(4) => "outgoing",
            Some(3) => "draft",
            _ => "unknown",
        };
        let mut participants = Vec::new();
        let mut found = addresses.query([id])?;
        while let Some(a) = found.next()? {
            let raw: String = a.get::<_, Option<String>>(0)?.unwrap_or_default();
            // "insert-address-token" stands for the phone's own number in a sent message.
            if raw.is_empty() || raw == "insert-address-token" {
                continue;
            }
            let role = match a.get::<_, Option<i64>>(1)? {
                Some(137) => "from",
                Some(151) => "to",
                Some(130) => "cc",
                Some(129) => "bcc",
                _ => "party",
            };
            participants.push(Participant {
                role,
                identifier: identifiers::identify(&raw, identifiers::PHONE_FIELD, region),
                raw,
                name: None,
            });
        }
        participants.extend(owners.iter().cloned());
        let mut texts = Vec::new();
        let mut files = Vec::new();
        let mut found = parts.query([id])?;
        while let Some(part) = found.next()? {
            let content_type: Option<String> = part.get(1)?;
            match (content_type.as_deref(), part.get::<_, Option<String>>(2)?) {
                (Some("text/plain"), Some(text)) => texts.push(text),
                // The presentation layout says nothing about the message.
                (Some("application/smil"), _) => {}
                (_, _) => files.push(json!({
                    "part": part.get::<_, i64>(0)?, "content_type": content_type,
                    "name": part.get::<_, Option<String>>(3)?.or(part.get::<_, Option<String>>(4)?),
                    "device_path": part.get::<_, Option<String>>(5)?,
                })),
            }
        }
        parsed.records.push(CommRecord {
            kind: RecordKind::Message,
            format: ANDROID_SMS,
            locator: json!({"table": "pdu", "rowid": id}),
            time: known_time(super::utc_of_millis(date * 1000)),
            direction,
            participants,
            body: (!texts.is_empty()).then(|| texts.join("\n")),
            thread: r.get::<_, Option<i64>>(1)?.map(|t| format!("android-thread:{t}")),
            extra: json!({
                "mms": true, "msg_box": msg_box, "subject": r.get::<_, Option<String>>(5)?,
                "m_type": r.get::<_, Option<i64>>(6)?, "read": r.get::<_, Option<i64>>(7)?,
                "date_sent": r.get::<_, Option<i64>>(3)?.filter(|d| *d > 0).map(|d| super::utc_of_millis(d * 1000)),
                "attachments": files,
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
        let mut participants = vec![super::counterpart(
            &raw,
            direction != "outgoing",
            identifiers::PHONE_FIELD,
            region,
            r.get(5)?,
        )];
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

/// `{qualifier}{name}` for a SELECT when the table has that column (older app versions lack
/// some), else `NULL`.
fn column_or_null(columns: &[String], qualifier: &str, name: &str) -> String {
    if columns.iter().any(|c| c == name) {
        format!("{qualifier}{name}")
    } else {
        "NULL".to_string()
    }
}

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let Ok(mut stmt) = conn.prepare(&format!("PRAGMA table_info({table})")) else {
        return Vec::new();
    };
    stmt.query_map([], |r| r.get::<_, String>(1))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
}

/// The accounts the phone's contacts are synced with (`accounts`, Android 7+): one `account`
/// record each, the account's name as the owner's identifier when it is an address or a number
/// (Google's is the Gmail address; WhatsApp's is just "WhatsApp", kept in the extras only). The
/// phone's local account (no name, no type) is left out.
fn android_accounts(
    conn: &Connection,
    region: Option<&str>,
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT _id, account_name, account_type FROM accounts
         WHERE account_name IS NOT NULL OR account_type IS NOT NULL ORDER BY _id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let name: Option<String> = r.get(1)?;
        let account_type: Option<String> = r.get(2)?;
        let owner = name
            .as_deref()
            .and_then(|n| {
                identifiers::phone(n, region)
                    .or_else(|| identifiers::email(n))
                    .map(|id| (n.to_string(), id, None))
            })
            .into_iter()
            .collect();
        parsed.records.push(CommRecord::account(
            ANDROID_CONTACTS,
            json!({"table": "accounts", "rowid": r.get::<_, i64>(0)?}),
            owner,
            json!({"account_name": name, "account_type": account_type}),
        ));
    }
    Ok(())
}

// Long (~133 lines) on purpose: the raw_contacts / data / mimetypes join of contacts2.db as the
// schema has it, with the columns older Android versions lack looked up once.
/// Android's contacts provider: one record per raw contact (one account's view of a person:
/// the phone's own, Google's, WhatsApp's …), with every phone number, e-mail address and chat
/// handle of its `data` rows as a participant. Deleted raw contacts still in the table (marked
/// `deleted = 1`, waiting for a sync) are kept and said so.
fn android_contacts(
    conn: &Connection,
    region: Option<&str>,
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let raw_columns = columns(conn, "raw_contacts");
    let has = |c: &str| raw_columns.iter().any(|x| x == c);
    // The account: an `accounts` table since Android 7, columns of raw_contacts before.
    let account = if has("account_id") && has_table(conn, "accounts") {
        "(SELECT account_type FROM accounts a WHERE a._id = r.account_id), (SELECT account_name FROM accounts a WHERE a._id = r.account_id)"
    } else if has("account_type") && has("account_name") {
        "r.account_type, r.account_name"
    } else {
        "NULL, NULL"
    };
    let optional = |c: &str| column_or_null(&raw_columns, "r.", c);
    let sql = format!(
        "SELECT r._id, {}, {account}, {}, {}, {}, {} FROM raw_contacts r ORDER BY r._id",
        optional("display_name"),
        optional("deleted"),
        optional("times_contacted"),
        optional("last_time_contacted"),
        optional("starred"),
    );
    let mut data = conn.prepare(
        "SELECT d._id, m.mimetype, d.data1, d.data2, d.data3, d.data5 FROM data d
         JOIN mimetypes m ON m._id = d.mimetype_id WHERE d.raw_contact_id = ?1 ORDER BY d._id",
    )?;
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let mut name: Option<String> = r.get(1)?;
        let account_type: Option<String> = r.get(2)?;
        let account_name: Option<String> = r.get(3)?;
        let mut participants = Vec::new();
        let mut extra_fields = serde_json::Map::new();
        let mut data_rows = data.query([id])?;
        while let Some(d) = data_rows.next()? {
            let mimetype: String = d.get(1)?;
            let value: Option<String> = d.get(2)?;
            let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let kind = mimetype.rsplit('/').next().unwrap_or("");
            let identifier = match kind {
                "phone_v2" => identifiers::identify(&value, identifiers::PHONE_FIELD, region),
                "email_v2" => {
                    identifiers::email(&value).unwrap_or_else(|| format!("email-raw:{value}"))
                }
                // Chat handles: data5 is the protocol (Android's codes; -1 with a custom name).
                "im" => {
                    let protocol: Option<String> = d
                        .get::<_, Option<rusqlite::types::Value>>(5)?
                        .map(|v| match v {
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            _ => String::new(),
                        });
                    format!(
                        "im{}:{value}",
                        protocol.map(|p| format!("-{p}")).unwrap_or_default()
                    )
                }
                "name" => {
                    name.get_or_insert(value);
                    continue;
                }
                "organization" | "nickname" | "note" | "postal-address_v2" | "website" => {
                    if let Some(list) = extra_fields
                        .entry(kind.to_string())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                    {
                        list.push(json!(value));
                    }
                    continue;
                }
                // An app's own row (WhatsApp's "profile", Signal's "contact"): the number or
                // handle is data1.
                _ if mimetype.starts_with("vnd.android.cursor.item/vnd.") => {
                    if let Some(list) = extra_fields
                        .entry("app_rows".to_string())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                    {
                        list.push(json!({"mimetype": mimetype, "data1": value}));
                    }
                    continue;
                }
                _ => continue,
            };
            participants.push(Participant {
                role: "party",
                identifier,
                raw: value,
                name: None,
            });
        }
        for p in &mut participants {
            p.name.clone_from(&name);
        }
        let deleted = r.get::<_, Option<i64>>(4)?.unwrap_or(0) == 1;
        let last: Option<i64> = r.get(6)?;
        let mut extra = json!({
            "account_type": account_type, "account_name": account_name, "deleted": deleted,
            "times_contacted": r.get::<_, Option<i64>>(5)?,
            "last_time_contacted": last.filter(|t| *t > 0).map(super::utc_of_millis),
            "starred": r.get::<_, Option<i64>>(7)?.map(|s| s == 1),
        });
        if let Some(map) = extra.as_object_mut() {
            map.extend(extra_fields);
        }
        if participants.is_empty() && name.is_none() {
            continue; // an empty shell (a group or a profile stub): nothing to record
        }
        parsed.records.push(CommRecord {
            kind: RecordKind::Contact,
            format: ANDROID_CONTACTS,
            locator: json!({"table": "raw_contacts", "rowid": id}),
            time: RecordTime {
                assumption: Some("a contact entry has no time of its own".into()),
                ..Default::default()
            },
            direction: "none",
            participants,
            body: None,
            thread: None,
            extra,
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

/// One iOS conversation: its identifier, the group's name and its members (`chat_handle_join`).
struct IosChat {
    identifier: Option<String>,
    group: bool,
    display_name: Option<String>,
    members: Vec<(String, Option<String>)>,
}

fn ios_chats(conn: &Connection) -> rusqlite::Result<std::collections::HashMap<i64, IosChat>> {
    let mut chats = std::collections::HashMap::new();
    // `style` and `display_name` are read where this iOS version has them.
    let chat_columns = columns(conn, "chat");
    let mut stmt = conn.prepare(&format!(
        "SELECT ROWID, chat_identifier, {}, {} FROM chat",
        column_or_null(&chat_columns, "", "style"),
        column_or_null(&chat_columns, "", "display_name")
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        // `style` 43 is a group, 45 one-to-one.
        let group = r.get::<_, Option<i64>>(2)? == Some(43);
        let display_name = r.get::<_, Option<String>>(3)?.filter(|n| !n.is_empty());
        chats.insert(
            r.get(0)?,
            IosChat {
                identifier: r.get(1)?,
                group,
                display_name,
                members: Vec::new(),
            },
        );
    }
    if has_table(conn, "chat_handle_join") {
        let mut stmt = conn.prepare(
            "SELECT j.chat_id, h.id, h.service FROM chat_handle_join j
             JOIN handle h ON h.ROWID = j.handle_id ORDER BY j.chat_id, h.ROWID",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(chat) = chats.get_mut(&r.get::<_, i64>(0)?) {
                chat.members.push((r.get(1)?, r.get(2)?));
            }
        }
    }
    Ok(chats)
}

fn ios_app(service: Option<&str>) -> &'static str {
    if service == Some("iMessage") {
        "imessage"
    } else {
        "sms"
    }
}

// Long (~138 lines) on purpose: message, handle, chat and attachment of sms.db joined in one
// pass in row order; the joins' statements are prepared once and shared by every row.
/// iOS's `sms.db`: one record per `message` row. The body is `text`, or, when iOS 16 and
/// later left that empty, the string inside `attributedBody`. The other party is the row's
/// `handle`; in a group chat every other member is a recipient too, and a message the owner
/// sent to a group (no handle) goes to all members. Attachments (`attachment`, joined by
/// `message_attachment_join`) are listed with their file's path on the phone. The accounts the
/// phone used (`chat.account_login`, `E:` an Apple ID address, `P:` a number) become `account`
/// records.
fn ios_sms(
    conn: &Connection,
    region: Option<&str>,
    owners: &[Participant],
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let has_chats = has_table(conn, "chat") && has_table(conn, "chat_message_join");
    let chats = if has_chats {
        ios_chats(conn)?
    } else {
        Default::default()
    };
    let attributed = column_or_null(&columns(conn, "message"), "m.", "attributedBody");
    let chat_of = if has_chats {
        "(SELECT j.chat_id FROM chat_message_join j WHERE j.message_id = m.ROWID LIMIT 1)"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT m.ROWID, m.text, m.date, m.is_from_me, m.service, h.id, {chat_of}, {attributed}
         FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID"
    );
    let mut attachments =
        if has_table(conn, "attachment") && has_table(conn, "message_attachment_join") {
            match conn.prepare(
                "SELECT a.ROWID, a.guid, a.filename, a.mime_type, a.transfer_name, a.total_bytes
             FROM message_attachment_join j JOIN attachment a ON a.ROWID = j.attachment_id
             WHERE j.message_id = ?1 ORDER BY a.ROWID",
            ) {
                Ok(stmt) => Some(stmt),
                Err(e) => {
                    parsed.damage.push(format!("attachments not read: {e}"));
                    None
                }
            }
        } else {
            None
        };
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let from_me = r.get::<_, Option<i64>>(3)?.unwrap_or(0) == 1;
        let direction = if from_me { "outgoing" } else { "incoming" };
        let service: Option<String> = r.get(4)?;
        let app = ios_app(service.as_deref());
        let raw: String = r.get::<_, Option<String>>(5)?.unwrap_or_default();
        let Some(date) = r.get::<_, Option<i64>>(2)? else {
            parsed.damage.push(format!("message row {id}: no date"));
            continue;
        };
        let chat = r.get::<_, Option<i64>>(6)?.and_then(|c| chats.get(&c));
        let mut participants = Vec::new();
        if !raw.is_empty() {
            participants.push(Participant {
                role: if from_me { "to" } else { "from" },
                identifier: identifiers::identify(&raw, app, region),
                raw: raw.clone(),
                name: None,
            });
        }
        // A group message reaches every member; a one-to-one message the phone sent with no
        // handle (older iOS) reaches the chat's one member.
        if let Some(chat) = chat.filter(|c| c.group || raw.is_empty()) {
            for (member, member_service) in &chat.members {
                if member != &raw {
                    participants.push(Participant {
                        role: "to",
                        identifier: identifiers::identify(
                            member,
                            ios_app(member_service.as_deref()),
                            region,
                        ),
                        raw: member.clone(),
                        name: None,
                    });
                }
            }
        }
        participants.extend(owners.iter().cloned());
        let mut body: Option<String> = r.get::<_, Option<String>>(1)?.filter(|t| !t.is_empty());
        let mut body_source = "text";
        if body.is_none()
            && let Some(blob) = r.get::<_, Option<Vec<u8>>>(7)?
        {
            match super::typedstream::attributed_text(&blob) {
                Ok(text) => {
                    body = Some(text);
                    body_source = "attributedBody";
                }
                Err(e) => parsed.damage.push(format!("message row {id}: {e}")),
            }
        }
        let mut files = Vec::new();
        if let Some(stmt) = attachments.as_mut() {
            let mut found = stmt.query([id])?;
            while let Some(a) = found.next()? {
                files.push(json!({
                    "attachment": a.get::<_, i64>(0)?, "guid": a.get::<_, Option<String>>(1)?,
                    "device_path": a.get::<_, Option<String>>(2)?,
                    "content_type": a.get::<_, Option<String>>(3)?,
                    "name": a.get::<_, Option<String>>(4)?,
                    "size": a.get::<_, Option<i64>>(5)?,
                }));
            }
        }
        let mut extra = json!({"service": service, "raw_date": date});
        if body.is_some() {
            extra["body_from"] = json!(body_source);
        }
        if let Some(chat) = chat {
            if chat.group {
                extra["group"] = json!(true);
            }
            if let Some(name) = &chat.display_name {
                extra["chat_name"] = json!(name);
            }
        }
        if !files.is_empty() {
            extra["attachments"] = json!(files);
        }
        parsed.records.push(CommRecord {
            kind: RecordKind::Message,
            format: IOS_SMS,
            locator: json!({"table": "message", "rowid": id}),
            time: known_time(super::utc_of_millis(apple_time(date))),
            direction,
            participants,
            body,
            thread: chat.and_then(|c| c.identifier.clone()).or(Some(raw)),
            extra,
        });
    }
    if has_chats && columns(conn, "chat").iter().any(|c| c == "account_login") {
        ios_accounts(conn, region, parsed)?;
    }
    Ok(())
}

/// The phone's own iMessage/SMS accounts, from `chat.account_login`: `E:` then an Apple ID
/// e-mail address, `P:` then a phone number. One record per distinct login, pointing at the
/// first chat that names it.
fn ios_accounts(
    conn: &Connection,
    region: Option<&str>,
    parsed: &mut Parsed,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT MIN(ROWID), account_login, service_name, COUNT(*) FROM chat
         WHERE account_login IS NOT NULL AND account_login != '' GROUP BY account_login ORDER BY MIN(ROWID)",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let login: String = r.get(1)?;
        let raw = login
            .strip_prefix("E:")
            .or_else(|| login.strip_prefix("P:"))
            .unwrap_or(&login)
            .to_string();
        let service: Option<String> = r.get(2)?;
        let identifier = identifiers::identify(&raw, ios_app(service.as_deref()), region);
        parsed.records.push(CommRecord::account(
            IOS_SMS,
            json!({"table": "chat", "rowid": r.get::<_, i64>(0)?}),
            vec![(raw, identifier, None)],
            json!({"account_login": login, "service": service, "chats": r.get::<_, i64>(3)?}),
        ));
    }
    Ok(())
}

//! Append-only, hash-chained audit log.
//!
//! Each entry holds the SHA-256 of the previous one; its own hash covers every field. The
//! head (sequence number and hash of the last entry) is also kept in `meta`, so removing the
//! newest entries is detected too. `verify` names the first entry that does not fit.
//! What the chain cannot prove is that the whole store was not rewritten consistently: the
//! head hash printed by `spoor audit verify` is meant to be written into the examiner's notes.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::evidence::digest::{sha256_bytes, to_hex};
use crate::evidence::walk::Timestamp;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub command: String,
    pub tool_version: String,
    /// SHA-256 of the rules text in force when the entry was written.
    pub rules_digest: String,
    /// SHA-256 of the last scan's configuration (sources, hash sets, rules).
    pub config_digest: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    fn compute_hash(&self) -> String {
        entry_hash(&[
            &self.seq.to_string(),
            &self.at,
            &self.actor,
            &self.action,
            &self.command,
            &self.tool_version,
            &self.rules_digest,
            &self.config_digest,
            &self.details,
            &self.prev_hash,
        ])
    }
}

/// Hash of an entry's fields in their order, each length-prefixed so that no two entries
/// serialise alike.
fn entry_hash(fields: &[&str]) -> String {
    let mut buf = Vec::new();
    for field in fields {
        buf.extend_from_slice(&(field.len() as u64).to_le_bytes());
        buf.extend_from_slice(field.as_bytes());
    }
    sha256_bytes(&buf).to_hex()
}

/// The command line as recorded: arguments quoted as a POSIX shell would need them (so
/// `--examiner "J. Jansen"` reads back as one argument), control characters escaped.
pub fn command_line() -> String {
    std::env::args_os()
        .map(|a| crate::evidence::sanitize(&shell_quote(&a.to_string_lossy())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One argument as a POSIX shell would read it back: as is when it holds only safe
/// characters, else in single quotes (a quote inside written `'\''`).
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Appends an entry inside the caller's transaction (or autocommit). Returns its sequence.
pub fn append(
    conn: &Connection,
    actor: &str,
    action: &str,
    details: &serde_json::Value,
) -> rusqlite::Result<i64> {
    // Only "no entry yet" starts a chain; any other failure must not fork it.
    let (prev_seq, prev_hash): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string()));
    let mut entry = AuditEntry {
        seq: prev_seq + 1,
        at: Timestamp::now().to_rfc3339(),
        actor: actor.to_string(),
        action: action.to_string(),
        command: command_line(),
        tool_version: crate::TOOL_VERSION.to_string(),
        rules_digest: super::meta_get(conn, "rules_digest")?.unwrap_or_default(),
        config_digest: super::meta_get(conn, "config_digest")?.unwrap_or_default(),
        details: serde_json::to_string(details).unwrap_or_default(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    conn.execute(
        "INSERT INTO audit(seq, at, actor, action, command, tool_version, rules_digest, config_digest, details, prev_hash, hash)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
        params![
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.command,
            entry.tool_version,
            entry.rules_digest,
            entry.config_digest,
            entry.details,
            entry.prev_hash,
            entry.hash
        ],
    )?;
    super::meta_set(conn, "audit_head", &format!("{}:{}", entry.seq, entry.hash))?;
    let seq = entry.seq;
    Ok(seq)
}

pub fn entries(conn: &Connection) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, command, tool_version, rules_digest, config_digest, details, prev_hash, hash
         FROM audit ORDER BY rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AuditEntry {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            command: r.get(4)?,
            tool_version: r.get(5)?,
            rules_digest: r.get(6)?,
            config_digest: r.get(7)?,
            details: r.get(8)?,
            prev_hash: r.get(9)?,
            hash: r.get(10)?,
        })
    })?;
    rows.collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: usize, head: String },
    Broken { seq: i64, reason: String },
}

/// Walks the chain in storage order. Detects an entry changed (its hash), removed (a gap in
/// the sequence or a missing tail per the recorded head), or reordered (sequence order or
/// previous-hash link).
pub fn verify(conn: &Connection) -> rusqlite::Result<Verdict> {
    let list = entries(conn)?;
    let mut prev_hash = GENESIS.to_string();
    for (i, e) in list.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Ok(Verdict::Broken {
                seq: e.seq,
                reason: format!(
                    "entry at position {expected_seq} has sequence {} (entry removed or reordered)",
                    e.seq
                ),
            });
        }
        if e.prev_hash != prev_hash {
            return Ok(Verdict::Broken {
                seq: e.seq,
                reason: "previous-hash link does not match the entry before it".into(),
            });
        }
        let recomputed = e.compute_hash();
        if recomputed != e.hash {
            return Ok(Verdict::Broken {
                seq: e.seq,
                reason: "content does not match its hash (entry changed)".into(),
            });
        }
        prev_hash = e.hash.clone();
    }
    let head = super::meta_get(conn, "audit_head")?.unwrap_or_default();
    let actual_head = list
        .last()
        .map(|e| format!("{}:{}", e.seq, e.hash))
        .unwrap_or_default();
    if head != actual_head {
        let seq = list.last().map(|e| e.seq + 1).unwrap_or(1);
        return Ok(Verdict::Broken {
            seq,
            reason: format!(
                "recorded head is {head:?} but the log ends at {actual_head:?} (entries removed)"
            ),
        });
    }
    Ok(Verdict::Intact {
        entries: list.len(),
        head: list
            .last()
            .map(|e| e.hash.clone())
            .unwrap_or_else(|| GENESIS.into()),
    })
}

pub fn digest_hex(bytes: &[u8]) -> String {
    to_hex(&sha256_bytes(bytes).0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn arguments_are_quoted_as_a_shell_reads_them_back() {
        assert_eq!(super::shell_quote("--case"), "--case");
        assert_eq!(super::shell_quote("J. Jansen"), "'J. Jansen'");
        assert_eq!(super::shell_quote("it's"), "'it'\\''s'");
        assert_eq!(super::shell_quote(""), "''");
    }
}

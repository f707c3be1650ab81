//! The lead lifecycle: proposed → confirmed | rejected | needs-info, each step a recorded
//! decision by a named reviewer with a reason, written together with its audit entry.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::case::audit;
use crate::evidence::walk::Timestamp;
use crate::model::LeadState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Reject,
    NeedsInfo,
}

impl Decision {
    pub fn parse(s: &str) -> Result<Decision, String> {
        match s {
            "confirm" => Ok(Decision::Confirm),
            "reject" => Ok(Decision::Reject),
            "needs-info" => Ok(Decision::NeedsInfo),
            other => Err(format!(
                "unknown decision {other:?}: confirm, reject or needs-info"
            )),
        }
    }

    /// The lead state the decision leads to.
    pub fn state(self) -> LeadState {
        match self {
            Decision::Confirm => LeadState::Confirmed,
            Decision::Reject => LeadState::Rejected,
            Decision::NeedsInfo => LeadState::NeedsInfo,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Reject => "reject",
            Decision::NeedsInfo => "needs-info",
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReviewRow {
    pub lead: String,
    pub decision: String,
    pub reviewer: String,
    pub reason: String,
    pub at: String,
    pub audit_seq: i64,
}

/// Records a decision. The reviewer and reason are required; the lead's observations as
/// they stood (their digest) go into the audit entry, so a later rescan that changes the
/// lead cannot silently change what was decided on.
pub fn decide(
    conn: &mut Connection,
    lead_id: &str,
    decision: Decision,
    reviewer: &str,
    reason: &str,
) -> Result<ReviewRow, String> {
    let (reviewer, reason) = (reviewer.trim(), reason.trim());
    if reviewer.is_empty() {
        return Err("a decision needs the reviewer's name (--by)".into());
    }
    if reason.is_empty() {
        return Err("a decision needs a reason (--reason)".into());
    }
    let lead_id = crate::leads::resolve_id(conn, lead_id)?;
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let tx = conn.transaction().map_err(db)?;
    let (previous, hits): (String, String) = tx
        .query_row(
            "SELECT state, hits FROM leads WHERE id = ?1",
            [&lead_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db)?;
    // The same reviewer repeating the decision the lead is already in adds nothing but a
    // second audit entry that reads like a second review: refused. Another reviewer's
    // concurring decision is a second opinion and is recorded.
    let last: Option<(String, String, String)> = tx
        .query_row(
            "SELECT decision, reviewer, at FROM reviews WHERE lead_id = ?1 ORDER BY audit_seq DESC LIMIT 1",
            [&lead_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
    if let Some((last_decision, last_reviewer, last_at)) = &last
        && last_decision == decision.as_str()
        && last_reviewer == reviewer
        && previous == decision.state().as_str()
    {
        return Err(format!(
            "lead {lead_id} is already {previous} by {last_reviewer} ({last_at}); the same decision \
             by the same reviewer is not recorded twice"
        ));
    }
    let seq = audit::append(&tx, reviewer, "review", &json!({
        "lead": lead_id, "decision": decision.as_str(), "from_state": previous, "to_state": decision.state().as_str(),
        "reason": reason, "lead_hits_sha256": audit::digest_hex(hits.as_bytes()),
    }))
    .map_err(db)?;
    let at = Timestamp::now().to_rfc3339();
    tx.execute(
        "INSERT INTO reviews(lead_id, decision, reviewer, reason, at, audit_seq) VALUES (?1,?2,?3,?4,?5,?6)",
        params![lead_id, decision.as_str(), reviewer, reason, at, seq],
    )
    .map_err(db)?;
    tx.execute(
        "UPDATE leads SET state = ?1 WHERE id = ?2",
        params![decision.state().as_str(), lead_id],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(ReviewRow {
        lead: lead_id,
        decision: decision.as_str().into(),
        reviewer: reviewer.into(),
        reason: reason.into(),
        at,
        audit_seq: seq,
    })
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ReviewRow>> {
    let mut stmt = conn.prepare(
        "SELECT lead_id, decision, reviewer, reason, at, audit_seq FROM reviews ORDER BY audit_seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ReviewRow {
            lead: r.get(0)?,
            decision: r.get(1)?,
            reviewer: r.get(2)?,
            reason: r.get(3)?,
            at: r.get(4)?,
            audit_seq: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// The action `spoor reveal` performs: the real (unblurred) thumbnail of a lead's picture,
/// after recording in the audit log who looks at it and why. Returns the thumbnail's path.
pub fn reveal(
    conn: &Connection,
    case_dir: &std::path::Path,
    lead: &str,
    reviewer: &str,
    reason: &str,
) -> Result<std::path::PathBuf, String> {
    let (reviewer, reason) = (reviewer.trim(), reason.trim());
    if reviewer.is_empty() || reason.is_empty() {
        return Err("--by and --reason must say who looks and why".into());
    }
    let id = crate::leads::resolve_id(conn, lead)?;
    let row = crate::leads::list(conn)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| format!("lead {id} not found"))?;
    let key = row
        .thumbnail_key
        .ok_or_else(|| format!("lead {id} is not on a picture"))?;
    let path = crate::media::thumbs::path_for(&case_dir.join("thumbs"), &key);
    if !path.exists() {
        return Err(format!(
            "lead {id}: no thumbnail (the picture could not be decoded)"
        ));
    }
    audit::append(
        conn,
        reviewer,
        "reveal",
        &json!({"lead": id, "path": row.path, "source": row.source, "thumbnail": key, "reason": reason}),
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

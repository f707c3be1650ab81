//! The lead lifecycle: proposed → confirmed | rejected | needs-info, each step a recorded
//! decision by a named reviewer with a reason, written together with its audit entry.

use rusqlite::Connection;
use serde_json::json;

use crate::evidence::walk::Timestamp;
use crate::model::LeadState;
use crate::store::{self, audit};

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

pub use crate::model::ReviewRow;

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
    let (previous, hits) = store::leads::lead_state_and_hits(&tx, &lead_id)
        .map_err(db)?
        .ok_or_else(|| format!("lead {lead_id} not found"))?;
    // The same reviewer repeating the decision the lead is already in adds nothing but a
    // second audit entry that reads like a second review: refused. Another reviewer's
    // concurring decision is a second opinion and is recorded.
    let last = store::leads::latest_review(&tx, &lead_id).map_err(db)?;
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
    let review = ReviewRow {
        lead: lead_id,
        decision: decision.as_str().into(),
        reviewer: reviewer.into(),
        reason: reason.into(),
        at: Timestamp::now().to_rfc3339(),
        audit_seq: seq,
    };
    store::leads::record_review(&tx, &review, decision.state()).map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(review)
}

/// Every decision, in the order they were made.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ReviewRow>> {
    store::leads::list_reviews(conn)
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

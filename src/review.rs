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
    let (reviewer, reason) = checked(reviewer, reason)?;
    let lead_id = crate::leads::resolve_id(conn, lead_id)?;
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let tx = conn.transaction().map_err(db)?;
    let review = decide_in(&tx, &lead_id, decision, reviewer, reason, None)?;
    tx.commit().map_err(db)?;
    Ok(review)
}

fn checked<'a>(reviewer: &'a str, reason: &'a str) -> Result<(&'a str, &'a str), String> {
    let (reviewer, reason) = (reviewer.trim(), reason.trim());
    if reviewer.is_empty() {
        return Err("a decision needs the reviewer's name (--by)".into());
    }
    if reason.is_empty() {
        return Err("a decision needs a reason (--reason)".into());
    }
    Ok((reviewer, reason))
}

/// One decision inside the caller's transaction; `query` names the bulk selection it was
/// part of, for the audit entry.
fn decide_in(
    tx: &rusqlite::Transaction,
    lead_id: &str,
    decision: Decision,
    reviewer: &str,
    reason: &str,
    query: Option<&serde_json::Value>,
) -> Result<ReviewRow, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let (previous, hits) = store::leads::lead_state_and_hits(tx, lead_id)
        .map_err(db)?
        .ok_or_else(|| format!("lead {lead_id} not found"))?;
    let four_eyes = serde_json::from_str::<serde_json::Value>(&hits)
        .ok()
        .and_then(|h| h.get("four_eyes").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    let reviews = store::leads::reviews_of(tx, lead_id).map_err(db)?;
    // On a four-eyes lead the second confirmation must come from someone else: the same
    // person confirming twice is not a second pair of eyes.
    if four_eyes && decision == Decision::Confirm && previous == "confirmed" {
        let confirmers = current_confirmers(&reviews);
        if confirmers.iter().any(|c| c == reviewer) {
            return Err(format!(
                "lead {lead_id} needs two distinct reviewers (four eyes) and {reviewer} has already \
                 confirmed it; a second reviewer must confirm"
            ));
        }
    }
    // The same reviewer repeating the decision the lead is already in adds nothing but a
    // second audit entry that reads like a second review: refused. Another reviewer's
    // concurring decision is a second opinion and is recorded.
    if let Some(last) = reviews.last()
        && last.decision == decision.as_str()
        && last.reviewer == reviewer
        && previous == decision.state().as_str()
    {
        return Err(format!(
            "lead {lead_id} is already {previous} by {} ({}); the same decision by the same \
             reviewer is not recorded twice",
            last.reviewer, last.at
        ));
    }
    let seq = audit::append(tx, reviewer, "review", &json!({
        "lead": lead_id, "decision": decision.as_str(), "from_state": previous, "to_state": decision.state().as_str(),
        "reason": reason, "lead_hits_sha256": audit::digest_hex(hits.as_bytes()), "bulk_query": query,
    }))
    .map_err(db)?;
    let review = ReviewRow {
        lead: lead_id.to_string(),
        decision: decision.as_str().into(),
        reviewer: reviewer.into(),
        reason: reason.into(),
        at: Timestamp::now().to_rfc3339(),
        audit_seq: seq,
    };
    store::leads::record_review(tx, &review, decision.state()).map_err(db)?;
    Ok(review)
}

/// The reviewers whose confirmations stand: those since the lead's last decision that was
/// not a confirmation.
pub fn current_confirmers(reviews: &[ReviewRow]) -> Vec<String> {
    let since = reviews
        .iter()
        .rposition(|r| r.decision != Decision::Confirm.as_str())
        .map_or(0, |i| i + 1);
    let mut out: Vec<String> = Vec::new();
    for r in &reviews[since..] {
        if !out.contains(&r.reviewer) {
            out.push(r.reviewer.clone());
        }
    }
    out
}

/// Whether a lead counts as a finding: confirmed, and on a four-eyes lead confirmed by two
/// distinct reviewers. Only findings are exported for action (reports, KML).
pub fn is_finding(lead: &crate::model::LeadRow, reviews: &[ReviewRow]) -> bool {
    if lead.state != LeadState::Confirmed {
        return false;
    }
    let four_eyes = lead
        .hits
        .get("four_eyes")
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    !four_eyes || current_confirmers(reviews).len() >= 2
}

/// Which leads a bulk review applies to: every active lead matching all the filters given.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Selection {
    pub rule: Option<String>,
    pub state: Option<LeadState>,
    pub subject: Option<String>,
    /// The leads gathered under this group lead (a picture cluster's copies, a place's
    /// pictures), by its id or a unique prefix.
    pub part_of: Option<String>,
}

impl Selection {
    fn is_empty(&self) -> bool {
        self.rule.is_none()
            && self.state.is_none()
            && self.subject.is_none()
            && self.part_of.is_none()
    }
}

/// What a bulk review did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BulkOutcome {
    pub selected: usize,
    pub decided: usize,
    /// Leads skipped, each with why (already so by this reviewer, four eyes).
    pub skipped: Vec<(String, String)>,
}

/// The same decision on every lead of a selection, in one transaction: all are recorded or
/// none. A selection needs at least one filter, so that no one rejects a whole case by a
/// missing argument; a rule the set does not have is refused.
pub fn decide_bulk(
    conn: &mut Connection,
    selection: &Selection,
    decision: Decision,
    reviewer: &str,
    reason: &str,
) -> Result<BulkOutcome, String> {
    let (reviewer, reason) = checked(reviewer, reason)?;
    if selection.is_empty() {
        return Err(
            "a bulk review needs --rule, --state, --subject or --part-of to select leads".into(),
        );
    }
    let group = match &selection.part_of {
        Some(g) => Some(crate::leads::resolve_id(conn, g)?),
        None => None,
    };
    if let Some(rule) = &selection.rule {
        let rules = crate::leads::rules_in_force(conn)?;
        if rules.rule(rule).is_none() {
            return Err(format!(
                "no rule {rule:?} in the case's rules (spoor rules show)"
            ));
        }
    }
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let chosen: Vec<String> = crate::leads::list(conn)
        .map_err(db)?
        .into_iter()
        .filter(|l| l.active)
        .filter(|l| selection.rule.as_ref().is_none_or(|r| l.rules.contains(r)))
        .filter(|l| selection.state.is_none_or(|s| l.state == s))
        .filter(|l| selection.subject.as_ref().is_none_or(|s| &l.subject == s))
        .filter(|l| group.is_none() || l.part_of == group)
        .map(|l| l.id)
        .collect();
    let query = serde_json::to_value(selection).map_err(|e| e.to_string())?;
    let tx = conn.transaction().map_err(db)?;
    let mut outcome = BulkOutcome {
        selected: chosen.len(),
        ..Default::default()
    };
    for id in &chosen {
        match decide_in(&tx, id, decision, reviewer, reason, Some(&query)) {
            Ok(_) => outcome.decided += 1,
            Err(why) if why.starts_with("case store") => return Err(why),
            Err(why) => outcome.skipped.push((id.clone(), why)),
        }
    }
    tx.commit().map_err(db)?;
    Ok(outcome)
}

/// Per rule, what reviewers decided on its leads: the error margin as investigators meet
/// it, beside the model card's.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
pub struct RuleStats {
    pub rule: String,
    pub leads: usize,
    pub proposed: usize,
    pub needs_info: usize,
    pub confirmed: usize,
    pub rejected: usize,
    /// confirmed / (confirmed + rejected), when anything was decided.
    pub precision: Option<f64>,
}

pub fn rule_stats(conn: &Connection) -> Result<Vec<RuleStats>, String> {
    let rules = crate::leads::rules_in_force(conn)?;
    // Per rule and state, from the two short columns of every lead (not their hits: 100,000
    // leads' hits took 1.2 s to read for one page of the review UI).
    let mut counts: std::collections::HashMap<(String, String), usize> = Default::default();
    for (rules, state, n) in
        crate::store::leads::rules_and_states(conn).map_err(|e| e.to_string())?
    {
        for rule in rules.split(',').filter(|r| !r.is_empty()) {
            *counts.entry((rule.to_string(), state.clone())).or_default() += n;
        }
    }
    Ok(rules
        .rules
        .iter()
        .map(|rule| {
            let count = |s: LeadState| {
                counts
                    .get(&(rule.id.clone(), s.as_str().to_string()))
                    .copied()
                    .unwrap_or(0)
            };
            let (confirmed, rejected) = (count(LeadState::Confirmed), count(LeadState::Rejected));
            let (proposed, needs_info) = (count(LeadState::Proposed), count(LeadState::NeedsInfo));
            RuleStats {
                rule: rule.id.clone(),
                leads: proposed + needs_info + confirmed + rejected,
                proposed,
                needs_info,
                confirmed,
                rejected,
                precision: (confirmed + rejected > 0)
                    .then(|| confirmed as f64 / (confirmed + rejected) as f64),
            }
        })
        .collect())
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
    // One row, not the whole queue (100,000 leads in a large case).
    let row = crate::store::leads::lead_row(conn, &id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("lead {id} not found"))?;
    let thumbs = case_dir.join("thumbs");
    // A picture cluster or a place shows the first of its members that has a thumbnail.
    let members = row.hits["subject"]["members"].as_array();
    let key = match &row.thumbnail_key {
        Some(key) => key.clone(),
        None => members
            .into_iter()
            .flatten()
            .filter_map(|m| m["sha256"].as_str())
            .find(|k| crate::media::thumbs::exists(&thumbs, k))
            .ok_or_else(|| format!("lead {id} is not on a picture"))?
            .to_string(),
    };
    // A key of 64 hex digits and a regular file (a planted symbolic link is refused).
    if !crate::media::thumbs::exists(&thumbs, &key) {
        return Err(format!(
            "lead {id}: no thumbnail (the picture could not be decoded)"
        ));
    }
    let path = crate::media::thumbs::path_for(&thumbs, &key);
    audit::append(
        conn,
        reviewer,
        "reveal",
        &json!({"lead": id, "path": row.path, "source": row.source, "thumbnail": key, "reason": reason}),
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

//! Leads and reviews as the store keeps them and every reader (CLI, report, later the web
//! UI) sees them, and the observations the rules are evaluated over.

use serde::Serialize;
use serde_json::Value;

use super::{ItemId, LeadState, Subject};

/// How many leads stand where, after a rebuild.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct LeadCounts {
    pub active: i64,
    pub proposed: i64,
    pub confirmed: i64,
    pub rejected: i64,
    pub needs_info: i64,
}

/// A lead as listed and exported.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LeadRow {
    pub id: String,
    /// What the lead is about: `item`, `identity`, `identity-pair`, `place`,
    /// `picture-cluster` or `case` ([`Subject`]), and which one (`item:phone:…`).
    pub subject: String,
    pub subject_key: String,
    pub rank: i64,
    pub score: f64,
    pub state: LeadState,
    pub active: bool,
    pub source: String,
    pub path: String,
    pub rules: Vec<String>,
    pub hits: Value,
    pub rules_digest: String,
    /// The group lead (a picture cluster, a place) this lead is gathered under: listed
    /// after it, with its rank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// Key of the item's thumbnail under CASE/thumbs (its SHA-256, a frame's pixel SHA-256),
    /// when it is a picture; the file exists only if the item was decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_key: Option<String>,
}

/// One recorded decision on a lead.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReviewRow {
    pub lead: String,
    pub decision: String,
    pub reviewer: String,
    pub reason: String,
    pub at: String,
    pub audit_seq: i64,
}

/// An observation as stored, with who made it: what a rule's conditions are tested on.
#[derive(Clone, Debug)]
pub struct StoredObservation {
    pub kind: String,
    pub analyzer: String,
    pub analyzer_version: String,
    pub value: Value,
    pub confidence: f64,
    pub provenance: Value,
}

#[cfg(test)]
impl StoredObservation {
    /// An observation of confidence 1 by version 1 of `analyzer`, for the rules' unit tests.
    pub(crate) fn for_test(kind: &str, analyzer: &str, value: Value) -> StoredObservation {
        StoredObservation {
            kind: kind.into(),
            analyzer: analyzer.into(),
            analyzer_version: "1".into(),
            value,
            confidence: 1.0,
            provenance: Value::Null,
        }
    }
}

/// An item with the observations of the kinds the rules name.
#[derive(Clone, Debug)]
pub struct ItemObservations {
    pub item: ItemId,
    pub source: String,
    pub path: Vec<u8>,
    /// The item's SHA-256 (hex), when it was read.
    pub sha256: Option<String>,
    pub observations: Vec<StoredObservation>,
}

/// An identity of the case's network (by its key) with its network observations.
#[derive(Clone, Debug)]
pub struct IdentityObservations {
    pub key: String,
    pub observations: Vec<StoredObservation>,
}

/// A lead the rules propose, ranked, before it is stored (its state is the store's: a
/// reviewed lead keeps its decision across rebuilds).
#[derive(Clone, Debug)]
pub struct LeadDraft {
    pub id: String,
    pub subject: Subject,
    /// The item the subject is, when it is one (a foreign key in the store).
    pub item: Option<ItemId>,
    pub score: f64,
    pub rank: i64,
    /// The rules that fired and the observations each rested on, as exported.
    pub hits: Value,
    /// The group lead (a picture cluster, a place) this one is gathered under.
    pub part_of: Option<String>,
}

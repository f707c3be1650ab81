//! The network of a case, built from its communication records: identities (people as far as
//! the evidence shows, with the ledger of every merge), group chats as nodes of their own, and
//! directed, typed edges that keep the time and record of every contact.
//!
//! Deterministic: the same records give the same nodes, ids and edges (nodes are ordered by
//! their key, edges by their ends and type).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::{IdentityDecision, StoredParticipant, StoredRecord};

/// Two sightings of a contact on different devices within this many seconds (and with the same
/// body, or call lengths within [`SAME_CALL_SECONDS`]) are one contact.
pub const SAME_CONTACT_SECONDS: i64 = 120;
/// Call lengths that differ by at most this much are the same call seen by both parties (the
/// two ends round differently).
pub const SAME_CALL_SECONDS: f64 = 2.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    Message,
    Call,
    Email,
    ContactSaved,
    GroupMember,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Message => "message",
            EdgeKind::Call => "call",
            EdgeKind::Email => "email",
            EdgeKind::ContactSaved => "contact-saved",
            EdgeKind::GroupMember => "group-member",
        }
    }

    /// Whether the edge is a contact between people (counted by the metrics); a saved contact
    /// is not one.
    pub fn is_communication(self) -> bool {
        !matches!(self, EdgeKind::ContactSaved)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    Person,
    Group,
}

/// A node: an identity or a group chat.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    /// Stable name: the identity's smallest identifier, or `group:DEVICE:FILE:CHAT`.
    pub key: String,
    pub kind: NodeKind,
    /// What to show: a display name when the evidence gave one, else the key.
    pub label: String,
    pub identifiers: Vec<String>,
    pub names: Vec<String>,
    /// The devices (source labels) whose records mention it.
    pub devices: Vec<String>,
}

/// One directed, typed edge with every contact behind it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    /// Contacts, each counted once however many devices recorded it.
    pub count: u64,
    /// How many records saw them (≥ count: a message on both phones is two sightings).
    pub sightings: u64,
    /// Total call seconds.
    pub seconds: f64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// The time of every contact with a known time, in time order (for time analysis).
    pub times: Vec<String>,
    /// The record of each of `times` (the first sighting of that contact).
    pub contact_records: Vec<i64>,
    /// Contacts per format (`whatsapp-txt`, `cdr-csv`, …).
    pub channels: BTreeMap<String, u64>,
    /// The records behind the edge (their row ids).
    pub records: Vec<i64>,
}

/// One merge of identifiers into one identity, with what asserts it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Merge {
    pub rule: String,
    pub identifiers: Vec<String>,
    pub device: String,
    pub records: Vec<i64>,
    pub confidence: f64,
    /// An investigator's decision (`spoor graph merge|split`): its id, who and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionRef>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DecisionRef {
    pub id: i64,
    pub by: String,
    pub reason: String,
    pub at: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Network {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Every merge, by the identity it made (the node's index).
    pub ledger: Vec<(usize, Merge)>,
    /// Records that gave no edge, and why (counted by reason).
    pub unused: BTreeMap<String, u64>,
}

/// The identifier a participant stands for on a device. Display names (`whatsapp-name:Alice`)
/// are not identities: two phones' "Alice" need not be one person, so a name stays on its
/// device (`whatsapp-name:Alice@phone1`); phone numbers, addresses and handles meet across
/// devices.
fn scoped(identifier: &str, device: &str) -> Option<String> {
    let identifier = identifier.trim();
    let (scheme, value) = identifier.split_once(':')?;
    if value.trim().is_empty() {
        return None;
    }
    Some(if scheme.ends_with("-name") {
        format!("{identifier}@{device}")
    } else {
        identifier.to_string()
    })
}

/// Whether a participant is one of the owners given with `--owner` (as written, or the same
/// number or address).
fn is_given_owner(p: &StoredParticipant, given: &[String]) -> bool {
    given.iter().any(|o| {
        let o = o.trim();
        p.raw.trim() == o
            || crate::text::identifiers::phone(o, None).is_some_and(|id| id == p.identifier)
            || crate::text::identifiers::email(o).is_some_and(|id| id == p.identifier)
    })
}

/// The owner of a device nobody named: a node of its own, merged with what the device says
/// of its owner (its accounts, `--owner`).
fn unnamed_owner(device: &str) -> String {
    format!("device-owner:{device}")
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // The smaller index stays the root: identifiers are numbered in sorted order, so
            // the root is the identity's smallest identifier whatever the merge order.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.parent[hi] = lo;
        }
    }
}

/// Who a record has as senders and recipients, after the device owner fills a missing side.
struct Sides {
    senders: Vec<String>,
    recipients: Vec<String>,
}

fn sides(record: &StoredRecord, owners: &[String]) -> Sides {
    let ids = |roles: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = record
            .participants
            .iter()
            .filter(|p| roles.contains(&p.role.as_str()))
            .filter_map(|p| scoped(&p.identifier, &record.source))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut senders = ids(&["from"]);
    let mut recipients = ids(&["to", "cc", "bcc"]);
    if recipients.is_empty() {
        recipients = ids(&["party"]);
    }
    // Only a direction the parser stated fills the owner's side: with `unknown` (a chat
    // export nobody named the owner of) the thread's other member is the recipient instead.
    if senders.is_empty() && record.direction == "outgoing" {
        senders = owners.to_vec();
    }
    if recipients.is_empty() && matches!(record.direction.as_str(), "incoming" | "missed") {
        recipients = owners.to_vec();
    }
    Sides {
        senders,
        recipients,
    }
}

fn edge_kind(record: &StoredRecord) -> Option<EdgeKind> {
    match record.kind.as_str() {
        "call" => Some(EdgeKind::Call),
        "message" if record.format.starts_with("email") || record.format == "mbox" => {
            Some(EdgeKind::Email)
        }
        "message" => Some(EdgeKind::Message),
        "contact" => Some(EdgeKind::ContactSaved),
        _ => None,
    }
}

/// Formats whose threads are chats: a thread with more than two people in it is a group.
fn is_chat(format: &str) -> bool {
    !(format.starts_with("email") || format == "mbox" || format.starts_with("cdr"))
}

/// Seconds since 1970 of `YYYY-MM-DDTHH:MM:SS…` (the zone, when given, is UTC: spoor stores
/// UTC or the source's wall clock).
pub fn epoch_seconds(time: &str) -> Option<i64> {
    let b = time.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| time.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// One contact as a record saw it, before contacts seen on several devices are matched.
/// It refers to its record rather than copying its time, device, body and format: a
/// million-record case makes a million sightings.
#[derive(Clone, Copy)]
struct Sighting<'a> {
    of: &'a StoredRecord,
    epoch: Option<i64>,
}

/// The contacts between identifiers (interned: their index in [`Identifiers`]), with their
/// sightings. A hash map: every edge's sightings are sorted by time later, and the edges by
/// their nodes, so its order never shows (string-keyed B-tree maps were most of a
/// million-record build).
type Contacts<'a> = HashMap<(u32, u32, EdgeKind), Vec<Sighting<'a>>>;

/// Every identifier met in a contact, interned.
#[derive(Default)]
struct Identifiers {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Identifiers {
    fn id(&mut self, identifier: &str) -> u32 {
        if let Some(&i) = self.index.get(identifier) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(identifier.to_string());
        self.index.insert(identifier.to_string(), i);
        i
    }
}

/// The owners of each item (by its id), from its records.
struct Owners(HashMap<i64, Vec<String>>);

/// A merge lists at most this many of the records that assert it (the first, in the store's
/// order); a device's owner is asserted by every record of its exports.
const MERGE_RECORDS_LISTED: usize = 100;

impl Owners {
    /// The owners the item's records name (none when they name none).
    fn named(&self, r: &StoredRecord) -> &[String] {
        self.0.get(&r.item.0).map_or(&[], |o| o.as_slice())
    }

    /// The owners of the item a record is in; the device's unnamed owner when none is known.
    fn of(&self, r: &StoredRecord) -> Vec<String> {
        match self.0.get(&r.item.0) {
            Some(o) if !o.is_empty() => o.clone(),
            _ => vec![unnamed_owner(&r.source)],
        }
    }
}

/// Who owns each item: the participants named as its owner, or the side the parser found the
/// owner on.
fn item_owners(records: &[StoredRecord]) -> Owners {
    let mut owners_of_item: HashMap<i64, Vec<String>> = HashMap::new();
    for r in records {
        // The item's owner: a participant named as such (a CDR's subscriber, a phone's own
        // accounts), or one that is an owner the investigator gave for this source.
        let owners: Vec<String> = r
            .participants
            .iter()
            .filter(|p| p.role == "owner" || is_given_owner(p, &r.owners_given))
            .filter_map(|p| scoped(&p.identifier, &r.source))
            .collect();
        owners_of_item.entry(r.item.0).or_default().extend(owners);
    }
    for owners in owners_of_item.values_mut() {
        owners.sort();
        owners.dedup();
    }
    Owners(owners_of_item)
}

/// The merges the records assert: the owners of one item, a device's accounts, a contact
/// entry's identifiers.
fn merges(records: &[StoredRecord], owners: &Owners) -> Vec<Merge> {
    let mut merges: Vec<Merge> = Vec::new();
    let mut account_ids: BTreeMap<String, (BTreeSet<String>, Vec<i64>)> = BTreeMap::new();
    // A CDR file's owner is its subscriber (an operator's export holds many subscribers, each
    // file one); any other export's owner is the device's owner.
    let mut owner_records: BTreeMap<(String, Vec<String>), Vec<i64>> = BTreeMap::new();
    let mut device_owners: BTreeMap<String, (BTreeSet<String>, Vec<i64>)> = BTreeMap::new();
    for r in records {
        let named = owners.named(r);
        if r.format.starts_with("cdr") {
            if named.len() > 1 {
                owner_records
                    .entry((r.source.clone(), named.to_vec()))
                    .or_default()
                    .push(r.id);
            }
        } else if !named.is_empty() {
            let slot = device_owners.entry(r.source.clone()).or_default();
            slot.0.extend(named.iter().cloned());
            if slot.1.len() < MERGE_RECORDS_LISTED {
                slot.1.push(r.id);
            }
        }
        match r.kind.as_str() {
            "account" => {
                let slot = account_ids.entry(r.source.clone()).or_default();
                slot.0.extend(
                    r.participants
                        .iter()
                        .filter_map(|p| scoped(&p.identifier, &r.source)),
                );
                slot.1.push(r.id);
            }
            "contact" => {
                let ids: BTreeSet<String> = r
                    .participants
                    .iter()
                    .filter(|p| p.role != "owner")
                    .filter_map(|p| scoped(&p.identifier, &r.source))
                    .collect();
                if ids.len() > 1 {
                    merges.push(Merge {
                        rule: "contact-entry".into(),
                        identifiers: ids.into_iter().collect(),
                        device: r.source.clone(),
                        records: vec![r.id],
                        confidence: 0.8,
                        decision: None,
                    });
                }
            }
            _ => {}
        }
    }
    for ((device, owners), ids) in owner_records {
        merges.push(Merge {
            rule: "device-owner".into(),
            identifiers: owners,
            device,
            records: ids,
            confidence: 0.95,
            decision: None,
        });
    }
    for (device, (ids, recs)) in device_owners {
        let mut identifiers: Vec<String> = ids.into_iter().collect();
        identifiers.push(unnamed_owner(&device));
        identifiers.sort();
        merges.push(Merge {
            rule: "device-owner".into(),
            identifiers,
            device,
            records: recs,
            confidence: 0.9,
            decision: None,
        });
    }
    for (device, (ids, recs)) in account_ids {
        let mut identifiers: Vec<String> = ids.into_iter().collect();
        identifiers.push(unnamed_owner(&device));
        identifiers.sort();
        merges.push(Merge {
            rule: "device-accounts".into(),
            identifiers,
            device,
            records: recs,
            confidence: 0.9,
            decision: None,
        });
    }
    merges
}

/// The contacts between identifiers (sender, recipient, kind) with their sightings, and the
/// members of every group chat. Records that give no contact are counted in `unused`.
fn contacts<'a>(
    records: &'a [StoredRecord],
    owners: &Owners,
    unused: &mut BTreeMap<String, u64>,
) -> (
    Contacts<'a>,
    Identifiers,
    BTreeMap<String, BTreeSet<String>>,
) {
    let mut members: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for r in records {
        if r.kind == "message" && is_chat(&r.format) {
            let s = sides(r, &owners.of(r));
            let key = (
                r.source.clone(),
                r.path.clone(),
                r.thread.clone().unwrap_or_default(),
            );
            members
                .entry(key)
                .or_default()
                .extend(s.senders.into_iter().chain(s.recipients));
        }
    }
    let mut contacts: Contacts<'a> = HashMap::new();
    let mut ids = Identifiers::default();
    let mut group_members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        let Some(kind) = edge_kind(r) else {
            continue;
        };
        let item_owners = owners.of(r);
        let epoch = r.time.as_deref().and_then(epoch_seconds);
        let sighting = || Sighting { of: r, epoch };
        if kind == EdgeKind::ContactSaved {
            for p in r.participants.iter().filter(|p| p.role != "owner") {
                if let Some(id) = scoped(&p.identifier, &r.source) {
                    let to = ids.id(&id);
                    for o in &item_owners {
                        contacts
                            .entry((ids.id(o), to, kind))
                            .or_default()
                            .push(sighting());
                    }
                }
            }
            continue;
        }
        let thread_key = (
            r.source.clone(),
            r.path.clone(),
            r.thread.clone().unwrap_or_default(),
        );
        // A group: three people or more, two of them besides the item's owners (a one-to-one
        // thread has its owner under several identifiers, a number and a name).
        let group = members.get(&thread_key).filter(|m| {
            kind == EdgeKind::Message
                && m.len() > 2
                && m.iter().filter(|x| !owners.named(r).contains(x)).count() >= 2
        });
        let mut s = sides(r, &item_owners);
        if let Some(group_members_seen) = group {
            let group_key = format!("group:{}:{}:{}", thread_key.0, thread_key.1, thread_key.2);
            group_members
                .entry(group_key.clone())
                .or_default()
                .extend(group_members_seen.iter().cloned());
            let group = ids.id(&group_key);
            for sender in &s.senders {
                contacts
                    .entry((ids.id(sender), group, kind))
                    .or_default()
                    .push(sighting());
            }
            if s.senders.is_empty() {
                *unused
                    .entry("group message without a sender".into())
                    .or_default() += 1;
            }
            continue;
        }
        if s.recipients.is_empty()
            && let Some(m) = members.get(&thread_key)
        {
            // A two-person chat export names only the sender of each line: the other one is
            // the recipient.
            s.recipients = m
                .iter()
                .filter(|x| !s.senders.contains(x))
                .cloned()
                .collect();
        }
        if s.senders.is_empty() || s.recipients.is_empty() {
            *unused
                .entry(format!("{} without a sender or recipient", r.kind))
                .or_default() += 1;
            continue;
        }
        for from in &s.senders {
            for to in &s.recipients {
                if from == to {
                    *unused
                        .entry("contact of an identity with itself".into())
                        .or_default() += 1;
                    continue;
                }
                contacts
                    .entry((ids.id(from), ids.id(to), kind))
                    .or_default()
                    .push(sighting());
            }
        }
    }
    (contacts, ids, group_members)
}

/// Which node an identifier belongs to, once merges are applied.
struct Resolver {
    index: HashMap<String, usize>,
    node: Vec<usize>,
}

impl Resolver {
    /// Every identifier given here was collected into the index first, so this cannot miss.
    fn node_of(&self, identifier: &str) -> usize {
        self.node[self.index[identifier]]
    }
}

/// Identities: every identifier met, merged by the union of the merges' identifiers; a node
/// per identity (and per group), with its names, devices and ledger.
fn identities(
    records: &[StoredRecord],
    in_contacts: &Identifiers,
    merges: Vec<Merge>,
    group_members: &BTreeMap<String, BTreeSet<String>>,
) -> (Vec<Node>, Vec<(usize, Merge)>, Resolver) {
    let mut all: BTreeSet<String> = in_contacts.names.iter().cloned().collect();
    for m in &merges {
        all.extend(m.identifiers.iter().cloned());
    }
    for (g, ms) in group_members {
        all.insert(g.clone());
        all.extend(ms.iter().cloned());
    }
    let ids: Vec<String> = all.into_iter().collect();
    let index: HashMap<String, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i))
        .collect();
    let mut uf = UnionFind {
        parent: (0..ids.len()).collect(),
    };
    for m in &merges {
        for w in m.identifiers.windows(2) {
            uf.union(index[w[0].as_str()], index[w[1].as_str()]);
        }
    }
    let roots: Vec<usize> = (0..ids.len()).map(|i| uf.find(i)).collect();
    let mut root_nodes: Vec<usize> = roots.clone();
    root_nodes.sort();
    root_nodes.dedup();
    let node_of_root: HashMap<usize, usize> = root_nodes
        .iter()
        .enumerate()
        .map(|(n, r)| (*r, n))
        .collect();
    let node_of = |identifier: &str| node_of_root[&roots[index[identifier]]];

    let mut names: Vec<BTreeSet<String>> = vec![BTreeSet::new(); root_nodes.len()];
    let mut devices: Vec<BTreeSet<String>> = vec![BTreeSet::new(); root_nodes.len()];
    for r in records {
        for p in &r.participants {
            if let Some(id) = scoped(&p.identifier, &r.source)
                && let Some(&i) = index.get(id.as_str())
            {
                let n = node_of_root[&roots[i]];
                devices[n].insert(r.source.clone());
                if let Some(name) = p.name.as_ref().filter(|n| !n.trim().is_empty()) {
                    names[n].insert(name.trim().to_string());
                }
                if let Some((scheme, value)) = p.identifier.split_once(':')
                    && scheme.ends_with("-name")
                {
                    names[n].insert(value.trim().to_string());
                }
            }
        }
    }
    // The identifiers of each node, in sorted order (ids are sorted): one pass, not one per
    // node (100,000 nodes × 100,000 identifiers took most of a 1M-record build).
    let mut identifiers_of: Vec<Vec<String>> = vec![Vec::new(); root_nodes.len()];
    for (i, id) in ids.iter().enumerate() {
        identifiers_of[node_of_root[&roots[i]]].push(id.clone());
    }
    let nodes: Vec<Node> = root_nodes
        .iter()
        .zip(identifiers_of)
        .enumerate()
        .map(|(n, (&root, identifiers))| {
            let key = ids[root].clone();
            let kind = if key.starts_with("group:") {
                NodeKind::Group
            } else {
                NodeKind::Person
            };
            let names: Vec<String> = names[n].iter().cloned().collect();
            let label = match kind {
                NodeKind::Group => key.rsplit(':').next().unwrap_or(&key).to_string(),
                NodeKind::Person => names.first().cloned().unwrap_or_else(|| key.clone()),
            };
            Node {
                key,
                kind,
                label,
                identifiers,
                names,
                devices: devices[n].iter().cloned().collect(),
            }
        })
        .collect();
    // The identifiers of every merge are in `all`, so the lookups cannot miss.
    let mut ledger: Vec<(usize, Merge)> = merges
        .into_iter()
        .map(|m| (node_of(&m.identifiers[0]), m))
        .collect();
    for (n, node) in nodes.iter().enumerate() {
        if node.kind == NodeKind::Person && node.devices.len() > 1 {
            ledger.push((
                n,
                Merge {
                    rule: "same-identifier".into(),
                    identifiers: node.identifiers.clone(),
                    device: node.devices.join(", "),
                    records: Vec::new(),
                    confidence: 1.0,
                    decision: None,
                },
            ));
        }
    }
    ledger.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.rule.cmp(&b.1.rule)));
    let node = (0..ids.len()).map(|i| node_of_root[&roots[i]]).collect();
    (nodes, ledger, Resolver { index, node })
}

/// The edges between nodes, each contact counted once across devices, and the group
/// memberships.
fn edges(
    contacts: Contacts<'_>,
    ids: &Identifiers,
    group_members: &BTreeMap<String, BTreeSet<String>>,
    resolver: &Resolver,
    unused: &mut BTreeMap<String, u64>,
) -> Vec<Edge> {
    let node: Vec<usize> = ids.names.iter().map(|n| resolver.node_of(n)).collect();
    let mut by_pair: BTreeMap<(usize, usize, EdgeKind), Vec<Sighting<'_>>> = BTreeMap::new();
    for ((a, b, kind), sightings) in contacts {
        let (from, to) = (node[a as usize], node[b as usize]);
        if from == to {
            *unused
                .entry("contact of an identity with itself".into())
                .or_default() += sightings.len() as u64;
            continue;
        }
        by_pair
            .entry((from, to, kind))
            .or_default()
            .extend(sightings);
    }
    let mut edges: Vec<Edge> = by_pair
        .into_iter()
        .map(|((from, to, kind), sightings)| edge(from, to, kind, sightings))
        .collect();
    for (group, ms) in group_members {
        let g = resolver.node_of(group);
        let member_nodes: BTreeSet<usize> = ms.iter().map(|m| resolver.node_of(m)).collect();
        for m in member_nodes {
            if m != g {
                edges.push(Edge {
                    from: m,
                    to: g,
                    kind: EdgeKind::GroupMember,
                    count: 1,
                    sightings: 1,
                    seconds: 0.0,
                    first: None,
                    last: None,
                    times: Vec::new(),
                    contact_records: Vec::new(),
                    channels: BTreeMap::new(),
                    records: Vec::new(),
                });
            }
        }
    }
    edges.sort_by_key(|e| (e.from, e.to, e.kind));
    edges
}

/// Applies the investigators' decisions, in order, to the rules' merges: a merge joins its
/// identifiers (confidence 1); a split keeps an identifier apart from every merge before it
/// (a later merge may join it again); an undo takes a decision back.
fn apply_decisions(mut merges: Vec<Merge>, decisions: &[IdentityDecision]) -> Vec<Merge> {
    let undone: BTreeSet<i64> = decisions
        .iter()
        .filter(|d| d.action == "undo")
        .filter_map(|d| d.undoes)
        .collect();
    for d in decisions.iter().filter(|d| !undone.contains(&d.id)) {
        let decision = Some(DecisionRef {
            id: d.id,
            by: d.reviewer.clone(),
            reason: d.reason.clone(),
            at: d.at.clone(),
        });
        match d.action.as_str() {
            "merge" => merges.push(Merge {
                rule: "investigator-merge".into(),
                identifiers: d.identifiers.clone(),
                device: String::new(),
                records: Vec::new(),
                confidence: 1.0,
                decision,
            }),
            "split" => {
                for m in &mut merges {
                    m.identifiers.retain(|i| !d.identifiers.contains(i));
                }
                merges.push(Merge {
                    rule: "investigator-split".into(),
                    identifiers: d.identifiers.clone(),
                    device: String::new(),
                    records: Vec::new(),
                    confidence: 1.0,
                    decision,
                });
            }
            _ => {}
        }
    }
    merges.retain(|m| !m.identifiers.is_empty());
    merges
}

/// Builds the network of the case from its records (in the store's order) and the
/// investigators' decisions on identities (in the order they were made).
pub fn build(records: &[StoredRecord], decisions: &[IdentityDecision]) -> Network {
    let mut unused: BTreeMap<String, u64> = BTreeMap::new();
    let owners = item_owners(records);
    let merges = apply_decisions(merges(records, &owners), decisions);
    let (contacts, ids, group_members) = contacts(records, &owners, &mut unused);
    let (mut nodes, ledger, resolver) = identities(records, &ids, merges, &group_members);
    let edges = edges(contacts, &ids, &group_members, &resolver, &mut unused);
    for n in &mut nodes {
        n.names.truncate(20);
    }
    Network {
        nodes,
        edges,
        ledger,
        unused,
    }
}

/// One edge from its sightings: sorted by time, a sighting on another device within
/// [`SAME_CONTACT_SECONDS`] of a counted one, with the same body (or a call of about the same
/// length), is the same contact and is not counted again.
fn edge(from: usize, to: usize, kind: EdgeKind, mut sightings: Vec<Sighting<'_>>) -> Edge {
    sightings.sort_by(|a, b| (a.epoch, &a.of.time, a.of.id).cmp(&(b.epoch, &b.of.time, b.of.id)));
    let mut counted: Vec<usize> = Vec::new();
    for (i, s) in sightings.iter().enumerate() {
        let same = s.epoch.is_some()
            && counted.iter().rev().take(16).any(|&c| {
                let c = &sightings[c];
                c.of.source != s.of.source
                    && c.epoch
                        .zip(s.epoch)
                        .is_some_and(|(x, y)| (y - x).abs() <= SAME_CONTACT_SECONDS)
                    && match kind {
                        EdgeKind::Call => match (c.of.duration_s, s.of.duration_s) {
                            (Some(x), Some(y)) => (x - y).abs() <= SAME_CALL_SECONDS,
                            _ => false,
                        },
                        _ => c.of.body.is_some() && c.of.body == s.of.body,
                    }
            });
        if !same {
            counted.push(i);
        }
    }
    let mut channels: BTreeMap<String, u64> = BTreeMap::new();
    let mut times = Vec::new();
    let mut contact_records = Vec::new();
    let mut seconds = 0.0;
    // `counted` is in time order (sightings were sorted by time).
    for &c in &counted {
        let s = sightings[c].of;
        *channels.entry(s.format.clone()).or_default() += 1;
        if let Some(t) = &s.time {
            times.push(t.clone());
            contact_records.push(s.id);
        }
        seconds += s.duration_s.unwrap_or(0.0);
    }
    Edge {
        from,
        to,
        kind,
        count: counted.len() as u64,
        sightings: sightings.len() as u64,
        seconds,
        first: times.first().cloned(),
        last: times.last().cloned(),
        times,
        contact_records,
        channels,
        records: sightings.iter().map(|s| s.of.id).collect(),
    }
}

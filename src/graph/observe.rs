//! The network as observations on identities (issue 13: "metrics are observations on
//! identities"), so the rules can turn roles into leads like any other observation: the
//! network pass stores them with the subject `identity:KEY`, and recomputes them whole after
//! every scan and every identity decision.
//!
//! Every value is a computed fact about the graph, so its confidence is 1.0; how much a role
//! suggests is the rule's weight, and what the graph rests on is in the identity's ledger.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Analysed;
use super::temporal::{self, Activity};
use crate::model::{ObservationDraft, ObservationKind, PassCard};

/// Who makes the network observations.
pub const NETWORK_CARD: PassCard = PassCard {
    name: "network",
    version: "1",
    error_margin: "exact computations on the case's graph; identities rest on the merge rules and their ledger (spoor graph show)",
};

/// The kinds the network pass owns and replaces whole.
pub const NETWORK_KINDS: &[ObservationKind] = &[
    ObservationKind::NetworkActivity,
    ObservationKind::NetworkBurner,
    ObservationKind::NetworkCrossDevice,
    ObservationKind::NetworkMetrics,
];

/// Participation coefficient (Guimerà & Amaral 2005): 1 − Σ_c (k_c / k)², over the
/// communities c of v's neighbours (k_c of its k neighbours in c). 0: every tie inside one
/// community; near 1: ties spread evenly over many.
/// Also returns how many other communities its neighbours are in, and how many of its
/// neighbours are outside its own.
fn participation(analysed: &Analysed, csr: &super::Csr, v: usize) -> (f64, usize, usize) {
    let own = analysed.metrics[v].community;
    let neighbours = csr.neighbours(v);
    if neighbours.is_empty() {
        return (0.0, 0, 0);
    }
    let mut counts = std::collections::BTreeMap::new();
    for &w in neighbours {
        *counts
            .entry(analysed.metrics[w as usize].community)
            .or_insert(0usize) += 1;
    }
    let k = neighbours.len() as f64;
    let sum: f64 = counts.values().map(|&c| (c as f64 / k).powi(2)).sum();
    let reached = counts.keys().filter(|&&c| c != own).count();
    let outside = neighbours.len() - counts.get(&own).copied().unwrap_or(0);
    (1.0 - sum, reached, outside)
}

fn provenance(analysed: &Analysed, records: usize) -> Value {
    json!({
        "nodes": analysed.network.nodes.len(),
        "edges": analysed.network.edges.len(),
        "records": records,
        "leiden_seed": super::LEIDEN_SEED,
    })
}

/// Every observation the network makes about its people (groups are nodes of the graph but
/// not subjects of leads).
pub fn identity_observations(analysed: &Analysed) -> Vec<(String, ObservationDraft)> {
    let network = &analysed.network;
    let n = network.nodes.len();
    let csr = super::contact_graph(network);
    let activity = temporal::activity(network);
    let by_betweenness = super::people_by_betweenness(analysed);
    let mut people = by_betweenness.clone();
    people.sort_unstable();
    let mut betweenness_rank = vec![0usize; n];
    for (rank, &v) in by_betweenness.iter().enumerate() {
        betweenness_rank[v] = rank + 1;
    }
    let max_core = people
        .iter()
        .map(|&v| analysed.metrics[v].core)
        .max()
        .unwrap_or(0);
    let mut component_size = vec![0usize; n];
    let mut community_size = vec![0usize; n];
    for m in &analysed.metrics {
        component_size[m.component] += 1;
        community_size[m.community] += 1;
    }
    let records: BTreeSet<i64> = network
        .edges
        .iter()
        .flat_map(|e| e.records.iter().copied())
        .collect();
    let provenance = provenance(analysed, records.len());
    let mut out = Vec::new();
    let draft = |kind, value| ObservationDraft {
        kind,
        value,
        confidence: 1.0,
        provenance: provenance.clone(),
    };
    for &v in &people {
        let node = &network.nodes[v];
        let m = &analysed.metrics[v];
        let (participation, reached, outside) = participation(analysed, &csr, v);
        out.push((
            node.key.clone(),
            draft(
                ObservationKind::NetworkMetrics,
                json!({
                    "label": node.label,
                    "identities": people.len(),
                    "degree": m.degree,
                    "in_degree": m.in_degree,
                    "out_degree": m.out_degree,
                    "strength": m.strength,
                    "betweenness": m.betweenness,
                    "betweenness_rank": betweenness_rank[v],
                    "betweenness_method": analysed.betweenness_method.describe(),
                    "weighted_betweenness": m.weighted_betweenness,
                    "closeness": m.closeness,
                    "harmonic": m.harmonic,
                    "pagerank": m.pagerank,
                    "eigenvector": m.eigenvector,
                    "core": m.core,
                    "max_core": max_core,
                    "inner_core": max_core >= 2 && m.core == max_core,
                    "constraint": m.constraint,
                    "effective_size": m.effective_size,
                    "articulation_point": m.articulation_point,
                    "component": m.component,
                    "component_size": component_size[m.component],
                    "community": m.community,
                    "community_size": community_size[m.community],
                    "participation": participation,
                    "communities_reached": reached,
                    "ties_outside": outside,
                }),
            ),
        ));
        if let Some(value) = activity_value(&node.label, &activity[v]) {
            out.push((
                node.key.clone(),
                draft(ObservationKind::NetworkActivity, value),
            ));
        }
        if node.devices.len() > 1 {
            out.push((
                node.key.clone(),
                draft(
                    ObservationKind::NetworkCrossDevice,
                    cross_device_value(analysed, v),
                ),
            ));
        }
    }
    let (case_first, case_last) = temporal::case_span(&activity);
    let case_days = match (case_first, case_last) {
        (Some(f), Some(l)) => match (
            super::network::epoch_seconds(&f),
            super::network::epoch_seconds(&l),
        ) {
            (Some(f), Some(l)) => (l - f) as f64 / 86_400.0,
            _ => 0.0,
        },
        _ => 0.0,
    };
    for burner in temporal::burners(analysed, &activity) {
        let node = &network.nodes[burner.node];
        let a = &activity[burner.node];
        let central: Vec<&str> = burner
            .central_correspondents
            .iter()
            .map(|&w| network.nodes[w].label.as_str())
            .collect();
        out.push((
            node.key.clone(),
            draft(
                ObservationKind::NetworkBurner,
                json!({
                    "label": node.label,
                    "identifiers": node.identifiers,
                    "first": a.first,
                    "last": a.last,
                    "active_days": round(burner.active_days),
                    "contacts": burner.contacts,
                    "correspondents": burner.correspondents,
                    "central_correspondents": central.join(", "),
                    "case_days": round(case_days),
                }),
            ),
        ));
    }
    out
}

fn round(days: f64) -> f64 {
    (days * 100.0).round() / 100.0
}

fn activity_value(label: &str, a: &Activity) -> Option<Value> {
    a.first.as_ref()?;
    let busiest = (0..a.by_hour_of_week.len()).max_by(|&x, &y| {
        a.by_hour_of_week[x]
            .cmp(&a.by_hour_of_week[y])
            .then(y.cmp(&x))
    });
    Some(json!({
        "label": label,
        "contacts": a.contacts,
        "first": a.first,
        "last": a.last,
        "active_days": a.active_days().map(round),
        "by_hour_of_week": a.by_hour_of_week,
        "busiest_hour_of_week": busiest,
        "time_basis": "as recorded: UTC where the source's zone was known, else the device's clock",
    }))
}

/// Which of the identity's identifiers were seen on which devices, and the merges that made
/// it one identity across them.
fn cross_device_value(analysed: &Analysed, v: usize) -> Value {
    let network = &analysed.network;
    let node = &network.nodes[v];
    let merges: Vec<Value> = network
        .ledger
        .iter()
        .filter(|(i, _)| *i == v)
        .map(|(_, m)| {
            json!({"rule": m.rule, "device": m.device, "identifiers": m.identifiers, "confidence": m.confidence, "records": m.records.len()})
        })
        .collect();
    json!({
        "label": node.label,
        "devices": node.devices.join(", "),
        "device_count": node.devices.len(),
        "identifiers": node.identifiers,
        "merges": merges,
    })
}

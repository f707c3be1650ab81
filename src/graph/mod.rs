//! The criminal-network graph of a case: identities across every device, who contacts whom,
//! and the metrics an analyst reads (issue 13). Built from the stored communication records
//! ([`crate::store::graph::records`]); pure, so it is tested without a store.
//!
//! How groups are treated: a group chat is one node, each member linked to it by a
//! `group-member` edge and each message into it an edge from its sender to the group; the
//! metrics count the group as a node (it brokers between its members as a meeting place
//! does), never as a clique of every pair of members.

pub mod disrupt;
pub mod export;
pub mod leiden;
pub mod metrics;
pub mod network;
pub mod observe;
pub mod paths;
pub mod temporal;

use serde::Serialize;

pub use metrics::Csr;
pub use network::{Edge, EdgeKind, Merge, Network, Node, NodeKind, build};

/// The metrics of one node. Each is computed on the undirected contact graph (message, call,
/// e-mail and group-member edges; a saved contact is not a contact), weight = the number of
/// contacts both ways; which of them use the weight is said per field.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct NodeMetrics {
    /// Distinct neighbours (no weight, no direction).
    pub degree: usize,
    /// Distinct nodes it sent to / received from (direction, no weight).
    pub out_degree: usize,
    pub in_degree: usize,
    /// Contacts with everyone together (weight, no direction).
    pub strength: f64,
    /// Unweighted, undirected, normalised as NetworkX does; exact, or estimated on large
    /// graphs ([`Analysed::betweenness_method`]).
    pub betweenness: f64,
    /// Weighted (an edge's length is 1 / its contacts), undirected, normalised; exact, and
    /// computed only where the exact unweighted one is affordable ([`WEIGHTED_WORK_LIMIT`]).
    pub weighted_betweenness: Option<f64>,
    /// Hops, Wasserman–Faust form (no weight, no direction); estimated where betweenness is.
    pub closeness: f64,
    pub harmonic: f64,
    /// α = 0.85, weighted, undirected.
    pub pagerank: f64,
    /// Unweighted, undirected, as NetworkX's `eigenvector_centrality`.
    pub eigenvector: f64,
    /// k-core number (no weight, no direction).
    pub core: usize,
    /// Burt's constraint and effective size (unweighted, undirected; NaN, written as null,
    /// for a node without neighbours).
    pub constraint: Option<f64>,
    pub effective_size: Option<f64>,
    /// Removing it disconnects its component (no weight, no direction).
    pub articulation_point: bool,
    /// Connected component, numbered by size (0 = the largest).
    pub component: usize,
    /// Leiden community (modularity, weighted, undirected), numbered by size (0 = the
    /// largest).
    pub community: usize,
}

/// The network with every node's metrics.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct Analysed {
    pub network: Network,
    pub metrics: Vec<NodeMetrics>,
    pub components: usize,
    /// Edges whose removal disconnects their component, as node index pairs.
    pub bridges: Vec<(usize, usize)>,
    pub communities: usize,
    /// Modularity of the Leiden communities (weighted, resolution 1).
    pub modularity: f64,
    pub betweenness_method: BetweennessMethod,
}

/// How the betweenness of a network was computed.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum BetweennessMethod {
    #[default]
    Exact,
    /// From `pivots` sampled sources: every node's estimate is within `error_bound` of the
    /// exact figure with probability at least `probability` ([`Csr::betweenness_sampled`]).
    Sampled {
        pivots: usize,
        error_bound: f64,
        probability: f64,
    },
}

impl BetweennessMethod {
    pub fn describe(&self) -> String {
        match self {
            BetweennessMethod::Exact => "exact".into(),
            BetweennessMethod::Sampled {
                pivots,
                error_bound,
                probability,
            } => format!(
                "estimated from {pivots} sampled sources (closeness and harmonic too): betweenness within ±{error_bound:.4} of the exact value for every node with probability {probability}"
            ),
        }
    }
}

/// Exact betweenness costs a breadth-first search from every node: about n × 2m steps. Up
/// to this many it is exact (20,000 people / 190,000 ties, 7.6e9, took 27 s on this 2-core
/// machine: BENCHMARKS.md); beyond, it is estimated from as many sampled sources as fit in
/// the same work.
pub const EXACT_WORK_LIMIT: f64 = 8e9;
/// Weighted betweenness (Dijkstra, about three times the work) up to this many steps.
pub const WEIGHTED_WORK_LIMIT: f64 = 2e9;
/// The sampled estimate's error bound holds with this probability.
pub const SAMPLED_PROBABILITY: f64 = 0.95;

/// The betweenness of `csr`, exact or sampled by [`EXACT_WORK_LIMIT`].
pub fn betweenness(csr: &Csr) -> (Vec<f64>, BetweennessMethod) {
    let n = csr.len();
    let work = n as f64 * csr.targets.len() as f64;
    if work <= EXACT_WORK_LIMIT {
        return (csr.betweenness(), BetweennessMethod::Exact);
    }
    let pivots = ((EXACT_WORK_LIMIT / csr.targets.len().max(1) as f64) as usize).clamp(100, n);
    let (values, error_bound) =
        csr.betweenness_sampled(pivots, LEIDEN_SEED, 1.0 - SAMPLED_PROBABILITY);
    (
        values,
        BetweennessMethod::Sampled {
            pivots,
            error_bound,
            probability: SAMPLED_PROBABILITY,
        },
    )
}

/// The seed of the Leiden node orders: fixed, so a case always gets the same communities.
pub const LEIDEN_SEED: u64 = 0x5_9004;

/// Numbers groups by size, largest first, ties by their first member: `groups[v]` → rank.
fn by_size(groups: &[usize]) -> (Vec<usize>, usize) {
    let count = groups.iter().copied().max().map_or(0, |m| m + 1);
    let mut sizes = vec![0usize; count];
    let mut first = vec![usize::MAX; count];
    for (v, &c) in groups.iter().enumerate() {
        sizes[c] += 1;
        first[c] = first[c].min(v);
    }
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(first[*a].cmp(&first[*b])));
    let mut rank = vec![0usize; count];
    for (r, c) in order.iter().enumerate() {
        rank[*c] = r;
    }
    (groups.iter().map(|&c| rank[c]).collect(), count)
}

/// The people (not groups) of the network, by betweenness, highest first, ties by index.
pub fn people_by_betweenness(analysed: &Analysed) -> Vec<usize> {
    let network = &analysed.network;
    let mut people: Vec<usize> = (0..network.nodes.len())
        .filter(|&v| network.nodes[v].kind == NodeKind::Person)
        .collect();
    people.sort_by(|&a, &b| {
        analysed.metrics[b]
            .betweenness
            .total_cmp(&analysed.metrics[a].betweenness)
            .then(a.cmp(&b))
    });
    people
}

/// The contact graph of the metrics (see [`NodeMetrics`]).
pub fn contact_graph(network: &Network) -> Csr {
    Csr::from_pairs(
        network.nodes.len(),
        network
            .edges
            .iter()
            .filter(|e| e.kind.is_communication())
            .map(|e| (e.from, e.to, e.count as f64)),
    )
}

/// Computes every metric of every node.
pub fn analyse(network: Network) -> Analysed {
    let n = network.nodes.len();
    let csr = contact_graph(&network);
    let mut out_neighbours = vec![std::collections::BTreeSet::new(); n];
    let mut in_neighbours = vec![std::collections::BTreeSet::new(); n];
    for e in network.edges.iter().filter(|e| e.kind.is_communication()) {
        out_neighbours[e.from].insert(e.to);
        in_neighbours[e.to].insert(e.from);
    }
    let (betweenness, betweenness_method) = betweenness(&csr);
    // Closeness needs a search from every node too: sampled where betweenness is, from the
    // same number of pivots.
    let (closeness, harmonic) = match &betweenness_method {
        BetweennessMethod::Exact => csr.closeness_and_harmonic(),
        BetweennessMethod::Sampled { pivots, .. } => {
            csr.closeness_and_harmonic_sampled(*pivots, LEIDEN_SEED)
        }
    };
    let weighted = (n as f64 * csr.targets.len() as f64 <= WEIGHTED_WORK_LIMIT)
        .then(|| csr.betweenness_weighted());
    let pagerank = csr.pagerank(0.85, 1e-10, 1000);
    let core = csr.core_numbers();
    let eigenvector = csr.eigenvector(1e-12, 100_000);
    let (constraint, effective_size) = csr.constraint_and_effective_size();
    let (articulation, bridges) = csr.articulation_points_and_bridges();
    let finite = |x: f64| x.is_finite().then_some(x);
    let (component, count) = by_size(&csr.components());
    let leiden = leiden::communities(&csr, LEIDEN_SEED);
    let modularity = leiden::modularity(&csr, &leiden);
    let (community, communities) = by_size(&leiden);
    let metrics = (0..n)
        .map(|v| NodeMetrics {
            degree: csr.degree(v),
            out_degree: out_neighbours[v].len(),
            in_degree: in_neighbours[v].len(),
            strength: csr.strength(v),
            betweenness: betweenness[v],
            weighted_betweenness: weighted.as_ref().map(|w| w[v]),
            closeness: closeness[v],
            harmonic: harmonic[v],
            pagerank: pagerank[v],
            eigenvector: eigenvector[v],
            core: core[v],
            constraint: finite(constraint[v]),
            effective_size: finite(effective_size[v]),
            articulation_point: articulation[v],
            component: component[v],
            community: community[v],
        })
        .collect();
    Analysed {
        network,
        metrics,
        components: count,
        bridges,
        communities,
        modularity,
        betweenness_method,
    }
}

/// The network of a case with every metric: as the network pass stored it when that is
/// current, else built afresh from the records and decisions (a case scanned before the
/// network was stored, or a scan interrupted before its pass).
pub fn of_case(conn: &rusqlite::Connection) -> Result<Analysed, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let inputs = crate::store::graph::network_inputs(conn).map_err(db)?;
    if let Some(stored) = crate::store::graph::load_network(conn, &inputs).map_err(db)? {
        return Ok(stored);
    }
    build_of_case(conn)
}

/// The network built from the case's records and decisions, with every metric.
fn build_of_case(conn: &rusqlite::Connection) -> Result<Analysed, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let records = crate::store::graph::records(conn).map_err(db)?;
    let decisions = crate::store::graph::identity_decisions(conn).map_err(db)?;
    Ok(analyse(build(&records, &decisions)))
}

/// The network pass: builds the case's network, stores it, and stores its observations on
/// identities (replacing the last ones), in one transaction. Returns how many observations.
pub fn store_observations(conn: &mut rusqlite::Connection) -> Result<usize, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let inputs = crate::store::graph::network_inputs(conn).map_err(db)?;
    let analysed = build_of_case(conn)?;
    let observations = observe::identity_observations(&analysed);
    crate::store::graph::replace_identity_observations(
        conn,
        &observe::NETWORK_CARD,
        observe::NETWORK_KINDS,
        &observations,
        (&analysed, &inputs),
    )
    .map_err(db)
}

/// The node an analyst means by `wanted`: its key, one of its identifiers, or a unique prefix
/// of either.
pub fn find_node(network: &Network, wanted: &str) -> Result<usize, String> {
    let wanted = wanted.trim();
    // A number or address as an analyst types it: `+31612345678`, `Anna@Example.org`.
    let normalised = crate::text::identifiers::phone(wanted, None)
        .or_else(|| crate::text::identifiers::email(wanted));
    if let Some(id) = normalised.filter(|id| id != wanted)
        && let Some(found) = network
            .nodes
            .iter()
            .position(|n| n.identifiers.contains(&id))
    {
        return Ok(found);
    }
    let exact: Vec<usize> = (0..network.nodes.len())
        .filter(|&i| {
            let n = &network.nodes[i];
            n.key == wanted || n.identifiers.iter().any(|id| id == wanted)
        })
        .collect();
    if let [one] = exact.as_slice() {
        return Ok(*one);
    }
    let prefixed: Vec<usize> = (0..network.nodes.len())
        .filter(|&i| {
            let n = &network.nodes[i];
            n.key.starts_with(wanted)
                || n.identifiers.iter().any(|id| id.starts_with(wanted))
                || n.label == wanted
        })
        .collect();
    match prefixed.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "no identity or group {wanted:?} in this case's network"
        )),
        many => Err(format!(
            "{wanted:?} is ambiguous: {}",
            many.iter()
                .take(10)
                .map(|&i| network.nodes[i].key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The action `spoor graph merge|split|undo` performs (the CLI now, the web UI later): checks
/// the request against the case's network, then records the decision with who and why in the
/// audit chain. Merge: the identities of `targets` become one; split: the identifier
/// `targets[0]` is kept apart from its identity; undo: decision `undoes` is taken back.
/// Returns the decision's id.
pub fn decide_identity(
    conn: &mut rusqlite::Connection,
    action: &str,
    targets: &[String],
    undoes: Option<i64>,
    reviewer: &str,
    reason: &str,
) -> Result<i64, String> {
    let (reviewer, reason) = (reviewer.trim(), reason.trim());
    if reviewer.is_empty() || reason.is_empty() {
        return Err("an identity decision needs --by and --reason".into());
    }
    let analysed = of_case(conn)?;
    let network = &analysed.network;
    let identifiers: Vec<String> = match action {
        "merge" => {
            let nodes = targets
                .iter()
                .map(|t| find_node(network, t))
                .collect::<Result<Vec<_>, _>>()?;
            let mut keys: Vec<String> = nodes
                .iter()
                .map(|&i| network.nodes[i].key.clone())
                .collect();
            keys.sort();
            keys.dedup();
            if keys.len() < 2 {
                return Err("a merge needs two different identities".into());
            }
            keys
        }
        "split" => {
            let [identifier] = targets else {
                return Err("a split names one identifier".into());
            };
            let owner = network
                .nodes
                .iter()
                .find(|n| n.identifiers.iter().any(|i| i == identifier))
                .ok_or_else(|| {
                    format!(
                        "no identity has the identifier {identifier:?} (a split names it exactly)"
                    )
                })?;
            if owner.identifiers.len() < 2 {
                return Err(format!("{identifier:?} is already an identity of its own"));
            }
            vec![identifier.clone()]
        }
        "undo" => {
            let wanted = undoes.ok_or("undo names the decision to take back")?;
            let decisions = crate::store::graph::identity_decisions(conn)
                .map_err(|e| format!("case store: {e}"))?;
            match decisions.iter().find(|d| d.id == wanted) {
                None => return Err(format!("no identity decision {wanted}")),
                Some(d) if d.action == "undo" => {
                    return Err(format!("decision {wanted} is itself an undo"));
                }
                Some(_) if decisions.iter().any(|d| d.undoes == Some(wanted)) => {
                    return Err(format!("decision {wanted} is already undone"));
                }
                Some(d) => d.identifiers.clone(),
            }
        }
        other => return Err(format!("unknown identity decision {other:?}")),
    };
    let at = crate::evidence::walk::Timestamp::now().to_rfc3339();
    let id = crate::store::graph::record_identity_decision(
        conn,
        action,
        &identifiers,
        undoes,
        reviewer,
        reason,
        &at,
    )
    .map_err(|e| format!("case store: {e}"))?;
    // The identities changed: so do their observations and the leads on them.
    store_observations(conn)?;
    let rules = crate::leads::rules_in_force(conn)?;
    crate::leads::rebuild(conn, &rules).map_err(|e| format!("case store: {e}"))?;
    Ok(id)
}

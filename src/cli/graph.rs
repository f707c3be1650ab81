//! `spoor graph …`: the analyst's commands over the case's network (issue 13). The work is
//! in `crate::graph`; this prints it.

use std::path::PathBuf;

use clap::Subcommand;

use super::{open, whoami};
use crate::evidence::sanitize;
use crate::exit;

#[derive(Subcommand)]
pub(super) enum GraphAction {
    /// An investigator's decision: these identities are one person (in the merge ledger and
    /// the audit chain).
    Merge {
        case: PathBuf,
        /// Two or more identities (keys, identifiers or unique prefixes).
        #[arg(required = true, num_args = 2..)]
        identities: Vec<String>,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
    },
    /// An investigator's decision: this identifier is not the person its identity was merged
    /// into.
    Split {
        case: PathBuf,
        /// The identifier, exactly as `graph show` lists it.
        identifier: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
    },
    /// Takes back an identity decision (its number, as `graph show` lists it).
    Undo {
        case: PathBuf,
        decision: i64,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
    },
    /// The network for other tools: graphml, gexf (1.3, with a time per contact), neo4j
    /// (neo4j-admin import CSV) or csv (nodes and edges, for i2 and spreadsheets).
    Export {
        case: PathBuf,
        #[arg(long)]
        format: String,
        /// Directory to write into (default CASE/exports/graph).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace every identifier and name by a keyed HMAC (the key: a file of at least
        /// 16 bytes; the same key gives the same pseudonyms).
        #[arg(long, value_name = "KEYFILE")]
        pseudonymize: Option<PathBuf>,
        /// Who exports (for the audit log; default the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// What removing people does to the network: largest component, components and global
    /// efficiency before and after; --key-players K proposes the K whose removal fragments
    /// it most (greedy).
    Disrupt {
        case: PathBuf,
        /// Identities to remove (keys, identifiers or unique prefixes), comma-separated.
        #[arg(long, value_delimiter = ',')]
        remove: Vec<String>,
        /// Propose this many more people to remove, greedily.
        #[arg(long, value_name = "K")]
        key_players: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Paths between two people: the shortest by hops, or with --time-respecting the
    /// earliest-arriving chain of contacts, each after the one before.
    Path {
        case: PathBuf,
        from: String,
        to: String,
        /// Contacts in time order, each after the previous one.
        #[arg(long)]
        time_respecting: bool,
        /// With --time-respecting: the longest anyone holds it before passing it on (90s,
        /// 30m, 12h, 2d).
        #[arg(long, value_name = "DURATION", requires = "time_respecting")]
        max_wait: Option<String>,
        /// With --time-respecting: only contacts at or after this time (YYYY-MM-DDTHH:MM:SS).
        #[arg(long, value_name = "TIME", requires = "time_respecting")]
        after: Option<String>,
        /// How many shortest paths to list at most.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One identity or group: identifiers, merge ledger, metrics, neighbours.
    Show {
        case: PathBuf,
        /// A node's key, one of its identifiers, or a unique prefix.
        id: String,
        /// List everyone within this many hops (1–3), ring by ring.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
        depth: u8,
        #[arg(long)]
        json: bool,
    },
}

/// `spoor graph …`: the summary, or one of its actions.
pub(super) fn graph_command(
    action: Option<GraphAction>,
    case: Option<PathBuf>,
    top: usize,
    json: bool,
    around: Option<(String, String)>,
) -> Result<i32, String> {
    match action {
        Some(GraphAction::Show {
            case,
            id,
            depth,
            json,
        }) => graph_show(&case, &id, depth as usize, json),
        Some(path @ GraphAction::Path { .. }) => graph_path(path),
        Some(GraphAction::Disrupt {
            case,
            remove,
            key_players,
            json,
        }) => graph_disrupt(&case, &remove, key_players, json),
        Some(GraphAction::Export {
            case,
            format,
            out,
            pseudonymize,
            by,
        }) => {
            let conn = open(&case)?;
            let analysed = crate::graph::of_case(&conn)?;
            let format = crate::graph::export::Format::parse(&format)?;
            let keys = pseudonymize
                .as_deref()
                .map(crate::graph::export::Pseudonyms::from_file)
                .transpose()?;
            let dir = out.unwrap_or_else(|| case.join("exports").join("graph"));
            let actor = by.unwrap_or_else(whoami);
            let files = crate::graph::export::export_and_record(
                &conn,
                &analysed,
                format,
                &dir,
                keys.as_ref(),
                &actor,
            )?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(exit::OK)
        }
        Some(GraphAction::Merge {
            case,
            identities,
            by,
            reason,
        }) => graph_decide(&case, "merge", &identities, None, &by, &reason),
        Some(GraphAction::Split {
            case,
            identifier,
            by,
            reason,
        }) => graph_decide(&case, "split", &[identifier], None, &by, &reason),
        Some(GraphAction::Undo {
            case,
            decision,
            by,
            reason,
        }) => graph_decide(&case, "undo", &[], Some(decision), &by, &reason),
        None => graph_summary(
            &case.ok_or("graph needs a case directory")?,
            top,
            json,
            around,
        ),
    }
}

/// `spoor graph merge|split|undo`: records an identity decision and says its number.
fn graph_decide(
    case: &std::path::Path,
    action: &str,
    targets: &[String],
    undoes: Option<i64>,
    by: &str,
    reason: &str,
) -> Result<i32, String> {
    let mut conn = open(case)?;
    let id = crate::graph::decide_identity(&mut conn, action, targets, undoes, by, reason)?;
    println!(
        "identity decision {id}: {action} recorded by {}",
        sanitize(by.trim())
    );
    Ok(exit::OK)
}

/// `spoor graph CASE`: the network's summary.
fn graph_summary(
    case: &std::path::Path,
    top: usize,
    json: bool,
    around: Option<(String, String)>,
) -> Result<i32, String> {
    let conn = open(case)?;
    let analysed = crate::graph::of_case(&conn)?;
    let around = match around {
        Some((date, window)) => {
            let at = crate::graph::temporal::parse_date(&date)?;
            let window_s = crate::graph::paths::parse_duration(&window)?;
            let changes = crate::graph::temporal::around(&analysed.network, at, window_s);
            Some((date, window, changes))
        }
        None => None,
    };
    if json {
        let mut value = serde_json::to_value(&analysed).map_err(|e| e.to_string())?;
        if let Some((date, window, changes)) = &around {
            value["around"] = serde_json::json!({"date": date, "window": window, "ties": changes});
        }
        println!("{value}");
        return Ok(exit::OK);
    }
    let network = &analysed.network;
    let persons = network
        .nodes
        .iter()
        .filter(|n| n.kind == crate::graph::NodeKind::Person)
        .count();
    println!(
        "network: {persons} identities, {} groups, {} edges, {} components",
        network.nodes.len() - persons,
        network.edges.len(),
        analysed.components
    );
    let mut by_kind = std::collections::BTreeMap::<&str, (usize, u64)>::new();
    for e in &network.edges {
        let slot = by_kind.entry(e.kind.as_str()).or_default();
        slot.0 += 1;
        slot.1 += e.count;
    }
    for (kind, (edges, contacts)) in &by_kind {
        println!("  {kind:<14} {edges:>6} edges  {contacts:>8} contacts");
    }
    let largest = analysed.metrics.iter().filter(|m| m.component == 0).count();
    if !network.nodes.is_empty() {
        println!(
            "largest component: {largest} of {} nodes ({:.0}%)",
            network.nodes.len(),
            100.0 * largest as f64 / network.nodes.len() as f64
        );
    }
    let mut order: Vec<usize> = (0..network.nodes.len()).collect();
    order.sort_by(|&a, &b| {
        analysed.metrics[b]
            .betweenness
            .total_cmp(&analysed.metrics[a].betweenness)
            .then(a.cmp(&b))
    });
    println!(
        "top brokers (betweenness, unweighted, {}):",
        analysed.betweenness_method.describe()
    );
    for &i in order.iter().take(top) {
        let (n, m) = (&network.nodes[i], &analysed.metrics[i]);
        println!(
            "  {:>8.4}  degree {:>4}  {}  ({})",
            m.betweenness,
            m.degree,
            sanitize(&n.label),
            sanitize(&n.key)
        );
    }
    let cross: Vec<&crate::graph::Node> = network
        .nodes
        .iter()
        .filter(|n| n.kind == crate::graph::NodeKind::Person && n.devices.len() > 1)
        .collect();
    println!("on several devices: {}", cross.len());
    for n in cross.iter().take(top) {
        println!(
            "  {}  ({})  on {}",
            sanitize(&n.label),
            sanitize(&n.key),
            sanitize(&n.devices.join(", "))
        );
    }
    println!(
        "communities (Leiden, modularity {:.3}): {}",
        analysed.modularity, analysed.communities
    );
    let mut community_sizes = vec![0usize; analysed.communities];
    for m in &analysed.metrics {
        community_sizes[m.community] += 1;
    }
    for (c, size) in community_sizes.iter().enumerate().take(top) {
        let mut members: Vec<usize> = (0..network.nodes.len())
            .filter(|&i| analysed.metrics[i].community == c)
            .collect();
        members.sort_by(|&a, &b| {
            analysed.metrics[b]
                .degree
                .cmp(&analysed.metrics[a].degree)
                .then(a.cmp(&b))
        });
        let names: Vec<String> = members
            .iter()
            .take(5)
            .map(|&i| sanitize(&network.nodes[i].label))
            .collect();
        println!(
            "  community {c}: {size} nodes, most connected: {}",
            names.join(", ")
        );
    }
    let articulation = analysed
        .metrics
        .iter()
        .filter(|m| m.articulation_point)
        .count();
    println!(
        "articulation points: {articulation}, bridges: {}",
        analysed.bridges.len()
    );
    println!("merges in the ledger: {}", network.ledger.len());
    for (why, count) in &network.unused {
        println!("records without an edge: {count} ({why})");
    }
    if let Some((date, window, changes)) = around {
        let network = &analysed.network;
        println!(
            "ties that start or stop within {window} of {date}: {}",
            changes.len()
        );
        for c in changes.iter().take(top.max(20)) {
            println!(
                "  {:<8} {} — {}  ({} contacts, {} to {})",
                c.change,
                sanitize(&network.nodes[c.a].label),
                sanitize(&network.nodes[c.b].label),
                c.contacts,
                c.first,
                c.last
            );
        }
    }
    Ok(exit::OK)
}

/// `spoor graph disrupt CASE --remove A,B [--key-players K]`: cohesion before and after.
fn graph_disrupt(
    case: &std::path::Path,
    remove: &[String],
    key_players: Option<usize>,
    json: bool,
) -> Result<i32, String> {
    use crate::graph::disrupt;
    let conn = open(case)?;
    let analysed = crate::graph::of_case(&conn)?;
    let network = &analysed.network;
    let csr = crate::graph::contact_graph(network);
    let mut removed = vec![false; network.nodes.len()];
    let mut named = Vec::new();
    for wanted in remove.iter().filter(|w| !w.trim().is_empty()) {
        let i = crate::graph::find_node(network, wanted)?;
        removed[i] = true;
        named.push(i);
    }
    let proposed = match key_players {
        Some(k) => disrupt::key_players(&csr, k, &removed),
        None => Vec::new(),
    };
    for &i in &proposed {
        removed[i] = true;
    }
    let before = disrupt::cohesion(&csr, &vec![false; network.nodes.len()]);
    let after = disrupt::cohesion(&csr, &removed);
    let keys = |list: &[usize]| -> Vec<String> {
        list.iter().map(|&i| network.nodes[i].key.clone()).collect()
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "removed": keys(&named), "key_players": keys(&proposed),
                "method": "greedy: each step removes the node that leaves the smallest largest component",
                "before": before, "after": after,
            })
        );
        return Ok(exit::OK);
    }
    for &i in &named {
        println!("removed: {}", sanitize(&network.nodes[i].label));
    }
    for &i in &proposed {
        println!(
            "key player (greedy): {}  ({})",
            sanitize(&network.nodes[i].label),
            sanitize(&network.nodes[i].key)
        );
    }
    println!("                 before    after");
    println!("nodes          {:>8} {:>8}", before.nodes, after.nodes);
    println!(
        "components     {:>8} {:>8}",
        before.components, after.components
    );
    println!(
        "largest        {:>7.0}% {:>7.0}%   (of all {} nodes)",
        100.0 * before.largest_share,
        100.0 * after.largest_share,
        before.nodes
    );
    println!(
        "efficiency     {:>8.4} {:>8.4}",
        before.efficiency, after.efficiency
    );
    Ok(exit::OK)
}

/// `spoor graph path CASE A B`: shortest paths, or the earliest time-respecting one.
fn graph_path(action: GraphAction) -> Result<i32, String> {
    let GraphAction::Path {
        case,
        from,
        to,
        time_respecting,
        max_wait,
        after,
        limit,
        json,
    } = action
    else {
        return Err("not a path request".into());
    };
    let conn = open(&case)?;
    let analysed = crate::graph::of_case(&conn)?;
    let network = &analysed.network;
    let (a, b) = (
        crate::graph::find_node(network, &from)?,
        crate::graph::find_node(network, &to)?,
    );
    let name = |i: usize| sanitize(&network.nodes[i].label);
    if !time_respecting {
        let csr = crate::graph::contact_graph(network);
        let paths = crate::graph::paths::shortest_paths(&csr, a, b, limit);
        if json {
            let keyed: Vec<Vec<&str>> = paths
                .iter()
                .map(|p| p.iter().map(|&i| network.nodes[i].key.as_str()).collect())
                .collect();
            println!("{}", serde_json::json!({ "paths": keyed }));
            return Ok(exit::OK);
        }
        if paths.is_empty() {
            println!("no path between {} and {}", name(a), name(b));
        }
        for p in &paths {
            let names: Vec<String> = p.iter().map(|&i| name(i)).collect();
            println!("{} hops: {}", p.len() - 1, names.join(" — "));
        }
        return Ok(exit::OK);
    }
    let max_wait = max_wait
        .as_deref()
        .map(crate::graph::paths::parse_duration)
        .transpose()?;
    let start = match after.as_deref() {
        Some(t) => Some(
            crate::graph::network::epoch_seconds(t)
                .ok_or_else(|| format!("--after {t:?}: not YYYY-MM-DDTHH:MM:SS"))?,
        ),
        None => None,
    };
    let events = crate::graph::paths::events(network);
    let path =
        crate::graph::paths::earliest_arrival(&events, network.nodes.len(), a, b, start, max_wait);
    if json {
        println!("{}", serde_json::json!({ "path": path }));
        return Ok(exit::OK);
    }
    let Some(path) = path else {
        println!(
            "no time-respecting path from {} to {}{}",
            name(a),
            name(b),
            max_wait.map_or(String::new(), |w| format!(" with waits of at most {w} s"))
        );
        return Ok(exit::OK);
    };
    println!(
        "{} hops, arriving {}",
        path.len(),
        path.last().map_or("", |e| e.time.as_str())
    );
    for e in &path {
        let origin = crate::store::graph::record_origin(&conn, e.record)
            .map_err(|e| format!("case store: {e}"))?
            .map(|(s, p, l)| format!("{s}:{p} {l}"))
            .unwrap_or_default();
        let via = e
            .via_group
            .map_or(String::new(), |g| format!(" in {}", name(g)));
        println!(
            "  {}  {} -> {}  {}{via}  (record {}: {})",
            e.time,
            name(e.from),
            name(e.to),
            e.kind.as_str(),
            e.record,
            sanitize(&origin)
        );
    }
    Ok(exit::OK)
}

/// `spoor graph show CASE ID`: one node with its ledger, metrics and neighbours.
fn graph_show(case: &std::path::Path, id: &str, depth: usize, json: bool) -> Result<i32, String> {
    let conn = open(case)?;
    let analysed = crate::graph::of_case(&conn)?;
    let network = &analysed.network;
    let i = crate::graph::find_node(network, id)?;
    let node = &network.nodes[i];
    let ledger: Vec<&crate::graph::Merge> = network
        .ledger
        .iter()
        .filter(|(n, _)| *n == i)
        .map(|(_, m)| m)
        .collect();
    let edges: Vec<&crate::graph::Edge> = network
        .edges
        .iter()
        .filter(|e| e.from == i || e.to == i)
        .collect();
    let activity = crate::graph::temporal::activity(network).swap_remove(i);
    let csr = crate::graph::contact_graph(network);
    let rings = crate::graph::paths::neighbourhood(&csr, i, depth);
    let mut records: Vec<i64> = edges
        .iter()
        .flat_map(|e| e.records.iter().copied())
        .collect();
    records.sort_unstable();
    records.dedup();
    if json {
        let value = serde_json::json!({
            "node": node, "metrics": analysed.metrics[i], "ledger": ledger, "activity": activity,
            "edges": edges.iter().map(|e| serde_json::json!({
                "from": network.nodes[e.from].key, "to": network.nodes[e.to].key, "edge": e,
            })).collect::<Vec<_>>(),
            "neighbourhood": rings.iter().skip(1).map(|&(v, d)| serde_json::json!({
                "key": network.nodes[v].key, "label": network.nodes[v].label, "depth": d,
            })).collect::<Vec<_>>(),
            "records": records,
        });
        println!("{value}");
        return Ok(exit::OK);
    }
    println!("{}  ({:?})", sanitize(&node.label), node.kind);
    println!("key: {}", sanitize(&node.key));
    for identifier in &node.identifiers {
        println!("  identifier: {}", sanitize(identifier));
    }
    println!("devices: {}", sanitize(&node.devices.join(", ")));
    for m in &ledger {
        let decided = m.decision.as_ref().map_or(String::new(), |d| {
            format!(
                " — decision {} by {} ({}): {}",
                d.id,
                sanitize(&d.by),
                d.at,
                sanitize(&d.reason)
            )
        });
        println!(
            "  merge: {} (confidence {}) on {}: {} — records {:?}{decided}",
            m.rule,
            m.confidence,
            sanitize(&m.device),
            sanitize(&m.identifiers.join(" + ")),
            m.records.iter().take(10).collect::<Vec<_>>()
        );
    }
    let m = &analysed.metrics[i];
    println!(
        "degree {} (out {}, in {}), strength {}, betweenness {:.4}, closeness {:.4}, pagerank {:.4}, core {}, component {}",
        m.degree,
        m.out_degree,
        m.in_degree,
        m.strength,
        m.betweenness,
        m.closeness,
        m.pagerank,
        m.core,
        m.component
    );
    for e in edges {
        let (arrow, other) = if e.from == i {
            ("->", e.to)
        } else {
            ("<-", e.from)
        };
        println!(
            "  {arrow} {:<14} {:>5}x  {}  first {}  last {}  ({} records)",
            e.kind.as_str(),
            e.count,
            sanitize(&network.nodes[other].label),
            e.first.as_deref().unwrap_or("?"),
            e.last.as_deref().unwrap_or("?"),
            e.records.len()
        );
    }
    if let (Some(first), Some(last)) = (&activity.first, &activity.last) {
        let busiest = (0..activity.by_hour_of_week.len())
            .max_by(|&a, &b| {
                activity.by_hour_of_week[a]
                    .cmp(&activity.by_hour_of_week[b])
                    .then(b.cmp(&a))
            })
            .unwrap_or(0);
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        println!(
            "active: {} contacts from {first} to {last}; busiest hour of week {} {:02}:00 ({} contacts; times as recorded)",
            activity.contacts,
            DAYS[busiest / 24],
            busiest % 24,
            activity.by_hour_of_week[busiest]
        );
    }
    if depth > 1 {
        for d in 2..=depth {
            let ring: Vec<String> = rings
                .iter()
                .filter(|&&(_, rd)| rd == d)
                .map(|&(v, _)| sanitize(&network.nodes[v].label))
                .collect();
            let shown = ring.iter().take(50).cloned().collect::<Vec<_>>().join(", ");
            let more = ring.len().saturating_sub(50);
            println!(
                "at {d} hops: {} {}{shown}{}",
                ring.len(),
                if ring.len() == 1 { "node: " } else { "nodes: " },
                if more > 0 {
                    format!(", … {more} more")
                } else {
                    String::new()
                }
            );
        }
    }
    println!("records behind its edges: {}", records.len());
    for &record in records.iter().take(10) {
        if let Some((device, path, locator)) =
            crate::store::graph::record_origin(&conn, record).map_err(|e| e.to_string())?
        {
            println!(
                "  record {record}: {} {} at {}",
                sanitize(&device),
                sanitize(&path),
                sanitize(&locator)
            );
        }
    }
    if records.len() > 10 {
        println!("  … {} more (--json lists them all)", records.len() - 10);
    }
    Ok(exit::OK)
}

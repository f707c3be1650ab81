//! Paths between two people: the shortest ones by hops, and the earliest-arriving
//! time-respecting one, where every contact happens after the one before it ("could A have
//! passed this to C through B before the raid").

use std::collections::VecDeque;

use serde::Serialize;

use super::metrics::Csr;
use super::network::{EdgeKind, Network, NodeKind, epoch_seconds};

/// Every shortest path (by hops, on the undirected contact graph) from `a` to `b`, at most
/// `limit` of them, in a stable order (by the nodes along them).
pub fn shortest_paths(csr: &Csr, a: usize, b: usize, limit: usize) -> Vec<Vec<usize>> {
    let n = csr.len();
    if a >= n || b >= n {
        return Vec::new();
    }
    if a == b {
        return vec![vec![a]];
    }
    // Distances from b, so paths can be walked forward from a in sorted neighbour order.
    let mut dist = vec![usize::MAX; n];
    let mut queue = VecDeque::from([b]);
    dist[b] = 0;
    while let Some(v) = queue.pop_front() {
        for &w in csr.neighbours(v) {
            let w = w as usize;
            if dist[w] == usize::MAX {
                dist[w] = dist[v] + 1;
                queue.push_back(w);
            }
        }
    }
    if dist[a] == usize::MAX {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut path = vec![a];
    walk(csr, &dist, b, &mut path, &mut out, limit);
    out
}

fn walk(
    csr: &Csr,
    dist: &[usize],
    b: usize,
    path: &mut Vec<usize>,
    out: &mut Vec<Vec<usize>>,
    limit: usize,
) {
    if out.len() >= limit {
        return;
    }
    let v = *path.last().expect("a path has a start");
    if v == b {
        out.push(path.clone());
        return;
    }
    for &w in csr.neighbours(v) {
        let w = w as usize;
        if dist[w] != usize::MAX && dist[w] + 1 == dist[v] {
            path.push(w);
            walk(csr, dist, b, path, out, limit);
            path.pop();
        }
    }
}

/// One contact as a possible step of a time-respecting path: at `at` (seconds), information
/// can pass from `from` to `to`.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub at: i64,
    pub time: String,
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    pub record: i64,
    /// The group the message went to, when it was a group message.
    pub via_group: Option<usize>,
}

/// Every timed contact of the network as events, in time order: a message or e-mail passes
/// from sender to recipient; a call both ways; a message into a group reaches every member
/// of that group at once.
pub fn events(network: &Network) -> Vec<Event> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); network.nodes.len()];
    for e in &network.edges {
        if e.kind == EdgeKind::GroupMember {
            members[e.to].push(e.from);
        }
    }
    let mut out = Vec::new();
    for e in network
        .edges
        .iter()
        .filter(|e| e.kind.is_communication() && e.kind != EdgeKind::GroupMember)
    {
        for (time, &record) in e.times.iter().zip(&e.contact_records) {
            let Some(at) = epoch_seconds(time) else {
                continue;
            };
            let mut push = |from: usize, to: usize, via_group: Option<usize>| {
                out.push(Event {
                    at,
                    time: time.clone(),
                    from,
                    to,
                    kind: e.kind,
                    record,
                    via_group,
                })
            };
            if network.nodes[e.to].kind == NodeKind::Group {
                for &m in members[e.to].iter().filter(|&&m| m != e.from) {
                    push(e.from, m, Some(e.to));
                }
            } else {
                push(e.from, e.to, None);
                if e.kind == EdgeKind::Call {
                    push(e.to, e.from, None);
                }
            }
        }
    }
    out.sort_by_key(|a| (a.at, a.from, a.to, a.record));
    out
}

/// The earliest-arriving time-respecting path from `source` to `target`: a chain of events,
/// each strictly later than the one before, starting at or after `start`, each intermediary
/// passing on within `max_wait` seconds of receiving (when given). `None` when there is none.
///
/// One pass over the events in time order. Each node keeps the times it was reached (only the
/// first without `max_wait`); an event can be used when its sender was reached before it and,
/// with `max_wait`, no longer than `max_wait` before it. Checked against a brute-force search of every chain on random
/// temporal graphs (tests below).
pub fn earliest_arrival(
    events: &[Event],
    nodes: usize,
    source: usize,
    target: usize,
    start: Option<i64>,
    max_wait: Option<i64>,
) -> Option<Vec<Event>> {
    if source >= nodes || target >= nodes || source == target {
        return None;
    }
    // Per node, the (time, event that brought it, index of the sender's arrival used).
    let mut reached: Vec<Vec<(i64, usize, usize)>> = vec![Vec::new(); nodes];
    for (i, e) in events.iter().enumerate() {
        if start.is_some_and(|s| e.at < s) {
            continue;
        }
        let sender_arrival = if e.from == source {
            Some(usize::MAX)
        } else {
            // The earliest time the sender was reached that lets it pass this on: before the
            // event and, with a wait limit, within it. Earliest, so the path shown takes no
            // detour through a later arrival.
            reached[e.from]
                .iter()
                .position(|(t, _, _)| *t < e.at && max_wait.is_none_or(|w| e.at - t <= w))
        };
        let Some(sender_arrival) = sender_arrival else {
            continue;
        };
        if e.to == source {
            continue;
        }
        // Without a wait limit only the first arrival matters; with one, later arrivals can
        // open later windows, so each is kept (in increasing time).
        if reached[e.to]
            .last()
            .is_some_and(|&(t, _, _)| t >= e.at || max_wait.is_none())
        {
            continue;
        }
        reached[e.to].push((e.at, i, sender_arrival));
        if e.to == target {
            break;
        }
    }
    let &(_, mut event, mut from_arrival) = reached[target].first()?;
    let mut path = Vec::new();
    loop {
        let e = &events[event];
        path.push(e.clone());
        if e.from == source || from_arrival == usize::MAX {
            break;
        }
        let (_, previous, previous_from) = reached[e.from][from_arrival];
        event = previous;
        from_arrival = previous_from;
    }
    path.reverse();
    Some(path)
}

/// A duration as `90s`, `30m`, `12h`, `2d` or plain seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?}: a duration is a number and s, m, h or d (90s, 2d)"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    Ok(n * scale)
}

/// The neighbourhood of `v` up to `depth` hops on the undirected contact graph: every node
/// reached, with its distance, by distance then index (`v` itself first, at 0).
pub fn neighbourhood(csr: &Csr, v: usize, depth: usize) -> Vec<(usize, usize)> {
    if v >= csr.len() {
        return Vec::new();
    }
    let mut dist = vec![usize::MAX; csr.len()];
    dist[v] = 0;
    let mut out = vec![(v, 0)];
    let mut frontier = vec![v];
    for d in 1..=depth {
        let mut next = Vec::new();
        for &u in &frontier {
            for &w in csr.neighbours(u) {
                let w = w as usize;
                if dist[w] == usize::MAX {
                    dist[w] = d;
                    next.push(w);
                }
            }
        }
        next.sort_unstable();
        out.extend(next.iter().map(|&w| (w, d)));
        frontier = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: i64, from: usize, to: usize) -> Event {
        Event {
            at,
            time: at.to_string(),
            from,
            to,
            kind: EdgeKind::Message,
            record: at,
            via_group: None,
        }
    }

    /// The earliest arrival at `target` over every chain of events, by exhaustive search.
    fn brute_force(
        events: &[Event],
        source: usize,
        target: usize,
        max_wait: Option<i64>,
    ) -> Option<i64> {
        fn go(
            events: &[Event],
            at_node: usize,
            since: Option<i64>,
            target: usize,
            max_wait: Option<i64>,
            best: &mut Option<i64>,
            depth: usize,
        ) {
            if depth > events.len() {
                return;
            }
            for e in events.iter().filter(|e| e.from == at_node) {
                let ok = match since {
                    None => true,
                    Some(t) => e.at > t && max_wait.is_none_or(|w| e.at - t <= w),
                };
                if !ok {
                    continue;
                }
                if e.to == target {
                    if best.is_none_or(|b| e.at < b) {
                        *best = Some(e.at);
                    }
                    continue;
                }
                go(events, e.to, Some(e.at), target, max_wait, best, depth + 1);
            }
        }
        let mut best = None;
        go(events, source, None, target, max_wait, &mut best, 0);
        best
    }

    #[test]
    fn earliest_arrival_equals_a_brute_force_search_on_random_temporal_graphs() {
        let mut seed = 0x5eed_u64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let mut checked = 0;
        for _ in 0..400 {
            let nodes = 2 + next(5) as usize;
            let count = 1 + next(12) as usize;
            let mut events: Vec<Event> = (0..count)
                .map(|_| {
                    let a = next(nodes as u64) as usize;
                    let mut b = next(nodes as u64) as usize;
                    if a == b {
                        b = (b + 1) % nodes;
                    }
                    event(next(20) as i64, a, b)
                })
                .collect();
            events.sort_by_key(|a| (a.at, a.from, a.to));
            let max_wait = if next(2) == 0 {
                None
            } else {
                Some(1 + next(6) as i64)
            };
            let (source, target) = (0, nodes - 1);
            let fast = earliest_arrival(&events, nodes, source, target, None, max_wait);
            let slow = brute_force(&events, source, target, max_wait);
            assert_eq!(
                fast.as_ref().map(|p| p.last().unwrap().at),
                slow,
                "{events:?} wait {max_wait:?}"
            );
            if let Some(path) = fast {
                checked += 1;
                assert_eq!(path[0].from, source);
                assert_eq!(path.last().unwrap().to, target);
                for w in path.windows(2) {
                    assert_eq!(w[0].to, w[1].from);
                    assert!(w[1].at > w[0].at);
                    assert!(max_wait.is_none_or(|m| w[1].at - w[0].at <= m));
                }
            }
        }
        assert!(checked > 50, "too few reachable cases: {checked}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert_eq!(parse_duration("15"), Ok(15));
        assert!(parse_duration("2w").is_err());
    }
}

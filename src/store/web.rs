//! What the web UI reads that no other reader does: the review queue one page at a time (in
//! SQL, on the `leads_queue` index, so that a page of 100,000 leads does not parse them all),
//! one lead, one item with its observations and records, the audit log a page at a time.

use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as Sql};
use serde_json::Value;

use super::graph::from_text;
use super::json_at;
use crate::model::{LeadRow, StoredObservation};

/// The queue's filters; every one optional.
#[derive(Clone, Debug, Default)]
pub struct QueueFilter {
    pub rule: Option<String>,
    pub state: Option<String>,
    pub subject: Option<String>,
    pub min_score: Option<f64>,
}

/// One line of the queue.
#[derive(Clone, Debug)]
pub struct QueueRow {
    pub id: String,
    pub rank: i64,
    pub score: f64,
    pub state: String,
    pub subject: String,
    pub source: Option<String>,
    pub path: Option<String>,
    pub label: Option<String>,
    pub rules: String,
    pub part_of: Option<String>,
}

fn queue_where(f: &QueueFilter) -> (String, Vec<Sql>) {
    let mut clauses = vec!["l.active = 1".to_string()];
    let mut args: Vec<Sql> = Vec::new();
    if let Some(r) = &f.rule {
        clauses.push("(',' || l.rules || ',') LIKE ('%,' || ? || ',%') ESCAPE '\\'".into());
        args.push(Sql::Text(
            r.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_"),
        ));
    }
    if let Some(s) = &f.state {
        clauses.push("l.state = ?".into());
        args.push(Sql::Text(s.clone()));
    }
    if let Some(s) = &f.subject {
        clauses.push("l.subject = ?".into());
        args.push(Sql::Text(s.clone()));
    }
    if let Some(m) = f.min_score {
        clauses.push("l.score >= ?".into());
        args.push(Sql::Real(m));
    }
    (clauses.join(" AND "), args)
}

/// A page of the queue in its order (rank; a group's members after it) and how many leads
/// the filter selects in all.
pub fn queue_page(
    conn: &Connection,
    filter: &QueueFilter,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<(Vec<QueueRow>, usize)> {
    let (clause, args) = queue_where(filter);
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM leads l WHERE {clause}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut page_args = args.clone();
    page_args.push(Sql::Integer(limit as i64));
    page_args.push(Sql::Integer(offset as i64));
    let mut stmt = conn.prepare(&format!(
        "SELECT l.id, l.rank, l.score, l.state, l.subject, s.label, i.path,
                json_extract(l.hits, '$.subject.label'), l.rules, l.part_of
         FROM leads l LEFT JOIN items i ON i.id = l.item_id LEFT JOIN sources s ON s.id = i.source_id
         WHERE {clause}
         ORDER BY l.active DESC, l.rank, l.part_of IS NOT NULL, l.score DESC, l.id
         LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(page_args.iter()), |r| {
            Ok(QueueRow {
                id: r.get(0)?,
                rank: r.get(1)?,
                score: r.get(2)?,
                state: r.get(3)?,
                subject: r.get(4)?,
                source: r.get(5)?,
                path: r
                    .get::<_, Option<Vec<u8>>>(6)?
                    .map(|p| crate::evidence::display_path(&p)),
                label: r.get(7)?,
                rules: r.get(8)?,
                part_of: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total as usize))
}

/// One lead as every reader sees it (`leads::list`'s row), by its exact id.
pub fn lead(conn: &Connection, id: &str) -> rusqlite::Result<Option<LeadRow>> {
    super::leads::lead_row(conn, id)
}

/// The item a lead is about, when it is about one.
pub fn lead_item(conn: &Connection, id: &str) -> rusqlite::Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT item_id FROM leads WHERE id = ?1", [id], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten())
}

/// An item's facts, its observations and the records parsed from it (at most `records`).
pub struct ItemView {
    pub id: i64,
    pub source: String,
    pub path: String,
    pub facts: Value,
    pub observations: Vec<StoredObservation>,
    pub records: Vec<Value>,
    pub records_total: usize,
    /// Its thumbnail's key (SHA-256), when it is a picture.
    pub thumbnail_key: Option<String>,
}

pub fn item(conn: &Connection, id: i64, records: usize) -> rusqlite::Result<Option<ItemView>> {
    let head = conn
        .query_row(
            "SELECT s.label, i.path, i.kind, i.size, i.mime, i.mtime, lower(hex(i.md5)), lower(hex(i.sha1)), lower(hex(i.sha256))
             FROM items i JOIN sources s ON s.id = i.source_id WHERE i.id = ?1",
            [id],
            |r| {
                let hex = |n: usize| -> rusqlite::Result<Option<String>> {
                    Ok(r.get::<_, Option<String>>(n)?.filter(|h| !h.is_empty()))
                };
                Ok((
                    r.get::<_, String>(0)?,
                    crate::evidence::display_path(&r.get::<_, Vec<u8>>(1)?),
                    serde_json::json!({
                        "kind": r.get::<_, String>(2)?, "size": r.get::<_, i64>(3)?,
                        "mime": r.get::<_, Option<String>>(4)?, "mtime": r.get::<_, Option<String>>(5)?,
                        "md5": hex(6)?, "sha1": hex(7)?, "sha256": hex(8)?,
                    }),
                ))
            },
        )
        .optional()?;
    let Some((source, path, facts)) = head else {
        return Ok(None);
    };
    let observations = item_observations(conn, id)?;
    let records_total: i64 = conn.query_row(
        "SELECT COUNT(*) FROM records WHERE item_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(
        "SELECT kind, time_utc, time_local, direction, participants, body, thread FROM records
         WHERE item_id = ?1 ORDER BY COALESCE(time_utc, time_local), id LIMIT ?2",
    )?;
    let recs = stmt
        .query_map(rusqlite::params![id, records as i64], |r| {
            Ok(serde_json::json!({
                "kind": r.get::<_, String>(0)?, "time_utc": r.get::<_, Option<String>>(1)?,
                "time_local": r.get::<_, Option<String>>(2)?, "direction": r.get::<_, String>(3)?,
                "participants": json_at(r, 4)?, "body": r.get::<_, Option<String>>(5)?,
                "thread": r.get::<_, Option<String>>(6)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let thumbnail_key = facts["sha256"]
        .as_str()
        .filter(|_| {
            facts["mime"]
                .as_str()
                .is_some_and(|m| m.starts_with("image/"))
        })
        .map(str::to_string);
    Ok(Some(ItemView {
        id,
        source,
        path,
        facts,
        observations,
        records: recs,
        records_total: records_total as usize,
        thumbnail_key,
    }))
}

/// Every observation of one item.
pub fn item_observations(conn: &Connection, id: i64) -> rusqlite::Result<Vec<StoredObservation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, analyzer, analyzer_version, value, confidence, provenance FROM observations
         WHERE item_id = ?1 ORDER BY kind, analyzer, id",
    )?;
    stmt.query_map([id], |r| {
        Ok(StoredObservation {
            kind: r.get(0)?,
            analyzer: r.get(1)?,
            analyzer_version: r.get(2)?,
            value: json_at(r, 3)?,
            confidence: r.get(4)?,
            provenance: json_at(r, 5)?,
        })
    })?
    .collect()
}

/// A page of the audit log, newest first, and how many entries it has.
pub fn audit_page(
    conn: &Connection,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<(Vec<Value>, usize)> {
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, details, hash FROM audit ORDER BY seq DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt
        .query_map([limit as i64, offset as i64], |r| {
            Ok(serde_json::json!({
                "seq": r.get::<_, i64>(0)?, "at": r.get::<_, String>(1)?, "actor": r.get::<_, String>(2)?,
                "action": r.get::<_, String>(3)?, "details": r.get::<_, String>(4)?, "hash": r.get::<_, String>(5)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total as usize))
}

/// An identity's neighbourhood in the stored network, for the network page.
#[derive(Clone, Debug, Default)]
pub struct Neighbourhood {
    /// (store index, node, metrics), the centre first, then by distance and strength.
    pub nodes: Vec<(
        i64,
        crate::graph::network::Node,
        crate::graph::NodeMetrics,
        usize,
    )>,
    /// (index into `nodes` of each end, the edge).
    pub edges: Vec<(usize, usize, crate::graph::network::Edge)>,
    /// More nodes were within reach than are shown.
    pub cut: bool,
    /// The stored network is older than the case's records or decisions.
    pub stale: bool,
}

/// Whether a node outside `shown` has a tie with one inside it (one row looked for, through
/// the covering indexes of schema 10).
fn beyond(conn: &Connection, shown: &[i64]) -> rusqlite::Result<bool> {
    let list = serde_json::to_string(shown).unwrap_or_default();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM network_edges WHERE from_idx IN (SELECT value FROM json_each(?1))
                          AND to_idx NOT IN (SELECT value FROM json_each(?1)))
             OR EXISTS (SELECT 1 FROM network_edges WHERE to_idx IN (SELECT value FROM json_each(?1))
                          AND from_idx NOT IN (SELECT value FROM json_each(?1)))",
        [list],
        |r| r.get(0),
    )
}

/// The stored index of the node `wanted` names: its key, else one of its identifiers.
pub fn network_node(conn: &Connection, wanted: &str) -> rusqlite::Result<Option<i64>> {
    if let Some(i) = conn
        .query_row(
            "SELECT idx FROM network_nodes WHERE key = ?1",
            [wanted],
            |r| r.get(0),
        )
        .optional()?
    {
        return Ok(Some(i));
    }
    let quoted = serde_json::to_string(wanted).unwrap_or_default();
    conn.query_row(
        "SELECT idx FROM network_nodes WHERE instr(json_extract(node, '$.identifiers'), ?1) > 0 ORDER BY idx LIMIT 1",
        [quoted],
        |r| r.get(0),
    )
    .optional()
}

/// One page of the records behind an identity's ties (every record of a contact it took part
/// in, from any device), in time order, and how many there are. Each row: the record's id, its
/// item, device and path, kind, times, direction, participants and body.
pub fn identity_records(
    conn: &Connection,
    node: i64,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<(Vec<Value>, usize)> {
    // The ties keep their records' row ids; SQLite reads them out of the JSON itself.
    const BEHIND: &str = "WITH behind AS (
            SELECT j.value AS rid FROM network_edges e, json_each(e.edge, '$.records') j WHERE e.from_idx = ?1
            UNION SELECT j.value FROM network_edges e, json_each(e.edge, '$.records') j WHERE e.to_idx = ?1)";
    let total: i64 = conn.query_row(
        &format!("{BEHIND} SELECT COUNT(*) FROM behind"),
        [node],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "{BEHIND} SELECT r.id, r.item_id, s.label, i.path, r.kind, r.time_utc, r.time_local,
                r.direction, r.participants, r.body
         FROM behind b JOIN records r ON r.id = b.rid JOIN items i ON i.id = r.item_id
         JOIN sources s ON s.id = i.source_id
         ORDER BY COALESCE(r.time_utc, r.time_local), r.id LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map(rusqlite::params![node, limit as i64, offset as i64], |r| {
            Ok(serde_json::json!({
                "id": r.get::<_, i64>(0)?, "item": r.get::<_, i64>(1)?,
                "device": r.get::<_, String>(2)?, "path": crate::evidence::display_path(&r.get::<_, Vec<u8>>(3)?),
                "kind": r.get::<_, String>(4)?, "time_utc": r.get::<_, Option<String>>(5)?,
                "time_local": r.get::<_, Option<String>>(6)?, "direction": r.get::<_, String>(7)?,
                "participants": json_at(r, 8)?, "body": r.get::<_, Option<String>>(9)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total as usize))
}

/// An identity's stored node: its key and label.
pub fn network_node_label(conn: &Connection, node: i64) -> rusqlite::Result<(String, String)> {
    conn.query_row(
        "SELECT key, COALESCE(json_extract(node, '$.label'), key) FROM network_nodes WHERE idx = ?1",
        [node],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The nodes within `depth` contacts of `centre` (breadth first, read level by level through
/// the edge indexes, so a network of 100,000 people is not loaded), at most `max_nodes`
/// (the strongest ties first at each level), with the edges among them.
pub fn neighbourhood(
    conn: &Connection,
    centre: i64,
    depth: usize,
    max_nodes: usize,
) -> rusqlite::Result<Neighbourhood> {
    use std::collections::HashMap;
    let mut distance: HashMap<i64, usize> = HashMap::from([(centre, 0)]);
    let mut order: Vec<i64> = vec![centre];
    let mut frontier = vec![centre];
    let mut cut = false;
    let mut by_end = conn.prepare(
        "SELECT from_idx, to_idx, contacts FROM network_edges WHERE from_idx = ?1
         UNION ALL SELECT from_idx, to_idx, contacts FROM network_edges WHERE to_idx = ?1",
    )?;
    for level in 1..=depth {
        if order.len() >= max_nodes {
            // No room for another level: say whether one was there, without reading it
            // (around a hub the next level is every tie of its 150 strongest neighbours).
            cut |= !frontier.is_empty() && beyond(conn, &order)?;
            break;
        }
        let mut next: HashMap<i64, f64> = HashMap::new();
        for &v in &frontier {
            let rows = by_end.query_map([v], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                ))
            })?;
            for row in rows {
                let (a, b, count) = row?;
                let w = if a == v { b } else { a };
                if w == v {
                    continue;
                }
                if !distance.contains_key(&w) {
                    *next.entry(w).or_default() += count.unwrap_or(1.0);
                }
            }
        }
        let mut next: Vec<(i64, f64)> = next.into_iter().collect();
        next.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        let room = max_nodes.saturating_sub(order.len());
        if next.len() > room {
            cut = true;
            next.truncate(room);
        }
        frontier = next.iter().map(|&(w, _)| w).collect();
        for &w in &frontier {
            distance.insert(w, level);
            order.push(w);
        }
        if frontier.is_empty() {
            break;
        }
    }
    let position: HashMap<i64, usize> = order.iter().enumerate().map(|(n, &i)| (i, n)).collect();
    let mut out = Neighbourhood {
        cut,
        ..Default::default()
    };
    let mut node = conn.prepare("SELECT node, metrics FROM network_nodes WHERE idx = ?1")?;
    for &i in &order {
        let (n, m): (String, String) = node.query_row([i], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (n, m) = (from_text(0, &n)?, from_text(1, &m)?);
        out.nodes.push((i, n, m, distance[&i]));
    }
    // The ties among the nodes shown, and only those: a hub's other ties are not read.
    let shown = serde_json::to_string(&order).unwrap_or_default();
    let mut edges = conn.prepare(
        "SELECT from_idx, to_idx, edge FROM network_edges
         WHERE from_idx IN (SELECT value FROM json_each(?1)) AND to_idx IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = edges.query_map([&shown], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (a, b, e) = row?;
        if let (Some(&pa), Some(&pb)) = (position.get(&a), position.get(&b)) {
            out.edges.push((pa, pb, from_text(2, &e)?));
        }
    }
    let inputs = super::graph::network_inputs(conn)?;
    let summary = super::meta_get(conn, "network")?;
    out.stale = summary
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_none_or(|s| s["inputs"].as_str() != Some(inputs.as_str()));
    Ok(out)
}

/// Whether a lead of this id exists.
pub fn lead_exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM leads WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )
}

/// The merges that made a node of the stored network (its ledger).
pub fn ledger_of(conn: &Connection, node: i64) -> rusqlite::Result<Vec<Value>> {
    let mut stmt =
        conn.prepare("SELECT merge FROM network_ledger WHERE node_idx = ?1 ORDER BY id")?;
    let rows = stmt.query_map([node], |r| from_text(0, &r.get::<_, String>(0)?))?;
    rows.collect()
}

/// The strongest brokers of the stored network: (key, label, betweenness).
pub fn top_identities(conn: &Connection, n: usize) -> rusqlite::Result<Vec<(String, String, f64)>> {
    let mut stmt = conn.prepare(
        "SELECT key, json_extract(node, '$.label'), json_extract(metrics, '$.betweenness') FROM network_nodes
         WHERE json_extract(node, '$.kind') = 'person'
         ORDER BY json_extract(metrics, '$.betweenness') DESC, idx LIMIT ?1",
    )?;
    let rows = stmt.query_map([n as i64], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            r.get::<_, Option<f64>>(2)?.unwrap_or(0.0),
        ))
    })?;
    rows.collect()
}

/// A picture's GPS position, for the map.
#[derive(Clone, Debug)]
pub struct GpsPoint {
    pub item: i64,
    pub source: String,
    pub path: String,
    pub latitude: f64,
    pub longitude: f64,
    /// The active lead on the item, if any.
    pub lead: Option<String>,
}

/// Every GPS position the case's pictures carry (`image.gps`).
pub fn gps_points(conn: &Connection) -> rusqlite::Result<Vec<GpsPoint>> {
    let mut stmt = conn.prepare(
        "SELECT o.item_id, s.label, i.path, json_extract(o.value, '$.latitude'), json_extract(o.value, '$.longitude'),
                (SELECT l.id FROM leads l WHERE l.item_id = o.item_id AND l.active = 1)
         FROM observations o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id
         WHERE o.kind = 'image.gps' ORDER BY o.item_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Option<f64>>(3)?,
            r.get::<_, Option<f64>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (item, source, path, lat, lon, lead) = row?;
        if let (Some(latitude), Some(longitude)) = (lat, lon)
            && latitude.is_finite()
            && longitude.is_finite()
        {
            out.push(GpsPoint {
                item,
                source,
                path: crate::evidence::display_path(&path),
                latitude,
                longitude,
                lead,
            });
        }
    }
    Ok(out)
}

/// The places of interest of the last scan that had them (name, latitude, longitude, radius).
pub fn places_of_interest(conn: &Connection) -> rusqlite::Result<Vec<(String, f64, f64, f64)>> {
    let Some(text) = super::meta_get(conn, "places_of_interest")? else {
        return Ok(Vec::new());
    };
    let v: Value = from_text(0, &text)?;
    Ok(v["places"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["name"].as_str()?.to_string(),
                p["latitude"].as_f64()?,
                p["longitude"].as_f64()?,
                p["radius_m"].as_f64()?,
            ))
        })
        .collect())
}

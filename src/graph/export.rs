//! The network for other tools: GraphML (yEd, NetworkX, igraph), GEXF 1.3 with a time
//! interval per contact (Gephi's timeline), `neo4j-admin database import` CSV, and plain
//! node/edge CSV (i2 Analyst's Notebook's importer, spreadsheets).
//!
//! Every format carries the same attributes. Nodes: `label`, `kind`, `identifiers`,
//! `devices`, `degree`, `strength`, `betweenness` (unweighted, undirected, normalised as
//! NetworkX does), `pagerank`, `core`, `community` (Leiden), `constraint` (Burt's; empty for
//! a node without neighbours). Edges: `type`, `count`, `seconds`, `first`, `last`.
//! With a pseudonymisation key, every identifier, name and device label is replaced by a keyed
//! HMAC, so a
//! network can be shared without the numbers in it; the same key gives the same pseudonyms.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{Analysed, NodeKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    GraphMl,
    Gexf,
    Neo4j,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "graphml" => Ok(Format::GraphMl),
            "gexf" => Ok(Format::Gexf),
            "neo4j" => Ok(Format::Neo4j),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown graph format {other:?}: graphml, gexf, neo4j or csv"
            )),
        }
    }
}

/// Replaces identifiers and names by `p-` and 16 hex of HMAC-SHA256(key, text).
pub struct Pseudonyms {
    key: Vec<u8>,
}

impl Pseudonyms {
    pub fn from_file(path: &Path) -> Result<Pseudonyms, String> {
        let key = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if key.len() < 16 {
            return Err(format!(
                "{}: a pseudonymisation key needs at least 16 bytes (it has {})",
                path.display(),
                key.len()
            ));
        }
        Ok(Pseudonyms { key })
    }

    pub fn of(&self, text: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(text.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("p-{hex}")
    }
}

/// A node as every format writes it.
struct NodeRow {
    id: String,
    label: String,
    kind: &'static str,
    identifiers: String,
    devices: String,
    degree: usize,
    strength: f64,
    betweenness: f64,
    pagerank: f64,
    core: usize,
    community: usize,
    /// Empty for a node without neighbours (NaN in NetworkX and igraph).
    constraint: String,
}

struct EdgeRow {
    source: String,
    target: String,
    kind: &'static str,
    count: u64,
    seconds: f64,
    first: String,
    last: String,
    times: Vec<String>,
}

fn rows(analysed: &Analysed, pseudonyms: Option<&Pseudonyms>) -> (Vec<NodeRow>, Vec<EdgeRow>) {
    let hide = |s: &str| match pseudonyms {
        Some(p) => p.of(s),
        None => s.to_string(),
    };
    let network = &analysed.network;
    let nodes = network
        .nodes
        .iter()
        .zip(&analysed.metrics)
        .map(|(n, m)| NodeRow {
            id: hide(&n.key),
            label: hide(&n.label),
            kind: match n.kind {
                NodeKind::Person => "person",
                NodeKind::Group => "group",
            },
            identifiers: n
                .identifiers
                .iter()
                .map(|i| hide(i))
                .collect::<Vec<_>>()
                .join(" "),
            devices: n
                .devices
                .iter()
                .map(|d| hide(d))
                .collect::<Vec<_>>()
                .join(","),
            degree: m.degree,
            strength: m.strength,
            betweenness: m.betweenness,
            pagerank: m.pagerank,
            core: m.core,
            community: m.community,
            constraint: m.constraint.map_or(String::new(), |c| c.to_string()),
        })
        .collect();
    let edges = network
        .edges
        .iter()
        .map(|e| EdgeRow {
            source: hide(&network.nodes[e.from].key),
            target: hide(&network.nodes[e.to].key),
            kind: e.kind.as_str(),
            count: e.count,
            seconds: e.seconds,
            first: e.first.clone().unwrap_or_default(),
            last: e.last.clone().unwrap_or_default(),
            times: e.times.clone(),
        })
        .collect();
    (nodes, edges)
}

type Xml = Writer<std::io::BufWriter<std::fs::File>>;

fn xml_file(path: &Path) -> Result<Xml, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = Writer::new_with_indent(std::io::BufWriter::new(file), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(|e| e.to_string())?;
    Ok(w)
}

fn element(
    w: &mut Xml,
    name: &str,
    attributes: &[(&str, &str)],
    text: Option<&str>,
) -> Result<(), String> {
    let mut start = BytesStart::new(name);
    for (k, v) in attributes {
        start.push_attribute((*k, *v));
    }
    let io = |e: std::io::Error| e.to_string();
    match text {
        None => w.write_event(Event::Empty(start)).map_err(io),
        Some(t) => {
            w.write_event(Event::Start(start)).map_err(io)?;
            w.write_event(Event::Text(BytesText::new(t))).map_err(io)?;
            w.write_event(Event::End(BytesEnd::new(name))).map_err(io)
        }
    }
}

fn open(w: &mut Xml, name: &str, attributes: &[(&str, &str)]) -> Result<(), String> {
    let mut start = BytesStart::new(name);
    for (k, v) in attributes {
        start.push_attribute((*k, *v));
    }
    w.write_event(Event::Start(start))
        .map_err(|e| e.to_string())
}

fn close(w: &mut Xml, name: &str) -> Result<(), String> {
    w.write_event(Event::End(BytesEnd::new(name)))
        .map_err(|e| e.to_string())
}

const NODE_KEYS: [(&str, &str); 11] = [
    ("label", "string"),
    ("kind", "string"),
    ("identifiers", "string"),
    ("devices", "string"),
    ("degree", "int"),
    ("strength", "double"),
    ("betweenness", "double"),
    ("pagerank", "double"),
    ("core", "int"),
    ("community", "int"),
    ("constraint", "string"),
];
const EDGE_KEYS: [(&str, &str); 5] = [
    ("type", "string"),
    ("count", "long"),
    ("seconds", "double"),
    ("first", "string"),
    ("last", "string"),
];

fn node_values(n: &NodeRow) -> [String; 11] {
    [
        n.label.clone(),
        n.kind.to_string(),
        n.identifiers.clone(),
        n.devices.clone(),
        n.degree.to_string(),
        n.strength.to_string(),
        n.betweenness.to_string(),
        n.pagerank.to_string(),
        n.core.to_string(),
        n.community.to_string(),
        n.constraint.clone(),
    ]
}

fn edge_values(e: &EdgeRow) -> [String; 5] {
    [
        e.kind.to_string(),
        e.count.to_string(),
        e.seconds.to_string(),
        e.first.clone(),
        e.last.clone(),
    ]
}

fn graphml(path: &Path, nodes: &[NodeRow], edges: &[EdgeRow]) -> Result<(), String> {
    let mut w = xml_file(path)?;
    open(
        &mut w,
        "graphml",
        &[("xmlns", "http://graphml.graphdrawing.org/xmlns")],
    )?;
    for (name, ty) in NODE_KEYS {
        element(
            &mut w,
            "key",
            &[
                ("id", name),
                ("for", "node"),
                ("attr.name", name),
                ("attr.type", ty),
            ],
            None,
        )?;
    }
    for (name, ty) in EDGE_KEYS {
        let id = format!("e_{name}");
        element(
            &mut w,
            "key",
            &[
                ("id", &id),
                ("for", "edge"),
                ("attr.name", name),
                ("attr.type", ty),
            ],
            None,
        )?;
    }
    open(
        &mut w,
        "graph",
        &[("id", "spoor"), ("edgedefault", "directed")],
    )?;
    for n in nodes {
        open(&mut w, "node", &[("id", &n.id)])?;
        for ((key, _), value) in NODE_KEYS.iter().zip(node_values(n)) {
            element(&mut w, "data", &[("key", key)], Some(&value))?;
        }
        close(&mut w, "node")?;
    }
    for (i, e) in edges.iter().enumerate() {
        let id = format!("e{i}");
        open(
            &mut w,
            "edge",
            &[("id", &id), ("source", &e.source), ("target", &e.target)],
        )?;
        for ((key, _), value) in EDGE_KEYS.iter().zip(edge_values(e)) {
            let key = format!("e_{key}");
            element(&mut w, "data", &[("key", &key)], Some(&value))?;
        }
        close(&mut w, "edge")?;
    }
    close(&mut w, "graph")?;
    close(&mut w, "graphml")?;
    w.into_inner().flush().map_err(|e| e.to_string())
}

fn gexf_type(ty: &str) -> &str {
    match ty {
        "int" => "integer",
        other => other,
    }
}

/// GEXF's `<attributes class=…>` block, the ids counted from `first_id`.
fn declare_attributes(
    w: &mut Xml,
    class: &str,
    keys: &[(&str, &str)],
    first_id: usize,
) -> Result<(), String> {
    open(w, "attributes", &[("class", class), ("mode", "static")])?;
    for (i, (name, ty)) in keys.iter().enumerate() {
        let id = (first_id + i).to_string();
        element(
            w,
            "attribute",
            &[("id", &id), ("title", name), ("type", gexf_type(ty))],
            None,
        )?;
    }
    close(w, "attributes")
}

fn gexf(path: &Path, nodes: &[NodeRow], edges: &[EdgeRow]) -> Result<(), String> {
    let mut w = xml_file(path)?;
    open(
        &mut w,
        "gexf",
        &[("xmlns", "http://gexf.net/1.3"), ("version", "1.3")],
    )?;
    open(&mut w, "meta", &[])?;
    element(
        &mut w,
        "creator",
        &[],
        Some(&format!("spoor {}", crate::TOOL_VERSION)),
    )?;
    close(&mut w, "meta")?;
    open(
        &mut w,
        "graph",
        &[
            ("defaultedgetype", "directed"),
            ("mode", "dynamic"),
            ("timeformat", "datetime"),
        ],
    )?;
    // The label is the node's own attribute in GEXF, not a declared one.
    declare_attributes(&mut w, "node", &NODE_KEYS[1..], 1)?;
    declare_attributes(&mut w, "edge", &EDGE_KEYS, 0)?;
    open(&mut w, "nodes", &[])?;
    for n in nodes {
        open(&mut w, "node", &[("id", &n.id), ("label", &n.label)])?;
        open(&mut w, "attvalues", &[])?;
        for (i, value) in node_values(n).iter().enumerate().skip(1) {
            element(
                &mut w,
                "attvalue",
                &[("for", &i.to_string()), ("value", value)],
                None,
            )?;
        }
        close(&mut w, "attvalues")?;
        close(&mut w, "node")?;
    }
    close(&mut w, "nodes")?;
    open(&mut w, "edges", &[])?;
    for (i, e) in edges.iter().enumerate() {
        let id = format!("e{i}");
        let weight = e.count.to_string();
        open(
            &mut w,
            "edge",
            &[
                ("id", &id),
                ("source", &e.source),
                ("target", &e.target),
                ("label", e.kind),
                ("weight", &weight),
            ],
        )?;
        open(&mut w, "attvalues", &[])?;
        for (j, value) in edge_values(e).iter().enumerate() {
            element(
                &mut w,
                "attvalue",
                &[("for", &j.to_string()), ("value", value)],
                None,
            )?;
        }
        close(&mut w, "attvalues")?;
        // One instant per contact, so Gephi's timeline shows when each tie was active.
        if !e.times.is_empty() {
            open(&mut w, "spells", &[])?;
            for t in &e.times {
                let t = t.trim_end_matches('Z');
                element(&mut w, "spell", &[("start", t), ("end", t)], None)?;
            }
            close(&mut w, "spells")?;
        }
        close(&mut w, "edge")?;
    }
    close(&mut w, "edges")?;
    close(&mut w, "graph")?;
    close(&mut w, "gexf")?;
    w.into_inner().flush().map_err(|e| e.to_string())
}

fn csv_file(path: &Path) -> Result<csv::Writer<std::fs::File>, String> {
    csv::Writer::from_path(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn plain_csv(
    dir: &Path,
    nodes: &[NodeRow],
    edges: &[EdgeRow],
    neo4j: bool,
) -> Result<Vec<PathBuf>, String> {
    let err = |e: csv::Error| e.to_string();
    let (node_path, edge_path) = if neo4j {
        (
            dir.join("nodes.neo4j.csv"),
            dir.join("relationships.neo4j.csv"),
        )
    } else {
        (dir.join("nodes.csv"), dir.join("edges.csv"))
    };
    let mut w = csv_file(&node_path)?;
    let mut header: Vec<String> = if neo4j {
        vec!["id:ID".into()]
    } else {
        vec!["id".into()]
    };
    header.extend(NODE_KEYS.iter().map(|(name, ty)| match (neo4j, *ty) {
        (true, "int") => format!("{name}:long"),
        (true, "double") => format!("{name}:double"),
        _ => name.to_string(),
    }));
    if neo4j {
        header.push(":LABEL".into());
    }
    w.write_record(&header).map_err(err)?;
    for n in nodes {
        let mut row = vec![n.id.clone()];
        row.extend(node_values(n));
        if neo4j {
            row.push(if n.kind == "group" {
                "Group".into()
            } else {
                "Person".into()
            });
        }
        w.write_record(&row).map_err(err)?;
    }
    w.flush().map_err(|e| e.to_string())?;
    let mut w = csv_file(&edge_path)?;
    let header: Vec<String> = if neo4j {
        vec![
            ":START_ID",
            ":END_ID",
            ":TYPE",
            "count:long",
            "seconds:double",
            "first",
            "last",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    } else {
        vec![
            "source", "target", "type", "count", "seconds", "first", "last",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    };
    w.write_record(&header).map_err(err)?;
    for e in edges {
        let kind = if neo4j {
            e.kind.to_uppercase().replace('-', "_")
        } else {
            e.kind.to_string()
        };
        w.write_record([
            e.source.clone(),
            e.target.clone(),
            kind,
            e.count.to_string(),
            e.seconds.to_string(),
            e.first.clone(),
            e.last.clone(),
        ])
        .map_err(err)?;
    }
    w.flush().map_err(|e| e.to_string())?;
    Ok(vec![node_path, edge_path])
}

/// Writes the network in `format` into `dir`; returns the files written.
pub fn write(
    analysed: &Analysed,
    format: Format,
    dir: &Path,
    pseudonyms: Option<&Pseudonyms>,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (nodes, edges) = rows(analysed, pseudonyms);
    match format {
        Format::GraphMl => {
            let path = dir.join("network.graphml");
            graphml(&path, &nodes, &edges)?;
            Ok(vec![path])
        }
        Format::Gexf => {
            let path = dir.join("network.gexf");
            gexf(&path, &nodes, &edges)?;
            Ok(vec![path])
        }
        Format::Neo4j => plain_csv(dir, &nodes, &edges, true),
        Format::Csv => plain_csv(dir, &nodes, &edges, false),
    }
}

/// The action `spoor graph export` performs (the CLI now, the web UI later): writes the
/// network and records in the audit log who wrote which files, with their SHA-256, and
/// whether they were pseudonymised.
pub fn export_and_record(
    conn: &rusqlite::Connection,
    analysed: &Analysed,
    format: Format,
    dir: &Path,
    pseudonyms: Option<&Pseudonyms>,
    actor: &str,
) -> Result<Vec<PathBuf>, String> {
    let files = write(analysed, format, dir, pseudonyms)?;
    let mut listed = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        listed.push(serde_json::json!({
            "path": f.to_string_lossy(), "sha256": crate::store::audit::digest_hex(&bytes),
        }));
    }
    crate::store::audit::append(
        conn,
        actor,
        "graph-export",
        &serde_json::json!({
            "format": format!("{format:?}").to_lowercase(), "files": listed,
            "pseudonymised": pseudonyms.is_some(),
            "nodes": analysed.network.nodes.len(), "edges": analysed.network.edges.len(),
        }),
    )
    .map_err(|e| format!("case store: {e}"))?;
    Ok(files)
}

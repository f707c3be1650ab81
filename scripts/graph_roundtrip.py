#!/usr/bin/env python3
"""Round trip of `spoor graph export`: every format read back by another tool and compared
with `spoor graph CASE --json` (the network spoor computed).

  graph_roundtrip.py SPOOR_BINARY CASE_DIR OUT_DIR

GraphML is read with NetworkX (`read_graphml`), the CSV and neo4j CSV with the csv module
and loaded into NetworkX, GEXF 1.3 with ElementTree (NetworkX reads GEXF only up to 1.2).
Checked for each: the same nodes, the same edges (source, target, type, count, seconds,
first, last), and the node attributes label, degree, strength, betweenness, pagerank, core, community,
constraint.
Then a pseudonymised export: no identifier or name of the network appears in it, and the
same key gives the same file. Exit 1 at the first difference.
"""
import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx

spoor, case, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])


def run(*args):
    p = subprocess.run([spoor, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))}: exit {p.returncode}\n{p.stderr}")
    return p.stdout


truth = json.loads(run("graph", case, "--json"))
nodes = truth["network"]["nodes"]
metrics = truth["metrics"]
keys = [n["key"] for n in nodes]
want_nodes = {
    n["key"]: {"label": n["label"], "degree": m["degree"], "strength": m["strength"],
               "betweenness": m["betweenness"], "pagerank": m["pagerank"], "core": m["core"],
               "community": m["community"],
               "constraint": "" if m["constraint"] is None else m["constraint"]}
    for n, m in zip(nodes, metrics)
}
want_edges = sorted(
    (keys[e["from"]], keys[e["to"]], e["kind"], e["count"], e["seconds"], e["first"] or "", e["last"] or "")
    for e in truth["network"]["edges"]
)
if not want_edges:
    sys.exit("the case has no edges: nothing to compare")


def fail(what, got, want):
    sys.exit(f"graph round trip: {what}\n got:  {got}\n want: {want}")


def compare(fmt, got_nodes, got_edges):
    if set(got_nodes) != set(want_nodes):
        fail(f"{fmt}: nodes", sorted(got_nodes)[:5], sorted(want_nodes)[:5])
    for k, w in want_nodes.items():
        g = got_nodes[k]
        if (g.get("constraint") in ("", None)) != (w["constraint"] == ""):
            fail(f"{fmt}: {k} constraint", g.get("constraint"), w["constraint"])
        if w["constraint"] != "" and abs(float(g["constraint"]) - w["constraint"]) > 1e-12:
            fail(f"{fmt}: {k} constraint", g["constraint"], w["constraint"])
        for a in ("label", "degree", "core", "community"):
            if str(g[a]) != str(w[a]):
                fail(f"{fmt}: {k} {a}", g[a], w[a])
        for a in ("strength", "betweenness", "pagerank"):
            if abs(float(g[a]) - float(w[a])) > 1e-12:
                fail(f"{fmt}: {k} {a}", g[a], w[a])
    got_edges = sorted(got_edges)
    if got_edges != want_edges:
        fail(f"{fmt}: edges", got_edges[:3], want_edges[:3])
    print(f"graph round trip: {fmt}: {len(got_nodes)} nodes and {len(got_edges)} edges equal")


def export(fmt, dest, *extra):
    run("graph", "export", case, "--format", fmt, "--out", dest, "--by", "roundtrip", *extra)


# GraphML through NetworkX.
export("graphml", out / "graphml")
g = nx.read_graphml(out / "graphml" / "network.graphml", force_multigraph=True)
compare("graphml", {v: d for v, d in g.nodes(data=True)},
        [(a, b, d["type"], int(d["count"]), float(d["seconds"]), d.get("first", ""), d.get("last", ""))
         for a, b, d in g.edges(data=True)])

# Plain CSV and neo4j CSV through the csv module into NetworkX.
for fmt, nodes_file, edges_file, cols in [
    ("csv", "nodes.csv", "edges.csv", ("id", "source", "target", "type", "count", "seconds")),
    ("neo4j", "nodes.neo4j.csv", "relationships.neo4j.csv",
     ("id:ID", ":START_ID", ":END_ID", ":TYPE", "count:long", "seconds:double")),
]:
    export(fmt, out / fmt)
    with open(out / fmt / nodes_file, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    strip = lambda r: {k.split(":")[0]: v for k, v in r.items()}
    got_nodes = {r[cols[0]]: strip(r) for r in rows}
    with open(out / fmt / edges_file, newline="", encoding="utf-8") as f:
        erows = list(csv.DictReader(f))
    h = nx.MultiDiGraph()
    h.add_nodes_from(got_nodes)
    for r in erows:
        kind = r[cols[3]].lower().replace("_", "-") if fmt == "neo4j" else r[cols[3]]
        h.add_edge(r[cols[1]], r[cols[2]], type=kind, count=int(r[cols[4]]),
                   seconds=float(r[cols[5]]), first=r["first"], last=r["last"])
    compare(fmt, got_nodes, [(a, b, d["type"], d["count"], d["seconds"], d["first"], d["last"])
                             for a, b, d in h.edges(data=True)])

# GEXF 1.3 with ElementTree: attributes by title, and one spell per contact time.
export("gexf", out / "gexf")
ns = {"g": "http://gexf.net/1.3"}
root = ET.parse(out / "gexf" / "network.gexf").getroot()
if root.get("version") != "1.3":
    fail("gexf version", root.get("version"), "1.3")
titles = {}
for attrs in root.iter("{http://gexf.net/1.3}attributes"):
    for a in attrs.findall("g:attribute", ns):
        titles[(attrs.get("class"), a.get("id"))] = a.get("title")
got_nodes = {}
for n in root.iter("{http://gexf.net/1.3}node"):
    d = {titles[("node", v.get("for"))]: v.get("value") for v in n.iter("{http://gexf.net/1.3}attvalue")}
    d["label"] = n.get("label")
    got_nodes[n.get("id")] = d
got_edges = []
spells = 0
for e in root.iter("{http://gexf.net/1.3}edge"):
    d = {titles[("edge", v.get("for"))]: v.get("value") for v in e.iter("{http://gexf.net/1.3}attvalue")}
    spells += len(list(e.iter("{http://gexf.net/1.3}spell")))
    got_edges.append((e.get("source"), e.get("target"), d["type"], int(d["count"]), float(d["seconds"]),
                      d["first"], d["last"]))
compare("gexf", got_nodes, got_edges)
timed = sum(len(e["times"]) for e in truth["network"]["edges"])
if spells != timed:
    fail("gexf spells (one per timed contact)", spells, timed)

# Pseudonymised: no identifier or name left, and the same key gives the same file.
key = out / "key"
key.write_bytes(b"0123456789abcdef-roundtrip-key")
export("csv", out / "p1", "--pseudonymize", key)
export("csv", out / "p2", "--pseudonymize", key)
text = (out / "p1" / "nodes.csv").read_text() + (out / "p1" / "edges.csv").read_text()
if text != (out / "p2" / "nodes.csv").read_text() + (out / "p2" / "edges.csv").read_text():
    sys.exit("graph round trip: the same key gave different pseudonyms")
for n in nodes:
    for secret in [*n["identifiers"], *n["names"], n["label"]]:
        value = secret.split(":", 1)[-1].split("@")[0] if ":" in secret else secret
        if len(value) >= 3 and value in text:
            fail("pseudonymised export still holds", value, "nothing")
print("graph round trip: pseudonymised export holds no identifier or name; same key, same file")

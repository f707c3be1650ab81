#!/usr/bin/env python3
"""Expected network metrics for tests/graph.rs, computed by NetworkX (pinned below).

  python3 -m venv /tmp/nx && /tmp/nx/bin/pip install networkx==3.4.2 numpy scipy igraph==1.0.0 leidenalg==0.12.0
  /tmp/nx/bin/python scripts/graph-reference.py > tests/data/networks/expected.json

Each `*_edges.csv` of tests/data/networks (from, to[, weight]) is read as an undirected graph,
repeated pairs' weights summed, self-loops dropped, and only the people with at least one tie
(spoor's input path, call records, cannot carry a person with none). People are named
p0, p1, ... in sorted order of their names in the file, as tests/graph.rs writes them into
CDR files. For every node: degree, strength (weighted degree), betweenness (unweighted,
normalised; and weighted, an edge's length 1 / its weight), closeness (Wasserman-Faust, unweighted), harmonic, PageRank (weighted,
alpha 0.85, run to tol 1e-13 so the reference itself is exact to far below the test's 1e-6),
core number, eigenvector centrality, effective size and articulation points (NetworkX),
Burt's constraint (igraph); the modularity leidenalg's Leiden reaches; the bridges, the number of connected components and the global efficiency; and the same
figures with the two people of highest betweenness removed (`spoor graph disrupt`).
"""
import csv
import json
import sys
from pathlib import Path

import igraph
import leidenalg
import networkx as nx

assert nx.__version__ == "3.4.2", nx.__version__
assert igraph.__version__ == "1.0.0", igraph.__version__
assert leidenalg.__version__ == "0.12.0", leidenalg.__version__
DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "networks"


def load(path):
    g = nx.Graph()
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = sorted({r["from"] for r in rows} | {r["to"] for r in rows})
    token = {n: f"p{i}" for i, n in enumerate(names)}
    for r in rows:
        a, b = token[r["from"]], token[r["to"]]
        if a == b:
            continue
        w = float(r.get("weight") or 1)
        if g.has_edge(a, b):
            g[a][b]["weight"] += w
        else:
            g.add_edge(a, b, weight=w)
    return g


out = {"networkx": nx.__version__, "igraph": igraph.__version__, "leidenalg": leidenalg.__version__, "networks": {}}
for path in sorted(DIR.glob("*_edges.csv")):
    g = load(path)
    bc = nx.betweenness_centrality(g, normalized=True)
    # Weighted: an edge's length is 1 / its weight (more contacts, a closer tie).
    for a, b in g.edges:
        g[a][b]["distance"] = 1.0 / g[a][b]["weight"]
    wbc = nx.betweenness_centrality(g, normalized=True, weight="distance")
    cl = nx.closeness_centrality(g)
    hc = nx.harmonic_centrality(g)
    pr = nx.pagerank(g, alpha=0.85, weight="weight", tol=1e-13, max_iter=100000)
    core = nx.core_number(g)
    ev = nx.eigenvector_centrality(g, tol=1e-13, max_iter=100000)
    eff = nx.effective_size(g)
    articulation = set(nx.articulation_points(g))
    # Burt's constraint from igraph (unweighted), on the same graph.
    order = sorted(g.nodes)
    ig = igraph.Graph(n=len(order), edges=[(order.index(a), order.index(b)) for a, b in g.edges])
    burt = dict(zip(order, ig.constraint()))
    # Leiden (leidenalg) on the weighted graph, until stable, for the modularity to beat.
    weights = [g[a][b]["weight"] for a, b in g.edges]
    leiden = leidenalg.find_partition(ig, leidenalg.ModularityVertexPartition, weights=weights,
                                      n_iterations=-1, seed=1)
    nodes = {}
    for v in sorted(g.nodes):
        nodes[v] = {
            "degree": g.degree(v),
            "strength": g.degree(v, weight="weight"),
            "betweenness": bc[v],
            "weighted_betweenness": wbc[v],
            "closeness": cl[v],
            "harmonic": hc[v],
            "pagerank": pr[v],
            "core": core[v],
            "eigenvector": ev[v],
            "constraint": burt[v],
            "effective_size": eff[v],
            "articulation_point": v in articulation,
        }
    # Disruption: the two people of highest betweenness (ties by name) taken out.
    top = sorted(g.nodes, key=lambda v: (-bc[v], v))[:2]
    h = g.copy()
    h.remove_nodes_from(top)
    largest = max((len(c) for c in nx.connected_components(h)), default=0)
    out["networks"][path.name.removesuffix("_edges.csv")] = {
        "nodes": nodes,
        "edges": g.number_of_edges(),
        "components": nx.number_connected_components(g),
        "efficiency": nx.global_efficiency(g),
        "bridges": sorted(sorted(e) for e in nx.bridges(g)),
        "leidenalg_modularity": ig.modularity(leiden.membership, weights=weights),
        "disrupt": {
            "removed": top,
            "components": nx.number_connected_components(h),
            "largest_component": largest,
            "efficiency": nx.global_efficiency(h),
        },
    }
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()

#!/usr/bin/env bash
# Network stages, spoor against python-igraph, NetworKit and NetworkX on the same graphs in one
# run (docs/graph.md; BENCHMARKS.md has the figures):
#   (a) the largest covert network at hand (the DNC e-mail network from ../shared/data when it
#       is beside the checkout, else Caviar from tests/data/networks),
#   (b) a synthetic case of 20,000 people and 200,000 contacts,
#   (c) 100,000 people and 1,000,000 contacts (no exact betweenness: hours for everyone).
# Stages: graph build from records (spoor only: the peers get the built edge list), exact
# betweenness on (a) and (b), weighted betweenness on (a) (length 1/weight), sampled
# betweenness (the same pivots count for spoor and NetworKit's EstimateBetweenness) on (b),
# with its error against the exact figures, and on (c), PageRank, k-core, Leiden, 100
# time-respecting paths (spoor only: no peer has them). NetworkX only on (a) (it needs hours
# on (b)). Prints seconds, the ratios, the largest difference of betweenness and PageRank
# against igraph, and each modularity.
#
#   BENCH_DIR=/tmp/bench scripts/bench-graph.sh [a|b|c ...]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${BENCH_DIR:-.bench}
VENV=$WORK/venv-graph
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q igraph==1.0.0 networkit==11.3 networkx==3.4.2 leidenalg==0.12.0
fi
cargo build --release --quiet --example graph_rate
RATE=target/release/examples/graph_rate
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(a b c)
for c in "${cases[@]}"; do
  case $c in
    a) dnc=../shared/data/networks/networkdata/csv/dnc_temporalGraph_edges.csv
       if [ -f "$dnc" ]; then src=(--edges "$dnc"); name="DNC e-mail (1,891 people)"
       else src=(--edges tests/data/networks/covert_10__1_edges.csv); name="Caviar (110 people)"; fi
       args=(0 0 1 "$WORK/graph-a.edges" --exact-betweenness --weighted "${src[@]}"); nx=1 ;;
    b) name="synthetic 20,000 / 200,000"; args=(20000 200000 7 "$WORK/graph-b.edges" --exact-betweenness --sampled 1000); nx=0 ;;
    c) name="synthetic 100,000 / 1,000,000"; args=(100000 1000000 11 "$WORK/graph-c.edges" --sampled 1000); nx=0 ;;
    *) echo "unknown case $c (a, b or c)" >&2; exit 1 ;;
  esac
  echo "== ($c) $name"
  spoor_json=$(/usr/bin/time -f '%M' -o "$WORK/graph-rss" "$RATE" "${args[@]}")
  echo "spoor: $spoor_json (peak RSS $(( $(cat "$WORK/graph-rss") / 1024 )) MB)"
  "$VENV/bin/python" - "$WORK/graph-$c.edges" "$spoor_json" "$nx" <<'PY'
import json, sys, time
import igraph, networkit as nk, networkx as nx, leidenalg
edges_file, spoor, with_nx = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "1"
n = spoor["nodes"]
edges, weights = [], []
for line in open(edges_file):
    a, b, w = line.split()
    edges.append((int(a), int(b))); weights.append(float(w))
exact = "betweenness" in spoor
def timed(f):
    t = time.perf_counter(); r = f(); return time.perf_counter() - t, r
rows = []
g = igraph.Graph(n=n, edges=edges); g.es["weight"] = weights
nk.setNumberOfThreads(2)
kg = nk.Graph(n, weighted=True)
for (a, b), w in zip(edges, weights): kg.addEdge(a, b, w)
ku = nk.Graph(n)
for a, b in edges: ku.addEdge(a, b)
values = {}
if exact:
    t, b = timed(lambda: g.betweenness(directed=False))
    scale = 2.0 / ((n - 1) * (n - 2)) if n > 2 else 1.0
    values["igraph_b"] = [x * scale for x in b]
    rows.append(("betweenness", "igraph", t))
    t, _ = timed(lambda: nk.centrality.Betweenness(ku, normalized=True).run())
    rows.append(("betweenness", "networkit", t))
if "weighted_betweenness" in spoor:
    lengths = [1.0 / w for w in weights]
    t, wb = timed(lambda: g.betweenness(directed=False, weights=lengths))
    scale = 2.0 / ((n - 1) * (n - 2)) if n > 2 else 1.0
    values["igraph_wb"] = [x * scale for x in wb]
    rows.append(("weighted_betweenness", "igraph", t))
    kw = nk.Graph(n, weighted=True)
    for (a, b), w in zip(edges, lengths): kw.addEdge(a, b, w)
    t, _ = timed(lambda: nk.centrality.Betweenness(kw, normalized=True).run())
    rows.append(("weighted_betweenness", "networkit", t))
if "sampled" in spoor:
    k = spoor["sampled_pivots"]
    t, _ = timed(lambda: nk.centrality.EstimateBetweenness(ku, k, normalized=True, parallel=True).run())
    rows.append(("sampled", "networkit", t))
t, pr = timed(lambda: g.pagerank(weights="weight", damping=0.85)); values["igraph_pr"] = pr
rows.append(("pagerank", "igraph", t))
t, _ = timed(lambda: nk.centrality.PageRank(kg, damp=0.85, tol=1e-10).run()); rows.append(("pagerank", "networkit", t))
t, _ = timed(lambda: g.coreness()); rows.append(("core", "igraph", t))
t, _ = timed(lambda: nk.centrality.CoreDecomposition(ku).run()); rows.append(("core", "networkit", t))
t, part = timed(lambda: leidenalg.find_partition(g, leidenalg.ModularityVertexPartition, weights="weight", n_iterations=-1, seed=1))
rows.append(("leiden", "leidenalg", t)); mod = {"leidenalg": g.modularity(part.membership, weights="weight")}
t, cl = timed(lambda: g.community_leiden(objective_function="modularity", weights="weight", n_iterations=-1))
rows.append(("leiden", "igraph", t)); mod["igraph"] = g.modularity(cl.membership, weights="weight")
def nk_leiden():
    p = nk.community.ParallelLeiden(kg); p.run(); return p.getPartition()
t, kp = timed(nk_leiden); rows.append(("leiden", "networkit", t)); mod["networkit"] = nk.community.Modularity().getQuality(kp, kg)
if with_nx:
    h = nx.Graph(); h.add_nodes_from(range(n))
    for (a, b), w in zip(edges, weights): h.add_edge(a, b, weight=w)
    t, _ = timed(lambda: nx.betweenness_centrality(h)); rows.append(("betweenness", "networkx", t))
    t, _ = timed(lambda: nx.pagerank(h, weight="weight")); rows.append(("pagerank", "networkx", t))
    t, _ = timed(lambda: nx.core_number(h)); rows.append(("core", "networkx", t))
    t, _ = timed(lambda: nx.community.louvain_communities(h, weight="weight", seed=1)); rows.append(("leiden", "networkx (louvain)", t))
for stage, peer, t in rows:
    s = spoor.get(stage)
    ratio = f"{t / s:.2f}x" if s else "-"
    print(f"  {stage:<12} {peer:<19} {t:9.3f} s   spoor {s:9.3f} s   spoor is {ratio} as fast")
print(f"  modularity: spoor {spoor['modularity']:.4f}, " + ", ".join(f"{k} {v:.4f}" for k, v in mod.items()))
nk3 = next(t for stage, peer, t in rows if stage == "leiden" and peer == "networkit")
print(f"  leiden, 3 runs as NetworKit's default: spoor {spoor['leiden_3']:.3f} s (modularity {spoor['modularity_3']:.4f}), networkit {nk3:.3f} s: spoor is {nk3 / spoor['leiden_3']:.2f}x as fast")
print(f"  spoor only: build {spoor['build']:.3f} s, 100 time-respecting paths {spoor['temporal_100']:.3f} s")
if exact:
    mine = {}
    for line in open(edges_file + ".values"):
        v, b, p = line.split(); mine[int(v)] = (float(b), float(p))
    db = max(abs(mine[v][0] - values["igraph_b"][v]) for v in range(n))
    dp = max(abs(mine[v][1] - values["igraph_pr"][v]) for v in range(n))
    print(f"  largest difference from igraph: betweenness {db:.2e}, pagerank {dp:.2e}")
if "igraph_wb" in values:
    mine = {int(v): float(x) for v, x in (line.split() for line in open(edges_file + ".weighted"))}
    dw = max(abs(mine[v] - values["igraph_wb"][v]) for v in range(n))
    print(f"  weighted betweenness: largest difference from igraph {dw:.2e}")
if "sampled" in spoor:
    line = f"  sampled betweenness: {spoor['sampled_pivots']} pivots, stated bound ±{spoor['sampled_bound']:.4f} (95 %)"
    if "sampled_worst_error" in spoor:
        line += f"; against exact: worst error {spoor['sampled_worst_error']:.2e}, mean {spoor['sampled_mean_error']:.2e}, top-10 brokers kept {spoor['sampled_top10_kept']}/10"
    print(line)
PY
done

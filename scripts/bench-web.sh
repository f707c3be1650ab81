#!/usr/bin/env bash
# Server time of the review UI (`spoor serve`) on a large case, in one run: stores a synthetic
# network of 100,000 people and 1,000,000 calls and messages in a fresh case (the generator of
# scripts/bench-graph.sh, case c), adds 100,000 leads, and times queue pages, a lead and
# neighbourhoods of depth 1-3 through HTTP on loopback (median and worst of 20 requests), and
# the lead page's first contentful paint in headless Chromium (when chromium and chromedriver
# are installed).
# Goal of issue 15: under 100 ms each.
#
#   scripts/bench-web.sh [PEOPLE CONTACTS LEADS]
set -euo pipefail
cd "$(dirname "$0")/.."
people=${1:-100000}; contacts=${2:-1000000}; leads=${3:-100000}
cargo build --release --quiet --example graph_rate --example web_rate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/examples/graph_rate "$people" "$contacts" 11 "$work/edges" --save-case "$work/case"
/usr/bin/time -f 'peak RSS of the server and the client: %M KB' -o "$work/rss" \
  target/release/examples/web_rate "$work/case" "$leads" > "$work/times.json"
python3 - "$work/times.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r.pop('leads')} leads stored in {r.pop('store_leads_s'):.1f} s")
for name, t in r.items():
    print(f"  {name:<36} median {t['median_ms']:7.1f} ms   worst {t['worst_ms']:7.1f} ms")
PY
cat "$work/rss"

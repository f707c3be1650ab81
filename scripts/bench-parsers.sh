#!/usr/bin/env bash
# Parser throughput, side by side in one go, on fixtures scaled up (examples/parser_rate):
#   WhatsApp .txt  spoor vs chat-miner 0.6.0 (Python, PyPI `chat-miner`: WhatsAppParser.parse_file),
#                  the same file, and their record counts side by side
#   SMS Backup & Restore XML, mbox   spoor alone (records/s and MB/s)
#
#   scripts/bench-parsers.sh                 20 MB of each
#   BENCH_MB=50 scripts/bench-parsers.sh
# Needs the fixtures of tests/data/comms (in the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${BENCH_MB:-20}
WORK=${BENCH_DIR:-.bench}/parsers
VENV=${BENCH_DIR:-.bench}/venv-parsers
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  # chat-miner's parser module needs only these; its plotting dependencies are left out.
  "$VENV/bin/pip" install -q --no-deps chat-miner==0.6.0
  "$VENV/bin/pip" install -q pandas polars python-dateutil tqdm
fi
cargo build --release --quiet --example parser_rate
BIN=target/release/examples/parser_rate
$BIN scale whatsapp tests/data/comms/whatsapp/test_dateformat1.txt "$MB" "$WORK/chat.txt"
$BIN scale smsbackup tests/data/comms/smsbackup/mixed.xml "$MB" "$WORK/sms.xml"
$BIN scale mbox tests/data/comms/email/maildir "$MB" "$WORK/mail.mbox"
for f in chat.txt sms.xml mail.mbox; do cat "$WORK/$f" > /dev/null; done

read -r S_SEC S_REC S_MBS S_RPS _ <<< "$($BIN parse whatsapp "$WORK/chat.txt")"
cat > "$WORK/chat_miner_ref.py" <<'PY'
import logging, sys, time
logging.disable(logging.CRITICAL)
from chatminer.chatparsers import WhatsAppParser
t = time.time()
p = WhatsAppParser(sys.argv[1])
p.parse_file()
n = len(p.parsed_messages._parsed_messages)
print(f"{time.time() - t:.3f} {n}")
PY
read -r P_SEC P_REC <<< "$("$VENV/bin/python" "$WORK/chat_miner_ref.py" "$WORK/chat.txt" 2>/dev/null | tail -1)"
SIZE=$(stat -c %s "$WORK/chat.txt")
echo "WhatsApp .txt, $((SIZE >> 20)) MiB ($(nproc) cores; both parse on one):"
echo "  spoor       $S_SEC s, $S_REC records, $S_MBS MB/s, $S_RPS records/s"
python3 - "$SIZE" "$P_SEC" "$P_REC" "$S_SEC" <<'PY'
import sys
size, p_sec, p_rec, s_sec = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
print(f"  chat-miner  {p_sec:.3f} s, {p_rec} records, {size / 1e6 / p_sec:.1f} MB/s, {p_rec / p_sec:.0f} records/s")
print(f"  -> spoor is {p_sec / s_sec:.1f}x chat-miner (MB/s; the counts differ because chat-miner drops")
print("     system messages and '.' (disappearing) messages: 6 of the fixture's 10, spoor keeps all 10)")
PY
for f in "smsbackup sms.xml" "mbox mail.mbox"; do
  set -- $f
  read -r SEC REC MBS RPS DMG <<< "$($BIN parse "$1" "$WORK/$2")"
  echo "$1, $(( $(stat -c %s "$WORK/$2") >> 20 )) MiB: spoor $SEC s, $REC records, $MBS MB/s, $RPS records/s ($DMG)"
done

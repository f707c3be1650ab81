#!/usr/bin/env bash
# Digest throughput: spoor scan vs hashdeep -c md5,sha1,sha256 -r on the same tree, in one go.
#
#   scripts/bench-hash.sh            ~2 GB tree (100,000 small files + 8 large ones)
#   BENCH_GB=0.5 scripts/bench-hash.sh
#   BENCH_RSS_FILES=200000 scripts/bench-hash.sh   also peak RSS of a scan of that many small files
#
# Warm cache: each tool reads the tree once before it is timed, so both hash from the page
# cache and the figure is the hashing pipeline, not the disk. Prints both times, the ratio,
# and the hash-limited bound: OpenSSL's single-core MD5, SHA-1 and SHA-256 rates (`openssl
# speed`, measured in this run) combined for one pass, times the cores.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v hashdeep >/dev/null || { echo "hashdeep missing: apt-get install hashdeep" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 1; }
cargo build --release --quiet --bin spoor --example digest_rate --example digest_floor
SPOOR=target/release/spoor
WORK=${BENCH_DIR:-.bench}
GB=${BENCH_GB:-2}
TREE=$WORK/tree-$GB
mkdir -p "$WORK"

if [ ! -d "$TREE" ]; then
  echo "generating $TREE (~$GB GB)" >&2
  python3 - "$TREE" "$GB" <<'PY'
import os, sys, random
root, gb = sys.argv[1], float(sys.argv[2])
rng = random.Random(1234)
small_total = int(gb * 0.5e9); large_total = int(gb * 0.5e9)
n_small = 100_000 if gb >= 2 else int(100_000 * gb / 2)
avg = max(1, small_total // n_small)
for i in range(n_small):
    d = os.path.join(root, "small", f"{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    size = rng.randint(avg // 4, avg * 7 // 4)
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(rng.randbytes(size))
os.makedirs(os.path.join(root, "large"), exist_ok=True)
block = rng.randbytes(1 << 20)
for i in range(8):
    with open(os.path.join(root, "large", f"big{i}.img"), "wb") as f:
        for j in range(large_total // 8 // (1 << 20)):
            f.write(block[j % 997:] + block[:j % 997])
PY
fi
BYTES=$(du -sb "$TREE" | cut -f1)
FILES=$(find "$TREE" -type f | wc -l)
CORES=$(nproc)

# Warm the page cache right before each timed reader. Right before, not once for all: some
# machines reclaim page-cache pages untouched for a minute (a virtual machine's DAMON
# "pageout" scheme, /sys/kernel/mm/damon), and a scan of the small files started a few minutes
# after a warm-up then ran 2.6x slower than one started at once.
warm() { find "$TREE" -type f -print0 | xargs -0 cat >/dev/null; }

rm -rf "$WORK/case"
warm
t0=$(date +%s.%N)
$SPOOR scan "$TREE" --case "$WORK/case" --examiner bench --quiet
t1=$(date +%s.%N)
warm
t2=$(date +%s.%N)
hashdeep -c md5,sha1,sha256 -r "$TREE" >"$WORK/hashdeep.txt"
t3=$(date +%s.%N)

# Same digests? Compare (path, md5, sha1, sha256) sets.
$SPOOR export "$WORK/case" --kind items | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["kind"] == "file": print(r["path"], r["md5"], r["sha1"], r["sha256"])' | sort >"$WORK/spoor.sorted"
python3 - "$TREE" "$WORK/hashdeep.txt" <<'PY' | sort >"$WORK/hashdeep.sorted"
import sys, os
root = os.path.abspath(sys.argv[1]) + "/"
for line in open(sys.argv[2]):
    if line.startswith(("%", "#")): continue
    size, md5, sha1, sha256, name = line.rstrip("\n").split(",", 4)
    print(os.path.abspath(name)[len(root):], md5, sha1, sha256)
PY
if cmp -s "$WORK/spoor.sorted" "$WORK/hashdeep.sorted"; then AGREE="yes ($FILES files)"; else AGREE="NO: diff $WORK/spoor.sorted $WORK/hashdeep.sorted"; fi

# The bound: OpenSSL's single-core rate for each digest (openssl speed, 1 MiB blocks, this
# run, this machine), the three in one pass (1 / sum of 1/rate), times the cores.
command -v openssl >/dev/null || { echo "openssl missing: apt-get install openssl" >&2; exit 1; }
speed() { openssl speed -seconds 2 -bytes 1048576 -evp "$1" 2>/dev/null | awk -v a="$1" '$1 == a { sub(/k$/, "", $2); print $2 / 1000 }'; }
MD5=$(speed md5); SHA1=$(speed sha1); SHA256=$(speed sha256)
OWN=$(target/release/examples/digest_rate 512)
# The least a digest pass over this tree costs here: open, read to the end and close every
# file on every core, without hashing and then with it (examples/digest_floor).
warm
read -r FLOOR_READ FLOOR_HASH < <(target/release/examples/digest_floor "$TREE")
python3 - "$BYTES" "$t0" "$t1" "$t2" "$t3" "$MD5" "$SHA1" "$SHA256" "$OWN" "$CORES" "$AGREE" "$FLOOR_READ" "$FLOOR_HASH" <<'PY'
import sys
b, t0, t1, t2, t3, md5, sha1, sha256, own = int(sys.argv[1]), *map(float, sys.argv[2:10])
cores, agree = int(sys.argv[10]), sys.argv[11]
floor_read, floor_hash = float(sys.argv[12]), float(sys.argv[13])
rate = 1 / (1 / md5 + 1 / sha1 + 1 / sha256)
s, h = t1 - t0, t3 - t2
mb = b / 1e6
print(f"tree: {mb:.0f} MB, warm page cache, {cores} cores")
print(f"spoor scan : {s:7.2f} s  {mb / s:7.1f} MB/s")
print(f"hashdeep   : {h:7.2f} s  {mb / h:7.1f} MB/s")
print(f"ratio spoor/hashdeep throughput: {h / s:.2f}x")
bound = rate * cores
print(f"openssl speed, one core: md5 {md5:.0f}, sha1 {sha1:.0f}, sha256 {sha256:.0f} MB/s; the three in one pass {rate:.1f} MB/s")
print(f"hash-limited bound: {rate:.1f} MB/s x {cores} cores = {bound:.1f} MB/s; spoor reaches {100 * mb / s / bound:.0f}%")
print(f"(spoor's own three digests on one core, examples/digest_rate: {own:.1f} MB/s, {100 * own / rate:.0f}% of OpenSSL's)")
print(f"floor (examples/digest_floor, {cores} threads): open+read+close of every file {floor_read:.2f} s; "
      f"with the three digests {floor_hash:.2f} s, {mb / floor_hash:.1f} MB/s = {100 * mb / floor_hash / bound:.0f}% of the bound; "
      f"spoor takes {s / floor_hash:.2f}x the floor")
print(f"digests agree: {agree}")
PY

if [ -n "${BENCH_RSS_FILES:-}" ]; then
  RSS_TREE=$WORK/rss-$BENCH_RSS_FILES
  if [ ! -d "$RSS_TREE" ]; then
    python3 - "$RSS_TREE" "$BENCH_RSS_FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"{i // 1000:04d}")
    if i % 1000 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:07d}.txt"), "wb") as f:
        f.write(b"x" * (i % 2048))
PY
  fi
  find "$RSS_TREE" -type f -print0 | xargs -0 cat >/dev/null   # warm, as above
  rm -rf "$WORK/rss-case"
  /usr/bin/time -v $SPOOR scan "$RSS_TREE" --case "$WORK/rss-case" --examiner bench --quiet 2>"$WORK/rss.txt"
  rss=$(grep 'Maximum resident' "$WORK/rss.txt" | awk '{print $NF}')
  el=$(grep 'Elapsed' "$WORK/rss.txt" | awk '{print $NF}')
  echo "scan of $BENCH_RSS_FILES small files: peak RSS $((rss / 1024)) MiB, elapsed $el"
  /usr/bin/time -v hashdeep -c md5,sha1,sha256 -r "$RSS_TREE" >/dev/null 2>"$WORK/rss-hd.txt"
  echo "hashdeep on the same tree: peak RSS $(( $(grep 'Maximum resident' "$WORK/rss-hd.txt" | awk '{print $NF}') / 1024 )) MiB, elapsed $(grep 'Elapsed' "$WORK/rss-hd.txt" | awk '{print $NF}')"
fi

#!/usr/bin/env bash
# Entity extraction throughput and accuracy, side by side in one go, on a generated chat corpus
# with planted entities and look-alike decoys (src/text/corpus.rs):
#   spoor   examples/entity_rate: every kind, checksums verified, all cores
#   ripgrep the raw patterns with -o (Debian `ripgrep`): the regex-engine floor, no validation
#   Python  phonenumbers' PhoneNumberMatcher, python-stdnum's IBAN and Luhn, e-mail/URL patterns
#
#   scripts/bench-text.sh            500 MB for spoor and ripgrep; Python on a PY_MB (20) corpus of the same generator
#   BENCH_MB=100 PY_MB=10 scripts/bench-text.sh
# Prints MB/s of each, the ratios, and precision/recall of each against the planted truth.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${BENCH_MB:-500}
PY_MB=${PY_MB:-20}
WORK=${BENCH_DIR:-.bench}/text
VENV=${BENCH_DIR:-.bench}/venv-text
command -v rg >/dev/null || { echo "ripgrep missing: apt-get install ripgrep" >&2; exit 1; }
mkdir -p "$WORK"
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q phonenumbers python-stdnum; }
cargo build --release --quiet --example entity_rate
target/release/examples/entity_rate --write-corpus "$MB" "$WORK/corpus.txt" "$WORK/truth.tsv"
target/release/examples/entity_rate --write-corpus "$PY_MB" "$WORK/corpus-py.txt" "$WORK/truth-py.tsv"
SIZE=$(stat -c %s "$WORK/corpus.txt"); PY_SIZE=$(stat -c %s "$WORK/corpus-py.txt")
cat "$WORK/corpus.txt" > /dev/null

# spoor
S=$(target/release/examples/entity_rate "$WORK/corpus.txt" NL "$WORK/spoor.tsv" | awk '{print $1}')

# ripgrep: the same raw patterns, no validation, one pass per pattern set with -o.
# Written as spoor writes them: ASCII word boundaries and [0-9] (Unicode \b makes the DFA give up
# on the first non-ASCII byte, in ripgrep as in spoor), so that this is the same engine's floor.
B='(?-u:\b)'
PATTERNS="[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|https?://[^\s<>\"]+|${B}(?:[0-9]{1,3}\.){3}[0-9]{1,3}${B}|${B}[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?${B}|${B}[13][a-km-zA-HJ-NP-Z1-9]{25,34}${B}|${B}0x[0-9a-fA-F]{40}${B}|${B}[0-9](?:[ -]?[0-9]){12,18}${B}|(?:\+|${B}0)[0-9][0-9 ().-]{5,17}[0-9]${B}"
t0=$(date +%s.%N); RG_N=$(rg -o -c --no-filename -e "$PATTERNS" "$WORK/corpus.txt"); t1=$(date +%s.%N)
R=$(python3 -c "print(f'{$t1 - $t0:.3f}')")

# Python reference on the first PY_MB.
cat > "$WORK/ref.py" <<'PY'
import re, sys, time
import phonenumbers
from stdnum import iban, luhn
text = open(sys.argv[1], encoding="utf-8").read()
t = time.time()
out = []
# max_tries: the matcher stops after 65,535 candidates by default (a guard for web pages), which
# on a corpus this size cut its recall to 5%; unlimited here, as spoor looks at every candidate.
for m in phonenumbers.PhoneNumberMatcher(text, "NL", max_tries=sys.maxsize):
    out.append(("phone", phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)))
for m in re.finditer(r"(?i)\b[a-z0-9][a-z0-9._%+-]*@(?:[a-z0-9-]+\.)+[a-z]{2,}\b", text):
    out.append(("email", m.group().lower()))
for m in re.finditer(r"https?://[^\s<>\"']+", text):
    out.append(("url", m.group().rstrip(".,);:!?")))
for m in re.finditer(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", text):
    v = m.group().replace(" ", "")
    if iban.is_valid(v):
        out.append(("iban", v))
for m in re.finditer(r"\b\d(?:[ -]?\d){12,18}\b", text):
    d = re.sub(r"\D", "", m.group())
    if luhn.is_valid(d):
        out.append(("card", d))
for m in re.finditer(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", text):
    if all(int(o) <= 255 for o in m.group().split(".")):
        out.append(("ipv4", m.group()))
print(f"{time.time() - t:.3f}")
with open(sys.argv[2], "w") as f:
    for k, v in out:
        f.write(f"{k}\t{v}\n")
PY
P=$("$VENV/bin/python" "$WORK/ref.py" "$WORK/corpus-py.txt" "$WORK/python.tsv")

# Accuracy against the planted truth; spoor also on Python's corpus, for a like-for-like row.
target/release/examples/entity_rate "$WORK/corpus-py.txt" NL "$WORK/spoor-py.tsv" > /dev/null
python3 - "$WORK" <<'PY'
import sys, collections
w = sys.argv[1]
def load(p):
    return collections.Counter(tuple(l.rstrip("\n").split("\t", 1)) for l in open(p) if "\t" in l)
def table(name, found, truth, kinds):
    print(f"  {name}:")
    for k in kinds:
        t = sum(n for (kk, _), n in truth.items() if kk == k)
        f = sum(n for (kk, _), n in found.items() if kk == k)
        tp = sum(min(n, truth.get(key, 0)) for key, n in found.items() if key[0] == k)
        p = tp / f if f else float("nan"); r = tp / t if t else float("nan")
        print(f"    {k:<9} precision {p:.4f} recall {r:.4f} ({tp} of {t} planted, {f} reported)")
truth = load(f"{w}/truth.tsv")
table("spoor, whole corpus", load(f"{w}/spoor.tsv"), truth, sorted({k for k, _ in truth}))
pt = load(f"{w}/truth-py.tsv")
shared = ["card", "email", "iban", "ipv4", "phone", "url"]
table("spoor, Python's corpus (the kinds Python looks for)", load(f"{w}/spoor-py.tsv"), pt, shared)
table("Python reference, its corpus", load(f"{w}/python.tsv"), pt, shared)
PY
echo "corpus: $((SIZE >> 20)) MiB; Python on its own $((PY_SIZE >> 20)) MiB corpus; $(nproc) cores"
mbs() { python3 -c "import sys; print(f'{float(sys.argv[1]) / 1e6 / float(sys.argv[2]):.1f}')" "$@"; }
SP=$(mbs "$SIZE" "$S"); RGS=$(mbs "$SIZE" "$R"); PYS=$(mbs "$PY_SIZE" "$P")
echo "  spoor   $S s, $SP MB/s (validating)"
echo "  ripgrep $R s, $RGS MB/s (raw patterns, $RG_N matches) -> spoor is $(python3 -c "print(f'{$SP / $RGS:.3f}')")x ripgrep"
echo "  Python  $P s, $PYS MB/s -> spoor is $(python3 -c "print(f'{$SP / $PYS:.1f}')")x Python"

#!/usr/bin/env bash
# Image pipeline throughput, spoor vs the reference tools, on the same JPEGs in one go:
#   (a) `spoor scan` (read + MD5/SHA-1/SHA-256 + decode + EXIF/XMP + PDQ with 8 dihedral
#       hashes + 256 px thumbnail + store) vs PyPI `pdqhash` (Meta's C++ PDQ) on Pillow-decoded
#       pixels, one process and one process per core;
#   (b) spoor's EXIF/XMP reader alone (examples/exif_rate) vs
#       `exiftool -n -gpslatitude -gpslongitude -r`, with the GPS values compared file by file.
#
#   scripts/bench-media.sh              2,016 JPEGs: 12 fixture photos x 6 sizes x 28 qualities
#   BENCH_ONLY=exif scripts/bench-media.sh   (b) only
#
# Both metadata readers read what metadata needs: exiftool stops a JPEG at its image data, and
# exif_rate reads the segments before the start of scan (a scan reads whole files anyway, to
# hash them, and keeps them in memory for the image stages).
#
# Warm cache: the images are read once before each tool is timed. Prints images/s, the
# ratios, spoor's peak RSS and the GPS agreement.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v exiftool >/dev/null || { echo "exiftool missing: apt-get install libimage-exiftool-perl" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 1; }
WORK=${BENCH_DIR:-.bench}
VENV=$WORK/venv-media
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pdqhash==0.2.8 pillow numpy
fi
cargo build --release --quiet --bin spoor --example exif_rate
SPOOR=target/release/spoor
IMAGES=$WORK/media-jpegs

if [ ! -d "$IMAGES" ]; then
  echo "generating $IMAGES" >&2
  "$VENV/bin/python" - "$IMAGES" <<'PY'
import os, sys
from PIL import Image
out = sys.argv[1]
sources = [f"tests/data/exif/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42)] + [
    "tests/data/exif/67-0_length_string.jpg", "tests/data/exif/87_OSError.jpg",
    "tests/data/pdq/bridge-1-original.jpg"]
sides = [640, 1024, 1600, 2048, 3072, 4032]          # phone and camera sizes
qualities = range(70, 98)                            # 28 encoder settings
for s in sources:
    im = Image.open(s)
    exif = im.info.get("exif", b"")                  # keeps the GPS block for (b)
    rgb = im.convert("RGB")
    for side in sides:
        scale = side / max(rgb.size)
        resized = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.LANCZOS)
        d = os.path.join(out, os.path.splitext(os.path.basename(s))[0], str(side))
        os.makedirs(d, exist_ok=True)
        for q in qualities:
            resized.save(os.path.join(d, f"q{q}.jpg"), quality=q, exif=exif)
PY
fi
N=$(find "$IMAGES" -type f -name '*.jpg' | wc -l)
MPIX=$("$VENV/bin/python" -c "
import sys,os
from PIL import Image
t=0
for r,_,fs in os.walk(sys.argv[1]):
    for f in fs: t+=Image.open(os.path.join(r,f)).size[0]*Image.open(os.path.join(r,f)).size[1]
print(f'{t/1e6:.0f}')" "$IMAGES")
CORES=$(nproc)
echo "$N JPEGs, $MPIX megapixels, $(du -sh "$IMAGES" | cut -f1), $CORES cores"
warm() { find "$IMAGES" -type f -print0 | xargs -0 cat >/dev/null; }

cat > "$WORK/pdq_ref.py" <<'PY'
import os, sys, time
import numpy as np, pdqhash
from PIL import Image
from multiprocessing import Pool
def one(p):
    with Image.open(p) as im:
        h, q = pdqhash.compute(np.asarray(im.convert("RGB")))
    return p, q, "".join("%x" % int("".join(str(int(b)) for b in h[i:i + 4]), 2) for i in range(0, 256, 4))
root, procs = sys.argv[1], int(sys.argv[2])
paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(root) for f in fs)
t = time.time()
if procs == 1:
    res = [one(p) for p in paths]
else:
    with Pool(procs) as pool:
        res = pool.map(one, paths, chunksize=8)
print(f"{time.time() - t:.3f}")
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        for p, q, h in res:
            f.write(f"{os.path.relpath(p, root)}\t{h}\t{q}\n")
PY

secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$@"; }

# (a) the image pipeline (BENCH_ONLY=exif skips it: the Python runs take ~12 minutes)
if [ "${BENCH_ONLY:-}" != exif ]; then
warm
rm -rf "$WORK/media-case"
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$WORK/media-rss" "$SPOOR" scan "$IMAGES" --case "$WORK/media-case" --examiner bench --quiet
t1=$(date +%s.%N)
SPOOR_S=$(secs "$t0" "$t1")
warm
PY1_S=$("$VENV/bin/python" "$WORK/pdq_ref.py" "$IMAGES" 1)
warm
PYN_S=$("$VENV/bin/python" "$WORK/pdq_ref.py" "$IMAGES" "$CORES" "$WORK/pdq-reference.tsv")
# The same scan decoding every picture whole (SPOOR_DECODE=full), as before issue 16's
# DCT-scaled decode: its speed, and both hashes against Meta's C++ PDQ on full pictures.
warm
rm -rf "$WORK/media-case-full"
t0=$(date +%s.%N)
SPOOR_DECODE=full "$SPOOR" scan "$IMAGES" --case "$WORK/media-case-full" --examiner bench --quiet
t1=$(date +%s.%N)
FULL_S=$(secs "$t0" "$t1")
PDQ_AGREE=$(python3 - "$WORK/pdq-reference.tsv" <("$SPOOR" export "$WORK/media-case" --kind observations) <("$SPOOR" export "$WORK/media-case-full" --kind observations) <<'PY'
import json, sys
ref = {}
for line in open(sys.argv[1]):
    path, h, q = line.rstrip("\n").split("\t")
    ref[path] = (int(h, 16), int(q))
def ours(fname):
    out = {}
    for l in open(fname):
        o = json.loads(l)
        if o["kind"] == "image.pdq":
            out[o["path"]] = (int(o["value"]["hash"], 16), o["value"]["quality"], o["provenance"].get("decoder", ""))
    return out
# Meta: discard hashes of quality under 50 (flat pictures; their bits are noise).
usable = [p for p in ref if ref[p][1] >= 50]
def summary(name, got):
    d = sorted(bin(got[p][0] ^ ref[p][0]).count("1") for p in usable if p in got)
    dq = sorted(abs(got[p][1] - ref[p][1]) for p in usable if p in got)
    n = len(d)
    pct = lambda xs, f: xs[min(n - 1, int(f * n))]
    scaled = sum(1 for p in got if "DCT-scaled" in got[p][2])
    print(f"{name}: {n} pictures of quality >= 50 of {len(ref)} ({scaled} decoded DCT-scaled in all); bit distance to the reference median {pct(d, 0.5)}, 90% {pct(d, 0.9)}, 99% {pct(d, 0.99)}, worst {d[-1]}; over 31 (Meta's match line): {sum(x > 31 for x in d)}; quality difference median {pct(dq, 0.5)}, worst {dq[-1]}")
summary("  default scan", ours(sys.argv[2]))
summary("  full decode ", ours(sys.argv[3]))
PY
)
RSS_MB=$(( $(cat "$WORK/media-rss") / 1024 ))
THUMBS=$(find "$WORK/media-case/thumbs" -type f | wc -l)
PDQS=$("$SPOOR" export "$WORK/media-case" --kind observations | grep -c '"kind":"image.pdq"')
echo
echo "(a) decode + EXIF + PDQ + thumbnail"
echo "  spoor scan (everything above, plus 3 digests and the store): $SPOOR_S s, $(ratio "$N" "$SPOOR_S") images/s, peak RSS $RSS_MB MB ($PDQS PDQ observations, $THUMBS thumbnails)"
echo "  pdqhash + Pillow, 1 process:        $PY1_S s, $(ratio "$N" "$PY1_S") images/s   -> spoor is $(ratio "$PY1_S" "$SPOOR_S")x"
echo "  pdqhash + Pillow, $CORES processes:        $PYN_S s, $(ratio "$N" "$PYN_S") images/s   -> spoor is $(ratio "$PYN_S" "$SPOOR_S")x"
echo "  spoor scan decoding every picture whole (SPOOR_DECODE=full): $FULL_S s, $(ratio "$N" "$FULL_S") images/s -> the default is $(ratio "$FULL_S" "$SPOOR_S")x"
echo "  PDQ against Meta's C++ reference (pdqhash on Pillow's full decode):"
echo "$PDQ_AGREE"
fi

# (b) EXIF / GPS
warm
# Whole processes timed from outside for both (start-up and directory listing included).
t0=$(date +%s.%N)
EXIF_LINE=$(target/release/examples/exif_rate "$IMAGES" "$WORK/spoor-gps.tsv")
t1=$(date +%s.%N)
EXIF_S=$(secs "$t0" "$t1")
warm
t0=$(date +%s.%N)
exiftool -n -q -T -filename -directory -gpslatitude -gpslongitude -r "$IMAGES" >"$WORK/exiftool-gps.txt" || true
t1=$(date +%s.%N)
ET_S=$(secs "$t0" "$t1")
AGREE=$(python3 - "$IMAGES" "$WORK/spoor-gps.tsv" "$WORK/exiftool-gps.txt" <<'PY'
import os, sys
root, ours_path, theirs_path = sys.argv[1:4]
ours = {}
for line in open(ours_path):
    if line.strip():
        p, lat, lon = line.rstrip("\n").split("\t"); ours[p] = (float(lat), float(lon))
theirs = {}
for line in open(theirs_path):
    name, d, lat, lon = line.rstrip("\n").split("\t")
    if lat != "-" and lon != "-":
        theirs[os.path.relpath(os.path.join(d, name), root)] = (float(lat), float(lon))
same = sum(1 for p in theirs if p in ours and all(abs(a - b) <= 1e-6 for a, b in zip(ours[p], theirs[p])))
print(f"{same} of {len(theirs)} exiftool positions equal to 1e-6 degree; spoor found {len(ours)}")
PY
)
echo
echo "(b) EXIF/XMP GPS"
echo "  spoor exif_rate ($CORES threads): $EXIF_S s, $(ratio "$N" "$EXIF_S") files/s (inside: $EXIF_LINE)"
echo "  exiftool -n -r:               $ET_S s, $(ratio "$N" "$ET_S") files/s   -> spoor is $(ratio "$ET_S" "$EXIF_S")x"
echo "  $AGREE"

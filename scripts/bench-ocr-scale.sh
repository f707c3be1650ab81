#!/usr/bin/env bash
# Does OCR need pictures at full resolution? `spoor models eval ocr` on the four OCR fixtures
# (tests/data/vision, their text in tests/data/detection/ocr-labels.tsv) at full size and
# reduced 1/2 ... 1/8 with Pillow's box `reduce` (what JPEG's DCT scaling approximates), with
# the height of each text line's ink at each scale. The scan decodes pictures whole when OCR
# runs; this shows the text size at which reading starts to fail.
#
#   scripts/bench-ocr-scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${BENCH_DIR:-.bench}
VENV=$WORK/venv-vision
[ -f models/lib/libonnxruntime.so.1.32.0 ] || ./scripts/fetch-models.sh
[ -d models/ocr ] || { echo "the OCR models are not installed: ./scripts/fetch-models.sh" >&2; exit 1; }
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pillow numpy models/cache/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl
fi
cargo build --release --quiet --bin spoor
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# A models folder of links, so that the card `models eval` writes stays out of the checkout.
mkdir -p "$TMP/models"
cp models/manifest.toml "$TMP/models/"
for f in ocr lib; do ln -s "$(cd models && pwd -P)/$f" "$TMP/models/$f"; done
SCALES="1 2 3 4 5 6 8"
"$VENV/bin/python" - "$TMP" $SCALES <<'PY'
import os, sys
import numpy as np
from PIL import Image
tmp, scales = sys.argv[1], [int(s) for s in sys.argv[2:]]
names = ["text-notice.png", "line-1.png", "line-2.png", "line-3.png"]
for s in scales:
    d = os.path.join(tmp, f"1-{s}")
    os.makedirs(d)
    heights = []
    for n in names:
        im = Image.open(os.path.join("tests/data/vision", n)).convert("RGB")
        im = im.reduce(s) if s > 1 else im
        im.save(os.path.join(d, n))
        # Ink rows: grey level more than 80 from the picture's median; each run is one line.
        a = np.asarray(im.convert("L")).astype(int)
        ink = np.nonzero((np.abs(a - np.median(a)) > 80).any(axis=1))[0]
        runs = np.split(ink, np.nonzero(np.diff(ink) > 1)[0] + 1) if len(ink) else []
        heights += [len(r) for r in runs]
    open(os.path.join(d, "heights"), "w").write(f"{min(heights)}-{max(heights)}")
PY
printf '%-6s %-14s %-10s %-10s %s\n' scale "line ink (px)" "CER" "words" "pictures read exactly"
for s in $SCALES; do
  SPOOR_MODELS="$TMP/models" target/release/spoor models eval ocr --images "$TMP/1-$s" \
    --labels tests/data/detection/ocr-labels.tsv > "$TMP/eval-$s.log" 2>&1 \
    || { cat "$TMP/eval-$s.log" >&2; exit 1; }
  "$VENV/bin/python" - "$TMP/models/cards/ocr.json" "1/$s" "$(cat "$TMP/1-$s/heights")" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:<6} {sys.argv[3]:<14} {c['character_error_rate']:<10.3f} {c['word_recall']:<10.2f} {c['pictures_read_exactly']} of {c['images']}")
PY
done

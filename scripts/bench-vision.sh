#!/usr/bin/env bash
# Vision pipeline throughput: `spoor scan --models MODEL` (read, hash, decode, pre-process,
# infer, store) vs a Python pipeline doing the same with Pillow + numpy + onnxruntime on the
# same JPEGs and model file, plus the model-only floor (examples/vision_floor), in one go.
#
#   scripts/bench-vision.sh                  open_nsfw on 504 JPEGs (12 photos x 6 sizes x 7 qualities)
#   BENCH_MODEL=nsfwjs scripts/bench-vision.sh
#
# Prints images/s for each, the ratio, pipeline time per image over the floor, spoor's peak
# RSS, and how many scores agree with Python's to 1e-3.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${BENCH_MODEL:-open_nsfw}
WORK=${BENCH_DIR:-.bench}
VENV=$WORK/venv-vision
[ -f models/lib/libonnxruntime.so.1.32.0 ] || ./scripts/fetch-models.sh
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 1; }
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pillow numpy models/cache/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl
fi
cargo build --release --quiet --bin spoor --example vision_floor
IMAGES=$WORK/vision-jpegs
if [ ! -d "$IMAGES" ]; then
  "$VENV/bin/python" - "$IMAGES" <<'PY'
import os, sys
from PIL import Image
out = sys.argv[1]
sources = [f"tests/data/exif/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 40, 42)] + [
    "tests/data/exif/67-0_length_string.jpg", "tests/data/exif/87_OSError.jpg",
    "tests/data/pdq/bridge-1-original.jpg"]
for s in sources:
    rgb = Image.open(s).convert("RGB")
    for side in [640, 1024, 1600, 2048, 3072, 4032]:
        scale = side / max(rgb.size)
        r = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.LANCZOS)
        d = os.path.join(out, os.path.splitext(os.path.basename(s))[0], str(side))
        os.makedirs(d, exist_ok=True)
        for q in range(75, 96, 3):
            r.save(os.path.join(d, f"q{q}.jpg"), quality=q)
PY
fi
N=$(find "$IMAGES" -type f | wc -l)
cat > "$WORK/vision_ref.py" <<'PY'
# The Python pipeline: Pillow decode, the same pre-processing in numpy (Pillow's box `reduce`
# for the block average), onnxruntime with one session per process, one process per core.
import os, sys, time, tomllib
import numpy as np, onnxruntime as ort
from PIL import Image
from multiprocessing import Pool
models, root, name, procs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
entry = next(m for m in tomllib.load(open(os.path.join(models, "manifest.toml"), "rb"))["model"] if m["name"] == name)
spec = entry["input"]
session = None
def bilinear(img, out_w, out_h):
    h, w, _ = img.shape
    def axis(out, scale, length):
        o = np.arange(out, dtype=np.float32)
        p = np.clip((o + np.float32(0.5)) * np.float32(scale) - np.float32(0.5), 0, length - 1).astype(np.float32)
        i0 = np.floor(p).astype(np.int64); i1 = np.minimum(i0 + 1, length - 1)
        return i0, i1, (p - i0).astype(np.float32)
    x0, x1, fx = axis(out_w, np.float32(w) / np.float32(out_w), w)
    y0, y1, fy = axis(out_h, np.float32(h) / np.float32(out_h), h)
    s = img.astype(np.float32); fx = fx[None, :, None]; fy = fy[:, None, None]
    top = s[y0][:, x0] * (1 - fx) + s[y0][:, x1] * fx
    bottom = s[y1][:, x0] * (1 - fx) + s[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy
def one(path):
    global session
    if session is None:
        o = ort.SessionOptions(); o.intra_op_num_threads = 1
        session = ort.InferenceSession(os.path.join(models, entry["file"]), o)
    im = Image.open(path).convert("RGB")
    rw = rh = spec.get("resize") or spec["width"]
    k = max(min(im.size) // (2 * min(rw, rh)), 1)
    if k > 1:
        im = im.reduce(k)
    r = bilinear(np.asarray(im), rw, rh)
    oy, ox = (rh - spec["height"]) // 2, (rw - spec["width"]) // 2
    r = r[oy:oy + spec["height"], ox:ox + spec["width"]]
    if spec["channels"] == "BGR":
        r = r[:, :, ::-1]
    t = (r * np.float32(spec["scale"]) - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    t = t[None] if spec["layout"] == "NHWC" else t.transpose(2, 0, 1)[None]
    out = session.run(None, {session.get_inputs()[0].name: t.astype(np.float32)})[0][0]
    return os.path.relpath(path, root), [float(v) for v in out[:len(entry["labels"])]]
paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(root) for f in fs)
t = time.time()
with Pool(procs) as pool:
    res = pool.map(one, paths, chunksize=4)
print(f"{time.time() - t:.3f}")
with open(sys.argv[5], "w") as f:
    for p, s in res:
        f.write(p + "\t" + "\t".join(f"{v:.6f}" for v in s) + "\n")
PY
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$@"; }
warm() { find "$IMAGES" -type f -print0 | xargs -0 cat >/dev/null; }
CORES=$(nproc)

FLOOR=$(target/release/examples/vision_floor "$MODEL" 500)
FLOOR_IPS=$(echo "$FLOOR" | sed -E 's/.* ([0-9.]+) images\/s.*/\1/')
warm
rm -rf "$WORK/vision-case"
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$WORK/vision-rss" target/release/spoor scan "$IMAGES" --case "$WORK/vision-case" --examiner bench --quiet --models "$MODEL"
t1=$(date +%s.%N)
SPOOR_S=$(secs "$t0" "$t1")
warm
rm -rf "$WORK/vision-case-nomodel"
t0=$(date +%s.%N)
target/release/spoor scan "$IMAGES" --case "$WORK/vision-case-nomodel" --examiner bench --quiet
t1=$(date +%s.%N)
BASE_S=$(secs "$t0" "$t1")
warm
PY_S=$("$VENV/bin/python" "$WORK/vision_ref.py" models "$IMAGES" "$MODEL" "$CORES" "$WORK/vision-python.tsv")
AGREE=$(target/release/spoor export "$WORK/vision-case" --kind observations | python3 -c "
import json, sys, tomllib
labels = next(m for m in tomllib.load(open('models/manifest.toml', 'rb'))['model'] if m['name'] == sys.argv[2])['labels']
ours = {}
for l in sys.stdin:
    o = json.loads(l)
    if o['kind'] == 'image.classification':
        ours[o['path']] = [o['value']['scores'][k] for k in labels]
theirs = {l.split('\t')[0]: [float(v) for v in l.split('\t')[1:]] for l in open(sys.argv[1]) if l.strip()}
diffs = sorted(max(abs(a - b) for a, b in zip(ours[p], theirs[p])) for p in theirs if p in ours)
same = sum(1 for d in diffs if d <= 1e-3)
print(f'{same} of {len(theirs)} pictures: every score equal to Python within 1e-3; largest difference {diffs[-1]:.4f}, median {diffs[len(diffs) // 2]:.5f}')" "$WORK/vision-python.tsv" "$MODEL")
echo "$N JPEGs, model $MODEL, $CORES cores"
echo "  model-only floor: $FLOOR"
echo "  spoor scan --models $MODEL: $SPOOR_S s, $(ratio "$N" "$SPOOR_S") images/s, peak RSS $(( $(cat "$WORK/vision-rss") / 1024 )) MB"
echo "  spoor scan without models (digests, decode, EXIF, PDQ, thumbnail, store): $BASE_S s; the model adds $(secs "$BASE_S" "$SPOOR_S") s"
echo "  Python (Pillow + numpy + onnxruntime, $CORES processes): $PY_S s, $(ratio "$N" "$PY_S") images/s -> spoor is $(ratio "$PY_S" "$SPOOR_S")x"
echo "  spoor time per image over the floor: $(python3 -c "import sys; print(f'{float(sys.argv[2]) / float(sys.argv[1]) * float(sys.argv[3]):.2f}')" "$N" "$SPOOR_S" "$FLOOR_IPS")x"
echo "  $AGREE"

#!/usr/bin/env bash
# Vision pipeline throughput: `spoor scan --models MODEL` (read, hash, decode, pre-process,
# infer, store) vs a Python pipeline doing the same with Pillow + numpy + onnxruntime on the
# same JPEGs and model file, the same Python pipeline decoding with Pillow's draft() (JPEG DCT
# scaling, as a careful user would write it), and the model-only floor (examples/vision_floor),
# in one go.
#
#   scripts/bench-vision.sh                  open_nsfw on 504 JPEGs (12 photos x 6 sizes x 7 qualities)
#   BENCH_MODEL=nanodet scripts/bench-vision.sh
#   BENCH_MODEL=default scripts/bench-vision.sh   open_nsfw, nsfwjs, nanodet and blazeface together
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
# for the block average), onnxruntime with one session per model per process, one process per
# core, and the same post-processing as spoor's heads (softmax classifier, NanoDet, BlazeFace).
import os, sys, time, tomllib
import numpy as np, onnxruntime as ort
from PIL import Image
from multiprocessing import Pool
models, root, names, procs = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
draft = len(sys.argv) > 6 and sys.argv[6] == "draft"
manifest = tomllib.load(open(os.path.join(models, "manifest.toml"), "rb"))["model"]
if names == ["default"]:
    names = [m["name"] for m in manifest if m.get("default")]
entries = [next(m for m in manifest if m["name"] == n) for n in names]
sessions = None
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
def tensor(im, spec):
    rw = rh = spec.get("resize") or spec["width"]
    if not spec.get("resize"):
        rw, rh = spec["width"], spec["height"]
    k = max(min(im.size) // (2 * min(rw, rh)), 1)
    if k > 1:
        im = im.reduce(k)
    r = bilinear(np.asarray(im), rw, rh)
    oy, ox = (rh - spec["height"]) // 2, (rw - spec["width"]) // 2
    r = r[oy:oy + spec["height"], ox:ox + spec["width"]]
    if spec["channels"] == "BGR":
        r = r[:, :, ::-1]
    t = (r * np.float32(spec["scale"]) - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    return (t[None] if spec["layout"] == "NHWC" else t.transpose(2, 0, 1)[None]).astype(np.float32)
def iou(a, b):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0); ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return 0 if u <= 0 else iw * ih / u
def nanodet(outs, e):
    by_shape = {o.shape: o[0] for o in outs}
    dets = []
    for stride in (8, 16, 32):
        g = e["input"]["width"] // stride; n = g * g
        scores, dist = by_shape[(1, n, len(e["labels"]))], by_shape[(1, n, 44)]
        for i in np.nonzero(scores.max(axis=1) >= e["threshold"])[0]:
            cx, cy = (i % g + 0.5) * stride, (i // g + 0.5) * stride
            d = dist[i].reshape(4, 11); x = np.exp(d - d.max(axis=1, keepdims=True))
            side = (x * np.arange(11)).sum(axis=1) / x.sum(axis=1) * stride
            box = [cx - side[0], cy - side[1], cx + side[2], cy + side[3]]
            for c in np.nonzero(scores[i] >= e["threshold"])[0]:
                dets.append((e["labels"][c], float(scores[i][c]), box))
    dets.sort(key=lambda d: -d[1]); kept = []
    for d in dets:
        if not any(k[0] == d[0] and iou(k[2], d[2]) > e["iou"] for k in kept):
            kept.append(d)
    return sorted((l, s) for l, s, _ in kept)
def blazeface(outs, e):
    size = e["input"]["width"]; anchors = []
    for grid, per in e["anchors"]:
        for y in range(grid):
            for x in range(grid):
                anchors += [((x + 0.5) / grid, (y + 0.5) / grid)] * per
    cat = lambda last: np.concatenate(sorted([o[0] for o in outs if o.shape[-1] == last], key=lambda o: -o.shape[0]))
    reg, logit = cat(16), cat(1)[:, 0]
    # float64: exp(100) overflows float32 (to inf, score 0, the right limit, but numpy warns).
    score = 1 / (1 + np.exp(-np.clip(logit.astype(np.float64), -100, 100)))
    dets = sorted(((float(score[i]), [reg[i][0] + anchors[i][0] * size - reg[i][2] / 2, reg[i][1] + anchors[i][1] * size - reg[i][3] / 2,
                    reg[i][0] + anchors[i][0] * size + reg[i][2] / 2, reg[i][1] + anchors[i][1] * size + reg[i][3] / 2])
                   for i in np.nonzero(score >= e["threshold"])[0]), key=lambda d: -d[0])
    kept = []
    while dets:
        top = dets[0]; kept.append(("face", top[0]))
        dets = [d for d in dets if not iou(top[1], d[1]) > e["iou"]]
    return sorted(kept)
def one(path):
    global sessions
    if sessions is None:
        o = ort.SessionOptions(); o.intra_op_num_threads = 1
        sessions = [ort.InferenceSession(os.path.join(models, e["file"]), o) for e in entries]
    im = Image.open(path)
    if draft:
        # What a careful user writes: let libjpeg decode at the smallest DCT scale (1/2, 1/4,
        # 1/8) that still covers the largest model input, before any conversion.
        need = max(max(e["input"].get("resize") or e["input"]["width"], e["input"]["height"]) for e in entries)
        im.draft("RGB", (need, need))
    im = im.convert("RGB")
    result = []
    for e, s in zip(entries, sessions):
        outs = s.run(None, {s.get_inputs()[0].name: tensor(im, e["input"])})
        if e["head"] == "softmax-classifier":
            result.append((e["name"], [(l, float(v)) for l, v in zip(e["labels"], outs[0][0])]))
        elif e["head"] == "nanodet":
            result.append((e["name"], nanodet(outs, e)))
        else:
            result.append((e["name"], blazeface(outs, e)))
    return os.path.relpath(path, root), result
paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(root) for f in fs)
t = time.time()
with Pool(procs) as pool:
    res = pool.map(one, paths, chunksize=4)
print(f"{time.time() - t:.3f}")
import json
with open(sys.argv[5], "w") as f:
    for p, r in res:
        f.write(json.dumps([p, r]) + "\n")
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
warm
DRAFT_S=$("$VENV/bin/python" "$WORK/vision_ref.py" models "$IMAGES" "$MODEL" "$CORES" "$WORK/vision-python-draft.tsv" draft)
DRAFT_AGREE=$(python3 - "$WORK/vision-python.tsv" "$WORK/vision-python-draft.tsv" models/manifest.toml <<'PY'
import json, sys, tomllib
heads = {m["name"]: m["head"] for m in tomllib.load(open(sys.argv[3], "rb"))["model"]}
full = {p: dict(r) for p, r in map(json.loads, open(sys.argv[1]))}
same = total = 0
for path, results in map(json.loads, open(sys.argv[2])):
    total += 1
    ok = True
    for model, got in results:
        ref = full[path][model]
        if heads[model] == "softmax-classifier":
            ok &= max(ref, key=lambda x: x[1])[0] == max(got, key=lambda x: x[1])[0]
        else:
            ok &= sorted(l for l, _ in ref) == sorted(l for l, _ in got)
    same += ok
print(f"{same} of {total} pictures ({100 * same / max(total, 1):.1f}%): the same labels and counts (detectors), the same top label (classifiers)")
PY
)
target/release/spoor export "$WORK/vision-case" --kind observations > "$WORK/vision-spoor.jsonl"
agree() { python3 - "$WORK/vision-spoor.jsonl" "$1" models/manifest.toml <<'PY'
import json, sys, tomllib
heads = {m["name"]: m["head"] for m in tomllib.load(open(sys.argv[3], "rb"))["model"]}
ours = {}
for l in open(sys.argv[1]):
    o = json.loads(l)
    per = ours.setdefault(o['path'], {})
    v = o['value']
    if o['kind'] == 'image.classification':
        per[o['analyzer']] = sorted(v['scores'].items())
    elif o['kind'] == 'image.object':
        per.setdefault(o['analyzer'], []).extend((v['label'], b['score']) for b in v['boxes'])
    elif o['kind'] == 'image.faces':
        per[o['analyzer']] = [('face', f['score']) for f in v['faces']]
close = same = total = 0
for line in open(sys.argv[2]):
    path, results = json.loads(line)
    total += 1
    ok = alike = True
    for model, want in results:
        got = sorted(ours.get(path, {}).get(model, []))
        want = sorted(map(tuple, want))
        ok &= len(got) == len(want) and all(a[0] == b[0] and abs(a[1] - b[1]) <= 1e-3 for a, b in zip(got, want))
        if heads[model] == "softmax-classifier":
            alike &= bool(got) and max(got, key=lambda x: x[1])[0] == max(want, key=lambda x: x[1])[0]
        else:
            alike &= [l for l, _ in got] == [l for l, _ in want]
    close += ok
    same += alike
print(f'{same} of {total} pictures ({100 * same / max(total, 1):.1f}%) with the same labels and counts (top label for classifiers); {close} with every score within 1e-3')
PY
}
AGREE=$(agree "$WORK/vision-python.tsv")
echo "$N JPEGs, model $MODEL, $CORES cores"
echo "  model-only floor: $FLOOR"
echo "  spoor scan --models $MODEL: $SPOOR_S s, $(ratio "$N" "$SPOOR_S") images/s, peak RSS $(( $(cat "$WORK/vision-rss") / 1024 )) MB"
echo "  spoor scan without models (digests, decode, EXIF, PDQ, thumbnail, store): $BASE_S s; the model adds $(secs "$BASE_S" "$SPOOR_S") s"
echo "  Python (Pillow + numpy + onnxruntime, $CORES processes): $PY_S s, $(ratio "$N" "$PY_S") images/s -> spoor is $(ratio "$PY_S" "$SPOOR_S")x"
echo "  Python with Pillow's draft() (DCT-scaled decode, $CORES processes): $DRAFT_S s, $(ratio "$N" "$DRAFT_S") images/s -> spoor is $(ratio "$DRAFT_S" "$SPOOR_S")x"
echo "    draft() against the full decode: $DRAFT_AGREE"
echo "    spoor against the draft() peer: $(agree "$WORK/vision-python-draft.tsv")"
echo "  spoor time per image over the floor: $(python3 -c "import sys; print(f'{float(sys.argv[2]) / float(sys.argv[1]) * float(sys.argv[3]):.2f}')" "$N" "$SPOOR_S" "$FLOOR_IPS")x"
echo "  spoor against the full-decode peer: $AGREE"

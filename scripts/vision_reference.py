#!/usr/bin/env python3
"""Reference outputs for the vision correctness tests: the same pre-processing as
src/vision/preprocess.rs written in numpy, then Python onnxruntime on the same model file.

  python3 scripts/vision_reference.py MODELS_DIR tests/data/vision [MODEL]
  (MODEL: open_nsfw (default; prints a TSV), nanodet, blazeface, blazeface-back, nsfwjs, nudenet,
   ocr; each writes tests/data/vision/MODEL.tsv)

Needs numpy, Pillow and onnxruntime==1.32.0 (the wheel scripts/fetch-models.sh caches).
Inputs are PNG (lossless, so both sides decode the same pixels) plus `pattern`, a 1500 x 1100
picture both sides draw from the same formula (it takes the block-average path).
"""
import os, sys
import numpy as np
import onnxruntime as ort
from PIL import Image


def pattern():
    h, w = 1100, 1500
    y, x = np.mgrid[0:h, 0:w].astype(np.uint32)
    r = (x * 7 + y * 3) % 256
    g = (x * y // 97) % 256
    b = ((x // 50 + y // 50) % 2) * 200 + 20
    return np.stack([r, g, b], axis=2).astype(np.uint8)


def block_average(img, k):
    h, w, _ = img.shape
    oh, ow = -(-h // k), -(-w // k)
    out = np.zeros((oh, ow, 3), dtype=np.uint8)
    for oy in range(oh):
        y0, y1 = oy * k, min((oy + 1) * k, h)
        for ox in range(ow):
            x0, x1 = ox * k, min((ox + 1) * k, w)
            block = img[y0:y1, x0:x1].astype(np.uint32)
            n = (y1 - y0) * (x1 - x0)
            out[oy, ox] = (block.sum(axis=(0, 1)) + n // 2) // n
    return out


def resize(img, out_w, out_h):
    h, w, _ = img.shape
    k = max(min(w, h) // (2 * min(out_w, out_h)), 1)
    if k > 1:
        img = block_average(img, k)
    h, w, _ = img.shape
    def axis(out, scale, length):
        o = np.arange(out, dtype=np.float32)
        p = np.clip((o + np.float32(0.5)) * np.float32(scale) - np.float32(0.5), np.float32(0), np.float32(length - 1))
        i0 = np.floor(p).astype(np.int64)
        i1 = np.minimum(i0 + 1, length - 1)
        return i0, i1, (p - i0.astype(np.float32)).astype(np.float32)
    x0, x1, fx = axis(out_w, np.float32(w) / np.float32(out_w), w)
    y0, y1, fy = axis(out_h, np.float32(h) / np.float32(out_h), h)
    src = img.astype(np.float32)
    fx = fx[None, :, None]; fy = fy[:, None, None]
    top = src[y0][:, x0] * (np.float32(1) - fx) + src[y0][:, x1] * fx
    bottom = src[y1][:, x0] * (np.float32(1) - fx) + src[y1][:, x1] * fx
    return top * (np.float32(1) - fy) + bottom * fy


def open_nsfw_tensor(img):
    r = resize(img, 256, 256)[16:240, 16:240]
    bgr = r[:, :, ::-1] - np.array([104, 117, 123], dtype=np.float32)
    return bgr[None].astype(np.float32)


COCO = None


def tensor(img, w, h, channels, scale, mean, std, layout, fit="stretch"):
    """src/vision/preprocess.rs `tensor`: resize (stretch, or pad: keep aspect, black right and
    bottom), normalise, lay out. Returns the tensor and the factors back to picture pixels."""
    ih, iw, _ = img.shape
    if fit == "pad":
        s = min(w / iw, h / ih)
        rw = min(max(int(np.floor(iw * s + 0.5)), 1), w)
        rh = min(max(int(np.floor(ih * s + 0.5)), 1), h)
        r = resize(img, rw, rh)
        full = np.zeros((h, w, 3), dtype=np.float32)
        full[:rh, :rw] = r
        back = (iw / rw, ih / rh)
    else:
        full = resize(img, w, h)
        back = (iw / w, ih / h)
    if channels == "BGR":
        full = full[:, :, ::-1]
    t = (full * np.float32(scale) - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    t = t.astype(np.float32)
    if layout == "NCHW":
        t = t.transpose(2, 0, 1)
    return t[None], back


def iou(a, b):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return 0 if union <= 0 else inter / union


def nms(dets, thr):
    dets = sorted(dets, key=lambda d: -d[1])
    kept = []
    for d in dets:
        if not any(k[0] == d[0] and iou(k[2], d[2]) > thr for k in kept):
            kept.append(d)
    return kept


def nanodet(sess, img, labels):
    t, back = tensor(img, 416, 416, "BGR", 1.0, [103.53, 116.28, 123.675], [57.375, 57.12, 58.395], "NCHW")
    outs = {o.shape: o[0] for o in sess.run(None, {sess.get_inputs()[0].name: t})}
    dets = []
    for stride in (8, 16, 32):
        g = 416 // stride
        n = g * g
        scores, dist = outs[(1, n, 80)], outs[(1, n, 44)]
        for i in range(n):
            if scores[i].max() < 0.35:
                continue
            cx, cy = (i % g + 0.5) * stride, (i // g + 0.5) * stride
            d = dist[i].reshape(4, 11)
            e = np.exp(d - d.max(axis=1, keepdims=True))
            side = (e * np.arange(11)).sum(axis=1) / e.sum(axis=1) * stride
            box = [max(cx - side[0], 0), max(cy - side[1], 0), min(cx + side[2], 416), min(cy + side[3], 416)]
            for c in np.nonzero(scores[i] >= 0.35)[0]:
                dets.append((labels[c], float(scores[i][c]), box))
    return finish(nms(dets, 0.6), back, img)


def finish(dets, back, img):
    ih, iw, _ = img.shape
    out = []
    for label, score, box in dets:
        b = [min(max(box[k] * back[k % 2], 0), (iw, ih)[k % 2]) for k in range(4)]
        out.append((label, score, b))
    return out


def blazeface(sess, img, size, anchors_spec):
    t, back = tensor(img, size, size, "RGB", 1 / 127.5, [1, 1, 1], [1, 1, 1], "NHWC")
    outs = sess.run(None, {sess.get_inputs()[0].name: t})
    anchors = []
    for grid, per in anchors_spec:
        for y in range(grid):
            for x in range(grid):
                for _ in range(per):
                    anchors.append(((x + 0.5) / grid, (y + 0.5) / grid))
    def concat(last):
        pool = [o[0] for o in outs if o.shape[-1] == last]
        pool.sort(key=lambda o: -o.shape[0])  # the layer order of both files here: bigger first
        return np.concatenate(pool)
    reg, logit = concat(16), concat(1)[:, 0]
    dets = []
    for i, (ax, ay) in enumerate(anchors):
        score = 1 / (1 + np.exp(-np.clip(logit[i], -100, 100)))
        if score < 0.5:
            continue
        r = reg[i]
        cx, cy = r[0] + ax * size, r[1] + ay * size
        box = [cx - r[2] / 2, cy - r[3] / 2, cx + r[2] / 2, cy + r[3] / 2]
        kps = [(r[4 + 2 * k] + ax * size, r[5 + 2 * k] + ay * size) for k in range(6)]
        dets.append((float(score), box, kps))
    dets.sort(key=lambda d: -d[0])
    kept = []
    while dets:
        top = dets[0]
        group = [d for d in dets if iou(top[1], d[1]) > 0.3]
        dets = [d for d in dets if not iou(top[1], d[1]) > 0.3]
        total = sum(d[0] for d in group)
        box = [sum(d[1][k] * d[0] for d in group) / total for k in range(4)] if len(group) > 1 else top[1]
        kept.append(("face", top[0], box))
    return finish(kept, back, img)


def nudenet(sess, img):
    t, back = tensor(img, 320, 320, "RGB", 1 / 255, [0, 0, 0], [1, 1, 1], "NCHW", fit="pad")
    names = sess.get_modelmeta().custom_metadata_map["names"]
    labels = [p.split(": ", 1)[1].strip("'\"") for p in names.strip("{}").split(", ")]
    o = sess.run(None, {sess.get_inputs()[0].name: t})[0][0]
    dets = []
    for a in range(o.shape[1]):
        c = int(np.argmax(o[4:, a]))
        p = float(o[4 + c, a])
        if p < 0.5:
            continue
        cx, cy, w, h = o[:4, a]
        dets.append((labels[c], p, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
    return finish(nms(dets, 0.45), back, img)


def write_detections(path, rows):
    with open(path, "w") as f:
        f.write("file\tlabel\tscore\tx0\ty0\tx1\ty1\n")
        for file, dets in rows:
            for label, score, b in dets:
                f.write(f"{file}\t{label}\t{score:.6f}\t{b[0]:.3f}\t{b[1]:.3f}\t{b[2]:.3f}\t{b[3]:.3f}\n")


def main():
    models, folder = sys.argv[1], sys.argv[2]
    which = sys.argv[3] if len(sys.argv) > 3 else "open_nsfw"
    if "--check" in sys.argv:
        # Recompute into a scratch folder and compare with the stored outputs (fetch_models.py
        # checks a freshly converted model this way).
        import shutil, tempfile
        with tempfile.TemporaryDirectory() as scratch:
            for f in os.listdir(folder):
                if f.endswith(".png"):
                    os.symlink(os.path.abspath(os.path.join(folder, f)), os.path.join(scratch, f))
            sys.argv[2] = scratch
            sys.argv.remove("--check")
            main()
            sys.exit(compare(os.path.join(folder, which + ".tsv"), os.path.join(scratch, which + ".tsv")))
    opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
    images = {f: np.asarray(Image.open(os.path.join(folder, f)).convert("RGB"))
              for f in sorted(os.listdir(folder)) if f.endswith(".png")}
    images["pattern"] = pattern()
    out = os.path.join(folder, which + ".tsv")
    if which == "open_nsfw":
        nsfw = ort.InferenceSession(os.path.join(models, "open-nsfw.onnx"), opts)
        name = nsfw.get_inputs()[0].name
        print("file\tsfw\tnsfw")
        for f, img in images.items():
            sfw, p = nsfw.run(None, {name: open_nsfw_tensor(img)})[0][0]
            print(f"{f}\t{sfw:.6f}\t{p:.6f}")
    elif which == "nanodet":
        import tomllib
        with open(os.path.join(models, "manifest.toml"), "rb") as f:
            labels = next(m for m in tomllib.load(f)["model"] if m["name"] == "nanodet")["labels"]
        sess = ort.InferenceSession(os.path.join(models, "nanodet-g-416.onnx"), opts)
        write_detections(out, [(f, nanodet(sess, img, labels)) for f, img in images.items()])
    elif which in ("blazeface", "blazeface-back"):
        file, size = (("mediapipe_face_short_range_128.onnx", 128) if which == "blazeface"
                      else ("blazeface-back-256.onnx", 256))
        sess = ort.InferenceSession(os.path.join(models, file), opts)
        write_detections(out, [(f, blazeface(sess, img, size, [(16, 2), (8, 6)])) for f, img in images.items()])
    elif which == "nudenet":
        sess = ort.InferenceSession(os.path.join(models, "optional/nudenet-320n.onnx"), opts)
        write_detections(out, [(f, nudenet(sess, img)) for f, img in images.items()])
    elif which == "nsfwjs":
        sess = ort.InferenceSession(os.path.join(models, "nsfwjs_mobilenet_v2_mid_with_embedding.onnx"), opts)
        with open(out, "w") as fo:
            fo.write("file\tprobabilities\tembedding_first8\tembedding_norm\n")
            for f, img in images.items():
                t, _ = tensor(img, 224, 224, "RGB", 1 / 255, [0, 0, 0], [1, 1, 1], "NHWC")
                probs, emb = sess.run(None, {sess.get_inputs()[0].name: t})
                fo.write(f"{f}\t{','.join(f'{v:.6f}' for v in probs[0])}\t"
                         f"{','.join(f'{v:.6f}' for v in emb[0][:8])}\t{np.linalg.norm(emb[0]):.6f}\n")
    elif which == "ocr":
        ocr_reference(models, folder, opts)


def compare(want_path, got_path):
    want = open(want_path).read().splitlines()
    got = open(got_path).read().splitlines()
    if len(want) != len(got):
        print(f"{len(got)} lines, expected {len(want)}", file=sys.stderr)
        return 1
    worst = 0.0
    for w, g in zip(want, got):
        for a, b in zip(w.split("\t"), g.split("\t")):
            try:
                xs = [float(v) for v in a.split(",")]
                ys = [float(v) for v in b.split(",")]
            except ValueError:
                if a != b:
                    print(f"{a!r} vs {b!r}", file=sys.stderr)
                    return 1
                continue
            for x, y in zip(xs, ys):
                d = abs(x - y) / max(1.0, abs(x))
                worst = max(worst, d)
                if d > 1e-3:
                    print(f"{w} vs {g}", file=sys.stderr)
                    return 1
    print(f"{len(want) - 1} rows, largest relative difference {worst:.2e}")
    return 0


def ocr_reference(models, folder, opts):
    """The detector's probability map (sum, mean, and 16 sampled values) at spoor's input size,
    and the recogniser's greedy CTC text and score on each `line-*.png` as a whole."""
    det = ort.InferenceSession(os.path.join(models, "ocr/PP-OCRv6_det_small.onnx"), opts)
    rec = ort.InferenceSession(os.path.join(models, "ocr/PP-OCRv6_rec_small.onnx"), opts)
    chars = [""] + rec.get_modelmeta().custom_metadata_map["character"].splitlines() + [" "]
    def det_size(w, h):
        s = min(2000 / max(w, h), 1.0)
        if min(w, h) * s < 736:
            s = 736 / min(w, h)
        s = min(s, 4000 / max(w, h))
        r = lambda v: max(int(round(np.floor(np.float32(v)) / 32)) * 32, 32)
        return r(np.float32(w) * np.float32(s)), r(np.float32(h) * np.float32(s))
    def bgr_norm(r, padded_w):
        t = (r[:, :, ::-1] / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
        full = np.zeros((r.shape[0], padded_w, 3), dtype=np.float32)
        full[:, :r.shape[1]] = t
        return full.transpose(2, 0, 1)[None].astype(np.float32)
    with open(os.path.join(folder, "ocr.tsv"), "w") as fo:
        fo.write("file\tkind\tvalues\n")
        for f in sorted(os.listdir(folder)):
            if not (f.startswith("text-") or f.startswith("line-")) or not f.endswith(".png"):
                continue
            img = np.asarray(Image.open(os.path.join(folder, f)).convert("RGB"))
            h, w, _ = img.shape
            if f.startswith("text-"):
                dw, dh = det_size(w, h)
                m = det.run(None, {"x": bgr_norm(resize(img, dw, dh), dw)})[0][0, 0]
                ys, xs = np.linspace(0, dh - 1, 4).astype(int), np.linspace(0, dw - 1, 4).astype(int)
                samples = [m[y, x] for y in ys for x in xs]
                fo.write(f"{f}\tdet\t{dw},{dh},{m.sum():.4f},{m.mean():.6f},{','.join(f'{v:.6f}' for v in samples)}\n")
            else:
                ratio = w / h
                width = int(48 * max(ratio, 320 / 48))
                rw = min(max(int(np.ceil(48 * ratio)), 1), width)
                p = rec.run(None, {"x": bgr_norm(resize(img, rw, 48), width)})[0][0]
                best = p.argmax(axis=1)
                text, probs, last = "", [], -1
                for t, b in enumerate(best):
                    if b != 0 and b != last:
                        text += chars[b]; probs.append(p[t, b])
                    last = b
                fo.write(f"{f}\trec\t{np.mean(probs) if probs else 0:.6f}\t{text}\n")


if __name__ == "__main__":
    main()

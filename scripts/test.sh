#!/usr/bin/env bash
# Installs what the tests need and runs the whole test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (ffmpeg, libheif1, coreutils, util-linux, procps).
source scripts/system-deps.sh
spoor_system_deps
command -v cargo >/dev/null || { echo "cargo is needed: https://rustup.rs" >&2; exit 1; }

cargo test --locked

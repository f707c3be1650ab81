#!/usr/bin/env bash
# Behaviour check for refactors: `snapshot DIR` before, `snapshot DIR2` after, `diff DIR DIR2`.
# See scripts/compare_exports.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/compare_exports.py "$@"

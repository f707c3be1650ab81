#!/usr/bin/env bash
# Mutation fuzzing of every parser and decoder through the spoor binary, with a fixed seed over
# the fixtures in tests/data (see scripts/fuzz.py for the mutations and outcomes).
#   ./scripts/fuzz.sh                          200 mutants, seed 11 (a few minutes)
#   ./scripts/fuzz.sh --mutants 5000 --seed 7  a longer run
#   ./scripts/fuzz.sh --only 42 --keep /tmp/m  reproduce one finding and keep its file
# Exit 1 when a mutant panics, hangs, dies of a signal, is fatal, or is silently skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/fuzz.py "$@"

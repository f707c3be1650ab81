#!/usr/bin/env bash
# Installs what the tests need and runs the whole test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the tests call: md5sum/sha1sum/sha256sum/mkfifo (coreutils, independent
# digests), setpriv (util-linux: the unreadable-file test runs spoor as `nobody` when root),
# kill (procps: Ctrl-C test).
need=()
for tool in md5sum:coreutils sha256sum:coreutils mkfifo:coreutils setpriv:util-linux kill:procps; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "missing tools from packages: ${need[*]} (install them, then rerun)" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null || { echo "cargo is needed: https://rustup.rs" >&2; exit 1; }

cargo test --locked

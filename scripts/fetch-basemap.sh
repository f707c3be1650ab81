#!/usr/bin/env bash
# Fetches the review UI's offline basemap from the npm registry: world-atlas 2.0.2 (ISC,
# Mike Bostock; Natural Earth 1:50m admin-0 countries, public domain), checked against the
# registry's pinned integrity, and writes its countries-50m.json to src/web/assets/, where
# the build embeds it in the binary. The file is committed, so a build needs no network;
# this script is how it was made and how to check it.
set -euo pipefail
cd "$(dirname "$0")/.."
INTEGRITY="sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ=="
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack world-atlas@2.0.2 --silent >/dev/null)
got="sha512-$(openssl dgst -sha512 -binary "$work/world-atlas-2.0.2.tgz" | base64 -w0)"
[ "$got" = "$INTEGRITY" ] || { echo "world-atlas-2.0.2.tgz: integrity $got, expected $INTEGRITY" >&2; exit 1; }
tar -xzf "$work/world-atlas-2.0.2.tgz" -C "$work" package/countries-50m.json
if cmp -s "$work/package/countries-50m.json" src/web/assets/countries-50m.json; then
  echo "src/web/assets/countries-50m.json: the same as world-atlas 2.0.2's"
else
  cp "$work/package/countries-50m.json" src/web/assets/countries-50m.json
  echo "wrote src/web/assets/countries-50m.json from world-atlas 2.0.2"
fi

#!/usr/bin/env bash
# Regenerates the committed artefacts that come from schemas/vm.schema:
#   schemas/vm.schema.json   (startvm schema --json)
#   docs/configuration.md    (startvm schema --markdown)
# Usage: scripts/gen-docs.sh [PATH-TO-STARTVM]
# Without an argument it uses $STARTVM, else builds ./build and uses that.
# tests/cli/schema_drift.sh fails until this has been run after a schema change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${STARTVM:-}}
if [ -z "$bin" ]; then
  cmake -S "$root" -B "$root/build" >/dev/null
  cmake --build "$root/build" --target startvm -j"$(nproc)" >/dev/null
  bin=$root/build/startvm
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" schema --json >"$tmp/vm.schema.json"
"$bin" schema --markdown >"$tmp/configuration.md"
mkdir -p "$root/docs"
mv "$tmp/vm.schema.json" "$root/schemas/vm.schema.json"
mv "$tmp/configuration.md" "$root/docs/configuration.md"
echo "gen-docs: wrote schemas/vm.schema.json and docs/configuration.md from $bin"

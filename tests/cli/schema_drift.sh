#!/usr/bin/env bash
# The committed JSON Schema and configuration reference must be exactly what
# the binary generates from the embedded schemas/vm.schema.
set -u
: "${STARTVM:?STARTVM must point at the startvm binary}"
: "${SV_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
"$STARTVM" schema --json >"$tmp/json" || { echo "FAIL: startvm schema --json exited $?"; exit 1; }
"$STARTVM" schema --markdown >"$tmp/md" || { echo "FAIL: startvm schema --markdown exited $?"; exit 1; }
for pair in "json:schemas/vm.schema.json" "md:docs/configuration.md"; do
  gen=${pair%%:*} committed=$SV_SOURCE_DIR/${pair#*:}
  if ! diff -u "$committed" "$tmp/$gen" >"$tmp/diff"; then
    echo "FAIL: ${pair#*:} differs from what the binary generates from schemas/vm.schema:"
    head -40 "$tmp/diff"
    fail=1
  fi
done
# The JSON must parse, and name every top-level key of the schema.
if command -v python3 >/dev/null; then
  python3 - "$tmp/json" "$SV_SOURCE_DIR/tests/data/config/full.yaml" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["$schema"].endswith("2020-12/schema"), "not draft 2020-12"
assert d["additionalProperties"] is False
for k in ["name", "memory", "cpus", "accel", "machine", "boot", "disks", "network",
          "console", "state_dir", "shutdown", "cloud_init", "qemu"]:
    assert k in d["properties"], k
try:
    import jsonschema, yaml
except ImportError:
    sys.exit(0)
v = jsonschema.Draft202012Validator
v.check_schema(d)
full = yaml.safe_load(open(sys.argv[2]))
v(d).validate(full)
for bad in ({"cpus": 0}, {"memroy": "1G"}, {"accel": "fast"}, {"memory": "12XB"},
            {"disks": [{"size": "1G"}]}, {"network": {"dchp": True}}):
    assert not v(d).is_valid(bad), bad
PY
fi
if [ $fail -ne 0 ]; then
  echo "Run scripts/gen-docs.sh (after rebuilding) and commit the result."
  exit 1
fi
echo "ok: schemas/vm.schema.json and docs/configuration.md match the binary"

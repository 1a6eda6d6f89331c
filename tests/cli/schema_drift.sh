#!/usr/bin/env bash
# The committed JSON Schema and configuration reference must be exactly what
# the binary generates from the embedded schemas/vm.schema.
set -u
: "${STARTVM:?STARTVM must point at the startvm binary}"
: "${SV_SOURCE_DIR:?}"
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
tmpdir tmp
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
# The JSON must parse, name every top-level key, be a valid draft 2020-12
# schema, accept tests/data/config/full.yaml and reject typical mistakes.
# Debian's python3 has python3-jsonschema from scripts/packages.txt; a
# python3 earlier in PATH may have it too.
py=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import jsonschema, yaml' 2>/dev/null; then
    py=$p
    break
  fi
done
if [ -z "$py" ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: no python3 with jsonschema and yaml (scripts/setup.sh installs them)"
    exit 1
  fi
  echo "note: no python3 with jsonschema and yaml; only the diff was checked"
else
  "$py" - "$tmp/json" "$SV_SOURCE_DIR/tests/data/config/full.yaml" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["$schema"].endswith("2020-12/schema"), "not draft 2020-12"
assert d["additionalProperties"] is False
for k in ["name", "memory", "cpus", "accel", "machine", "boot", "disks", "network",
          "console", "state_dir", "shutdown", "cloud_init", "qemu"]:
    assert k in d["properties"], k
import jsonschema, yaml
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

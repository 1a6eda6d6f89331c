#!/usr/bin/env bash
# The golden dry-run files (tests/golden, written by test_plan_golden)
# hold what they claim: every .json parses, and the QEMU command of every
# .txt, pasted into bash, gives exactly the argv of its .json (so the
# shell quoting of hostile values round-trips).
. "$SV_SOURCE_DIR/tests/lib/common.sh"
# Debian's python3 when there is one: a version manager's shim can cost
# seconds a call on a loaded machine.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
need python3 bash
tmpdir
golden=$SV_SOURCE_DIR/tests/golden
n=0
for json in "$golden"/*.json; do
  [ -e "$json" ] || fail "no golden files in $golden"
  name=$(basename "${json%.json}")
  txt=$golden/$name.txt
  [ -f "$txt" ] || fail "$name: $txt missing"
  python3 -m json.tool "$json" >/dev/null || fail "$name.json is not valid JSON"

  # Everything after "QEMU command:" is one shell command; print its words
  # NUL-separated instead of running QEMU.
  {
    printf "printf '%%s\\\\0' "
    sed -n '/^QEMU command:$/,$p' "$txt" | tail -n +2
  } >"$SV_TMP/$name.sh"
  bash "$SV_TMP/$name.sh" >"$SV_TMP/$name.argv" || fail "$name: the QEMU command does not parse as shell"
  python3 - "$json" "$SV_TMP/$name.argv" <<'PY' || fail "$name: pasted QEMU command differs from qemu_argv"
import json, sys
want = json.load(open(sys.argv[1]))["qemu_argv"]
raw = open(sys.argv[2], "rb").read()
got = [w.decode("utf-8", errors="replace") for w in raw.split(b"\0")[:-1]]
if got != want:
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            print(f"argv[{i}]: shell gives {g!r}, JSON has {w!r}", file=sys.stderr)
            break
    print(f"{len(got)} words from the shell, {len(want)} in the JSON", file=sys.stderr)
    sys.exit(1)
PY
  n=$((n + 1))
done
[ "$n" -ge 8 ] || fail "expected at least 8 golden cases, found $n"
info "ok: $n golden cases parse and round-trip through the shell"

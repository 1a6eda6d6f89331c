#!/usr/bin/env bash
# The test scripts never end a pipe in a grep that stops reading early:
# under pipefail (tests/lib/common.sh sets it) `cmd | grep RE` is a >/dev/null
# failure whenever cmd writes after grep found its match and left (cmd
# dies of SIGPIPE), so a line that was there reads as missing; grep -m
# the same.  It failed CI twice before this check (a lease line, a guest
# log).  Read the whole input instead: `cmd | grep RE >/dev/null`, or
# grep a variable or a file.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
cd "$SV_SOURCE_DIR" || exit 1
mapfile -t files < <(git ls-files 'tests/*.sh' 'scripts/*.sh')
[ "${#files[@]}" -gt 50 ] || fail "found only ${#files[@]} scripts (a vacuous check)"
# A pipe into grep with -q or -m among its options (-q, -qE, -E -q, -m1).
re='\|[[:space:]]*grep([[:space:]]+-[A-Za-z]+)*[[:space:]]+-[A-Za-z]*[qm]'
# The pattern finds what it looks for (written so that this file does
# not match it).
g=grep
probe=$(printf '%s\n' "x | $g -q a" "x | $g -E -q a" "x |$g -m1 a" "x | $g -c a" "$g -q a f" | grep -cE "$re")
assert_eq 3 "$probe" "the pattern's own probe"
# Comment lines may name the pattern.
bad=$(grep -nE "$re" "${files[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*#')
if [ -n "$bad" ]; then
  printf '%s\n' "$bad" >&2
  fail "a pipe ends in grep -q or grep -m (SIGPIPE under pipefail): read the whole input, e.g. cmd | grep RE >/dev/null"
fi
echo PASS

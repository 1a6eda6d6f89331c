#!/usr/bin/env bash
# `startvm status` on bad input: a missing, empty, truncated, non-JSON or
# unknown-version file, a directory, a link, a FIFO, a huge file; bad
# options; several VMs under --state-dir.  Each gets its exact message and
# exit code (3: no status to read, 2: usage) and changes nothing.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
need_startvm
need timeout
tmpdir
sd=$SV_TMP/state
mkdir -p "$sd/vm1"
f=$sd/vm1/status.json

# expect CODE EXPECTED-STDERR ARGS...: exact stderr, exact exit code.
expect() {
  local code=$1 want=$2 out rc
  shift 2
  out=$(timeout 10 "$STARTVM" status "$@" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" = "$code" ] || fail "status $*: exit $rc, want $code ($out)"
  [ "$out" = "$want" ] || fail "status $*:"$'\n'"  got:  $out"$'\n'"  want: $want"
}
snapshot() { (cd "$SV_TMP" && find . -printf '%p %y %s %T@\n' | sort && cat "$sd"/*/status.json 2>/dev/null) | md5sum; }

expect 3 "startvm status: no status: $sd/vm2 does not exist" --state-dir "$sd/vm2"
expect 3 "startvm status: no status: no status.json in $sd or its subdirectories" --state-dir "$sd"
expect 3 "startvm status: no status: no VM 'nope' under $sd" --state-dir "$sd" nope

: >"$f"
expect 3 "startvm status: no status: $f: empty file" --state-dir "$sd"
expect 3 "startvm status: no status: $f: empty file" --state-dir "$sd" --ready
printf '{"version": 1, "phase": "rea' >"$f"
before=$(snapshot)
expect 3 "startvm status: no status: $f: not a JSON object (truncated or not written by startvm)" --state-dir "$sd/vm1" --ready
assert_eq "$before" "$(snapshot)" "the state dir after reading a truncated file"
echo 'phase=ready' >"$f"
expect 3 "startvm status: no status: $f: not a JSON object (truncated or not written by startvm)" --state-dir "$sd" --json
echo '{"version": 2, "phase": "ready"}' >"$f"
expect 3 "startvm status: no status: $f: format version 2 (this startvm reads up to 1)" --state-dir "$sd" --ready
echo '{"version": 1, "phase": "sleeping"}' >"$f"
expect 3 "startvm status: no status: $f: unknown phase \"sleeping\"" --state-dir "$sd" --ready
echo '{"version": 1}' >"$f"
expect 3 "startvm status: no status: $f: no \"phase\"" --state-dir "$sd" --ready
head -c 70000 /dev/zero | tr '\0' ' ' >"$f"
expect 3 "startvm status: no status: $f: larger than 65536 bytes" --state-dir "$sd" --ready
rm "$f"
ln -s /etc/passwd "$f"
expect 3 "startvm status: no status: $f: Too many levels of symbolic links" --state-dir "$sd" vm1
rm "$f"
mkfifo "$f"
expect 3 "startvm status: no status: $f: not a regular file" --state-dir "$sd" vm1
rm "$f"
mkdir "$f"
expect 3 "startvm status: no status: no VM 'vm1' under $sd" --state-dir "$sd" vm1
rmdir "$f"

# A status that a killed startvm left (same pid namespace, pid gone).
sleep 0 &
dead=$!
wait $dead
printf '{"version": 1, "phase": "ready", "supervised": true, "pid": %d, "pid_start": 1, "pid_ns": "%s", "later": [1, {"x": null}]}\n' \
  "$dead" "$(readlink /proc/self/ns/pid)" >"$f"
out=$("$STARTVM" status --state-dir "$sd" --ready)
assert_eq 1 "$?" "--ready for a gone startvm"
assert_eq "not ready: startvm (pid $dead) is no longer running (it last said ready)" "$out"
"$STARTVM" status --state-dir "$sd" | grep "WARNING:   startvm (pid $dead) is no longer running" >/dev/null || fail "no warning in the human report"
cmp -s <("$STARTVM" status --state-dir "$sd" --json 2>/dev/null) "$f" || fail "--json is not the file as it is"
# The same written by another pid namespace: cannot tell, trusts it.
sed -i 's/"pid_ns": "[^"]*"/"pid_ns": "pid:[1]"/' "$f"
out=$("$STARTVM" status --state-dir "$sd" --ready)
assert_eq 0 "$?" "--ready for a status from another pid namespace"
assert_eq ready "$out"

# Several VMs: name one (exact id or unique prefix).
mkdir -p "$sd/vm1b" "$sd/other"
cp "$f" "$sd/vm1b/status.json"
sed 's/"ready"/"booting"/' "$f" >"$sd/other/status.json"
out=$("$STARTVM" status --state-dir "$sd" 2>&1 >/dev/null)
assert_eq 2 "$?" "several VMs"
[ "$(head -1 <<<"$out")" = "startvm status: 3 VMs under $sd: name one (a container id or prefix):" ] || fail "several VMs: $out"
"$STARTVM" status --state-dir "$sd" vm1 --ready >/dev/null || fail "exact id vm1 beside vm1b"
expect 2 "startvm status: 2 VMs under $sd: name one (a container id or prefix):
  vm1
  vm1b" --state-dir "$sd" vm
out=$("$STARTVM" status --state-dir "$sd" ot --ready)
assert_eq 1 "$?" "prefix 'ot'"
assert_eq "not ready: booting" "$out"
expect 2 "startvm status: '../x' is not a container id" --state-dir "$sd" ../x

# Usage.
expect 2 "startvm status: unknown option '--bogus' (see startvm status --help)" --bogus
expect 2 "startvm status: option '--state-dir' needs a value" --state-dir
expect 2 "startvm status: option '--state-dir' needs a value" --state-dir=
expect 2 "startvm status: --config and --state-dir exclude each other" --config x --state-dir y
expect 2 "startvm status: one VM at a time ('a' and 'b')" a b
printf 'memory: lots\n' >"$SV_TMP/bad.yaml"
out=$("$STARTVM" status --config "$SV_TMP/bad.yaml" 2>&1)
assert_eq 2 "$?" "status with a bad vm.yaml"
case $out in "startvm status: $SV_TMP/bad.yaml:1:9: memory: "*) ;; *) fail "bad vm.yaml: $out" ;; esac
# Found as startvm finds it: vm.yaml's state_dir and the container id.
printf 'state_dir: %s\n' "$sd" >"$SV_TMP/vm.yaml"
id=$(hostname)
expect 3 "startvm status: no status: $sd/$id does not exist (no startvm has run here with this state_dir and container id)" \
  --config "$SV_TMP/vm.yaml"
"$STARTVM" status --config "$SV_TMP/vm.yaml" vm1 --ready >/dev/null || fail "--config with an id"
echo ok

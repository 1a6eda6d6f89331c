#!/usr/bin/env bash
# status.json is never half-written: SIGKILL startvm at random moments
# while it starts (30 times) and while it stops (15 times); after each,
# the file is absent or valid JSON that `startvm status` reads, and
# `--ready` never says ready for a startvm that is gone.  The guest never
# gets to answer the ACPI request within shutdown.timeout (1s), so a
# stop ends in a hard stop and "stopped" within the kill window.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
need_root
need_netns
need_startvm
need_tiny
need /usr/bin/python3
tmpdir

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "network:
  interfaces: []
console:
  vnc: false
state_dir: $SV_TMP/state
shutdown:
  timeout: 1s"
SV_WRAP=(env ACCEL=tcg unshare -n --uts sh -c 'hostname sigkill-vm && exec "$0" "$@"')
file=$SV_TMP/state/sigkill-vm/status.json

check_file() {
  local what=$1 out rc
  [ -e "$file" ] || {
    out=$("$STARTVM" status --state-dir "$SV_TMP/state" sigkill-vm 2>&1)
    rc=$?
    [ "$rc" = 3 ] || fail "$what: no file, but status exited $rc: $out"
    return 0
  }
  /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["version"]==1 and d["phase"]' "$file" ||
    fail "$what: not valid JSON: $(cat "$file")"
  "$STARTVM" status --state-dir "$SV_TMP/state" --json >/dev/null || fail "$what: status --json exited $?"
  out=$("$STARTVM" status --state-dir "$SV_TMP/state" --ready)
  rc=$?
  [ "$rc" = 1 ] || fail "$what: --ready exited $rc ($out) for a killed startvm"
  phase=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phase"])' "$file")
  case $phase in
  stopped | failed) [ "$out" = "not ready: $phase" ] || fail "$what: '$out'" ;;
  *) case $out in "not ready: startvm (pid "*") is no longer running (it last said $phase)") ;;
     *) fail "$what: --ready said '$out' for a killed startvm in phase $phase" ;; esac ;;
  esac
  phases="$phases $phase"
}

sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

kill_now() {
  kill -KILL "$STARTVM_PID" 2>/dev/null
  wait "$STARTVM_PID" 2>/dev/null
  # QEMU gets SIGTERM from the kernel (PR_SET_PDEATHSIG); clear the group.
  kill -KILL -- "-$STARTVM_PID" 2>/dev/null
}

phases=
for ((i = 1; i <= 30; i++)); do
  rm -rf "$SV_TMP/state"
  run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml" 2>/dev/null
  sleep_ms $((RANDOM % 250))
  kill_now
  check_file "start kill $i"
done
info "phases seen after start kills:$phases"
phases=
for ((i = 1; i <= 15; i++)); do
  rm -rf "$SV_TMP/state"
  run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml" 2>/dev/null
  for ((j = 0; j < 600; j++)); do
    grep -q '"phase": "ready"' "$file" 2>/dev/null && break
    sleep 0.05
  done
  grep -q '"phase": "ready"' "$file" || fail "stop kill $i: never ready: $(tail -3 "$SV_TMP/log")"
  kill -TERM "$STARTVM_PID"
  sleep_ms $((RANDOM % 1500))
  kill_now
  check_file "stop kill $i"
done
info "phases seen after stop kills:$phases"
assert_no_process "$SV_TMP/vm.yaml"
echo PASS

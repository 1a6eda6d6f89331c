#!/usr/bin/env bash
# status.json is never half-written: SIGKILL startvm in every phase it
# goes through while it starts (no file yet, starting, booting, ready)
# and while it stops (stopping, stopped); after each kill the file is
# absent or valid JSON that `startvm status` reads, and `--ready` never
# says ready for a startvm that is gone.
#
# Each round aims at one phase: a watcher polls status.json, and once it
# shows the phase (for "none": startvm runs and no file exists yet) and
# a random delay within the phase has passed, it freezes startvm
# (SIGSTOP), reads the phase again from the frozen file and only then
# sends SIGKILL: the kill provably lands in the phase it reports, and the
# round fails unless that is the phase it aimed at.  Every phase lasts
# long enough for that, whatever the machine's load:
#  - none and starting: with a base image, startvm runs qemu-img before
#    its first write (info, while observing) and in starting (create,
#    the overlay); a qemu-img that sleeps 1 s first holds startvm there;
#  - booting: a DHCP interface (a fresh container namespace each round,
#    so no round resumes another's handoff): until the guest's lease,
#    seconds under TCG;
#  - ready (no network: "ready" at once): until the stop;
#  - stopping: shutdown.timeout (1s), as the guest never gets to answer
#    the ACPI request in time; the hard stop then ends in "stopped".
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test sigk dnsmasq qemu-img /usr/bin/python3

common="console:
  vnc: false
state_dir: $SV_TMP/state
shutdown:
  timeout: 1s"
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "network:
  interfaces: []
$common"
tiny_yaml "$SV_TMP/dhcp.yaml" "tinyvm.mode=wait" "$common"
hostwrap=(unshare --uts sh -c 'hostname sigkill-vm && exec "$0" "$@"')
file=$SV_TMP/state/sigkill-vm/status.json
sv_host h 172.28.0.1/16
root=$SV_TMP/root
mkdir -p "$root/base_image" "$SV_TMP/slow"
qemu-img create -q -f qcow2 "$root/base_image/base.qcow2" 16M || fail "qemu-img create"
printf '#!/bin/sh\nsleep 1\nexec %q "$@"\n' "$(command -v qemu-img)" >"$SV_TMP/slow/qemu-img"
chmod +x "$SV_TMP/slow/qemu-img"

cat >"$SV_TMP/aim.py" <<'EOF'
# aim.py PID FILE PHASE DELAY_MS STARTVM: SIGKILL PID in PHASE; prints the
# phase the frozen file showed at the kill.
import os, re, signal, sys, time
pid, path, target, delay, startvm = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]

def phase():
    try:
        with open(path) as f:
            m = re.search(r'"phase": "(\w+)"', f.read())
    except FileNotFoundError:
        return "none"
    return m.group(1) if m else "unreadable"

def state():  # R, S, T, Z ... or "" when gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""

def is_startvm():
    try:
        return os.readlink(f"/proc/{pid}/exe") == startvm
    except OSError:
        return False

order = ["none", "starting", "booting", "ready", "stopping", "stopped", "failed"]
deadline = time.monotonic() + 120
while True:
    p = phase()
    if p == target and (target != "none" or is_startvm()):
        break
    if (p in order and order.index(p) > order.index(target)) or state() in ("", "Z") \
            or time.monotonic() > deadline:
        print(f"missed (saw {p})")
        if state() not in ("", "Z"):
            os.kill(pid, signal.SIGKILL)
        sys.exit(0)
    time.sleep(0.0002)
time.sleep(delay / 1000)
os.kill(pid, signal.SIGSTOP)
while state() not in ("T", "Z", ""):  # stopped (or gone): the file is final
    time.sleep(0.0002)
p = phase()
os.kill(pid, signal.SIGKILL)
print(p)
EOF

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
}

# aim ROUND PHASE MAX_DELAY_MS: kill startvm (STARTVM_PID) in PHASE, at a
# random point up to MAX_DELAY_MS after the phase was seen (each phase's
# bound well within how long it lasts), and check what it left.
aim() {
  local what=$1 target=$2 max=$3 got
  got=$(/usr/bin/python3 "$SV_TMP/aim.py" "$STARTVM_PID" "$file" "$target" \
    $((max ? RANDOM % (max + 1) : 0)) "$STARTVM") || fail "$what: the watcher failed"
  wait "$STARTVM_PID" 2>/dev/null
  # QEMU gets SIGTERM from the kernel (PR_SET_PDEATHSIG); clear the group.
  kill -KILL -- "-$STARTVM_PID" 2>/dev/null
  [ "$got" = "$target" ] || { tail -n 5 "$SV_TMP/log" >&2; fail "$what: aimed at $target, killed in: $got"; }
  if [ "$target" = none ]; then
    [ ! -e "$file" ] || fail "$what: killed before the first write, yet status.json exists"
  else
    phase=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phase"])' "$file")
    assert_eq "$target" "$phase" "$what: status.json's phase after the kill"
  fi
  check_file "$what"
  hit="$hit $got"
}

start() { # YAML [CONTAINER|slow]
  rm -rf "$SV_TMP/state" "$root/image"
  case ${2:-} in
  "") SV_WRAP=(env ACCEL=tcg unshare -n "${hostwrap[@]}") ;;
  slow) SV_WRAP=(env ACCEL=tcg RANCHERVM_ROOT="$root" PATH="$SV_TMP/slow:$PATH" unshare -n "${hostwrap[@]}") ;;
  *) SV_WRAP=(ip netns exec "$(sv_ns "$2")" env ACCEL=tcg "${hostwrap[@]}") ;;
  esac
  run_startvm_bg "$SV_TMP/log" --config "$1" 2>/dev/null
}

hit=
for ((i = 1; i <= 6; i++)); do
  start "$SV_TMP/vm.yaml" slow
  aim "start kill $i (none)" none 500
  start "$SV_TMP/vm.yaml" slow
  aim "start kill $i (starting)" starting 500
  sv_container "c$i" h "172.28.0.$((i + 1))/16" 172.28.0.1
  start "$SV_TMP/dhcp.yaml" "c$i"
  aim "start kill $i (booting)" booting 300
  start "$SV_TMP/vm.yaml"
  aim "start kill $i (ready)" ready 500
done
info "phases hit by start kills:$hit"
hit=
for ((i = 1; i <= 12; i++)); do
  start "$SV_TMP/vm.yaml"
  for ((j = 0; j < 600; j++)); do
    grep -q '"phase": "ready"' "$file" 2>/dev/null && break
    sleep 0.05
  done
  grep -q '"phase": "ready"' "$file" || fail "stop kill $i: never ready: $(tail -3 "$SV_TMP/log")"
  kill -TERM "$STARTVM_PID"
  if ((i % 3)); then
    aim "stop kill $i (stopping)" stopping 500
  else
    aim "stop kill $i (stopped)" stopped 0
  fi
done
info "phases hit by stop kills:$hit"
assert_no_process "$SV_TMP/vm.yaml"
assert_no_process "$SV_TMP/dhcp.yaml"
echo PASS

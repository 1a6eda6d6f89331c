#!/usr/bin/env bash
# The VNC and QMP sockets under <state_dir>/<container id>/:
#  - their paths are printed at start, stale sockets from an earlier run are
#    replaced;
#  - a VNC client handshake (the RFB version string) and a QMP query-status
#    work while the guest runs;
#  - a user who stays connected to the QMP socket does not block the
#    graceful stop: startvm uses its own control socket (startvm.qmp);
#  - console.qmp false: no user QMP socket, and SIGTERM still presses the
#    guest's power button through the control socket.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need socat python3
tmpdir

# yaml QMP(true|false)
yaml() {
  tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "network:
  interfaces: []
state_dir: $SV_TMP/state
console:
  vnc: true
  qmp: $1"
}

yaml true
# Where the sockets go: the run directory of the plan.
run_dir=$(ACCEL=tcg unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run |
  sed -n 's/^Run directory: //p')
[ -n "$run_dir" ] || fail "--dry-run printed no run directory"
mkdir -p "$run_dir"
# A stale socket (its QEMU is gone) would make QEMU fail to listen.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$run_dir/qmp" ||
  fail "cannot make a stale socket"
[ -S "$run_dir/qmp" ] || fail "no stale socket made"

SV_WRAP=(env ACCEL=tcg unshare -n)
run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log" '^TINYVM: ready$' 180 "$STARTVM_PID" || fail "the guest did not reach ready"
assert_line "$SV_TMP/log" "^startvm: QMP socket: $run_dir/qmp\$"
assert_line "$SV_TMP/log" "^startvm: VNC socket: $run_dir/vnc\$"

rfb=$(socat -t 5 -T 10 - "UNIX-CONNECT:$run_dir/vnc" </dev/null 2>&1 | head -c 12)
assert_eq "RFB 003.008" "$(printf '%s' "$rfb" | tr -d '\n')" "VNC server greeting"

printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' |
  socat -t 5 -T 10 - "UNIX-CONNECT:$run_dir/qmp" >"$SV_TMP/qmp.out" 2>&1
assert_line "$SV_TMP/qmp.out" '"QMP"' "no QMP greeting"
assert_line "$SV_TMP/qmp.out" '"status": "running"' "query-status did not say running"

# A user stays connected to the QMP socket (QEMU serves one client at a
# time there): SIGTERM must still power the guest off gracefully.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
sys.stdout.write(s.recv(4096).decode()); sys.stdout.flush()
time.sleep(120)' "$run_dir/qmp" >"$SV_TMP/holder.out" 2>&1 &
holder=$!
on_exit kill "$holder"
wait_for_line "$SV_TMP/holder.out" '"QMP"' 30 || fail "the holding QMP client got no greeting"
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not exit after SIGTERM"
assert_eq 0 "$EXIT_STATUS" "status after a clean power-off"
assert_line "$SV_TMP/log" '^TINYVM: acpi-powerdown$'

# console.qmp false
yaml false
run_startvm_bg "$SV_TMP/noqmp.log" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/noqmp.log" '^TINYVM: ready$' 180 "$STARTVM_PID" || fail "the guest did not reach ready"
assert_no_line "$SV_TMP/noqmp.log" '^startvm: QMP socket'
[ -e "$run_dir/qmp" ] && fail "a QMP socket exists with console.qmp false"
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not exit after SIGTERM without a user QMP socket"
assert_eq 0 "$EXIT_STATUS" "status after a clean power-off without a user QMP socket"
assert_line "$SV_TMP/noqmp.log" '^TINYVM: acpi-powerdown$'
info "ok"

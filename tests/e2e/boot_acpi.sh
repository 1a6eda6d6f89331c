#!/usr/bin/env bash
# The ACPI power button, end to end:
#  1. QMP system_powerdown on startvm's QMP socket -> the guest sees the
#     button, says "acpi-powerdown", powers off -> startvm exits 0;
#  2. SIGTERM to startvm (docker stop) -> the same clean path, exit 0;
#  3. a guest that ignores the button -> startvm gives up after
#     shutdown.timeout, stops QEMU hard and exits non-zero.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need socat
tmpdir

# yaml APPEND [SHUTDOWN_TIMEOUT]
yaml() {
  tiny_yaml "$SV_TMP/vm.yaml" "$1" "network:
  interfaces: []
state_dir: $SV_TMP/state
console:
  qmp: true
  vnc: false
shutdown:
  mode: acpi
  timeout: ${2:-20s}"
}

start_vm() {
  rm -rf "$SV_TMP/state"
  SV_WRAP=(env ACCEL=tcg unshare -n)
  run_startvm_bg "$1" --config "$SV_TMP/vm.yaml"
  wait_for_line "$1" '^TINYVM: ready$' 120 "$STARTVM_PID" || fail "the guest did not reach ready"
}

# 1. QMP system_powerdown.
yaml "tinyvm.mode=wait"
start_vm "$SV_TMP/qmp.log"
qmp=$(find "$SV_TMP/state" -type s -name 'qmp*' | head -n1)
[ -S "$qmp" ] || fail "no QMP socket under $SV_TMP/state"
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"system_powerdown"}' |
  socat -t 2 - "UNIX-CONNECT:$qmp" >"$SV_TMP/qmp.reply" 2>&1
grep -q '"return"' "$SV_TMP/qmp.reply" || fail "QMP did not answer: $(cat "$SV_TMP/qmp.reply")"
wait_for_line "$SV_TMP/qmp.log" '^TINYVM: acpi-powerdown$' 30 "$STARTVM_PID" ||
  fail "the guest did not see the power button"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not exit after the guest powered off"
assert_eq 0 "$EXIT_STATUS" "exit status after an ACPI poweroff"
assert_no_process "$SV_TMP/state"

# 2. SIGTERM to startvm.
start_vm "$SV_TMP/term.log"
t0=$(date +%s)
kill -TERM "$STARTVM_PID"
wait_for_line "$SV_TMP/term.log" '^TINYVM: acpi-powerdown$' 30 "$STARTVM_PID" ||
  fail "SIGTERM did not reach the guest as a power button press"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not exit after SIGTERM"
assert_eq 0 "$EXIT_STATUS" "exit status after SIGTERM and a clean guest poweroff"
assert_no_process "$SV_TMP/state"
info "SIGTERM to exit: $(($(date +%s) - t0))s"

# 3. A guest that ignores the button: hard stop after shutdown.timeout.
yaml "tinyvm.mode=wait tinyvm.acpi=ignore" 3s
start_vm "$SV_TMP/ignore.log"
t0=$(date +%s)
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 40 || fail "startvm did not stop a guest that ignores ACPI"
took=$(($(date +%s) - t0))
info "ignored button: startvm exited $EXIT_STATUS after ${took}s"
assert_no_line "$SV_TMP/ignore.log" 'TINYVM: acpi-powerdown' "tinyvm.acpi=ignore powered off"
# QEMU quits with 0 on the SIGTERM of the hard stop; startvm says 143 (a
# hard stop must not look like a clean exit).
assert_eq 143 "$EXIT_STATUS" "exit status after a hard stop"
[ "$took" -ge 2 ] || fail "startvm stopped the guest before shutdown.timeout (${took}s)"
assert_no_process "$SV_TMP/state"

#!/usr/bin/env bash
# shutdown.mode exec: QEMU replaces startvm (the same pid, as the original
# RancherVM ran it); a SIGTERM then reaches QEMU itself, which quits.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "network:
  interfaces: []
state_dir: $SV_TMP/state
shutdown:
  mode: exec"
SV_WRAP=(env ACCEL=tcg unshare -n)
run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log" '^TINYVM: ready$' 180 "$STARTVM_PID" || fail "the guest did not reach ready"
exe=$(readlink /proc/"$STARTVM_PID"/exe)
case "$exe" in
*qemu-system-*) info "pid $STARTVM_PID is now $exe" ;;
*) fail "pid $STARTVM_PID runs $exe, not QEMU" ;;
esac
children=$(cat /proc/"$STARTVM_PID"/task/*/children 2>/dev/null | tr -d ' ')
assert_eq "" "$children" "QEMU in exec mode should have no children here (no dnsmasq)"
assert_line "$SV_TMP/log" '^startvm: QMP socket: '
# No supervisor: status.json says so, and --ready does not pretend.
out=$("$STARTVM" status --state-dir "$SV_TMP/state" --ready)
assert_eq 1 "$?" "status --ready in exec mode"
assert_eq "not ready: not supervised (shutdown.mode exec): startvm cannot tell" "$out"
"$STARTVM" status --state-dir "$SV_TMP/state" | grep "phase:     unknown: not supervised" >/dev/null ||
  fail "startvm status does not say that nothing supervises the VM"
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 30 || fail "QEMU did not quit on SIGTERM"
assert_eq 0 "$EXIT_STATUS" "QEMU's own status after SIGTERM"
assert_no_line "$SV_TMP/log" '^TINYVM: acpi-powerdown' "exec mode has no graceful stop"
info "ok"

#!/usr/bin/env bash
# QEMU killed from outside (OOM killer, `kill -9`): startvm notices at
# once, says so, cleans up and exits with 128+9; nothing is left running.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "network:
  interfaces: []
state_dir: $SV_TMP/state"
SV_WRAP=(env ACCEL=tcg unshare -n)
run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log" '^TINYVM: ready$' 180 "$STARTVM_PID" || fail "the guest did not reach ready"

qemu=$(cat /proc/"$STARTVM_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . | sed -n 1p)
[ -n "$qemu" ] || fail "startvm has no child process"
case "$(readlink /proc/"$qemu"/exe)" in
*qemu-system-*) ;;
*) fail "startvm's child $qemu is $(readlink /proc/"$qemu"/exe), not QEMU" ;;
esac
kill -KILL "$qemu"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not notice that QEMU was killed"
assert_eq 137 "$EXIT_STATUS" "startvm's status when QEMU was killed by SIGKILL"
assert_line "$SV_TMP/log" '^startvm: QEMU killed by signal 9 \(Killed\)$'
pgrep -g "$STARTVM_PID" >/dev/null && fail "left behind: $(pgrep -a -g "$STARTVM_PID")"
info "ok"

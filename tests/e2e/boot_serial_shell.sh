#!/usr/bin/env bash
# The tiny guest's serial console answers: a line typed on startvm's
# stdin (the container's attach stream, startvm-manager's serial console)
# runs in the guest's shell, and its output comes back on stdout.  The
# command's output differs from its text ($((6*7)) -> 42), so the
# terminal's echo of what was typed cannot pass for the answer.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "network:
  interfaces: []
state_dir: $SV_TMP/state
console:
  vnc: false"
mkfifo "$SV_TMP/stdin"
# Held open read-write: the guest's console never sees end of file.
exec 3<>"$SV_TMP/stdin"
log=$SV_TMP/log
setsid env ACCEL=tcg unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" <"$SV_TMP/stdin" >"$log" 2>&1 &
pid=$!
on_exit _sv_kill_group "$pid"
wait_for_line "$log" '^TINYVM: ready$' 120 "$pid" || fail "the guest did not reach ready"

# The shell may start a moment after "ready"; what is typed before waits
# in the guest's tty buffer.
printf 'echo SERIAL-ANSWER-$((6*7))\r' >&3
wait_for_line "$log" '^SERIAL-ANSWER-42$' 30 "$pid" || fail "the guest's serial shell did not answer"
printf 'cat /proc/sys/kernel/hostname\r' >&3
wait_for_line "$log" '^tinyvm$' 30 "$pid" || fail "the guest's shell did not run a second command"
assert_no_line "$log" 'TINYVM: init-error' "the guest's init failed"

kill -TERM "$pid"
wait_for_line "$log" '^TINYVM: acpi-powerdown$' 30 "$pid" || fail "the power button is not seen with the shell running"
wait_exit "$pid" 30 || fail "startvm did not exit"
assert_eq 0 "$EXIT_STATUS" "exit status after a clean poweroff"

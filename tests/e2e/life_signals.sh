#!/usr/bin/env bash
# startvm as a small PID 1 (shutdown.mode acpi), how it answers signals:
#  1. SIGINT (like SIGTERM) asks the guest to power off over QMP: the guest
#     prints its marker, powers off, startvm exits 0 well before the timeout
#     and leaves no process behind;
#  2. a guest that ignores the power button is stopped hard after
#     shutdown.timeout: SIGTERM to QEMU, exit status 143, said on stderr;
#  3. a second SIGTERM during the graceful wait stops QEMU at once.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

# yaml APPEND TIMEOUT
yaml() {
  tiny_yaml "$SV_TMP/vm.yaml" "$1" "network:
  interfaces: []
state_dir: $SV_TMP/state
shutdown:
  timeout: $2"
}

start_vm() {
  SV_WRAP=(env ACCEL=tcg unshare -n)
  run_startvm_bg "$1" --config "$SV_TMP/vm.yaml"
  wait_for_line "$1" '^TINYVM: ready$' 180 "$STARTVM_PID" || fail "the guest did not reach ready"
}

# Nothing of startvm's process group (QEMU, dnsmasq) may survive it.
assert_group_gone() {
  local i
  for ((i = 0; i < 50; i++)); do
    pgrep -g "$1" >/dev/null || return 0
    sleep 0.1
  done
  fail "processes left behind by startvm: $(pgrep -a -g "$1" | tr '\n' ';')"
}

ms() { echo $(($(date +%s%N) / 1000000)); }

# 1. SIGINT: graceful.
yaml "tinyvm.mode=wait" 60s
start_vm "$SV_TMP/int.log"
t0=$(ms)
kill -INT "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not exit after SIGINT"
took=$(($(ms) - t0))
info "SIGINT to exit: ${took} ms, status $EXIT_STATUS"
assert_eq 0 "$EXIT_STATUS" "exit status after a clean ACPI power-off"
assert_line "$SV_TMP/int.log" '^TINYVM: acpi-powerdown$' "the guest did not see the power button"
assert_line "$SV_TMP/int.log" '^startvm: SIGINT: asking the guest to power off \(ACPI\), waiting up to 60s$'
assert_line "$SV_TMP/int.log" '^startvm: the guest powered off after [0-9.]+ s$'
[ "$took" -lt 30000 ] || fail "a clean power-off took ${took} ms (timeout 60 s)"
assert_group_gone "$STARTVM_PID"

# 2. The guest ignores the button: hard stop after shutdown.timeout.
yaml "tinyvm.mode=wait tinyvm.acpi=ignore" 3s
start_vm "$SV_TMP/ignore.log"
t0=$(ms)
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not stop a guest that ignores ACPI"
took=$(($(ms) - t0))
info "ignored button: status $EXIT_STATUS after ${took} ms"
assert_eq 143 "$EXIT_STATUS" "status after a hard stop with SIGTERM"
[ "$took" -ge 3000 ] || fail "startvm stopped the guest before shutdown.timeout (${took} ms)"
[ "$took" -lt 20000 ] || fail "the hard stop came ${took} ms after SIGTERM (timeout 3 s)"
assert_no_line "$SV_TMP/ignore.log" 'TINYVM: acpi-powerdown'
assert_line "$SV_TMP/ignore.log" '^startvm: the guest did not power off within 3s \(shutdown.timeout\): stopping QEMU \(SIGTERM\)$'
assert_line "$SV_TMP/ignore.log" '^startvm: hard stop: .*exit status 143$'
assert_group_gone "$STARTVM_PID"

# 3. A second SIGTERM does not wait for the 120 s timeout.
yaml "tinyvm.mode=wait tinyvm.acpi=ignore" 120s
start_vm "$SV_TMP/twice.log"
kill -TERM "$STARTVM_PID"
wait_for_line "$SV_TMP/twice.log" '^startvm: SIGTERM: asking the guest' 30 "$STARTVM_PID" ||
  fail "startvm did not act on the first SIGTERM"
t0=$(ms)
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not exit after a second SIGTERM"
took=$(($(ms) - t0))
info "second SIGTERM to exit: ${took} ms, status $EXIT_STATUS"
assert_eq 143 "$EXIT_STATUS" "status after an escalated stop"
[ "$took" -lt 20000 ] || fail "the second SIGTERM took ${took} ms"
assert_line "$SV_TMP/twice.log" '^startvm: SIGTERM during the graceful stop: stopping QEMU now \(SIGTERM\)$'
assert_group_gone "$STARTVM_PID"
info "ok"

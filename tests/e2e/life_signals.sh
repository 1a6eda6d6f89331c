#!/usr/bin/env bash
# startvm as a small PID 1 (shutdown.mode acpi), how it answers signals:
#  1. SIGINT (like SIGTERM) asks the guest to power off over QMP: the guest
#     prints its marker, powers off, startvm exits 0 well before the timeout
#     and leaves no process behind;
#  2. a guest that ignores the power button is stopped hard after
#     shutdown.timeout: SIGTERM to QEMU, exit status 143, said on stderr;
#  3. a second SIGTERM during the graceful wait stops QEMU at once;
#  4. SIGHUP is a graceful stop too (the guest powers off, exit 0);
#  5-7 with tests/tools/fake_qemu.py (no guest, no QMP: a graceful stop
#     would wait for the whole shutdown.timeout) held stopped (SIGSTOP) where
#     it must not act on SIGTERM:
#  5. SIGQUIT stops QEMU at once without asking the guest: 143;
#  6. a second signal (SIGINT) hard-stops, a third (SIGHUP) sends SIGKILL:
#     137, without waiting for the 3 s SIGKILL grace;
#  7. QEMU ignoring the hard stop's SIGTERM (after shutdown.timeout) gets
#     SIGKILL 3 s later: 137.
# Every case: the exit status and startvm's lines exactly, nothing left.
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

# 4. SIGHUP: graceful, as SIGTERM.
yaml "tinyvm.mode=wait" 60s
start_vm "$SV_TMP/hup.log"
kill -HUP "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not exit after SIGHUP"
info "SIGHUP: status $EXIT_STATUS"
assert_eq 0 "$EXIT_STATUS" "exit status after SIGHUP and a clean ACPI power-off"
assert_line "$SV_TMP/hup.log" '^TINYVM: acpi-powerdown$' "the guest did not see the power button after SIGHUP"
assert_line "$SV_TMP/hup.log" '^startvm: SIGHUP: asking the guest to power off \(ACPI\), waiting up to 60s$'
assert_line "$SV_TMP/hup.log" '^startvm: the guest powered off after [0-9.]+ s$'
assert_group_gone "$STARTVM_PID"

# fake_vm LOG TIMEOUT: startvm with fake_qemu.py holding (no guest); sets
# QEMU_PID once it runs.
fake_vm() {
  printf 'accel: tcg\nstate_dir: %s/state\nnetwork:\n  interfaces: []\nshutdown:\n  timeout: %s\nqemu:\n  binary: %s\n' \
    "$SV_TMP" "$2" "$SV_SOURCE_DIR/tests/tools/fake_qemu.py" >"$SV_TMP/fake.yaml"
  SV_WRAP=(env FAKE_QEMU_HOLD=1 unshare -n)
  run_startvm_bg "$1" --config "$SV_TMP/fake.yaml"
  wait_for_line "$1" '^FAKEQEMU: fds ' 60 "$STARTVM_PID" || fail "fake QEMU did not start"
  QEMU_PID=$(pgrep -P "$STARTVM_PID" -f fake_qemu.py)
  [ -n "$QEMU_PID" ] || fail "no fake QEMU child of startvm"
}
# The log's startvm lines after the socket lines, exactly.
stop_lines() { grep -a '^startvm: ' "$1" | grep -av '^startvm: \(QMP\|VNC\) socket: '; }

# 5. SIGQUIT: hard stop at once, QEMU quits on SIGTERM (0), startvm says 143.
fake_vm "$SV_TMP/quit.log" 120s
t0=$(ms)
kill -QUIT "$STARTVM_PID"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not exit after SIGQUIT"
took=$(($(ms) - t0))
info "SIGQUIT: status $EXIT_STATUS after ${took} ms"
assert_eq 143 "$EXIT_STATUS" "exit status after SIGQUIT"
assert_eq "startvm: SIGQUIT: stopping QEMU now (SIGTERM), without asking the guest
startvm: hard stop: QEMU exited with status 0 after SIGTERM; exit status 143" "$(stop_lines "$SV_TMP/quit.log")" \
  "startvm's lines after SIGQUIT"
[ "$took" -lt 3000 ] || fail "SIGQUIT took ${took} ms"
assert_group_gone "$STARTVM_PID"

# 6. Three signals: graceful, hard (SIGTERM to a stopped QEMU), SIGKILL.
fake_vm "$SV_TMP/three.log" 120s
kill -STOP "$QEMU_PID"
t0=$(ms)
kill -TERM "$STARTVM_PID"
wait_for_line "$SV_TMP/three.log" '^startvm: SIGTERM: asking the guest' 30 "$STARTVM_PID" ||
  fail "startvm did not act on the first signal"
kill -INT "$STARTVM_PID"
wait_for_line "$SV_TMP/three.log" '^startvm: SIGINT during the graceful stop' 30 "$STARTVM_PID" ||
  fail "startvm did not act on the second signal"
kill -HUP "$STARTVM_PID"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not exit after a third signal"
took=$(($(ms) - t0))
info "three signals: status $EXIT_STATUS after ${took} ms"
assert_eq 137 "$EXIT_STATUS" "exit status after the third signal's SIGKILL"
assert_eq "startvm: SIGTERM: asking the guest to power off (ACPI), waiting up to 120s
startvm: SIGINT during the graceful stop: stopping QEMU now (SIGTERM)
startvm: SIGHUP while QEMU quits: killing it (SIGKILL)
startvm: hard stop: QEMU killed by signal 9 (Killed) after SIGKILL; exit status 137" \
  "$(stop_lines "$SV_TMP/three.log")" "startvm's lines after three signals"
[ "$took" -lt 3000 ] || fail "the third signal did not kill QEMU at once (${took} ms)"
assert_group_gone "$STARTVM_PID"

# 7. shutdown.timeout, then SIGTERM that QEMU (stopped) cannot act on,
# then SIGKILL after the 3 s grace.
fake_vm "$SV_TMP/kill.log" 1s
kill -STOP "$QEMU_PID"
t0=$(ms)
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not kill a QEMU that ignores SIGTERM"
took=$(($(ms) - t0))
info "SIGKILL escalation: status $EXIT_STATUS after ${took} ms"
assert_eq 137 "$EXIT_STATUS" "exit status after the SIGKILL escalation"
assert_eq "startvm: SIGTERM: asking the guest to power off (ACPI), waiting up to 1s
startvm: the guest did not power off within 1s (shutdown.timeout): stopping QEMU (SIGTERM)
startvm: QEMU did not quit within 3000 ms of SIGTERM: killing it (SIGKILL)
startvm: hard stop: QEMU killed by signal 9 (Killed) after SIGKILL; exit status 137" \
  "$(stop_lines "$SV_TMP/kill.log")" "startvm's lines in the SIGKILL escalation"
[ "$took" -ge 4000 ] || fail "SIGKILL came before shutdown.timeout + 3 s (${took} ms)"
[ "$took" -lt 15000 ] || fail "the SIGKILL escalation took ${took} ms"
assert_group_gone "$STARTVM_PID"
info "ok"

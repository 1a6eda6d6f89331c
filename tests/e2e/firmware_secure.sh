#!/usr/bin/env bash
# uefi-secure enforces Secure Boot; uefi does not.  The test binary is
# OVMF's own EFI Internal Shell, an unsigned application in the firmware
# volume that OVMF falls back to when nothing else boots (no disk, no
# kernel here): under FIRMWARE=uefi it starts, under FIRMWARE=uefi-secure
# (secboot build, SMM, Microsoft's keys from OVMF_VARS_4M.ms.fd) OVMF
# refuses it with "Security Violation".  Each VM is then stopped with
# SIGTERM (the firmware ignores the power button: hard stop after
# shutdown.timeout) and leaves nothing running.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
[ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || skip "needs Debian's ovmf (run scripts/setup.sh)"
tmpdir

shell_start='BdsDxe: starting Boot0001 "EFI Internal Shell"'
refused='BdsDxe: failed to start Boot0001 "EFI Internal Shell" .*: Security Violation'
shell_up='UEFI Interactive Shell'

run() { # name firmware
  local n=$1 fw=$2
  cat >"$SV_TMP/$n.yaml" <<YAML
name: fw-$n
memory: 256M
accel: tcg
network:
  interfaces: []
console:
  vnc: false
shutdown:
  timeout: 1s
data_dir: $SV_TMP/$n/data
state_dir: $SV_TMP/$n/state
YAML
  SV_WRAP=(env ACCEL=tcg FIRMWARE="$fw" unshare -n)
  run_startvm_bg "$SV_TMP/$n.log" --config "$SV_TMP/$n.yaml"
}

stop() { # name
  kill -TERM "$STARTVM_PID"
  wait_exit "$STARTVM_PID" 30 || fail "$1: startvm did not stop after SIGTERM"
  assert_eq 143 "$EXIT_STATUS" "$1: startvm's status after a hard stop"
  assert_no_process "$SV_TMP/$1/"
}

# --- uefi-secure: the unsigned shell is refused ---
run secure uefi-secure
# Either outcome ends the wait; then it must be the refusal.
wait_for_line "$SV_TMP/secure.log" "$refused|$shell_up" 120 "$STARTVM_PID" ||
  fail "uefi-secure: OVMF neither started nor refused its shell"
assert_line "$SV_TMP/secure.log" "$refused" "uefi-secure: OVMF did not refuse its unsigned shell"
assert_line "$SV_TMP/secure.log" "^startvm: copy /usr/share/OVMF/OVMF_VARS_4M\\.ms\\.fd to $SV_TMP/secure/data/efivars\\.fd "
assert_no_line "$SV_TMP/secure.log" "$shell_up" "uefi-secure: the unsigned shell ran"
stop secure

# --- uefi: the same binary starts ---
run plain uefi
wait_for_line "$SV_TMP/plain.log" "$refused|$shell_up" 120 "$STARTVM_PID" ||
  fail "uefi: OVMF neither started nor refused its shell"
assert_line "$SV_TMP/plain.log" "$shell_up" "uefi: OVMF's shell did not start"
assert_line "$SV_TMP/plain.log" "$shell_start"
assert_no_line "$SV_TMP/plain.log" 'Security Violation' "uefi: Secure Boot refused something"
stop plain
info "ok"

#!/usr/bin/env bash
# shutdown.mode suspend with tpm: true (swtpm, tpm-tis on machine pc): the
# TPM's state goes along with the guest (QEMU's tpm-emulator migrates it
# through swtpm).  After the resume, the guest's TPM answers TPM2_ReadClock
# without a new TPM2_Startup (rc 0; a TPM that lost its volatile state
# answers TPM_RC_INITIALIZE, 0x100) and with the resetCount it had at boot
# (a restart of the TPM counts one more).  swtpm ends with QEMU each time.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need swtpm
tmpdir

data=$SV_TMP/data
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.alive=1" "name: tiny-suspend-tpm
machine: pc
network:
  interfaces: []
tpm: true
shutdown:
  mode: suspend
data_dir: $data
state_dir: $SV_TMP/state
console:
  vnc: false"
mkfifo "$SV_TMP/stdin"
# Held open read-write: the guest's console never sees end of file.
exec 3<>"$SV_TMP/stdin"

start() { # N
  local log=$SV_TMP/log$1
  setsid env ACCEL=tcg unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" <"$SV_TMP/stdin" >"$log" 2>&1 &
  STARTVM_PID=$!
  on_exit _sv_kill_group "$STARTVM_PID"
  wait_for_line "$log" '^TINYVM: alive boot=' 180 "$STARTVM_PID" || fail "start $1: the guest does not run"
}

start 1
boot=$(tiny_line "$SV_TMP/log1" "tpm tpm0 version=2")
resets=$(echo "$boot" | sed -n 's/^resets=\([0-9]*\) .*/\1/p')
[ -n "$resets" ] || fail "the guest saw no TPM 2.0: $boot"
stop_startvm "$STARTVM_PID" "$SV_TMP/log1" 0
assert_line "$SV_TMP/log1" "^startvm: suspend: saved the guest to $data/vmstate "
assert_no_process "$data/tpm"

start 2
assert_line "$SV_TMP/log2" "^startvm: suspend: resumed the guest from $data/vmstate "
# TPM2_ReadClock, as the init sends it: rc and resetCount, in hex.
printf '%s\r' "echo TPMCLOCK \$( (printf '\\200\\001\\000\\000\\000\\012\\000\\000\\001\\201' >&3; dd bs=4096 count=1 <&3 2>/dev/null) 3<>/dev/tpm0 | od -An -tx1 | tr -d ' \\n' | cut -c13-20,53-60)" >&3
wait_for_line "$SV_TMP/log2" '^TPMCLOCK [0-9a-f]+$' 60 "$STARTVM_PID" || fail "the resumed guest's TPM did not answer"
answer=$(tr -d '\r' <"$SV_TMP/log2" | sed -n 's/^TPMCLOCK //p' | sed -n 1p)
assert_eq 00000000 "${answer:0:8}" "TPM2_ReadClock's rc after the resume (0x100: the TPM lost its state)"
assert_eq "$resets" "$((16#${answer:8:8}))" "the TPM's resetCount after the resume (the TPM was restarted)"
stop_startvm "$STARTVM_PID" "$SV_TMP/log2" 0
assert_line "$SV_TMP/log2" "^startvm: suspend: saved the guest to $data/vmstate "
assert_no_process "$data/tpm"
[ -e "$SV_TMP/state/vm/swtpm.sock" ] && fail "swtpm's control socket was left behind"
exit 0

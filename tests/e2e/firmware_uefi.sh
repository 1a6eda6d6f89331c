#!/usr/bin/env bash
# firmware: uefi with tpm: true, booted twice (the container restarted).
# First start: startvm makes data_dir, copies OVMF's variable template to
# data_dir/efivars.fd (0600) and makes data_dir/tpm (0700); the tiny guest
# boots through OVMF by direct kernel boot (boot.kernel), sees a TPM 2.0
# into which OVMF measured the boot (PCR 0), and writes an EFI variable.  Second start: nothing is copied again, the
# store is the same file, the guest finds its variable, and the TPM's
# resetCount went up by one (its NV state was kept, not recreated).
# Nothing is left running after either start.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need swtpm stat cmp
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || skip "needs Debian's ovmf (run scripts/setup.sh)"
tmpdir

data=$SV_TMP/data
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff tinyvm.efivar=kept-$$" "name: tiny-uefi
network:
  interfaces: []
firmware: uefi
tpm: true
data_dir: $data
state_dir: $SV_TMP/state"

boot() {
  local n=$1 start end rc
  start=$(date +%s.%N)
  ACCEL=tcg timeout 180 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" \
    >"$SV_TMP/out$n.log" 2>"$SV_TMP/err$n.log"
  rc=$?
  end=$(date +%s.%N)
  info "start $n: startvm exited $rc after $(echo "$end - $start" | bc)s"
  [ "$rc" = 124 ] && fail "start $n: startvm did not finish within 180 s"
  assert_line "$SV_TMP/out$n.log" '^TINYVM: ready$' "start $n: the guest did not reach ready under OVMF"
  assert_eq 0 "$rc" "start $n: startvm's status after a guest poweroff"
  assert_no_process "$data/tpm"
}

boot 1
assert_line "$SV_TMP/err1.log" "^startvm: copy /usr/share/OVMF/OVMF_VARS_4M.fd to $data/efivars.fd \(mode 0600, only while it does not exist\)$"
assert_line "$SV_TMP/err1.log" "^startvm: mkdir \(mode 0700\) $data/tpm$"
assert_eq 600 "$(stat -c %a "$data/efivars.fd")" "efivars.fd's mode"
assert_eq 700 "$(stat -c %a "$data/tpm")" "data_dir/tpm's mode"
assert_eq 700 "$(stat -c %a "$data")" "data_dir's mode"
# OVMF wrote into the VM's store (boot entries, the guest's variable).
cmp -s /usr/share/OVMF/OVMF_VARS_4M.fd "$data/efivars.fd" && fail "efivars.fd is still the template"
assert_line "$SV_TMP/out1.log" "^TINYVM: efivar written kept-$$\$" "the guest could not write an EFI variable"
assert_line "$SV_TMP/out1.log" '^TINYVM: tpm tpm0 version=2 resets=[0-9]+ pcr0=[0-9a-f]{64}$' "the guest saw no TPM 2.0"
# OVMF measured the boot into the TPM (PCR 0 is all zeros otherwise).
assert_no_line "$SV_TMP/out1.log" '^TINYVM: tpm .* pcr0=0{64}$' "OVMF measured nothing into PCR 0"
resets1=$(tiny_line "$SV_TMP/out1.log" "tpm tpm0 version=2" | sed 's/^resets=\([0-9]*\) .*/\1/')
[ -s "$data/tpm/tpm2-00.permall" ] || fail "swtpm kept no state in $data/tpm"
inode1=$(stat -c %i "$data/efivars.fd")

boot 2
assert_no_line "$SV_TMP/err2.log" '^startvm: (copy|mkdir) ' "the second start copied or made something again"
assert_eq "$inode1" "$(stat -c %i "$data/efivars.fd")" "efivars.fd was replaced"
assert_line "$SV_TMP/out2.log" "^TINYVM: efivar found kept-$$\$" "the EFI variable did not survive the restart"
resets2=$(tiny_line "$SV_TMP/out2.log" "tpm tpm0 version=2" | sed 's/^resets=\([0-9]*\) .*/\1/')
assert_eq "$((resets1 + 1))" "$resets2" "the TPM's resetCount after a restart (a fresh state starts over)"
info "ok: resetCount $resets1 -> $resets2; guest uptime at ready: $(tiny_line "$SV_TMP/out2.log" uptime)s"

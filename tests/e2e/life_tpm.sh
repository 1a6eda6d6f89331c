#!/usr/bin/env bash
# tpm: true on machine pc (tpm-tis) under SeaBIOS: swtpm's life.
#  1. The guest sees a TPM 2.0.  swtpm runs under its own uid and gid
#     (64999), with no capabilities at all (effective, permitted,
#     bounding), no_new_privs and its seccomp filter.
#     swtpm killed while the guest runs: startvm stops the VM, says why
#     and exits 5; nothing is left running.
#  2. SIGTERM (docker stop): the guest powers off, swtpm is stopped after
#     QEMU, status 0, and the TPM's state was kept (resetCount + 1).
#  3. QEMU killed: startvm exits 137 and stops swtpm too.
# After each, no process and no control socket is left.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need swtpm
tmpdir

data=$SV_TMP/data
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "name: tiny-tpm
machine: pc
network:
  interfaces: []
tpm: true
data_dir: $data
state_dir: $SV_TMP/state"
SV_WRAP=(env ACCEL=tcg unshare -n)

# The child of startvm whose program is $1 (qemu-system-x86_64, swtpm).
child_named() {
  local p
  for p in $(cat /proc/"$STARTVM_PID"/task/*/children 2>/dev/null); do
    case "$(readlink /proc/"$p"/exe)" in */"$1") echo "$p" ;; esac
  done
}

start() {
  local n=$1
  run_startvm_bg "$SV_TMP/log$n" --config "$SV_TMP/vm.yaml"
  wait_for_line "$SV_TMP/log$n" '^TINYVM: ready$' 180 "$STARTVM_PID" || fail "start $n: the guest did not reach ready"
  assert_line "$SV_TMP/log$n" '^TINYVM: tpm tpm0 version=2 resets=[0-9]+ pcr0=[0-9a-f]{64}$' "start $n: the guest saw no TPM 2.0"
  SWTPM=$(child_named swtpm)
  QEMU=$(child_named qemu-system-x86_64)
  [ -n "$SWTPM" ] && [ -n "$QEMU" ] || fail "start $n: startvm's children are not QEMU and swtpm"
}

resets() { tiny_line "$1" "tpm tpm0 version=2" | sed 's/^resets=\([0-9]*\) .*/\1/'; }

# --- 1. swtpm dies while the guest runs ---
start 1
st=/proc/$SWTPM/status
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
  assert_eq "$f:	0000000000000000" "$(grep "^$f:" "$st")" "swtpm's $f"
done
assert_eq "NoNewPrivs:	1" "$(grep '^NoNewPrivs:' "$st")" "swtpm's no_new_privs"
# Its own uid and gid, no supplementary groups (startvm runs as root here),
# and its state is its own.
assert_eq "Uid:	64999	64999	64999	64999" "$(grep '^Uid:' "$st")" "swtpm's uids"
assert_eq "Gid:	64999	64999	64999	64999" "$(grep '^Gid:' "$st")" "swtpm's gids"
assert_eq "Groups:" "$(grep '^Groups:' "$st" | tr -d ' \t')" "swtpm's supplementary groups"
assert_eq "64999:64999 700" "$(stat -c '%u:%g %a' "$data/tpm")" "the TPM state directory's owner and mode"
assert_eq 700 "$(stat -c %a "$data")" "data_dir's mode (swtpm reaches its state by its cwd)"
assert_eq "Seccomp:	2" "$(grep '^Seccomp:' "$st")" "swtpm's seccomp filter"
assert_eq "$SV_TMP/state/vm/swtpm.sock" "$(find "$SV_TMP/state" -type s -name swtpm.sock)" "swtpm's control socket"
assert_eq 600 "$(stat -c %a "$SV_TMP/state/vm/swtpm.sock")" "the control socket's mode"
kill -KILL "$SWTPM"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not stop the VM after swtpm died"
assert_eq 5 "$EXIT_STATUS" "startvm's status when swtpm died"
assert_line "$SV_TMP/log1" '^startvm: swtpm killed by signal 9 \(Killed\) while the VM runs: the guest lost its TPM; stopping the VM \(exit status 5\)$'
assert_line "$SV_TMP/log1" '^TINYVM: acpi-powerdown$' "the guest was not asked to power off"
assert_no_process "$data/tpm"
[ -e "$SV_TMP/state/vm/swtpm.sock" ] && fail "swtpm's control socket was left behind"
assert_no_process "$SV_TMP/state"
resets1=$(resets "$SV_TMP/log1")

# --- 2. SIGTERM: a graceful stop, the state kept ---
start 2
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not stop after SIGTERM"
assert_eq 0 "$EXIT_STATUS" "startvm's status after SIGTERM and a guest poweroff"
assert_no_line "$SV_TMP/log2" 'swtpm .*while the VM runs' "a normal stop was taken for a lost TPM"
assert_no_process "$data/tpm"
[ -e "$SV_TMP/state/vm/swtpm.sock" ] && fail "swtpm's control socket was left behind"
resets2=$(resets "$SV_TMP/log2")
assert_eq "$((resets1 + 1))" "$resets2" "the TPM's resetCount on the next start (its state must be kept)"

# --- 3. QEMU killed from outside ---
start 3
kill -KILL "$QEMU"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not notice that QEMU was killed"
assert_eq 137 "$EXIT_STATUS" "startvm's status when QEMU was killed"
assert_no_process "$data/tpm"
[ -e "$SV_TMP/state/vm/swtpm.sock" ] && fail "swtpm's control socket was left behind"
info "ok: resetCount $resets1 -> $resets2"

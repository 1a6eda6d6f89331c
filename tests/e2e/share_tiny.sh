#!/usr/bin/env bash
# shares: a read-write share over virtiofs and a read-only one over QEMU's
# 9p, both given by SHARES, with startvm holding only a VM container's
# capabilities (Docker's defaults plus NET_ADMIN; no SYS_ADMIN).
#  1. The guest mounts both: it reads the file the host wrote in each,
#     its write reaches the host through virtiofs, and the read-only
#     share refuses it (EROFS; nothing appears on the host).  virtiofsd
#     is startvm's child, chroot-sandboxed to the source, with its socket
#     in the run directory.  virtiofsd killed while the guest runs:
#     startvm stops the VM, says why and exits 6; nothing is left.
#  2. SIGTERM (docker stop): the guest powers off, status 0, nothing left.
#  3. QEMU killed: startvm exits 137, virtiofsd is stopped, nothing left.
# The cloud kernel of the tiny fixture has no 9p (CONFIG_9P_FS is off):
# this test boots the same tiny guest built with Debian's generic kernel
# (images/tiny/build.sh with TINY_KERNEL_PKG=linux-image-amd64, cached in
# the build directory).
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need setpriv
[ -x /usr/lib/qemu/virtiofsd ] || skip "needs /usr/lib/qemu/virtiofsd (Debian's qemu-system-common)"
tmpdir

SV_TINY_DIR=$SV_BINARY_DIR/tiny-generic
TINY_KERNEL_PKG=linux-image-amd64 "$SV_SOURCE_DIR/images/tiny/build.sh" "$SV_TINY_DIR" ||
  fail "could not build the tiny guest with Debian's generic kernel"

rw=$SV_TMP/rw
ro=$SV_TMP/ro
mkdir "$rw" "$ro"
echo "host-rw-$$" >"$rw/from-host"
echo "host-ro-$$" >"$ro/from-host"
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.share=data tinyvm.share9p=docs" "name: tiny-share
network:
  interfaces: []
state_dir: $SV_TMP/state"
run=$SV_TMP/state/vm
# A VM container's capabilities: Docker's default set and NET_ADMIN.
caps=chown,dac_override,fsetid,fowner,mknod,net_raw,setgid,setuid,setfcap,setpcap
caps=$caps,net_bind_service,sys_chroot,kill,audit_write,net_admin
SV_WRAP=(env ACCEL=tcg "SHARES=$rw:data,$ro:docs:ro" unshare -n
  setpriv --inh-caps=-all "--bounding-set=-all,+${caps//,/,+}" --)

virtiofsd_child() {
  local p
  for p in $(cat /proc/"$STARTVM_PID"/task/*/children 2>/dev/null); do
    case "$(readlink /proc/"$p"/exe)" in */virtiofsd) echo "$p" ;; esac
  done
}

# --- 1. both ways, read-only enforced, virtiofsd killed ---
run_startvm_bg "$SV_TMP/log1" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log1" '^TINYVM: ready$' 240 "$STARTVM_PID" || fail "start 1: the guest did not reach ready"
assert_eq "00000000a80435fb" "$(grep '^CapBnd:' /proc/"$STARTVM_PID"/status | cut -f2)" "startvm's bounding set"
assert_eq "host-rw-$$" "$(tiny_line "$SV_TMP/log1" "share data read")" "the guest read the virtiofs share"
assert_eq "host-ro-$$" "$(tiny_line "$SV_TMP/log1" "share docs read")" "the guest read the 9p share"
assert_line "$SV_TMP/log1" '^TINYVM: share data write ok written by [0-9a-f-]{36}$' "the guest's write to the virtiofs share"
assert_eq "$(tiny_line "$SV_TMP/log1" "share data write ok")" "$(cat "$rw/from-guest" 2>/dev/null)" \
  "the host sees the file the guest wrote"
assert_eq "Read-only file system" "$(tiny_line "$SV_TMP/log1" "share docs write-failed")" \
  "the read-only share's answer to a guest write"
[ -e "$ro/from-guest" ] && fail "the guest wrote into the read-only share"
VFSD=$(virtiofsd_child)
[ -n "$VFSD" ] || fail "virtiofsd is not startvm's child"
assert_eq "/usr/lib/qemu/virtiofsd --fd=3 -o source=$rw -o sandbox=chroot --rlimit-nofile=0 -o log_level=warn" \
  "$(tr '\0' ' ' </proc/"$VFSD"/cmdline | sed 's/ $//')" "virtiofsd's command line"
assert_eq "$rw" "$(readlink /proc/"$VFSD"/root)" "virtiofsd's root (chroot to the source)"
assert_eq "NoNewPrivs:	1" "$(grep '^NoNewPrivs:' /proc/"$VFSD"/status)" "virtiofsd's no_new_privs"
assert_eq "$run/virtiofsd-0.sock" "$(find "$SV_TMP/state" -type s -name 'virtiofsd-*')" "virtiofsd's socket"
assert_eq 600 "$(stat -c %a "$run/virtiofsd-0.sock")" "the socket's mode"
kill -KILL "$VFSD"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not stop the VM after virtiofsd died"
assert_eq 6 "$EXIT_STATUS" "startvm's status when virtiofsd died"
assert_line "$SV_TMP/log1" '^startvm: virtiofsd of share data killed by signal 9 \(Killed\) while the VM runs: the guest lost a share; stopping the VM \(exit status 6\)$'
assert_line "$SV_TMP/log1" '^TINYVM: acpi-powerdown$' "the guest was not asked to power off"
[ -e "$run/virtiofsd-0.sock" ] && fail "virtiofsd's socket was left behind"
assert_no_process "source=$rw"
assert_no_process "$SV_TMP/state"

# --- 2. SIGTERM: a graceful stop, nothing left ---
rm -f "$rw/from-guest"
run_startvm_bg "$SV_TMP/log2" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log2" '^TINYVM: ready$' 240 "$STARTVM_PID" || fail "start 2: the guest did not reach ready"
assert_eq "$(tiny_line "$SV_TMP/log2" "share data write ok")" "$(cat "$rw/from-guest" 2>/dev/null)" \
  "start 2: the host sees the file the guest wrote"
stop_startvm "$STARTVM_PID" "$SV_TMP/log2" 0
assert_no_line "$SV_TMP/log2" 'virtiofsd.*(killed|died|exited)' "virtiofsd's end was reported as a loss"
[ -e "$run/virtiofsd-0.sock" ] && fail "virtiofsd's socket was left behind after SIGTERM"
assert_no_process "source=$rw"
assert_no_process "$SV_TMP/state"

# --- 3. QEMU killed: startvm exits 137 and stops virtiofsd too ---
run_startvm_bg "$SV_TMP/log3" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log3" '^TINYVM: ready$' 240 "$STARTVM_PID" || fail "start 3: the guest did not reach ready"
QEMU=
for p in $(cat /proc/"$STARTVM_PID"/task/*/children 2>/dev/null); do
  case "$(readlink /proc/"$p"/exe)" in */qemu-system-x86_64) QEMU=$p ;; esac
done
[ -n "$QEMU" ] && [ -n "$(virtiofsd_child)" ] || fail "start 3: startvm's children are not QEMU and virtiofsd"
kill -KILL "$QEMU"
wait_exit "$STARTVM_PID" 30 || fail "startvm did not end after QEMU was killed"
assert_eq 137 "$EXIT_STATUS" "startvm's status when QEMU was killed"
assert_no_line "$SV_TMP/log3" 'the guest lost a share' "QEMU's death was blamed on virtiofsd"
[ -e "$run/virtiofsd-0.sock" ] && fail "virtiofsd's socket was left behind after QEMU was killed"
assert_no_process "source=$rw"
assert_no_process "$SV_TMP/state"
exit 0

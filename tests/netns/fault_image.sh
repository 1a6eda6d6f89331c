#!/usr/bin/env bash
# The RancherVM convention's /image when the host's disk is in trouble, in
# a container with a network to hand off (each case in a mount namespace
# of its own, so no mount outlives the test):
#   - /image a tmpfs too small for the overlay (ENOSPC from qemu-img):
#     exit 3 naming the overlay and the reason, no partial overlay or
#     sidecar left in /image, and the container's network untouched;
#   - /image read-only: exit 3 before any network change, /image empty;
#   - then /image writable again: the same container starts (overlay
#     created) and hands its network off; the guest gets its lease.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test fimg dnsmasq qemu-img mount

sv_host h 172.26.0.1/16
sv_container c h 172.26.0.2/16 172.26.0.1
mac=$(sv_in c cat /sys/class/net/eth0/address)
root=$SV_TMP/root
mkdir -p "$root/base_image" "$root/image"
qemu-img create -q -f qcow2 "$root/base_image/base.qcow2" 64M || fail "qemu-img create"
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "state_dir: $SV_TMP/state"

dump () { sv_dump c | sed -E 's/[a-z_]+_timer +[0-9.]+//g'; }
sv_settle c
dump >"$SV_TMP/net.before"

# image_case NAME MOUNT...: startvm in container c with MOUNT (a mount
# command for $root/image) done first in a private mount namespace; the
# exit status, log and the listing of /image as startvm left it.
image_case ()
{
  local name=$1
  shift
  sv_in c unshare -m --propagation private sh -c '
    root=$1 log=$2 ls=$3 startvm=$4 yaml=$5
    shift 5
    "$@" || exit 99
    RANCHERVM_ROOT=$root ACCEL=tcg timeout 120 "$startvm" --config "$yaml" >"$log" 2>&1
    rc=$?
    ls -A "$root/image" >"$ls"
    exit $rc' sh "$root" "$SV_TMP/$name.log" "$SV_TMP/$name.ls" "$STARTVM" "$SV_TMP/vm.yaml" "$@"
  rc=$?
  [ "$rc" != 99 ] || fail "$name: could not mount the test's /image"
  assert_eq 3 "$rc" "$name: exit status"
  [ ! -s "$SV_TMP/$name.ls" ] || fail "$name: left in /image: $(cat "$SV_TMP/$name.ls")"
  sv_settle c
  dump >"$SV_TMP/net.$name"
  diff "$SV_TMP/net.before" "$SV_TMP/net.$name" >&2 || fail "$name: the network was changed"
  assert_no_line "$SV_TMP/$name.log" '^startvm: (link|addr|tuntap)' "$name: a network step was taken"
}

# A page less than the overlay's qcow2 header, refcount and L1 clusters.
image_case enospc mount -t tmpfs -o size=64k tmpfs "$root/image"
assert_line "$SV_TMP/enospc.log" "^startvm: disk $root/image/sda\.qcow2: .*No space left on device" \
  "ENOSPC: the message does not name the overlay and the reason"
image_case rofs mount -t tmpfs -o ro tmpfs "$root/image"
assert_line "$SV_TMP/rofs.log" "^startvm: disk $root/image/sda\.qcow2: .*Read-only file system" \
  "read-only /image: the message does not name the overlay and the reason"

# Writable again: the same container starts normally.
SV_VM_ENV=(ACCEL=tcg "RANCHERVM_ROOT=$root")
sv_vm_start c "$SV_TMP/ok.log" "$SV_TMP/vm.yaml" web-1
wait_exit "$STARTVM_PID" 240 || fail "startvm did not exit after the guest's poweroff"
[ "$EXIT_STATUS" = 0 ] || { tail -n 20 "$SV_TMP/ok.log" >&2; fail "the normal start exited $EXIT_STATUS"; }
sv_lease_check "$SV_TMP/ok.log" eth0 ip=172.26.0.2 "mac=$mac"
[ -f "$root/image/sda.qcow2" ] && [ -f "$root/image/sda.qcow2.startvm-base" ] ||
  fail "the normal start did not create the overlay and its sidecar"
echo PASS

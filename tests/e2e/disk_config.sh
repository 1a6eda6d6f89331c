#!/usr/bin/env bash
# disks: in vm.yaml, booted for real: an existing raw disk grown to its
# configured size, a qcow2 created empty, a virtio-scsi disk, a cdrom, a
# sata disk and an ide cdrom (QEMU accepts those controllers; the tiny
# guest has no AHCI driver, so the last two are checked on QEMU's side
# only).  The guest sees each of the others with the right size; a second
# start plans no disk op and recreates nothing.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need qemu-img stat
tmpdir

d=$SV_TMP/disks
mkdir -p "$d"
qemu-img create -q -f raw "$d/data.raw" 16M
qemu-img create -q -f raw "$d/scsi.img" 12M
qemu-img create -q -f raw "$d/cd.iso" 2M
qemu-img create -q -f qcow2 "$d/sata.qcow2" 4M

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "network:
  interfaces: []
state_dir: $SV_TMP/state
disks:
  - file: $d/data.raw
    size: 24M
  - file: $d/new.qcow2
    size: 8M
    cache: writeback
  - file: $d/scsi.img
    bus: scsi
    format: raw
  - file: $d/cd.iso
    media: cdrom
  - file: $d/sata.qcow2
    bus: sata
  - file: $d/cd.iso
    bus: ide
    media: cdrom"

boot() {
  ACCEL=tcg timeout 180 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" >"$1" 2>&1
  local rc=$?
  [ "$rc" = 0 ] || {
    tail -n 30 "$1" >&2
    fail "startvm exited $rc"
  }
  assert_line "$1" '^TINYVM: ready$' "the guest did not reach ready"
}

boot "$SV_TMP/boot1.log"
assert_eq 25165824 "$(stat -c %s "$d/data.raw")" "data.raw was not grown to 24M"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk vda size=25165824 ' "grown disk"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk vdb size=8388608 ' "created qcow2"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk sda size=12582912 ' "virtio-scsi disk"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk sr0 size=2097152 ' "cdrom"
qemu-img info --output=json "$d/new.qcow2" | grep '"format": "qcow2"' >/dev/null || fail "new.qcow2 is not qcow2"

ino=$(stat -c %i "$d/new.qcow2")
unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/dry" 2>&1 || fail "dry-run failed"
assert_no_line "$SV_TMP/dry" 'qemu-img (create|resize)' "a second start still plans disk ops"
boot "$SV_TMP/boot2.log"
assert_eq "$ino" "$(stat -c %i "$d/new.qcow2")" "new.qcow2 was recreated"
info "ok"

#!/usr/bin/env bash
# Disks listed in vm.yaml reach the guest in order, with their sizes: a raw
# file (truncate) and a qcow2 (qemu-img).  A marker written on the raw disk
# by the first boot is found by the second: the guest really writes
# through to the image.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need qemu-img
tmpdir

truncate -s 48M "$SV_TMP/data.raw"
qemu-img create -q -f qcow2 "$SV_TMP/second.qcow2" 96M || fail "qemu-img create failed"
word=sv$$x$RANDOM

boot() {
  tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff tinyvm.marker=$word tinyvm.datadisk=vda" \
    "network:
  interfaces: []
state_dir: $SV_TMP/state
disks:
  - file: $SV_TMP/data.raw
    format: raw
  - file: $SV_TMP/second.qcow2
    format: qcow2"
  ACCEL=tcg timeout 180 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" >"$1" 2>"$1.err"
  local rc=$?
  [ "$rc" = 0 ] || {
    tail -n 20 "$1" "$1.err" >&2
    fail "startvm exited $rc"
  }
  assert_line "$1" '^TINYVM: ready$' "the guest did not reach ready"
}

boot "$SV_TMP/boot1.log"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk vda size=50331648 ' "raw disk: wrong size or missing"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk vdb size=100663296 ' "qcow2 disk: wrong size or missing"
assert_no_line "$SV_TMP/boot1.log" '^TINYVM: disk vdc ' "a disk that vm.yaml does not list"
assert_line "$SV_TMP/boot1.log" "^TINYVM: marker-written $word\$" "first boot should write the marker"

# The marker is on the host's file now...
head -c 64 "$SV_TMP/data.raw" | grep -a "TINYVM-MARKER $word" >/dev/null ||
  fail "the guest's write did not reach $SV_TMP/data.raw"
# ...and the next boot finds it.
boot "$SV_TMP/boot2.log"
assert_line "$SV_TMP/boot2.log" "^TINYVM: marker-found $word\$" "second boot should find the marker"

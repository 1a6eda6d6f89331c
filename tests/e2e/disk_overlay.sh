#!/usr/bin/env bash
# The RancherVM convention, booted for real (tiny guest, TCG, no network):
# /base_image holds one image; the first start creates the overlay
# /image/sda.qcow2 on it (with its sidecar) and the .img files in
# /volumes come after it in sorted order.  The guest writes a marker into
# the overlay; the next start reuses the overlay untouched (same inode,
# the marker is found, the base never changes), and a marker written to a
# volume lands in the host's raw file.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need qemu-img sha256sum stat
tmpdir

root=$SV_TMP/root
export RANCHERVM_ROOT=$root
mkdir -p "$root/base_image" "$root/volumes"
qemu-img create -q -f qcow2 "$root/base_image/base.qcow2" 40M || fail "qemu-img create"
# Sorted order: a-data.img before b-data.img, whatever the creation order.
qemu-img create -q -f raw "$root/volumes/b-data.img" 24M || fail "qemu-img create"
qemu-img create -q -f raw "$root/volumes/a-data.img" 16M || fail "qemu-img create"
touch "$root/volumes/notes.txt" # not an .img: not attached
base_sum=$(sha256sum <"$root/base_image/base.qcow2")
w1=ov$$x$RANDOM
w2=vol$$x$RANDOM

boot() { # LOG APPEND
  tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff $2" "network:
  interfaces: []
state_dir: $SV_TMP/state"
  ACCEL=tcg timeout 180 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" >"$1" 2>&1
  local rc=$?
  [ "$rc" = 0 ] || {
    tail -n 30 "$1" >&2
    fail "startvm exited $rc"
  }
  assert_line "$1" '^TINYVM: ready$' "the guest did not reach ready"
}

# 1. First start: overlay created on the base, guest writes into it.
boot "$SV_TMP/boot1.log" "tinyvm.marker=$w1 tinyvm.datadisk=vda"
[ -f "$root/image/sda.qcow2" ] || fail "no overlay /image/sda.qcow2 after the first start"
[ -f "$root/image/sda.qcow2.startvm-base" ] || fail "no sidecar next to the overlay"
qemu-img info --output=json "$root/image/sda.qcow2" >"$SV_TMP/info.json"
grep -q "\"backing-filename\": \"$root/base_image/base.qcow2\"" "$SV_TMP/info.json" ||
  fail "overlay's backing file is not the base: $(cat "$SV_TMP/info.json")"
grep -q '"backing-filename-format": "qcow2"' "$SV_TMP/info.json" ||
  fail "overlay's backing format is not explicit"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk vda size=41943040 ' "disk 0 should be the overlay (40M)"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk vdb size=16777216 ' "disk 1 should be a-data.img (16M)"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk vdc size=25165824 ' "disk 2 should be b-data.img (24M)"
assert_no_line "$SV_TMP/boot1.log" '^TINYVM: disk vdd' "an extra disk was attached"
assert_line "$SV_TMP/boot1.log" "^TINYVM: marker-written $w1\$"
assert_eq "$base_sum" "$(sha256sum <"$root/base_image/base.qcow2")" "the base image changed"

ino=$(stat -c %i "$root/image/sda.qcow2")
side_sum=$(sha256sum <"$root/image/sda.qcow2.startvm-base")

# 2. Second start: the same overlay, the marker is still there.
boot "$SV_TMP/boot2.log" "tinyvm.marker=$w1 tinyvm.datadisk=vda"
assert_line "$SV_TMP/boot2.log" "^TINYVM: marker-found $w1\$" "the overlay lost the guest's data"
# The first start logged the overlay it created; the second created nothing.
assert_line "$SV_TMP/boot1.log" '^startvm: qemu-img create -f qcow2 ' "the overlay creation was not logged"
assert_no_line "$SV_TMP/boot2.log" '^startvm: qemu-img ' "the second start ran qemu-img"
assert_eq "$ino" "$(stat -c %i "$root/image/sda.qcow2")" "the overlay was recreated"
assert_eq "$side_sum" "$(sha256sum <"$root/image/sda.qcow2.startvm-base")" "the sidecar was rewritten"
assert_eq "$base_sum" "$(sha256sum <"$root/base_image/base.qcow2")" "the base image changed"

# 3. A volume is written through to the host's raw file.
boot "$SV_TMP/boot3.log" "tinyvm.marker=$w2 tinyvm.datadisk=vdb"
assert_line "$SV_TMP/boot3.log" "^TINYVM: marker-written $w2\$"
head -c 64 "$root/volumes/a-data.img" | grep -a "TINYVM-MARKER $w2" >/dev/null ||
  fail "the guest's write did not reach volumes/a-data.img"
assert_eq "$ino" "$(stat -c %i "$root/image/sda.qcow2")" "the overlay was recreated"
info "ok"

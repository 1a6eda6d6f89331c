#!/usr/bin/env bash
# DISKS (the environment form of vm.yaml's disks:): bad sizes and unknown
# formats are exit 2 naming the variable, and nothing is created; a good
# value reaches the plan as exact qemu-img and QEMU arguments, and
# --dry-run creates nothing.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_netns
need_startvm
need qemu-img
tmpdir

cat >"$SV_TMP/vm.yaml" <<YAML
network:
  interfaces: []
state_dir: $SV_TMP/state
YAML
# An empty root: no /base_image, so only DISKS decides the disks.
export RANCHERVM_ROOT=$SV_TMP/root
mkdir -p "$RANCHERVM_ROOT"

dry() { unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/out" 2>"$SV_TMP/err"; }

expect_bad() {
  local value=$1 needle=$2 rc
  DISKS=$value dry
  rc=$?
  assert_eq 2 "$rc" "DISKS=$value: exit status"
  grep -qF -- "$needle" "$SV_TMP/err" || {
    cat "$SV_TMP/err" >&2
    fail "DISKS=$value: message lacks '$needle'"
  }
  grep -qF "DISKS=" "$SV_TMP/err" || fail "DISKS=$value: message does not name DISKS"
}

expect_bad "$SV_TMP/a.img:20X" "'20X' is not a size"
expect_bad "$SV_TMP/a.img:0" "a.img:0"
expect_bad "$SV_TMP/a.img:-1G" "a.img:-1G"
expect_bad "$SV_TMP/a.img:qcow3" "unknown field 'qcow3'"
expect_bad "$SV_TMP/a.img:20G:floppy" "unknown field 'floppy'"
[ ! -e "$SV_TMP/a.img" ] || fail "a rejected DISKS value created a file"
[ ! -e "$SV_TMP/state" ] || fail "a rejected DISKS value created the state dir"

# A good value: an empty raw disk of 20G, and an existing qcow2 grown to 2G
# on sata, exactly as the plan says.
qemu-img create -q -f qcow2 "$SV_TMP/b.qcow2" 1G || fail "qemu-img create"
sum=$(sha256sum <"$SV_TMP/b.qcow2")
DISKS="$SV_TMP/a.img:20G,$SV_TMP/b.qcow2:2G:sata" dry || {
  cat "$SV_TMP/err" >&2
  fail "a good DISKS value was refused"
}
assert_line "$SV_TMP/out" "qemu-img create -f raw $SV_TMP/a.img 21474836480\$"
assert_line "$SV_TMP/out" "qemu-img resize -f qcow2 $SV_TMP/b.qcow2 2147483648\$"
assert_line "$SV_TMP/out" "ide-hd,bus=ide.0,drive=disk1,id=disk1-dev"
[ ! -e "$SV_TMP/a.img" ] || fail "--dry-run created a disk"
assert_eq "$sum" "$(sha256sum <"$SV_TMP/b.qcow2")" "--dry-run changed an existing disk"

# The same disk asked smaller than it is: exit 2 with both sizes.
DISKS="$SV_TMP/b.qcow2:512M" dry
assert_eq 2 "$?" "shrinking via DISKS: exit status"
assert_line "$SV_TMP/err" "disk $SV_TMP/b.qcow2: size 512M is smaller than the disk's current size 1G"
assert_eq "$sum" "$(sha256sum <"$SV_TMP/b.qcow2")" "a refused shrink changed the disk"
info "ok"

#!/usr/bin/env bash
# startvm's exit status is QEMU's: (1) QEMU refusing a bogus argument from
# the CMD exits non-zero before any guest runs; (2) a guest that crashes,
# with QEMU's pvpanic device and -action panic=exit-failure, makes QEMU
# exit 1 after a real boot.  Both must come out of startvm unchanged.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

yaml() {
  tiny_yaml "$SV_TMP/vm.yaml" "$1" "network:
  interfaces: []
state_dir: $SV_TMP/state"
}

# (1) What QEMU itself says to the bogus option, then the same via startvm.
qemu-system-x86_64 -nodefaults -display none --sv-no-such-option >/dev/null 2>&1
want=$?
[ "$want" != 0 ] || fail "qemu-system-x86_64 accepted a bogus option: cannot test"
yaml "tinyvm.mode=poweroff"
ACCEL=tcg timeout 120 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" -- --sv-no-such-option \
  >"$SV_TMP/bogus.out" 2>"$SV_TMP/bogus.err"
rc=$?
info "QEMU alone: $want, startvm: $rc"
[ "$rc" = 124 ] && fail "startvm hung on a QEMU that cannot start"
assert_eq "$want" "$rc" "startvm's status for a bogus QEMU argument"
assert_line "$SV_TMP/bogus.err" 'sv-no-such-option' "QEMU's complaint should reach stderr"

# (2) A guest kernel panic turned into QEMU's exit status 1.
yaml "tinyvm.mode=panic"
ACCEL=tcg timeout 180 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" -- \
  -device pvpanic-pci -action panic=exit-failure >"$SV_TMP/panic.out" 2>"$SV_TMP/panic.err"
rc=$?
[ "$rc" = 124 ] && fail "startvm did not finish after the guest panicked"
assert_line "$SV_TMP/panic.out" '^TINYVM: panic$' "the guest did not reach its panic"
assert_eq 1 "$rc" "startvm's status after a guest panic with panic=exit-failure"

#!/usr/bin/env bash
# QEMU that cannot start: a missing binary is exit 3 (environment) with a
# message naming it; QEMU failing on its own (a bad -machine) gives QEMU's
# status and its message.  Either way nothing is left running.  (A bogus
# CMD argument is in boot_exit_status.sh.)
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

run() {
  setsid env ACCEL=tcg timeout 120 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" \
    >"$SV_TMP/out" 2>"$SV_TMP/err" </dev/null
}

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "network:
  interfaces: []
state_dir: $SV_TMP/state
qemu:
  binary: /nonexistent/qemu-system-x86_64"
run
rc=$?
assert_eq 3 "$rc" "status for a missing QEMU binary"
assert_line "$SV_TMP/err" '^startvm: running /nonexistent/qemu-system-x86_64: No such file or directory$'

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "network:
  interfaces: []
state_dir: $SV_TMP/state
machine: sv-no-such-machine"
qemu-system-x86_64 -machine sv-no-such-machine -display none -nodefaults >/dev/null 2>&1
want=$?
[ "$want" != 0 ] || fail "QEMU accepted a bogus machine: cannot test"
run
rc=$?
assert_eq "$want" "$rc" "startvm's status should be QEMU's"
assert_line "$SV_TMP/err" '^qemu-system-x86_64: .*machine' "QEMU's own message should be on stderr"
assert_line "$SV_TMP/err" "^startvm: QEMU exited with status $want\$"
pgrep -f "sv-no-such-machine" >/dev/null && fail "left behind: $(pgrep -a -f sv-no-such-machine)"
info "ok"

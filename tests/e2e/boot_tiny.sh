#!/usr/bin/env bash
# The tiny guest boots for real under startvm (ACCEL=tcg, no network,
# no --dry-run): its serial console reaches startvm's stdout, the guest
# reports no NIC, and startvm exits with QEMU's status (0: guest poweroff).
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "name: tiny-boot
network:
  interfaces: []
state_dir: $SV_TMP/state"

start=$(date +%s.%N)
# unshare -n: even a wrong interface list could not touch the host's network.
ACCEL=tcg timeout 180 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" \
  >"$SV_TMP/out.log" 2>"$SV_TMP/err.log"
rc=$?
end=$(date +%s.%N)
info "startvm exited $rc after $(echo "$end - $start" | bc 2>/dev/null || echo "?")s"
[ "$rc" = 124 ] && fail "startvm did not finish within 180 s"

# The guest's lines come on stdout (the serial console), not stderr.
assert_line "$SV_TMP/out.log" '^TINYVM: init ' "the guest's init did not start"
assert_line "$SV_TMP/out.log" '^TINYVM: nics none$' "the guest saw a NIC with interfaces: []"
assert_line "$SV_TMP/out.log" '^TINYVM: hostname ' "no hostname line"
assert_line "$SV_TMP/out.log" '^TINYVM: ready$' "the guest did not reach ready"
assert_no_line "$SV_TMP/out.log" 'TINYVM: (insmod-failed|init-error)' "the guest's init had errors"
assert_no_line "$SV_TMP/err.log" 'TINYVM:' "guest console lines leaked to stderr"
assert_eq 0 "$rc" "startvm's exit status after a guest poweroff"
info "guest uptime at ready: $(tiny_line "$SV_TMP/out.log" uptime)s"

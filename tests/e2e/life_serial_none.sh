#!/usr/bin/env bash
# console.serial none: the guest runs (and powers off by itself: status 0)
# but nothing of it reaches startvm's stdout.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "network:
  interfaces: []
state_dir: $SV_TMP/state
console:
  serial: none"
ACCEL=tcg timeout 300 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" \
  >"$SV_TMP/out" 2>"$SV_TMP/err" </dev/null
rc=$?
[ "$rc" = 124 ] && fail "the guest did not power off by itself"
assert_eq 0 "$rc" "status after the guest powered off"
[ -s "$SV_TMP/out" ] && fail "stdout is not empty: $(head -c 300 "$SV_TMP/out")"
assert_no_line "$SV_TMP/err" 'TINYVM'
info "ok"

#!/usr/bin/env bash
# Every examples/*/vm.yaml passes `startvm --check` (exit 0 and the
# "configuration is valid" line), so a broken example fails here.  The
# glob must find some: an empty one (examples moved) fails too.
# --check validates the configuration only: the disks, base images and
# kernels the examples name (/image/..., build/tiny/...) need not exist,
# so no file is staged.  The environment is emptied (env -i) so that a
# MEMORY or CPUS in the caller's environment cannot make a broken example
# pass or a good one fail.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
need_startvm
tmpdir

shopt -s nullglob
examples=("$SV_SOURCE_DIR"/examples/*/vm.yaml)
[ "${#examples[@]}" -gt 0 ] || fail "no examples/*/vm.yaml found under $SV_SOURCE_DIR"
bad=0
for f in "${examples[@]}"; do
  rel=${f#"$SV_SOURCE_DIR"/}
  # From the source tree: examples/tiny names its kernel relative to it.
  (cd "$SV_SOURCE_DIR" && env -i PATH="$PATH" "$STARTVM" --check --config "$rel") >"$SV_TMP/out" 2>&1
  rc=$?
  if [ "$rc" != 0 ] || [ "$(cat "$SV_TMP/out")" != "startvm: $rel: configuration is valid" ]; then
    info "$rel: startvm --check exited $rc:"
    cat "$SV_TMP/out" >&2
    bad=$((bad + 1))
  else
    info "$rel: valid"
  fi
done
[ "$bad" = 0 ] || fail "$bad of ${#examples[@]} examples fail startvm --check"
info "ok: ${#examples[@]} examples"

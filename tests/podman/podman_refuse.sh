#!/usr/bin/env bash
# Refusals inside a real container: the container's exit status is
# startvm's (2 for a bad DISKS value, 3 for a /base_image holding two
# images), `podman logs` names the problem, and the /image volume stays
# empty (no overlay made).
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
podman_prereqs
need_tiny
podman_images
tmpdir

name=svdiskr$$
vol=${name}-image
podman_volume "$vol"

expect_exit() { # container status needle podman-run-args...
  local c=$1 want=$2 needle=$3 got
  shift 3
  podman_run "$c" -e ACCEL=tcg -v "$vol:/image" "$@"
  got=$(timeout 60 podman wait "$c") || fail "$c did not stop"
  podman logs "$c" >"$SV_TMP/$c.log" 2>&1
  [ "$got" = "$want" ] || {
    cat "$SV_TMP/$c.log" >&2
    fail "$c: exit status $got, expected $want"
  }
  grep -qF -- "$needle" "$SV_TMP/$c.log" || {
    cat "$SV_TMP/$c.log" >&2
    fail "$c: log lacks '$needle'"
  }
  info "$c refused as expected: $(grep -F -- "$needle" "$SV_TMP/$c.log" | head -n 1)"
}

expect_exit "$name-env" 2 "DISKS=/image/data.img:12XB" -e DISKS=/image/data.img:12XB "$SV_PODMAN_TINY"

# A second image next to the tiny one: which one is the VM's disk?
qemu-img create -q -f raw "$SV_TMP/extra.raw" 1M || fail "qemu-img create"
expect_exit "$name-two" 3 "/base_image holds 2 images (extra.raw, tiny-data.qcow2)" \
  -v "$SV_TMP/extra.raw:/base_image/extra.raw:ro" "$SV_PODMAN_TINY"

# Nothing was written to the VM's volume.
left=$(podman run --rm "${SV_PODMAN_FLAGS[@]}" -v "$vol:/image" --entrypoint ls "$SV_PODMAN_TINY" -A /image) ||
  fail "listing the volume failed"
[ -z "$left" ] || fail "a refused start left files in /image: $left"
info "ok"

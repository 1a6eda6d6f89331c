#!/usr/bin/env bash
# Builds the podman suite's images (first in the label's order, so the
# slow cold build has a test timeout of its own; the other podman tests
# then find them up to date) and checks what the startvm image holds:
# the entrypoint, QEMU, qemu-img and dnsmasq, and no build tools.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
podman_prereqs
need_tiny
podman_images

inside() { podman run --rm "${SV_PODMAN_FLAGS[@]}" --entrypoint "$1" "$SV_PODMAN_STARTVM" "${@:2}"; }
v=$(inside startvm --version) || fail "startvm does not run in $SV_PODMAN_STARTVM"
info "image runs: $v"
inside qemu-system-x86_64 --version >/dev/null || fail "no qemu-system-x86_64 in the image"
inside qemu-img --version >/dev/null || fail "no qemu-img in the image"
inside dnsmasq --version >/dev/null || fail "no dnsmasq in the image"
# The probe itself must work, or the loop below proves nothing.
inside sh -c "command -v qemu-img" >/dev/null || fail "cannot look for commands in the image"
for tool in gcc cc cmake make; do
  if inside sh -c "command -v $tool" >/dev/null 2>&1; then
    fail "the run stage carries a build tool: $tool"
  fi
done
[ "$(podman image inspect -f '{{json .Config.Entrypoint}}' "$SV_PODMAN_STARTVM")" = '["startvm"]' ] ||
  fail "the entrypoint is not [\"startvm\"]"
podman image inspect -f '{{json .Config.Volumes}}' "$SV_PODMAN_STARTVM" | grep '"/image"' >/dev/null ||
  fail "/image is not a volume"
info "ok"

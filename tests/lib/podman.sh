# Helpers for the podman tests (tests/podman/*.sh): a Debian base made
# with mmdebstrap (no registry here), the startvm image (images/base) and
# the tiny guest's VM container image (images/tiny) built on it.
# Source after common.sh.
#
#   podman_prereqs                  skip unless root, podman, mmdebstrap
#   podman_images                   build (or reuse) the three images; sets
#                                   SV_PODMAN_BASE, SV_PODMAN_STARTVM, SV_PODMAN_TINY
#                                   (tag $SV_PODMAN_TAG, default "test")
#   podman_run NAME ARGS...         podman run -d with this machine's flags
#                                   (--runtime runc, ulimits, NET_ADMIN,
#                                   NET_RAW, /dev/net/tun); removed on exit
#   podman_volume NAME              create a named volume, removed on exit
#   podman_wait_log NAME REGEX TIMEOUT
#                                   wait for a line in `podman logs NAME`
#
# Caching: the mmdebstrap base is tagged with a hash of its inputs and
# reused while that tag exists (`podman rmi` it to refresh the packages);
# the other two carry a label with the hash of their inputs (context,
# Dockerfile, base image id) and are rebuilt only when it differs.
# shellcheck shell=bash

SV_PODMAN_FLAGS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
SV_PODMAN_NET_FLAGS=(--cap-add NET_ADMIN --cap-add NET_RAW --device /dev/net/tun)
SV_PODMAN_MIRROR=${SV_PODMAN_MIRROR:-http://deb.debian.org/debian}

podman_prereqs() {
  need_root
  need podman mmdebstrap git tar sha256sum
  podman info >/dev/null 2>&1 || skip "podman does not work here (podman info failed)"
}

# The base: Debian bookworm minbase, made here.
_sv_podman_base() {
  local inputs tag
  inputs="mmdebstrap --variant=minbase --include=ca-certificates bookworm $SV_PODMAN_MIRROR v1"
  tag=localhost/startvm-test-debian:bookworm-$(printf '%s' "$inputs" | sha256sum | cut -c1-12)
  SV_PODMAN_BASE=$tag
  if podman image exists "$tag"; then
    info "base image $tag: cached"
    return 0
  fi
  info "base image $tag: running mmdebstrap (a couple of minutes)"
  # shellcheck disable=SC2086
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm - "$SV_PODMAN_MIRROR" |
    podman import --quiet - "$tag" >/dev/null || fail "mmdebstrap | podman import failed"
}

# Hash of a directory's contents (names, modes, bytes), for build caching.
_sv_tree_hash() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum &&
    find . -printf '%p %m\n' | LC_ALL=C sort) | sha256sum | cut -c1-16
}

# podman build unless the tagged image carries the same inputs label.
_sv_podman_build() { # tag dockerfile context base log
  local tag=$1 file=$2 ctx=$3 base=$4 log=$5 inputs have
  inputs=$( (echo format=docker && _sv_tree_hash "$ctx" && sha256sum <"$file" &&
    podman image inspect -f '{{.Id}}' "$base") | sha256sum | cut -c1-16)
  have=$(podman image inspect -f '{{index .Labels "sv.inputs"}}' "$tag" 2>/dev/null)
  if [ "$have" = "$inputs" ]; then
    info "$tag: up to date"
    return 0
  fi
  # --format docker: the OCI image format has no HEALTHCHECK.
  podman build "${SV_PODMAN_FLAGS[@]}" --format docker --label "sv.inputs=$inputs" --build-arg "BASE=$base" \
    -f "$file" -t "$tag" "$ctx" >"$log" 2>&1 || {
    tail -n 40 "$log" >&2
    fail "podman build -f $file failed"
  }
}

podman_images() {
  local t0=$SECONDS ctx
  _sv_podman_base
  tmpdir _sv_podman_ctx
  # The build context: only what the build needs (tracked and new files,
  # not the build directories).
  ctx=$_sv_podman_ctx/startvm
  mkdir -p "$ctx"
  # Sources, not logs: no sanitizer report to look for (common.sh).
  touch "$_sv_podman_ctx/.sv-noscan"
  (cd "$SV_SOURCE_DIR" && git ls-files -co --exclude-standard -- CMakeLists.txt cmake schemas src tools tests |
    tar -cf - -T -) | tar -xf - -C "$ctx" || fail "staging the build context failed"
  SV_PODMAN_STARTVM=localhost/startvm:${SV_PODMAN_TAG:-test}
  _sv_podman_build "$SV_PODMAN_STARTVM" "$SV_SOURCE_DIR/images/base/Dockerfile" "$ctx" \
    "$SV_PODMAN_BASE" "$_sv_podman_ctx/base.log"
  need_tiny
  ctx=$_sv_podman_ctx/tiny
  mkdir -p "$ctx"
  cp "$SV_TINY_DIR/vmlinuz" "$SV_TINY_DIR/initrd.img" "$ctx/" || fail "copying the tiny guest"
  cp "$SV_SOURCE_DIR/images/tiny/container-vm.yaml" "$ctx/vm.yaml"
  SV_PODMAN_TINY=localhost/startvm-tiny:${SV_PODMAN_TAG:-test}
  _sv_podman_build "$SV_PODMAN_TINY" "$SV_SOURCE_DIR/images/tiny/Dockerfile" "$ctx" \
    "$SV_PODMAN_STARTVM" "$_sv_podman_ctx/tiny.log"
  info "images ready in $((SECONDS - t0))s: $SV_PODMAN_STARTVM, $SV_PODMAN_TINY"
}

_sv_podman_rm() { podman rm -f -v -t 2 "$1" >/dev/null 2>&1; }

podman_run() {
  local name=$1
  shift
  on_exit _sv_podman_rm "$name"
  podman run -d --name "$name" "${SV_PODMAN_FLAGS[@]}" "${SV_PODMAN_NET_FLAGS[@]}" "$@" >/dev/null ||
    fail "podman run $name failed"
}

podman_volume() {
  on_exit podman volume rm -f "$1"
  podman volume create "$1" >/dev/null || fail "podman volume create $1 failed"
}

podman_wait_log() {
  local name=$1 re=$2 timeout=$3 i
  # Whole logs into a variable: grep -q on a pipe would SIGPIPE podman
  # and pipefail would call the match a failure.
  local text
  for ((i = 0; i < timeout * 2; i++)); do
    text=$(podman logs "$name" 2>&1 | tr -d '\r')
    grep -Eq -- "$re" <<<"$text" && return 0
    [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || {
      text=$(podman logs "$name" 2>&1 | tr -d '\r')
      grep -Eq -- "$re" <<<"$text" && return 0
      info "container $name stopped before /$re/; its log:"
      podman logs "$name" 2>&1 | tail -n 40 >&2
      return 1
    }
    sleep 0.5
  done
  info "timed out after ${timeout}s waiting for /$re/ in podman logs $name:"
  podman logs "$name" 2>&1 | tail -n 40 >&2
  return 1
}

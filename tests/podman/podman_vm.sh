#!/usr/bin/env bash
# The VM container for real, with podman: build images/base and
# images/tiny on a Debian base made with mmdebstrap, run the tiny guest's
# image with -e MEMORY/-e ACCEL and a named volume for /image, see the
# guest boot in `podman logs` (its disk, its cloud-init seed with the
# container's hostname), reach it at the container's own address (the
# network handoff), stop it (ACPI), then remove the container and run a new
# one on the same volume: the guest's marker is still on its disk.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
podman_prereqs
need_tiny
podman_images

name=svdisk$$
vol=${name}-image
podman_volume "$vol"

start() { # container-name
  podman_run "$1" -e MEMORY=256M -e ACCEL=tcg -v "$vol:/image" "$SV_PODMAN_TINY"
  podman_wait_log "$1" '^TINYVM: ready$' 180 || fail "the guest in $1 did not boot"
  podman logs "$1" >"$SV_TMP_LOG.$1" 2>&1
}
tmpdir
SV_TMP_LOG=$SV_TMP/log

# --- first container: a new disk ---
start "$name-a"
log=$SV_TMP_LOG.$name-a
assert_line "$log" '^TINYVM: disk vda size=67108864 ' "the guest's disk is not the 64M overlay"
assert_line "$log" '^TINYVM: marker-written tiny-container$' "first start should write the marker"
assert_line "$log" '^TINYVM: cidata files=meta-data,user-data$' "no cloud-init seed in the guest"
host=$(podman inspect -f '{{.Config.Hostname}}' "$name-a")
assert_line "$log" "^TINYVM: cidata-line meta-data: local-hostname: \"$host\"\$" \
  "meta-data's local-hostname is not the container's hostname ($host)"
id_a=$(tiny_line "$log" "cidata-line meta-data: instance-id:")

# MEMORY reached QEMU.
procs=$(podman exec "$name-a" sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f"; echo; done')
grep -q 'qemu-system-x86_64 .*-m 256 ' <<<"$procs" || fail "QEMU does not run with -m 256 (MEMORY=256M)"

# The network handoff: the guest got the container's address, and answers there.
ip=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$name-a")
[ -n "$ip" ] || fail "podman reports no address for $name-a"
podman_wait_log "$name-a" "^TINYVM: lease eth0 ip=$ip " 60 ||
  fail "the guest did not get the container's address $ip"
reply=$(timeout 20 bash -c "exec 3<>/dev/tcp/$ip/8080 && cat <&3" 2>/dev/null | tr -d '\r')
case "$reply" in
TINYVM-HELLO*) info "reached the guest at $ip:8080: $reply" ;;
*) fail "no TINYVM-HELLO from $ip:8080 (got '$reply')" ;;
esac

# podman stop: SIGTERM to startvm, ACPI power button to the guest, exit 0.
podman stop -t 60 "$name-a" >/dev/null || fail "podman stop failed"
assert_eq 0 "$(podman inspect -f '{{.State.ExitCode}}' "$name-a")" "exit code after podman stop"
podman logs "$name-a" >"$SV_TMP/stopped.log" 2>&1
assert_line "$SV_TMP/stopped.log" '^TINYVM: acpi-powerdown$' "the guest did not see the ACPI power button"
podman rm -v "$name-a" >/dev/null || fail "podman rm failed"

# --- a new container on the same volume: the same disk ---
start "$name-b"
log=$SV_TMP_LOG.$name-b
assert_line "$log" '^TINYVM: marker-found tiny-container$' "the guest's data did not survive the container"
id_b=$(tiny_line "$log" "cidata-line meta-data: instance-id:")
[ "$id_a" != "$id_b" ] || fail "a new container kept the old instance-id ($id_a)"
# The second stop as the first: graceful, exit 0.
podman stop -t 60 "$name-b" >/dev/null || fail "podman stop of $name-b failed"
assert_eq 0 "$(podman inspect -f '{{.State.ExitCode}}' "$name-b")" "exit code of $name-b after podman stop"
podman logs "$name-b" >"$SV_TMP/stopped-b.log" 2>&1
assert_line "$SV_TMP/stopped-b.log" '^TINYVM: acpi-powerdown$' "$name-b's guest did not see the ACPI power button"
info "ok"

#!/usr/bin/env bash
# The base image's HEALTHCHECK (startvm status --ready) with podman: the
# tiny guest's VM container is unhealthy while the guest boots (the check
# says why: "not ready: booting ..."), healthy once dnsmasq has
# acknowledged its lease, `podman inspect` says healthy, and
# `podman exec ... startvm status` finds the status by itself.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/podman.sh" || exit 1
podman_prereqs
need_tiny
podman_images

hc=$(podman image inspect -f '{{json .HealthCheck}}' "$SV_PODMAN_TINY")
info "image health check: $hc"
grep -q '"Test":\["CMD","startvm","status","--ready"\]' <<<"$hc" ||
  fail "the image has no HEALTHCHECK CMD [startvm status --ready]: $hc"

name=svhealth$$
podman_volume "$name-image"
podman_run "$name" -e MEMORY=256M -e ACCEL=tcg -v "$name-image:/image" "$SV_PODMAN_TINY"

fails=0
ok=
for ((i = 0; i < 360; i++)); do
  if podman healthcheck run "$name" >/dev/null 2>&1; then
    ok=1
    break
  fi
  fails=$((fails + 1))
  [ "$fails" = 1 ] && first=$(podman inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$name")
  [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || fail "the container stopped: $(podman logs "$name" 2>&1 | tail -5)"
  sleep 0.5
done
[ -n "$ok" ] || fail "never healthy in 3 minutes: $(podman inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$name")"
info "unhealthy $fails time(s) first (first check said: $first), then healthy"
[ "$fails" -ge 1 ] || fail "healthy at the first check: the check cannot have seen the boot"
case $first in "not ready: "*) ;; *) fail "the first failing check said '$first'" ;; esac
logs=$(podman logs "$name" 2>&1 | tr -d '\r')
grep -qE '^dnsmasq-dhcp\[[0-9]+\]: ([0-9]+ )?DHCPACK\(br0\) ' <<<"$logs" || fail "healthy before dnsmasq's DHCPACK"
assert_eq healthy "$(podman inspect -f '{{.State.Health.Status}}' "$name")" "podman inspect's health status"
out=$(podman exec "$name" startvm status)
info "startvm status in the container:"$'\n'"$out"
grep -q 'phase:     ready since' <<<"$out" || fail "startvm status in the container: $out"
podman exec "$name" startvm status --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["phase"] == "ready" and d["supervised"] and d["interfaces"][0]["lease_acked_at"], d
' || fail "status --json in the container"

# Ready means the lease: the guest's init may still be starting its ACPI
# button handler.  Stop it once it says it is up.
podman_wait_log "$name" '^TINYVM: ready$' 120 || fail "the guest did not finish booting"
podman stop -t 60 "$name" >/dev/null || fail "podman stop failed"
assert_eq 0 "$(podman inspect -f '{{.State.ExitCode}}' "$name")" "exit code after podman stop"
echo PASS

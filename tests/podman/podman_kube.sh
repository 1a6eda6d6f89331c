#!/usr/bin/env bash
# examples/kubernetes/ played with `podman kube play` (podman's stand-in
# for a cluster here; tests/tools/kube_to_podman.py does the StatefulSet
# controller's part for one replica and serves the Secret's keys as
# files).  The tiny guest's image and vm.yaml replace the Debian ones;
# everything else is the manifests as written: the NET_ADMIN/NET_RAW
# capabilities, /dev/net/tun and /dev/kvm as CharDevice hostPaths, vm.yaml
# from the ConfigMap, user-data from the Secret, the disk claim.
#   - the readiness probe's own command fails while the guest boots and
#     passes once it has its lease; the guest has the pod's address, and
#     the Service's target port answers there;
#   - the guest boots from its own claim (its marker is written there);
#   - deleting the pod stops the guest gracefully (the ACPI power button);
#   - playing the same manifests again finds the marker on the claim.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/podman.sh" || exit 1
podman_prereqs
need_tiny
need /usr/bin/python3 catatonit
/usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "needs python3-yaml"
podman_images
tmpdir

# kube play needs the same private configuration as the podman service
# (docs/images.md): ulimits (else "error setting rlimit type 7"), runc,
# and the default capability list (a replaced file would lose it).  The
# infra container is podman's own pause image, built from catatonit.
cat >"$SV_TMP/containers.conf" <<'CONF'
[containers]
default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$SV_TMP/containers.conf

# The tiny guest's vm.yaml, as the ConfigMap's: it answers TCP on 22 (the
# Service's port), keeps a marker on its disk, and prints its seed.
cat >"$SV_TMP/vm.yaml" <<'YAML'
memory: 256M
accel: tcg
boot:
  kernel: /tiny/vmlinuz
  initrd: /tiny/initrd.img
  append: "console=ttyS0 panic=-1 tinyvm.mode=wait tinyvm.listen=22 tinyvm.marker=kube-claim tinyvm.datadisk=vda"
shutdown:
  timeout: 45s
YAML
suffix=k$$
eval "$(/usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/kube_to_podman.py" "$SV_SOURCE_DIR/examples/kubernetes" \
  "$suffix" "$SV_PODMAN_TINY" "$SV_TMP/vm.yaml" "$SV_TMP/play.yaml")" || fail "translating the manifests"
info "pod $POD, container $CONTAINER, claims $CLAIMS, Service port $SERVICE_PORT, probe ${PROBE[*]}"
[ "$SERVICE_PORT" = 22 ] || fail "the Service's target port is $SERVICE_PORT"

# k8s-file records to lines: partial records (P) join the next one.
k8s_lines() {
  awk '{ t = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ ?/, "", t); buf = buf t; if ($3 != "P") { print buf; buf = "" } }' "$1" >"$2"
}

cleanup_kube() {
  podman kube down "$SV_TMP/play.yaml" >/dev/null 2>&1
  local c
  for c in $CLAIMS; do podman volume rm -f "$c" >/dev/null 2>&1; done
  # kube play also makes a volume for each ConfigMap volume; ours carry
  # this run's suffix.
  for c in $(podman volume ls -q | grep -- "-$suffix\$"); do podman volume rm -f "$c" >/dev/null 2>&1; done
  # Shared by every kube play: removed only when nothing uses it.
  podman network rm podman-default-kube-network >/dev/null 2>&1
  return 0
}
on_exit cleanup_kube

# The replay: the claims exist (a cluster binds the same claims again;
# podman 4.3 refuses to create a PVC whose volume exists).
/usr/bin/python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d["kind"] != "PersistentVolumeClaim"]
yaml.safe_dump_all(docs, open(sys.argv[2], "w"), sort_keys=False)' "$SV_TMP/play.yaml" "$SV_TMP/replay.yaml" ||
  fail "writing replay.yaml"

# play ROUND FILE: play, follow the logs, wait for readiness through the probe.
play() {
  local round=$1 file=$2 fails=0 i out
  podman kube play "$file" >"$SV_TMP/play$round.out" 2>&1 ||
    fail "kube play (round $round): $(tail -5 "$SV_TMP/play$round.out")"
  # The log file itself, followed through an open descriptor: kube down
  # removes the container and the file, and `podman logs -f` can stop
  # before the last lines (the guest's power-off).  k8s-file lines are
  # "TIME STREAM F|P TEXT".
  local path
  path=$(podman inspect -f '{{.HostConfig.LogConfig.Path}}' "$CONTAINER")
  [ -f "$path" ] || fail "no k8s-file log for $CONTAINER ($path)"
  tail -n +1 -f "$path" >"$SV_TMP/raw$round" 2>/dev/null &
  LOGGER=$!
  on_exit kill "$LOGGER"
  for ((i = 0; i < 360; i++)); do
    k8s_lines "$SV_TMP/raw$round" "$SV_TMP/log$round"
    out=$(podman exec "$CONTAINER" "${PROBE[@]}" 2>&1) && break
    fails=$((fails + 1))
    [ "$(podman inspect -f '{{.State.Running}}' "$CONTAINER")" = true ] ||
      fail "the VM container stopped: $(tail -5 "$SV_TMP/log$round")"
    sleep 0.5
  done
  [ "$out" = ready ] || fail "round $round: never ready: $out"
  info "round $round: the probe failed $fails time(s), then said: $out"
  [ "$fails" -ge 1 ] || fail "ready at the first probe: it cannot have seen the boot"
  for ((i = 0; i < 1200; i++)); do
    k8s_lines "$SV_TMP/raw$round" "$SV_TMP/log$round"
    _sv_grep -q '^TINYVM: ready$' "$SV_TMP/log$round" && return 0
    sleep 0.1
  done
  fail "round $round: the guest did not finish booting"
}

# stop ROUND: what the kubelet does when the pod is deleted (SIGTERM, up to
# terminationGracePeriodSeconds, then SIGKILL), then kube down.  podman
# 4.3's kube down alone stops the pod with a timeout of 0 (SIGKILL at once;
# later podman versions use the containers' own timeout): it would test
# podman, not the manifests.
stop() {
  local round=$1
  podman pod stop -t "$GRACE" "$POD" >/dev/null 2>&1 || fail "pod stop (round $round)"
  assert_eq 0 "$(podman inspect -f '{{.State.ExitCode}}' "$CONTAINER")" "round $round: the VM container's exit code"
  podman kube down "$SV_TMP/play.yaml" >/dev/null 2>&1 || fail "kube down (round $round)"
  sleep 1
  kill "$LOGGER"
  wait "$LOGGER" 2>/dev/null
  k8s_lines "$SV_TMP/raw$round" "$SV_TMP/log$round"
  assert_line "$SV_TMP/log$round" '^TINYVM: acpi-powerdown$' "round $round: no ACPI power button on kube down"
  assert_line "$SV_TMP/log$round" '^startvm: the guest powered off after ' "round $round: not a graceful stop"
}

play 1 "$SV_TMP/play.yaml"
infra=$(podman pod inspect -f '{{.InfraContainerID}}' "$POD")
ip=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$infra")
[ -n "$ip" ] || fail "no pod address"
lease=$(tiny_line "$SV_TMP/log1" "lease eth0")
grep -qw "ip=$ip" <<<"$lease" || fail "the guest does not have the pod's address $ip: $lease"
grep -qw "hostname=$POD" <<<"$lease" || fail "the guest's hostname is not the pod's: $lease"
reply=$(timeout 20 bash -c "exec 3<>/dev/tcp/$ip/$SERVICE_PORT && cat <&3" 2>/dev/null | tr -d '\r')
assert_eq "TINYVM-HELLO $POD" "$reply" "the Service's port at the pod's address"
assert_line "$SV_TMP/log1" '^TINYVM: marker-written kube-claim$' "the guest's disk is not new on the claim"
assert_line "$SV_TMP/log1" '^TINYVM: cidata-line user-data: #cloud-config$' "the Secret's user-data did not reach the guest"
assert_line "$SV_TMP/log1" '^TINYVM: cidata-line user-data: ssh_pwauth: false$' "the Secret's user-data did not reach the guest"
status=$(podman exec "$CONTAINER" /usr/local/bin/startvm status --json)
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["phase"]=="ready" and d["interfaces"][0]["addresses"]==[sys.argv[2]+"/"+d["interfaces"][0]["addresses"][0].split("/")[1]], d' \
  "$status" "$ip" || fail "status.json in the pod: $status"
stop 1

play 2 "$SV_TMP/replay.yaml"
assert_line "$SV_TMP/log2" '^TINYVM: marker-found kube-claim$' "the second pod did not find the guest's data on the claim"
stop 2
echo PASS

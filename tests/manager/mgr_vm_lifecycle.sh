#!/usr/bin/env bash
# A VM's life through startvm-manager's API, on a private podman service
# with the tiny guest's VM image: create (ACCEL=tcg through env) -> it is
# listed, runs, becomes ready with its container's address, its logs show
# the guest's lines; stop is graceful (the guest sees the ACPI power
# button, exit 0); start; restart (the guest powers off and boots again);
# kill (no power button); delete keeping the disk volume, then a second VM
# of the same name on that kept disk, deleted with its volume.  Checks what
# the manager gave the container:
# labels, capabilities, devices, the /image volume, its own state
# subdirectory, the stop timeout, stdin open.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
mgr_prereqs
need_tiny
mgr_images
mgr_podman_service
mgr_start
t_start=$SECONDS

name=$(mgr_name vm)
image=$SV_PODMAN_TINY

# --- the image is offered, and the VM is created ---
mgr_req GET /api/images
mgr_expect 200
mgr_jq '.images[].tags[]' | grep -x "$image" >/dev/null || fail "GET /api/images does not offer $image: $MGR_BODY"
mgr_jq '.images[].tags[]' | grep -x "$SV_PODMAN_BASE" >/dev/null && fail "GET /api/images offers a non-VM image ($SV_PODMAN_BASE)"
mgr_req GET /api/networks
mgr_expect 200
mgr_jq '.networks[] | select(.driver == "bridge") | .subnets[]' | grep -E '^[0-9.]+/[0-9]+$' >/dev/null ||
  fail "GET /api/networks shows no bridge network with its subnet: $MGR_BODY"

mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$name" \
  '{image: $i, name: $n, memory: "256M", cpus: 1, env: {ACCEL: "tcg"}}')"
mgr_expect 201
id=$(mgr_jq .id)
[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "POST /api/vms: no full id: $MGR_BODY"
assert_eq "$name" "$(mgr_jq .name)" "name of the new VM"
assert_eq true "$(mgr_jq .managed)" "managed"
assert_eq "$name-image" "$(mgr_jq .volume)" "volume"
info "created $name ($id) in $((SECONDS - t_start))s"

# What the container got: no more than a VM container needs.
ins=$(podman container inspect "$id") || fail "podman does not know $id"
insp() { jq -r ".[0] | $1" <<<"$ins"; }
assert_eq true "$(insp '.Config.Labels["io.startvm.vm"]')" "label io.startvm.vm"
assert_eq true "$(insp '.Config.Labels["io.startvm.managed"]')" "label io.startvm.managed"
assert_eq "$name" "$(insp '.Config.Labels["io.startvm.state"]')" "label io.startvm.state"
# podman's inspect lists in CapAdd only what its built-in defaults lack
# (NET_RAW is among them): compare the capabilities the container gets,
# the service's defaults (tests/lib/manager.sh) plus NET_ADMIN and NET_RAW.
caps=$(insp '.EffectiveCaps | map(sub("^CAP_"; "")) | sort | join(",")')
assert_eq "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,NET_ADMIN,NET_BIND_SERVICE,NET_RAW,SETFCAP,SETGID,SETPCAP,SETUID,SYS_CHROOT" \
  "$caps" "the VM container's capabilities"
assert_eq false "$(insp .HostConfig.Privileged)" "privileged"
insp '.HostConfig.Devices[].PathOnHost' | grep -x /dev/net/tun >/dev/null || fail "no /dev/net/tun device"
if [ -e /dev/kvm ]; then
  insp '.HostConfig.Devices[].PathOnHost' | grep -x /dev/kvm >/dev/null || fail "/dev/kvm exists but was not given"
fi
assert_eq true "$(insp .Config.OpenStdin)" "OpenStdin"
assert_eq false "$(insp .Config.Tty)" "Tty"
[ "$(insp .Config.StopTimeout)" -ge 30 ] || fail "stop timeout $(insp .Config.StopTimeout) s is below 30 s"
insp '.Config.Env[]' | grep -x ACCEL=tcg >/dev/null || fail "env ACCEL=tcg missing"
insp '.Config.Env[]' | grep -x MEMORY=256M >/dev/null || fail "env MEMORY=256M missing"
assert_eq "$name-image" "$(insp '.Mounts[] | select(.Destination == "/image") | .Name')" "the /image volume"
assert_eq "$MGR_STATE_DIR/$name" "$(insp '.Mounts[] | select(.Destination == "/ranchervm") | .Source')" \
  "the /ranchervm bind"
[ -d "$MGR_STATE_DIR/$name" ] || fail "no state subdirectory $MGR_STATE_DIR/$name"
assert_eq 700 "$(stat -c %a "$MGR_STATE_DIR/$name")" "mode of the state subdirectory"

# --- listed, found by id, id prefix and name; it becomes ready ---
mgr_req GET /api/vms
mgr_expect 200
assert_eq "$name" "$(jq -r --arg x "$id" '.vms[] | select(.id == $x) | .name' <<<"$MGR_BODY")" \
  "the list has the new VM"
for ref in "$id" "${id:0:12}" "$name"; do
  mgr_req GET "/api/vms/$ref"
  mgr_expect 200
  assert_eq "$id" "$(mgr_jq .id)" "GET /api/vms/$ref"
done
# Too short a prefix is no id.
mgr_req GET "/api/vms/${id:0:11}"
mgr_expect 404 "no such VM: ${id:0:11}"

t0=$SECONDS
mgr_wait_vm "$id" '.state == "running"' 60 || fail "the VM did not run"
podman_wait_log "$id" '^TINYVM: ready$' 240 || fail "the guest did not boot"
info "guest ready $((SECONDS - t0))s after create"
# The phase comes from the status.json startvm writes in the VM's state
# directory (docs/status.md).
mgr_wait_vm "$id" '.phase == "ready"' 120 || fail "phase never became ready"
assert_eq null "$(mgr_jq .phase_error)" "phase_error"
assert_eq tcg "$(mgr_jq .accel)" "accel"
assert_eq 256 "$(mgr_jq .memory_mib)" "memory_mib"
assert_eq 1 "$(mgr_jq .cpus)" "cpus"
ip=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$id" | awk '{print $1}')
[ -n "$ip" ] || fail "podman reports no address for $name"
mgr_wait_vm "$id" "any(.addresses[]; startswith(\"$ip/\"))" 60 ||
  fail "the VM's addresses do not hold the container's address $ip"
mac=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.MacAddress}} {{end}}' "$id" | awk '{print $1}')
[ -n "$(mgr_jq '.mac // empty')" ] || fail "no MAC for the VM: $MGR_BODY"
info "VM $name: address $(mgr_jq '.addresses | join(",")'), mac $(mgr_jq .mac) (container's $ip, $mac)"

# --- logs: the guest's serial console as logged ---
mgr_req GET "/api/vms/$id/logs"
mgr_expect 200
case "$(mgr_header Content-Type)" in
text/plain*) ;;
*) fail "logs are not text/plain: $(mgr_header Content-Type)" ;;
esac
printf '%s\n' "$MGR_BODY" >"$MGR_TMP/logs.all"
assert_line "$MGR_TMP/logs.all" '^TINYVM: ready$' "the logs lack the guest's ready line"
assert_line "$MGR_TMP/logs.all" "^TINYVM: lease eth0 ip=$ip " "the logs lack the guest's lease"
# No Docker frame headers left in the text (8 bytes: 1|2, 0, 0, 0, size).
LC_ALL=C grep -q $'[\x01\x02]\x00\x00\x00' "$MGR_TMP/logs.all" && fail "Docker's stream headers in the logs"
mgr_req GET "/api/vms/$id/logs?tail=3"
mgr_expect 200
[ "$(printf '%s\n' "$MGR_BODY" | wc -l)" -le 3 ] || fail "tail=3 gave more than 3 lines"
# tail=N is the log's own last lines: podman 4.3's tail gave a line
# written in parts with its parts reversed ("yreadTINYVM: "), so every
# line of the tail must be a line of the whole log (read after it: the
# log may grow, never change).
mgr_req GET "/api/vms/$id/logs?tail=60"
mgr_expect 200
printf '%s\n' "$MGR_BODY" >"$MGR_TMP/logs.tail"
mgr_req GET "/api/vms/$id/logs"
mgr_expect 200
printf '%s\n' "$MGR_BODY" >"$MGR_TMP/logs.all2"
assert_eq 60 "$(wc -l <"$MGR_TMP/logs.tail")" "lines of tail=60"
bad=$(grep -a -vxFf "$MGR_TMP/logs.all2" "$MGR_TMP/logs.tail" | cat -A | sed -n 1,5p)
[ -z "$bad" ] || fail "tail=60 has lines the whole log lacks (parts out of order?): $bad"
assert_line "$MGR_TMP/logs.tail" '^TINYVM: ready$' "tail=60 lacks the guest's ready line"

# --- stop: graceful (the ACPI power button), exit 0 ---
t0=$SECONDS
mgr_req POST "/api/vms/$id/stop"
mgr_expect 204
mgr_wait_vm "$id" '.state == "exited"' 60 || fail "the VM did not stop"
info "stop took $((SECONDS - t0))s"
assert_eq 0 "$(mgr_jq .exit_code)" "exit code after a graceful stop"
assert_eq stopped "$(mgr_jq .phase)" "phase after a graceful stop"
podman logs "$id" >"$MGR_TMP/stop.log" 2>&1
assert_line "$MGR_TMP/stop.log" '^TINYVM: acpi-powerdown$' "stop did not press the ACPI power button"
acpi_before=$(grep -c 'TINYVM: acpi-powerdown' "$MGR_TMP/stop.log")
ready_before=$(tr -d '\r' <"$MGR_TMP/stop.log" | grep -c '^TINYVM: ready$')

# --- start: boots again, from the same disk ---
mgr_req POST "/api/vms/$id/start"
mgr_expect 204
mgr_wait_vm "$id" '.state == "running"' 60 || fail "the VM did not start again"
podman_wait_log "$id" '^TINYVM: marker-found tiny-container$' 240 ||
  fail "the restarted guest did not find its disk's marker"

# --- restart: a new boot ---
wait_ready_count() { # N: the N-th "TINYVM: ready" in the logs
  local n=$1 t0=$SECONDS
  while ((SECONDS - t0 < 240)); do
    [ "$(podman logs "$id" 2>&1 | tr -d '\r' | grep -c '^TINYVM: ready$')" -ge "$n" ] && return 0
    sleep 1
  done
  return 1
}
wait_ready_count $((ready_before + 1)) || fail "the started guest did not become ready"
# restart, like stop, presses the power button: the manager passes the
# stop timeout as `t` (podman 4.3 takes a missing one as 0, SIGKILL at once).
acpi_before=$(podman logs "$id" 2>&1 | grep -c 'TINYVM: acpi-powerdown')
mgr_req POST "/api/vms/$id/restart"
mgr_expect 204
wait_ready_count $((ready_before + 2)) || fail "the guest did not boot again after restart"
[ "$(podman logs "$id" 2>&1 | grep -c 'TINYVM: acpi-powerdown')" -gt "$acpi_before" ] ||
  fail "restart did not press the power button (no acpi-powerdown)"
mgr_wait_vm "$id" '.state == "running"' 60 || fail "not running after restart"

# --- kill: no power button, the container just ends ---
acpi_before=$(podman logs "$id" 2>&1 | grep -c 'TINYVM: acpi-powerdown')
mgr_req POST "/api/vms/$id/kill"
mgr_expect 204
mgr_wait_vm "$id" '.state == "exited"' 30 || fail "kill did not stop the VM"
[ "$(mgr_jq .exit_code)" != 0 ] || fail "a killed VM exited 0"
assert_eq "$acpi_before" "$(podman logs "$id" 2>&1 | grep -c 'TINYVM: acpi-powerdown')" \
  "power button presses after kill"

# --- delete, keeping the volume ---
mgr_req DELETE "/api/vms/$id?volumes=false"
mgr_expect 204
podman container exists "$id" && fail "the container is still there after DELETE"
podman volume exists "$name-image" || fail "DELETE ?volumes=false removed the volume"
# The manager's labels on the volume it made: the next VM of this name
# adopts it, and DELETE ?volumes=true removes it.
assert_eq "true $name" "$(podman volume inspect -f '{{index .Labels "io.startvm.managed"}} {{index .Labels "io.startvm.state"}}' "$name-image")" \
  "labels of the volume $name-image"
# Its state directory goes with it, the manager's marker too.
[ ! -e "$MGR_STATE_DIR/$name" ] || fail "DELETE left $MGR_STATE_DIR/$name: $(ls -A "$MGR_STATE_DIR/$name")"
mgr_req GET "/api/vms/$id"
mgr_expect 404 "no such VM: $id"
mgr_req GET /api/vms
jq -e --arg x "$id" 'any(.vms[]; .id == $x)' <<<"$MGR_BODY" >/dev/null && fail "a deleted VM is still listed"

# --- a second VM of the same name, on the kept disk, deleted with its
# volume (while it runs) ---
# On a network named: the manager looks it up (a bridge passes).
name2=$name
vol_created=$(podman volume inspect -f '{{.CreatedAt}}' "$name-image")
mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$name2" \
  '{image: $i, name: $n, network: "podman", env: {ACCEL: "tcg"}}')"
mgr_expect 201
id2=$(mgr_jq .id)
assert_eq "$vol_created" "$(podman volume inspect -f '{{.CreatedAt}}' "$name2-image")" \
  "the kept volume (its creation time), adopted"
[ -f "$MGR_STATE_DIR/$name2/.startvm-manager" ] || fail "no marker in $MGR_STATE_DIR/$name2"
mgr_req DELETE "/api/vms/$name2?volumes=true"
mgr_expect 204
podman container exists "$id2" && fail "$name2 is still there after DELETE"
podman volume exists "$name2-image" && fail "DELETE ?volumes=true left the volume $name2-image"
[ ! -e "$MGR_STATE_DIR/$name2" ] || fail "DELETE left $MGR_STATE_DIR/$name2: $(ls -A "$MGR_STATE_DIR/$name2")"
mgr_req POST "/api/vms/$name2/start"
mgr_expect 404 "no such VM: $name2"
info "ok in $((SECONDS - t_start))s"

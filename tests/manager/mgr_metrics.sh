#!/usr/bin/env bash
# GET /metrics on a private podman service with one tiny-guest VM made
# through the API (ACCEL=tcg):
# - auth: 401 without credentials; 200 with MANAGER_METRICS_TOKEN (and
#   with the password); that token refused on /api/vms (401: it is no
#   password there); the content type of text format 0.0.4;
# - the output parses with python3-prometheus-client's parser
#   (tests/tools/prom_check.py); every family has its type; the VM's
#   series carry its name and full id;
# - the numbers move: CPU seconds grow while the guest boots; the disk's
#   written bytes are 0 before the guest writes its marker
#   (images/tiny/container-vm.yaml: tinyvm.marker on vda) and grow after;
#   up, ready, memory given (256 MiB), uptime, network counters of eth0;
# - the manager's own: Docker reachable, request counts by route pattern
#   (the VM's id never becomes a label), an event client while one follows.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
mgr_prereqs
/usr/bin/python3 -c 'from prometheus_client.parser import text_string_to_metric_families' 2>/dev/null ||
  skip "needs python3-prometheus-client"
need_tiny
mgr_images
mgr_podman_service
token=metrics-$(openssl rand -hex 12)
mgr_start MANAGER_METRICS_TOKEN="$token"
t_start=$SECONDS

# scrape: GET /metrics with the metrics token, parsed into $MGR_TMP/parsed.
scrape() {
  mgr_req -a none GET /metrics -H "Authorization: Bearer $token" --max-time 10 2>/dev/null
  mgr_expect 200
  /usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/prom_check.py" <<<"$MGR_BODY" >"$MGR_TMP/parsed" ||
    fail "the output does not parse: $MGR_BODY"
}
# value SAMPLE LABELS: the sample's value in the last scrape (empty if none).
value() { awk -v n="$1" -v l="$2" '$1 == n && $2 == l { print $3 }' "$MGR_TMP/parsed"; }
gt() { /usr/bin/python3 -c 'import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))' "$1" "$2"; }

# --- auth and the content type ---
mgr_req -a none GET /metrics
mgr_expect 401 "authentication required"
mgr_req -a none GET /api/vms -H "Authorization: Bearer $token"
mgr_expect 401 "wrong password"
mgr_req GET /metrics
mgr_expect 200
scrape
assert_eq "text/plain; version=0.0.4; charset=utf-8" "$(mgr_header Content-Type)" "content type of /metrics"
assert_eq 1.0 "$(value startvm_manager_docker_up -)" "startvm_manager_docker_up"

# --- a VM, scraped from its first moments ---
name=$(mgr_name vm)
mgr_post_json /api/vms "$(jq -cn --arg i "$SV_PODMAN_TINY" --arg n "$name" \
  '{image: $i, name: $n, memory: "256M", cpus: 1, env: {ACCEL: "tcg"}}')"
mgr_expect 201
id=$(mgr_jq .id)
vm="id=$id,name=$name"
# The disk's counters appear once QEMU's QMP answers, long before the
# guest's init runs under TCG: nothing written yet.
deadline=$((SECONDS + 120))
until [ -n "$(value startvm_vm_disk_written_bytes_total "disk=disk0-dev,$vm")" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no disk metrics for $name after 120 s: $(cat "$MGR_TMP/parsed")"
  sleep 0.3
  scrape
done
info "disk metrics after $((SECONDS - t_start)) s"
assert_eq 0.0 "$(value startvm_vm_disk_written_bytes_total "disk=disk0-dev,$vm")" \
  "bytes written before the guest wrote its marker"
podman logs "$id" 2>&1 | grep -a "TINYVM: marker-written" >/dev/null &&
  fail "the guest had written its marker already: the 0 above proves nothing"
cpu0=$(value startvm_vm_cpu_seconds_total "$vm")
[ -n "$cpu0" ] || fail "no startvm_vm_cpu_seconds_total for $name: $(cat "$MGR_TMP/parsed")"

deadline=$((SECONDS + 180))
until podman logs "$id" 2>&1 | grep -a "TINYVM: marker-written tiny-container" >/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the guest wrote no marker in 180 s"
  sleep 1
done
info "marker written after $((SECONDS - t_start)) s"
scrape
wr=$(value startvm_vm_disk_written_bytes_total "disk=disk0-dev,$vm")
gt "$wr" 0 || fail "bytes written after the guest's marker: $wr"
gt "$(value startvm_vm_disk_writes_total "disk=disk0-dev,$vm")" 0 || fail "no write operations counted"
gt "$(value startvm_vm_disk_read_bytes_total "disk=disk0-dev,$vm")" 0 || fail "no bytes read counted"
cpu1=$(value startvm_vm_cpu_seconds_total "$vm")
gt "$cpu1" "$cpu0" || fail "CPU seconds did not grow while the guest booted: $cpu0 -> $cpu1"
info "cpu $cpu0 -> $cpu1 s, written $wr bytes"

# --- the rest of the VM's series ---
assert_eq 1.0 "$(value startvm_vm_up "$vm")" "startvm_vm_up"
assert_eq 268435456.0 "$(value startvm_vm_memory_given_bytes "$vm")" "memory given"
gt "$(value startvm_vm_memory_usage_bytes "$vm")" 10000000 || fail "memory usage below 10 MB"
gt "$(value startvm_vm_uptime_seconds "$vm")" 0 || fail "no uptime"
start=$(value startvm_vm_start_time_seconds "$vm")
gt "$start" "$(($(date +%s) - 600))" || fail "start time $start is not within the last 10 minutes"
assert_eq 0.0 "$(value startvm_vm_last_exit_code "$vm")" "last exit code"
deadline=$((SECONDS + 120))
until [ "$(value startvm_vm_ready "$vm")" = 1.0 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "startvm_vm_ready is not 1 after 120 s"
  sleep 1
  scrape
done
# The guest has the container's address: a connection to its port 8080
# (images/tiny/container-vm.yaml) crosses the container's interface both
# ways.  podman 4.3 sums its interfaces under the name "network" and
# counts no packets (the series are then left out, not exported as 0).
ip=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$id")
nic=$(awk -v id="id=$id," '$1 == "startvm_vm_network_receive_bytes_total" && index($2, id) { sub(/.*interface=/, "", $2); sub(/,.*/, "", $2); print $2 }' "$MGR_TMP/parsed")
[ -n "$nic" ] || fail "no network series: $(grep network "$MGR_TMP/parsed")"
rx0=$(value startvm_vm_network_receive_bytes_total "id=$id,interface=$nic,name=$name")
tx0=$(value startvm_vm_network_transmit_bytes_total "id=$id,interface=$nic,name=$name")
if grep "^startvm_vm_network_receive_packets_total .*id=$id" "$MGR_TMP/parsed" | grep ' 0.0$' >/dev/null; then
  grep "^startvm_vm_network_receive_bytes_total .*id=$id" "$MGR_TMP/parsed" | grep ' 0.0$' >/dev/null ||
    fail "packets exported as 0 next to bytes that are not"
fi
reply=$(timeout 20 bash -c "exec 3<>/dev/tcp/$ip/8080 && cat <&3" 2>/dev/null | tr -d '\r')
case "$reply" in TINYVM-HELLO*) ;; *) fail "no TINYVM-HELLO from $ip:8080 (got '$reply')" ;; esac
scrape
rx1=$(value startvm_vm_network_receive_bytes_total "id=$id,interface=$nic,name=$name")
tx1=$(value startvm_vm_network_transmit_bytes_total "id=$id,interface=$nic,name=$name")
gt "$rx1" "$rx0" || fail "bytes received on $nic did not grow with a connection to the guest: $rx0 -> $rx1"
gt "$tx1" "$tx0" || fail "bytes sent on $nic did not grow with the guest's answer: $tx0 -> $tx1"
info "$nic: received $rx0 -> $rx1 bytes, sent $tx0 -> $tx1"

# Every family has a type, counters end in _total; the VM's id is never
# a route label (the route table's patterns only).
for f in startvm_vm_up:gauge startvm_vm_ready:gauge startvm_vm_cpu_seconds_total:counter \
  startvm_vm_memory_given_bytes:gauge startvm_vm_memory_usage_bytes:gauge startvm_vm_memory_rss_bytes:gauge \
  startvm_vm_disk_read_bytes_total:counter startvm_vm_disk_written_bytes_total:counter \
  startvm_vm_disk_reads_total:counter startvm_vm_disk_writes_total:counter \
  startvm_vm_network_receive_bytes_total:counter startvm_vm_network_transmit_bytes_total:counter \
  startvm_vm_network_receive_packets_total:counter startvm_vm_network_transmit_packets_total:counter \
  startvm_vm_uptime_seconds:gauge startvm_vm_start_time_seconds:gauge startvm_vm_last_exit_code:gauge \
  startvm_manager_docker_up:gauge startvm_manager_http_requests_total:counter \
  startvm_manager_consoles:gauge startvm_manager_event_clients:gauge; do
  grep -Fx "TYPE ${f%%:*} ${f#*:}" "$MGR_TMP/parsed" >/dev/null || fail "no 'TYPE ${f%%:*} ${f#*:}'"
done
mgr_req GET "/api/vms/$id"
mgr_expect 200
mgr_req GET /api/vms/nosuchvm
mgr_expect 404
mgr_events_start 0
wait_for_line "$MGR_EVENTS" "^retry: " 10 || fail "the event stream did not start"
scrape
assert_eq 1.0 "$(value startvm_manager_event_clients -)" "event clients while one follows"
gt "$(value startvm_manager_http_requests_total 'code=200,method=GET,route=/api/vms/{id}')" 0 ||
  fail "GET /api/vms/{id} not counted: $(grep http_requests "$MGR_TMP/parsed")"
gt "$(value startvm_manager_http_requests_total 'code=401,method=GET,route=/metrics')" 0 ||
  fail "the refused /metrics not counted"
grep -F "$id" "$MGR_TMP/parsed" | grep -v '^startvm_vm_' >/dev/null && fail "the VM's id is in a non-VM series"
mgr_events_stop
info "ok in $((SECONDS - t_start)) s"

#!/bin/bash
# GET /metrics keeps its deadline (MANAGER_METRICS_DEADLINE_MS) when one
# VM's QMP accepts and never answers: the scrape answers after about the
# deadline, not later; that VM loses its disk metrics only (its CPU,
# memory, network and state are there), and the other VM, whose QMP
# answers (tests/tools/fake_vnc.py qmp), keeps its disk metrics.  The
# VMs are a fake Docker API's (tests/tools/fake_docker.py, with stats
# replies shaped as podman 4.3's) and their state directories this
# test's: no podman, no guest.  The output parses with
# python3-prometheus-client's parser (tests/tools/prom_check.py).  With
# ?vm=ID only that VM is gathered: the good one alone answers at once.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"

mgr_fake_prereqs
/usr/bin/python3 -c 'from prometheus_client.parser import text_string_to_metric_families' 2>/dev/null ||
  skip "needs python3-prometheus-client"
stuck=$(printf 'a%.0s' {1..64})
good=$(printf 'b%.0s' {1..64})
MGR_STATE_DIR=$MGR_TMP/state
# entry NAME ID / inspect NAME ID / stats CPU_NS: Docker's replies.
entry() {
  jq -cn --arg n "$1" --arg id "$2" '{Id: $id, Names: ["/" + $n], State: "running",
    Labels: {"io.startvm.vm": "true", "io.startvm.state": $n}}'
}
inspect() {
  jq -cn --arg n "$1" --arg id "$2" '{Id: $id, Name: ("/" + $n),
    State: {Status: "running", StartedAt: "2026-12-01T10:00:00.5Z", ExitCode: 0},
    Config: {Labels: {"io.startvm.vm": "true", "io.startvm.state": $n}}, Mounts: []}'
}
stats() {
  jq -cn --argjson c "$1" '{cpu_stats: {cpu_usage: {total_usage: $c}},
    memory_stats: {usage: 123456789, stats: {anon: 100000000}},
    networks: {eth0: {rx_bytes: 1000, tx_bytes: 2000, rx_packets: 10, tx_packets: 20}}}'
}
jq -n --argjson es "$(entry stuck "$stuck")" --argjson eg "$(entry good "$good")" \
  --argjson is "$(inspect stuck "$stuck")" --argjson ig "$(inspect good "$good")" \
  --argjson ss "$(stats 1500000000)" --argjson sg "$(stats 2500000000)" '[
  {path: "/containers/json.*", body: [$es, $eg]},
  {path: "/containers/a{64}/json", body: $is},
  {path: "/containers/b{64}/json", body: $ig},
  {path: "/containers/a{64}/stats\\?.*", body: $ss},
  {path: "/containers/b{64}/stats\\?.*", body: $sg}
]' >"$MGR_TMP/routes.json"
mgr_fake_docker "$MGR_TMP/routes.json"
for v in stuck:$stuck:silent good:$good:qmp; do
  IFS=: read -r name id mode <<<"$v"
  mkdir -p "$MGR_STATE_DIR/$name/$id"
  jq -n '{phase: "ready", memory_mib: 256}' >"$MGR_STATE_DIR/$name/$id/status.json"
  (cd "$MGR_STATE_DIR/$name/$id" &&
    exec setsid /usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/fake_vnc.py" qmp "$mode" \
      >"$MGR_TMP/$name-qmp.log" 2>&1 </dev/null) &
  pid=$!
  on_exit kill_pid "$pid" 2
  wait_for_line "$MGR_TMP/$name-qmp.log" '^ready$' 10 "$pid" || fail "fake_vnc.py $name $mode did not start"
done
mgr_start MANAGER_INSECURE_HTTP=true MANAGER_METRICS_DEADLINE_MS=1000

t0=$(date +%s%N)
mgr_req GET /metrics --max-time 10
ms=$((($(date +%s%N) - t0) / 1000000))
mgr_expect 200
info "scrape with a stuck QMP: $ms ms (deadline 1000 ms)"
{ [ "$ms" -ge 900 ] && [ "$ms" -lt 1500 ]; } || fail "the scrape took $ms ms; the deadline is 1000 ms"
/usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/prom_check.py" <<<"$MGR_BODY" >"$MGR_TMP/parsed" ||
  fail "the output does not parse: $MGR_BODY"
has() { grep -Fx -- "$1" "$MGR_TMP/parsed" >/dev/null || fail "no '$1' in: $(cat "$MGR_TMP/parsed")"; }
hasnt() { ! grep -F -- "$1" "$MGR_TMP/parsed" >/dev/null || fail "'$1' is there: $(grep -F -- "$1" "$MGR_TMP/parsed")"; }
for v in stuck:$stuck:1.5 good:$good:2.5; do
  IFS=: read -r name id cpu <<<"$v"
  has "startvm_vm_up id=$id,name=$name 1.0"
  has "startvm_vm_ready id=$id,name=$name 1.0"
  has "startvm_vm_cpu_seconds_total id=$id,name=$name $cpu"
  has "startvm_vm_memory_given_bytes id=$id,name=$name 268435456.0"
  has "startvm_vm_memory_usage_bytes id=$id,name=$name 123456789.0"
  has "startvm_vm_memory_rss_bytes id=$id,name=$name 100000000.0"
  has "startvm_vm_network_transmit_bytes_total id=$id,interface=eth0,name=$name 2000.0"
  has "startvm_vm_network_receive_packets_total id=$id,interface=eth0,name=$name 10.0"
  has "startvm_vm_start_time_seconds id=$id,name=$name 1796119200.5"
  has "startvm_vm_last_exit_code id=$id,name=$name 0.0"
done
has "startvm_vm_disk_written_bytes_total disk=disk0,id=$good,name=good 8192.0"
has "startvm_vm_disk_reads_total disk=disk0,id=$good,name=good 2.0"
hasnt "startvm_vm_disk_written_bytes_total disk=disk0,id=$stuck"
hasnt "startvm_vm_disk_read_bytes_total disk=disk0,id=$stuck"
has "startvm_manager_scrape_incomplete_vms - 1.0"
has "startvm_manager_docker_up - 1.0"
has "TYPE startvm_vm_disk_written_bytes_total counter"
has "TYPE startvm_vm_up gauge"
# ?vm=ID (the page's cards on screen): that VM only, and no waiting for
# the stuck one.
t0=$(date +%s%N)
mgr_req GET "/metrics?vm=$good" --max-time 10
ms=$((($(date +%s%N) - t0) / 1000000))
mgr_expect 200
[ "$ms" -lt 900 ] || fail "a scrape of the good VM alone took $ms ms"
/usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/prom_check.py" <<<"$MGR_BODY" >"$MGR_TMP/parsed" ||
  fail "the output does not parse: $MGR_BODY"
has "startvm_vm_up id=$good,name=good 1.0"
has "startvm_vm_disk_written_bytes_total disk=disk0,id=$good,name=good 8192.0"
hasnt "$stuck"
has "startvm_manager_scrape_incomplete_vms - 0.0"
# The manager still answers at once meanwhile and after.
mgr_req GET /api/vms --max-time 1
mgr_expect 200
_sv_alive "$MGR_PID" || fail "the manager died"
info "ok"

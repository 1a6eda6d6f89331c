#!/usr/bin/env bash
# /api/events follows Docker's event stream: changes made with the podman
# CLI behind the manager's back (a VM container created, started, stopped,
# removed) arrive as "event: vm" with the VM object (null once removed),
# a removed VM leaves the list at once, a plain container makes no VM
# event, and the stream keeps itself alive with ": keepalive" comments.
# The VM container here runs sleep instead of startvm: the events are
# Docker's, no guest needs to boot.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
mgr_prereqs
need_tiny
mgr_images
mgr_podman_service
mgr_start
t_start=$SECONDS

mgr_events_start
# The stream answers at once (headers and the first bytes).
mgr_req GET /api/events --max-time 2
[ "$MGR_STATUS" = 200 ] || fail "GET /api/events: $MGR_STATUS"
case "$(mgr_header Content-Type)" in
text/event-stream*) ;;
*) fail "/api/events is not text/event-stream: $(mgr_header Content-Type)" ;;
esac

now_ms() { date +%s%3N; }
# event_for ID ACTION: wait for the data line of that VM event; prints how
# long after the call it came.
event_for() {
  local t0
  t0=$(now_ms)
  mgr_wait_event "^data: .*\"id\": *\"$1\".*\"action\": *\"$2\"|^data: .*\"action\": *\"$2\".*\"id\": *\"$1\"" 30 ||
    fail "no '$2' event for $1"
  info "event $2 for ${1:0:12} came $(($(now_ms) - t0)) ms after the podman command returned"
}
event_json() { # ID ACTION: the data of the last such event
  grep -E "^data: " "$MGR_EVENTS" | sed 's/^data: //' |
    jq -c --arg id "$1" --arg a "$2" 'select(.id == $id and .action == $a)' 2>/dev/null | tail -n1
}

# --- a VM container made and driven with the podman CLI ---
vm=$(mgr_name cli)
podman create --name "$vm" "${SV_PODMAN_FLAGS[@]}" --entrypoint sleep "$SV_PODMAN_TINY" 600 >/dev/null ||
  fail "podman create $vm"
id=$(podman inspect -f '{{.Id}}' "$vm")
event_for "$id" create
# The list is kept by the same events (no Docker list call per request):
# the VM is in it once its event went out, in the state of that event.
listed_state() { # ID: the state GET /api/vms gives that VM, or "absent"
  mgr_req GET /api/vms
  mgr_expect 200
  jq -r --arg x "$1" '[.vms[] | select(.id == $x) | .state] | first // "absent"' <<<"$MGR_BODY"
}
assert_eq created "$(listed_state "$id")" "the listed state of $vm after its create event"
podman start "$vm" >/dev/null || fail "podman start $vm"
event_for "$id" start
assert_eq running "$(listed_state "$id")" "the listed state of $vm after its start event"
ev=$(event_json "$id" start)
assert_eq "$vm" "$(jq -r .vm.name <<<"$ev")" "the start event's VM"
assert_eq running "$(jq -r .vm.state <<<"$ev")" "the start event's VM state"
podman kill "$vm" >/dev/null || fail "podman kill $vm"
event_for "$id" die
assert_eq exited "$(listed_state "$id")" "the listed state of $vm after its die event"
mgr_req GET "/api/vms/$id"
mgr_expect 200
assert_eq exited "$(mgr_jq .state)" "state after podman kill"
podman rm -v "$vm" >/dev/null || fail "podman rm $vm"
t0=$(now_ms)
event_for "$id" destroy
assert_eq null "$(jq -c .vm <<<"$(event_json "$id" destroy)")" "the destroy event's VM"
assert_eq absent "$(listed_state "$id")" "$vm in the list after its destroy event"
mgr_req GET "/api/vms/$id"
mgr_expect 404 "no such VM: $id"
info "removed VM gone from the API $(($(now_ms) - t0)) ms after podman rm returned"

# --- a plain container: no VM event ---
plain=$(mgr_name plain)
podman run -d --name "$plain" "${SV_PODMAN_FLAGS[@]}" "$SV_PODMAN_BASE" sleep 600 >/dev/null || fail "podman run $plain"
pid_plain=$(podman inspect -f '{{.Id}}' "$plain")
podman rm -f -v -t 0 "$plain" >/dev/null
# A VM event after it, to know the stream got past the plain container's.
vm2=$(mgr_name cli2)
podman create --name "$vm2" "${SV_PODMAN_FLAGS[@]}" --entrypoint sleep "$SV_PODMAN_TINY" 600 >/dev/null
event_for "$(podman inspect -f '{{.Id}}' "$vm2")" create
assert_no_line "$MGR_EVENTS" "$pid_plain" "an event about the plain container $plain"

# --- keepalive: a comment at least every 15 s ---
mgr_wait_event '^: keepalive' 25 || fail "no keepalive comment within 25 s"
info "ok in $((SECONDS - t_start))s"

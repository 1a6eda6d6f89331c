#!/usr/bin/env bash
# The Docker socket goes away under a running startvm-manager: the podman
# service is stopped, then started again on the same socket.  Meanwhile
# the manager keeps serving /healthz and the page, answers the API with
# 502 (Docker's words), /api/events says {"connected":false,...}; once the
# service is back it reconnects by itself: {"connected":true}, the list
# works again, and events flow again (a change made with the podman CLI).
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
mgr_req GET /api/vms
mgr_expect 200
# Let the manager's event stream from Docker be established: a VM change.
vm=$(mgr_name before)
podman create --name "$vm" "${SV_PODMAN_FLAGS[@]}" --entrypoint sleep "$SV_PODMAN_TINY" 600 >/dev/null ||
  fail "podman create $vm"
mgr_wait_event "\"$(podman inspect -f '{{.Id}}' "$vm")\"" 30 || fail "no event for $vm"
# One that is removed while the service is down: the list the manager
# keeps from events must not remember it after the reconnect.
gone=$(mgr_name gone)
podman create --name "$gone" "${SV_PODMAN_FLAGS[@]}" --entrypoint sleep "$SV_PODMAN_TINY" 600 >/dev/null ||
  fail "podman create $gone"
gone_id=$(podman inspect -f '{{.Id}}' "$gone")
mgr_wait_event "\"$gone_id\"" 30 || fail "no event for $gone"
mgr_req GET /api/vms
jq -e --arg x "$gone_id" 'any(.vms[]; .id == $x)' <<<"$MGR_BODY" >/dev/null || fail "$gone is not listed"

# --- the service goes away ---
t0=$SECONDS
mgr_event_mark
mgr_podman_stop
mgr_wait_event '^data: \{.*"connected": *false' 30 || fail "no docker connected:false event"
info "connected:false $((SECONDS - t0))s after the service stopped"
# (sed, not head: head would leave grep writing into a closed pipe.)
prev=$(grep -a -B1 -E '^data: \{.*"connected": *false' "$MGR_EVENTS" | sed -n 1p)
[ "$prev" = 'event: docker' ] || fail "connected:false is not an 'event: docker' (the line before it: '$prev')"
mgr_req -a none GET /healthz
mgr_expect 200
mgr_req -a none GET /
mgr_expect 200
mgr_req GET /api/vms
mgr_expect 502
[ -n "$(mgr_jq '.error // empty')" ] || fail "502 without an error message"
_sv_alive "$MGR_PID" || fail "the manager died without its Docker socket"
# Behind the manager's back while it cannot see (podman's CLI needs no
# service): one VM container removed, one made.
podman rm -v "$gone" >/dev/null || fail "podman rm $gone"
during=$(mgr_name during)
podman create --name "$during" "${SV_PODMAN_FLAGS[@]}" --entrypoint sleep "$SV_PODMAN_TINY" 600 >/dev/null ||
  fail "podman create $during"

# --- and comes back ---
# The stream said connected:true when it opened: only a line after the
# disconnect is the reconnect (waiting for any line once let the test
# go on before the manager had reconnected).
t0=$SECONDS
mgr_event_mark
mgr_podman_restart
mgr_wait_event '^data: \{.*"connected": *true' 90 || fail "no docker connected:true event"
info "connected:true $((SECONDS - t0))s after the service came back"
mgr_req GET /api/vms
mgr_expect 200
jq -e --arg n "$vm" 'any(.vms[]; .name == $n)' <<<"$MGR_BODY" >/dev/null || fail "$vm is not listed after the reconnect"
jq -e --arg n "$during" 'any(.vms[]; .name == $n)' <<<"$MGR_BODY" >/dev/null ||
  fail "$during (made while the service was down) is not listed after the reconnect"
jq -e --arg x "$gone_id" 'any(.vms[]; .id == $x)' <<<"$MGR_BODY" >/dev/null &&
  fail "$gone (removed while the service was down) is still listed after the reconnect"
# The VM made while the stream was down was told about on the reconnect
# (the events Docker gave while nobody listened are not replayed).
mgr_wait_event "\"$(podman inspect -f '{{.Id}}' "$during")\".*\"action\": *\"resync\"" 1 ||
  fail "no resync event for $during before connected:true"
# Events resume without a new /api/events request.
vm2=$(mgr_name after)
podman create --name "$vm2" "${SV_PODMAN_FLAGS[@]}" --entrypoint sleep "$SV_PODMAN_TINY" 600 >/dev/null ||
  fail "podman create $vm2"
mgr_wait_event "\"$(podman inspect -f '{{.Id}}' "$vm2")\"" 30 || fail "no event for $vm2 after the reconnect"
info "ok in $((SECONDS - t_start))s"

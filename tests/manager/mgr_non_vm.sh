#!/usr/bin/env bash
# startvm-manager only ever touches VM containers: a plain container (the
# mmdebstrap base running sleep, no io.startvm.vm label) is never listed,
# and every route refuses it by full id, id prefix and name with 404 (its
# consoles after the upgrade, with a close frame 4404; never stopped,
# removed or attached); a container with the original
# RancherVM's env RANCHER_VM=true is a VM container and is listed.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
mgr_prereqs
/usr/bin/python3 -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"
_sv_podman_base
mgr_podman_service
mgr_start

plain=$(mgr_name plain)
podman run -d --name "$plain" "${SV_PODMAN_FLAGS[@]}" "$SV_PODMAN_BASE" sleep 600 >/dev/null ||
  fail "podman run $plain"
id=$(podman inspect -f '{{.Id}}' "$plain")
rancher=$(mgr_name rancher)
podman run -d --name "$rancher" "${SV_PODMAN_FLAGS[@]}" -e RANCHER_VM=true "$SV_PODMAN_BASE" sleep 600 >/dev/null ||
  fail "podman run $rancher"
rid=$(podman inspect -f '{{.Id}}' "$rancher")

mgr_req GET /api/vms
mgr_expect 200
jq -e --arg x "$id" 'any(.vms[]; .id == $x or .name == "'"$plain"'")' <<<"$MGR_BODY" >/dev/null &&
  fail "GET /api/vms lists the plain container $plain"
jq -e --arg x "$rid" 'any(.vms[]; .id == $x)' <<<"$MGR_BODY" >/dev/null ||
  fail "GET /api/vms does not list $rancher (env RANCHER_VM=true)"

for ref in "$id" "${id:0:12}" "$plain"; do
  for m in GET:"" GET:/logs GET:/screenshot.png POST:/stop POST:/kill POST:/restart POST:/start DELETE:""; do
    mgr_req "${m%%:*}" "/api/vms/$ref${m#*:}"
    mgr_expect 404 "no such VM: $ref"
  done
  # A console is refused after the upgrade: a close frame 4000 + 404.
  for ws in vnc serial; do
    mgr_ws "/api/vms/$ref/$ws" 10
    assert_eq "close 4404 no such VM: $ref" "$MGR_WS" "the $ws console of $ref"
  done
done
assert_eq running "$(podman inspect -f '{{.State.Status}}' "$plain")" "the plain container after the refusals"

mgr_req GET "/api/vms/$rid"
mgr_expect 200
assert_eq "$rancher" "$(mgr_jq .name)" "the RANCHER_VM=true container"
assert_eq false "$(mgr_jq .managed)" "managed (made by hand)"
info "ok"

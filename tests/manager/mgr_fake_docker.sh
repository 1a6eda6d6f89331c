#!/bin/bash
# startvm-manager against a fake Docker API (tests/tools/fake_docker.py):
# the answers a real Docker gives and podman 4.3 does not, which decide
# whether a request is refused before anything is made.  No podman, no
# guest: the fake records every request, so the test sees that a refused
# create never reached POST /containers/create (nor made a volume or a
# directory).
#
# - network: Docker always has a network called "host" (driver host) and
#   "none" (driver null); podman answers 404 for them, which hid that
#   "network": "host" put a VM container with NET_ADMIN and NET_RAW in the
#   host's network namespace.  host, none, container:<id>, ns:<path> (any
#   ':') are refused by name, before any lookup; a network whose inspect
#   says driver host or null is refused after it; any other non-200 answer
#   of the lookup is a 502 in Docker's words, never a pass.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"

mgr_fake_prereqs

cat >"$MGR_TMP/routes.json" <<'EOF'
[
  {"path": "/images/[^/]+/json", "status": 200,
   "body": {"Id": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Config": {"Labels": {"io.startvm.vm": "true"}}}},
  {"path": "/containers/json.*", "status": 200, "body": []},
  {"path": "/containers/[^/]+/json", "status": 404, "body": {"message": "no such container"}},
  {"path": "/volumes", "status": 200, "body": {"Volumes": []}},
  {"path": "/networks/hostnet", "status": 200,
   "body": {"Name": "hostnet", "Id": "5d1f0c3a9b7e", "Driver": "host"}},
  {"path": "/networks/nullnet", "status": 200,
   "body": {"Name": "nullnet", "Id": "6e2a1d4b8c9f", "Driver": "null"}},
  {"path": "/networks/broken", "status": 500,
   "body": {"message": "fake: the network store is broken"}},
  {"path": "/networks/good", "status": 200,
   "body": {"Name": "good", "Id": "7f3b2e5c9d0a", "Driver": "bridge"}},
  {"method": "POST", "path": "/volumes/create", "status": 201, "body": {"Name": "vm1-image"}},
  {"method": "POST", "path": "/containers/create.*", "status": 500,
   "body": {"message": "fake: create refused"}}
]
EOF
mgr_fake_docker "$MGR_TMP/routes.json"

mgr_start MANAGER_INSECURE_HTTP=true

# create NETWORK STATUS MESSAGE: refused with exactly this, on "network";
# nothing made, and the manager never asked Docker to create anything.
create() {
  local net=$1 status=$2 msg=$3
  mgr_snapshot
  : >"$MGR_FAKE_LOG"
  mgr_post_json /api/vms "$(jq -cn --arg n "$net" '{image: "fake/vm", name: "vm1", network: $n}')"
  mgr_expect "$status" "$msg"
  assert_eq network "$(mgr_jq .field)" "field of network '$net'"
  mgr_assert_unchanged "network '$net'"
  ! grep -E '^POST /(containers|volumes)/create' "$MGR_FAKE_LOG" >/dev/null ||
    fail "network '$net': the manager asked Docker to create: $(grep '^POST' "$MGR_FAKE_LOG")"
}

# --- by name: refused before any lookup ---
for net in host none container:0123456789ab ns:/proc/1/ns/net 'a:b'; do
  create "$net" 400 \
    "network: '$net' is refused: a VM needs a network of its own (not host, none, container:... or ns:...)"
  ! grep '^GET /networks' "$MGR_FAKE_LOG" >/dev/null || fail "network '$net' was looked up"
done
# --- by the lookup's answer ---
create hostnet 400 "network: 'hostnet' is refused: its driver is host (a VM needs a network of its own)"
create nullnet 400 "network: 'nullnet' is refused: its driver is null (a VM needs a network of its own)"
create broken 502 "fake: the network store is broken"
grep -x 'GET /networks/broken' "$MGR_FAKE_LOG" >/dev/null || fail "network 'broken' was not looked up"

# The control: a bridge network passes the checks and reaches create (the
# fake refuses it, and the manager takes back its directory): the checks
# above would see a create.
mgr_snapshot
: >"$MGR_FAKE_LOG"
mgr_post_json /api/vms '{"image": "fake/vm", "name": "vm1", "network": "good"}'
mgr_expect 502 "fake: create refused"
grep -E '^POST /containers/create\?name=vm1$' "$MGR_FAKE_LOG" >/dev/null ||
  fail "a create on a bridge network did not reach Docker: $(cat "$MGR_FAKE_LOG")"
mgr_assert_unchanged "a create that Docker refused"
_sv_alive "$MGR_PID" || fail "the manager died"
info "ok"

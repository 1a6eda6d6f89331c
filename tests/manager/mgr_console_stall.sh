#!/bin/bash
# One VM container cannot freeze the manager through its console: a VNC
# socket that listens and never accepts, its backlog full
# (tests/tools/fake_vnc.py stuck), held the console open in connect() on
# the event loop, and with it every route.  While a console open to such a
# socket is under way, /healthz, /api/vms and another VM's console answer
# within 1 s; the stuck one is refused (409) with the reason.  The same
# for the screenshot's QMP socket (a worker thread stuck for good, and
# with 64 of them every Docker route refused).  The VMs are
# a fake Docker API's (tests/tools/fake_docker.py) and their state
# directories this test's: no podman, no guest.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"

mgr_fake_prereqs
/usr/bin/python3 -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"
stuck=$(printf 'a%.0s' {1..64})
good=$(printf 'b%.0s' {1..64})
MGR_STATE_DIR=$MGR_TMP/state
# vm NAME ID: a running VM container's inspect reply, as Docker gives it.
vm() {
  jq -cn --arg n "$1" --arg id "$2" '{Id: $id, Name: ("/" + $n), State: {Status: "running"},
    Config: {Labels: {"io.startvm.vm": "true", "io.startvm.state": $n}}, Mounts: []}'
}
jq -n --argjson s "$(vm stuck "$stuck")" --argjson g "$(vm good "$good")" '[
  {path: "/containers/(stuck|a{64})/json", status: 200, body: $s},
  {path: "/containers/(good|b{64})/json", status: 200, body: $g},
  {path: "/containers/json.*", status: 200, body: []}
]' >"$MGR_TMP/routes.json"
mgr_fake_docker "$MGR_TMP/routes.json"
# The stuck VM's vnc and qmp sockets never accept; the good one's vnc does.
for v in stuck:$stuck:vnc stuck:$stuck:qmp good:$good:vnc; do
  IFS=: read -r name id sock <<<"$v"
  mode=rfb
  [ "$name" = good ] || mode=stuck
  mkdir -p "$MGR_STATE_DIR/$name/$id"
  # A unix socket path is at most 107 bytes: bind from inside the directory.
  (cd "$MGR_STATE_DIR/$name/$id" &&
    exec setsid /usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/fake_vnc.py" "$sock" "$mode" \
      >"$MGR_TMP/$name-$sock.log" 2>&1 </dev/null) &
  pid=$!
  on_exit kill_pid "$pid" 2
  wait_for_line "$MGR_TMP/$name-$sock.log" '^ready$' 10 "$pid" || fail "fake_vnc.py $name $sock did not start"
done
mgr_start MANAGER_INSECURE_HTTP=true
ws_url=ws://$MGR_HOSTPORT

# ws_first ID TIMEOUT: the first message of the VM's VNC console ("open
# MESSAGE"), or "no answer".
ws_first() {
  /usr/bin/python3 - "$ws_url/api/vms/$1/vnc" "$MGR_PASSWORD" "$2" <<'EOF'
import asyncio, sys, websockets
async def main(url, pw, timeout):
    try:
        async with websockets.connect(url, extra_headers={"Authorization": "Bearer " + pw},
                                      open_timeout=timeout) as ws:
            print("open", (await asyncio.wait_for(ws.recv(), timeout)).decode().strip())
    except (asyncio.TimeoutError, OSError) as e:
        print("no answer", type(e).__name__)
asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
EOF
}
: >"$MGR_FAKE_LOG"
# The console open to the stuck socket, in the background (its own
# files: mgr_req's are the foreground's).
curl -s --max-time 30 -o "$MGR_TMP/stuck.body" -w '%{http_code}' -H 'Connection: Upgrade' \
  -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
  -H "Authorization: Bearer $MGR_PASSWORD" "$MGR_URL/api/vms/$stuck/vnc" >"$MGR_TMP/stuck.status" 2>&1 &
stuck_pid=$!
on_exit kill_pid "$stuck_pid" 1
# Once the manager has looked the VM up, it connects to its socket.
wait_for_line "$MGR_FAKE_LOG" "^GET /containers/$stuck/json" 10 || fail "the stuck console never reached the manager"

t0=$(date +%s%N)
mgr_req -a none GET /healthz --max-time 1
mgr_expect 200
mgr_req GET /api/vms --max-time 1
mgr_expect 200
out=$(ws_first "$good" 1)
assert_eq "open RFB 003.008" "$out" "another VM's console, within 1 s"
info "healthz, the list and another console in $((($(date +%s%N) - t0) / 1000000)) ms"

# The stuck one: refused, with the reason, and not after waiting for it.
wait_exit "$stuck_pid" 30 || fail "the stuck console open has no answer after 30 s"
assert_eq 409 "$(cat "$MGR_TMP/stuck.status")" "status of the console open to the stuck socket"
assert_eq '{"error":"VM has no VNC socket (the vnc socket accepts no connections (its backlog is full))"}' \
  "$(cat "$MGR_TMP/stuck.body")" "its answer"
# The screenshot's QMP connect (in a worker) does not wait either.
mgr_req GET /api/vms/"$stuck"/screenshot.png --max-time 10
mgr_expect 502 "the qmp socket accepts no connections (its backlog is full)"
_sv_alive "$MGR_PID" || fail "the manager died"
info "ok"

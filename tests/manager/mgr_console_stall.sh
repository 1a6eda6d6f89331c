#!/bin/bash
# One VM container cannot freeze the manager through its console: a VNC
# socket that listens and never accepts, its backlog full
# (tests/tools/fake_vnc.py stuck), held the console open in connect() on
# the event loop, and with it every route; so did a Docker whose inspect
# hangs, the console's inspect ran on the loop too.  While a console open
# waits for either, /healthz, /api/vms and another VM's console answer
# within 1 s; the waiting one is then refused after the upgrade, a close
# frame 4000 + status with the reason.  The same for the screenshot's QMP
# socket (a worker thread stuck for good, and with 64 of them every Docker
# route refused).  A browser that goes while its console opens leaves
# nothing behind: the VM's socket, opened after it went, is closed.  The VMs are a fake Docker API's
# (tests/tools/fake_docker.py) and their state directories this test's:
# no podman, no guest.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"

mgr_fake_prereqs
/usr/bin/python3 -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"
stuck=$(printf 'a%.0s' {1..64})
good=$(printf 'b%.0s' {1..64})
slow=$(printf 'c%.0s' {1..64})
gone=$(printf 'd%.0s' {1..64})
MGR_STATE_DIR=$MGR_TMP/state
# vm NAME ID [STATUS]: a VM container's inspect reply, as Docker gives it.
vm() {
  jq -cn --arg n "$1" --arg id "$2" --arg st "${3:-running}" '{Id: $id, Name: ("/" + $n),
    State: {Status: $st}, Config: {Labels: {"io.startvm.vm": "true", "io.startvm.state": $n}},
    Mounts: []}'
}
# The slow VM's inspect takes 4 s (Docker hanging), and then says it has
# stopped; the gone VM's takes 3 s, and it runs.
jq -n --argjson s "$(vm stuck "$stuck")" --argjson g "$(vm good "$good")" \
  --argjson w "$(vm slow "$slow" exited)" --argjson d "$(vm gone "$gone")" '[
  {path: "/containers/(gone|d{64})/json", status: 200, body: $d, delay: 3},
  {path: "/containers/(stuck|a{64})/json", status: 200, body: $s},
  {path: "/containers/(slow|c{64})/json", status: 200, body: $w, delay: 4},
  {path: "/containers/(good|b{64})/json", status: 200, body: $g},
  {method: "POST", path: "/containers/b{64}/attach[?].*", status: 500,
   body: {message: "attach refused (fake) \u00e9"}},
  {path: "/containers/json.*", status: 200, body: []}
]' >"$MGR_TMP/routes.json"
mgr_fake_docker "$MGR_TMP/routes.json"
# The stuck VM's vnc and qmp sockets never accept; the good and the gone
# ones' vnc do.
for v in stuck:$stuck:vnc stuck:$stuck:qmp good:$good:vnc gone:$gone:vnc; do
  IFS=: read -r name id sock <<<"$v"
  mode=rfb
  [ "$name" = stuck ] && mode=stuck
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

# ws_console ID KIND TIMEOUT: how the VM's console open went
# (tests/tools/ws_console.py: "message FIRST LINE", "close CODE REASON",
# "http STATUS" or "no answer").
ws_console() {
  /usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/ws_console.py" "$ws_url/api/vms/$1/$2" "$3" \
    "Authorization: Bearer $MGR_PASSWORD"
}
# stalled NAME ID WHAT: while a console open to the VM NAME waits (for
# WHAT, a line of the fake Docker's log), /healthz, /api/vms and another
# VM's console answer within 1 s; then the open's outcome is in
# $MGR_TMP/NAME.out.
stalled() {
  local name=$1 id=$2 what=$3 pid t0 out
  : >"$MGR_FAKE_LOG"
  ws_console "$id" vnc 30 >"$MGR_TMP/$name.out" 2>&1 &
  pid=$!
  on_exit kill_pid "$pid" 1
  wait_for_line "$MGR_FAKE_LOG" "$what" 10 || fail "the $name console open never reached the manager"
  t0=$(date +%s%N)
  mgr_req -a none GET /healthz --max-time 1
  mgr_expect 200
  mgr_req GET /api/vms --max-time 1
  mgr_expect 200
  out=$(ws_console "$good" vnc 1)
  assert_eq "message RFB 003.008" "$out" "another VM's console, within 1 s, while the $name one waits"
  info "$name: healthz, the list and another console in $((($(date +%s%N) - t0) / 1000000)) ms"
  wait_exit "$pid" 30 || fail "the $name console open has no outcome after 30 s"
}

# A Docker whose inspect hangs: the console is refused once it answers,
# the VM not running (4409).
stalled slow "$slow" "^GET /containers/$slow/json"
assert_eq "close 4409 VM is not running" "$(cat "$MGR_TMP/slow.out")" "the slow VM's console"

# Console opens share the workers (MAX_JOBS, 64) with the Docker-calling
# routes: 65 at once while the inspect hangs, and one is refused at once,
# busy (4503); the 64 others wait for their inspect.
: >"$MGR_FAKE_LOG"
/usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/ws_console.py" -n 65 "$ws_url/api/vms/$slow/vnc" 30 \
  "Authorization: Bearer $MGR_PASSWORD" >"$MGR_TMP/busy.out" 2>&1
assert_eq "64 close 4409 VM is not running
1 close 4503 too many requests in progress; try again" \
  "$(sort "$MGR_TMP/busy.out" | uniq -c | sed 's/^ *//' | sort -rn)" "65 console opens at once"

# The stuck socket: refused, with the reason, and not after waiting for it
# (once the manager has looked the VM up, it connects to its socket).
stalled stuck "$stuck" "^GET /containers/$stuck/json"
assert_eq "close 4409 VM has no VNC socket (the vnc socket accepts no connections (its backlog is full))" \
  "$(cat "$MGR_TMP/stuck.out")" "the stuck VM's console"
# The serial console's attach runs on the worker as well: Docker's refusal
# closes it with 4502 and Docker's words.
mgr_ws "/api/vms/$good/serial" 10
assert_eq "close 4502 attach refused (fake) é" "$MGR_WS" "the serial console, Docker refusing the attach"

# A browser that gives up while the inspect waits: the WebSocket goes
# first, then the worker connects to the VM's socket, and the loop closes
# that socket (no leak, no use of the gone console: ASan would say).
: >"$MGR_FAKE_LOG"
assert_eq "no answer TimeoutError" "$(ws_console "$gone" vnc 0.5)" "the gone VM's console, given up"
grep -q '^accepted' "$MGR_TMP/gone-vnc.log" && fail "the gone VM's socket was opened before its inspect answered"
wait_for_line "$MGR_TMP/gone-vnc.log" '^accepted 1$' 10 || fail "the gone VM's console open never connected"
wait_for_line "$MGR_TMP/gone-vnc.log" '^closed 1$' 5 ||
  fail "the manager kept the gone console's VNC socket open"

# The screenshot's QMP connect (in a worker) does not wait either.
mgr_req GET /api/vms/"$stuck"/screenshot.png --max-time 10
mgr_expect 502 "the qmp socket accepts no connections (its backlog is full)"
_sv_alive "$MGR_PID" || fail "the manager died"
info "ok"

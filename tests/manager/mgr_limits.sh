#!/bin/bash
# Per-request memory has a ceiling.  Log reads without follow hold at most
# MANAGER_LOG_BUFFER, all of them together: a read that would pass it stops
# and is answered 429 (with Retry-After), and its part is given back.  A
# read with follow=true streams and is not counted.  At most
# MANAGER_MAX_EVENT_CLIENTS event streams are open at once: the next one
# is answered 429 until one closes.  A fake Docker API
# (tests/tools/fake_docker.py) stands in: no podman, no guest.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"

mgr_fake_prereqs
small=$(printf 'c%.0s' {1..64})
big=$(printf 'd%.0s' {1..64})
# vm NAME ID: a running VM container's inspect reply, as Docker gives it.
vm() {
  jq -cn --arg n "$1" --arg id "$2" '{Id: $id, Name: ("/" + $n), State: {Status: "running"},
    Config: {Labels: {"io.startvm.vm": "true", "io.startvm.state": $n}}, Mounts: []}'
}
# The fake answers a log as one JSON string: 600 KiB for small, 1.5 MiB
# for big (the manager passes a stream that is not multiplexed through).
head -c 614400 /dev/zero | tr '\0' x >"$MGR_TMP/small.log"
head -c 1572864 /dev/zero | tr '\0' y >"$MGR_TMP/big.log"
jq -n --argjson s "$(vm small "$small")" --argjson b "$(vm big "$big")" \
  --rawfile sl "$MGR_TMP/small.log" --rawfile bl "$MGR_TMP/big.log" '[
  {path: "/containers/(small|c{64})/json", status: 200, body: $s},
  {path: "/containers/(big|d{64})/json", status: 200, body: $b},
  {path: "/containers/c{64}/logs.*", status: 200, body: $sl},
  {path: "/containers/d{64}/logs.*", status: 200, body: $bl},
  {path: "/containers/json.*", status: 200, body: []}
]' >"$MGR_TMP/routes.json"
mgr_fake_docker "$MGR_TMP/routes.json"
mgr_start MANAGER_INSECURE_HTTP=true MANAGER_LOG_BUFFER=1M MANAGER_MAX_EVENT_CLIENTS=2

# --- log reads: under the ceiling whole, over it 429, follow not counted ---
log_len() { wc -c <"$MGR_TMP/body" | tr -d ' '; }
# status CODE: the status alone first (a log body is too long for a message).
status() { assert_eq "$1" "$MGR_STATUS" "HTTP status of the log read"; }
mgr_req GET /api/vms/small/logs
status 200
# The fake's JSON string: the quotes and the newline around the log.
assert_eq $((614400 + 3)) "$(log_len)" "bytes of the small log"
mgr_req GET /api/vms/big/logs
status 429
mgr_expect 429 "this log would take the memory of log reads without follow past MANAGER_LOG_BUFFER (1048576 bytes, all reads together): ask for the last lines (tail=N), follow=true, or try again"
assert_eq 1 "$(mgr_header Retry-After)" "Retry-After of the refused log read"
# The refused read gave its part back: the small one fits again.
mgr_req GET /api/vms/small/logs
status 200
assert_eq $((614400 + 3)) "$(log_len)" "bytes of the small log after a refused read"
mgr_req GET '/api/vms/big/logs?follow=true'
status 200
assert_eq $((1572864 + 3)) "$(log_len)" "bytes of the big log, followed"

# --- event streams: two open, the third refused until one closes ---
stream() { # N: an event stream in the background, its pid in STREAM_PID
  curl -sS -N -H "Authorization: Bearer $MGR_PASSWORD" "$MGR_URL/api/events" \
    >"$MGR_TMP/events.$1" 2>&1 </dev/null &
  STREAM_PID=$!
  on_exit kill_pid "$STREAM_PID" 1
  wait_for_line "$MGR_TMP/events.$1" '^retry: 1000$' 10 "$STREAM_PID" ||
    fail "event stream $1 did not start: $(cat "$MGR_TMP/events.$1")"
}
stream 1
first=$STREAM_PID
stream 2
mgr_req GET /api/events --max-time 5
mgr_expect 429 "too many event streams open (MANAGER_MAX_EVENT_CLIENTS=2): close one, or try again"
assert_eq 5 "$(mgr_header Retry-After)" "Retry-After of the refused event stream"
kill_pid "$first" 1
# The manager sees the close on its next loop turn: a third stream opens
# once it has (within 5 s).
for ((i = 0; i < 50; i++)); do
  code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' -H "Authorization: Bearer $MGR_PASSWORD" \
    "$MGR_URL/api/events")
  [ "$code" = 429 ] || break
  sleep 0.1
done
assert_eq 200 "$code" "an event stream after one of two closed"

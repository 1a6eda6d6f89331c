#!/bin/bash
# Bodies before auth: a request without the password is answered from its
# headers (401) before any of its body is read, so no one without the
# password makes the manager buffer a body; the routes open to anyone
# (/api/login) take at most 4 KiB (413 beyond); behind the password the
# limit stays 1 MiB.  The routes used need no Docker: a fake Docker API
# (tests/tools/fake_docker.py) stands in, and shows nothing reached it.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"

mgr_fake_prereqs
echo '[]' >"$MGR_TMP/routes.json"
mgr_fake_docker "$MGR_TMP/routes.json"
mgr_start
: >"$MGR_FAKE_LOG"

# --- Expect: 100-continue: the 401 comes instead of the 100, and curl
# never sends the body (1,000,000 bytes, under the 1 MiB limit) ---
head -c 1000000 /dev/zero | tr '\0' 'a' >"$MGR_TMP/big"
out=$(curl -sSk --max-time 60 -o "$MGR_TMP/body" -w '%{http_code} %{size_upload}' -X POST \
  -H 'Content-Type: application/json' -H 'Expect: 100-continue' \
  --data-binary "@$MGR_TMP/big" "$MGR_URL/api/vms" 2>"$MGR_TMP/curl.err")
info "POST /api/vms, 1000000 bytes, no auth, Expect: 100-continue -> $out $(cat "$MGR_TMP/body")"
assert_eq 401 "${out% *}" "status of an unauthenticated POST with a body"
assert_eq '{"error":"authentication required"}' "$(cat "$MGR_TMP/body")" "its answer"
assert_eq 0 "${out#* }" "bytes of the body curl sent"

# --- a body that never comes (headers with Content-Length: 1000000, and
# no byte of the body): the answer does not wait for it ---
slow() { # PATH EXPECTED HEADER...: the answer within 10 s, without the body
  local path=$1 want=$2 t0=$SECONDS out
  shift 2
  out=$(/usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/headers_only.py" "$MGR_URL$path" POST 1000000 10 \
    'Content-Type: application/json' "$@") || fail "tests/tools/headers_only.py failed"
  info "POST $path${*:+ ($*)}, a body that never comes -> $out in $((SECONDS - t0))s"
  assert_eq "$want" "$out" "the answer to POST $path $* before its body"
}
slow /api/vms '401 {"error":"authentication required"}'
slow /api/vms '401 {"error":"wrong password"}' "Authorization: Bearer not-$MGR_PASSWORD"
# A foreign Origin on the open login route: refused from the headers too.
slow /api/login "403 {\"error\":\"origin https://evil.example does not match host $MGR_HOSTPORT\"}" \
  'Origin: https://evil.example'
# Over the open routes' 4 KiB: refused from the length.
slow /api/login '413 {"error":"request body over 4 KiB"}'

# --- /api/login: 4 KiB at most, with a length or chunked ---
login_body=$(jq -cn --arg p "$(head -c 5120 /dev/zero | tr '\0' 'x')" '{password: $p}')
mgr_req -a none POST /api/login -H 'Content-Type: application/json' --data-binary "$login_body"
mgr_expect 413 "request body over 4 KiB"
mgr_req -a none POST /api/login -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
  --data-binary "$login_body"
mgr_expect 413 "request body over 4 KiB"
# (These were no failed logins: the right password still logs in.)
mgr_login
# --- behind the password, 1 MiB: the body is read (and is no JSON) ---
mgr_req POST /api/vms -H 'Content-Type: application/json' --data-binary "@$MGR_TMP/big"
mgr_expect 400
mgr_jq .error | grep -E '^invalid JSON: ' >/dev/null || fail "an authenticated 1000000-byte body: $MGR_BODY"
! grep '^POST' "$MGR_FAKE_LOG" >/dev/null || fail "a refused request reached Docker: $(cat "$MGR_FAKE_LOG")"
mgr_req -a none GET /healthz
mgr_expect 200
info "ok"

#!/usr/bin/env bash
# startvm-manager's gate, with curl against the real server on a private
# podman service: what needs no auth (/healthz, the page), what needs the
# session or the bearer token (the API, the WebSockets), the Origin check
# on state-changing requests and WebSocket upgrades, the headers on every
# answer, the body limit (413), malformed JSON (400), and last the login
# rate limit (401 ten times, wrong logins and wrong bearer tokens alike,
# then 429, even with the right password or token).
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
mgr_prereqs
/usr/bin/python3 -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"
mgr_podman_service
mgr_start

# --- without auth: /healthz and the static page only ---
mgr_req -a none GET /healthz
mgr_expect 200
assert_eq ok "$MGR_BODY" "/healthz body"
mgr_req -a none GET /
mgr_expect 200
case "$(mgr_header Content-Type)" in
text/html*) ;;
*) fail "/ is not text/html: $(mgr_header Content-Type)" ;;
esac
# Every answer carries the page's security headers; /api is never cached.
assert_eq "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'" \
  "$(mgr_header Content-Security-Policy)" "Content-Security-Policy on /"
assert_eq nosniff "$(mgr_header X-Content-Type-Options)" "X-Content-Type-Options on /"
assert_eq no-referrer "$(mgr_header Referrer-Policy)" "Referrer-Policy on /"

for path in /api/vms /api/vms/x /api/images /api/networks /api/events /api/vms/x/logs; do
  mgr_req -a none GET "$path"
  mgr_expect 401 "authentication required"
  assert_eq no-store "$(mgr_header Cache-Control)" "Cache-Control on $path"
  assert_eq nosniff "$(mgr_header X-Content-Type-Options)" "X-Content-Type-Options on $path"
done
mgr_req -a none GET /api/session
mgr_expect 401
mgr_snapshot
mgr_req -a none POST /api/vms -H 'Content-Type: application/json' \
  --data-binary "{\"image\":\"x\",\"name\":\"$(mgr_name noauth)\"}"
mgr_expect 401 "authentication required"
mgr_assert_unchanged "POST /api/vms without auth"

# --- the bearer token ---
mgr_req GET /api/vms
mgr_expect 200
mgr_jq '.vms | type' | grep -x array >/dev/null || fail "GET /api/vms: no vms array: $MGR_BODY"
assert_eq no-store "$(mgr_header Cache-Control)" "Cache-Control on /api/vms"
mgr_req GET /api/session
mgr_expect 200
assert_eq true "$(mgr_jq .authenticated)" "session with the bearer token"

# --- the session cookie ---
mgr_login
cookie=$(mgr_header Set-Cookie)
info "Set-Cookie: $cookie"
[[ $cookie =~ ^sv_session=[0-9a-f]{64}\; ]] || fail "session cookie is not 32 random bytes in hex: $cookie"
for attr in 'Path=/' HttpOnly 'SameSite=Strict' Secure; do
  grep -qi -- "; *$attr\\( *;\\|$\\)" <<<"$cookie" || fail "session cookie lacks $attr: $cookie"
done
mgr_req -a cookie GET /api/session
mgr_expect 200
assert_eq true "$(mgr_jq .authenticated)" "session with the cookie"
mgr_req -a cookie GET /api/vms
mgr_expect 200

# A cookie alone (no Origin) may read but not change anything: a script
# without Origin uses the bearer token.
mgr_snapshot
mgr_req -a none POST /api/vms -b "$MGR_JAR" -H 'Content-Type: application/json' \
  --data-binary "{\"image\":\"x\",\"name\":\"$(mgr_name noorigin)\"}"
mgr_expect 403 "cookie-authenticated requests need an Origin header"
# A foreign Origin is refused, with the cookie or with the bearer token.
mgr_req -a none POST /api/vms -b "$MGR_JAR" -H 'Origin: https://evil.example' \
  -H 'Content-Type: application/json' --data-binary "{\"image\":\"x\",\"name\":\"$(mgr_name evil)\"}"
mgr_expect 403 "origin https://evil.example does not match host $MGR_HOSTPORT"
mgr_req POST /api/vms -H 'Origin: https://evil.example' \
  -H 'Content-Type: application/json' --data-binary "{\"image\":\"x\",\"name\":\"$(mgr_name evil2)\"}"
mgr_expect 403 "origin https://evil.example does not match host $MGR_HOSTPORT"
# Same host, another port: another origin.
mgr_req -a none DELETE "/api/vms/$(mgr_name evil3)" -b "$MGR_JAR" -H "Origin: https://127.0.0.1:1"
mgr_expect 403 "origin https://127.0.0.1:1 does not match host $MGR_HOSTPORT"
mgr_assert_unchanged "requests with a foreign or no Origin"

# --- WebSocket upgrades: session or token, and a matching Origin ---
ws() { # PATH CURL_ARGS...: an upgrade request; curl stops at the answer
  local path=$1
  shift
  mgr_req -a none GET "$path" --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    --max-time 10 "$@"
}
for kind in vnc serial; do
  ws "/api/vms/$(mgr_name ws)/$kind"
  mgr_expect 401 "authentication required"
  ws "/api/vms/$(mgr_name ws)/$kind" -b "$MGR_JAR" -H 'Origin: https://evil.example'
  mgr_expect 403 "origin https://evil.example does not match host $MGR_HOSTPORT"
  ws "/api/vms/$(mgr_name ws)/$kind" -H "Authorization: Bearer $MGR_PASSWORD" \
    -H 'Origin: https://evil.example'
  mgr_expect 403 "origin https://evil.example does not match host $MGR_HOSTPORT"
  # Through the gate, an unknown VM is the next refusal: after the
  # upgrade (the lookup is Docker's), a close frame 4000 + 404.
  mgr_ws -a cookie "/api/vms/$(mgr_name ws)/$kind" 10
  assert_eq "close 4404 no such VM: $(mgr_name ws)" "$MGR_WS" "the $kind console of an unknown VM"
done

# --- bodies: 10 MB is refused whole (413), malformed JSON is a 400 ---
mgr_snapshot
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$MGR_TMP/big"
mgr_req POST /api/vms -H 'Content-Type: application/json' --data-binary "@$MGR_TMP/big"
mgr_expect 413 "request body over 1 MiB"
mgr_req -a cookie POST /api/login -H 'Content-Type: application/json' --data-binary "@$MGR_TMP/big"
mgr_expect 413 "request body over 4 KiB"
mgr_post_json /api/vms '{"image": "x", "name": '
mgr_expect 400
mgr_jq .error | grep -E '^invalid JSON: .+ at line 1 column [0-9]+$' >/dev/null ||
  fail "malformed JSON: not \"invalid JSON: <text> at line L column C\": $MGR_BODY"
mgr_post_json /api/vms '{"image": "x",}'
mgr_expect 400
mgr_jq .error | grep -E '^invalid JSON: .+ at line 1 column [0-9]+$' >/dev/null || fail "trailing comma: $MGR_BODY"
mgr_assert_unchanged "a 10 MB body and malformed JSON"
# The server still answers after them.
mgr_req GET /api/vms
mgr_expect 200

# --- logout drops the session ---
mgr_req -a cookie POST /api/logout
mgr_expect 204
mgr_req -a cookie GET /api/session
mgr_expect 401
mgr_req -a cookie GET /api/vms
mgr_expect 401 "authentication required"

# --- wrong passwords: 401 ten times, then 429 for the rest of the minute ---
# A wrong bearer token is a wrong password too: the same window
# (tests/manager/mgr_lockout.sh has the rest: proxies, IPv6).
login() { mgr_req -a none POST /api/login -H 'Content-Type: application/json' --data-binary "$1"; }
for i in $(seq 5); do
  mgr_req -a none GET /api/vms -H "Authorization: Bearer not-$MGR_PASSWORD"
  mgr_expect 401 "wrong password"
  login '{"password":"wrong"}'
  mgr_expect 401 "wrong password"
done
login '{"password":"wrong"}'
mgr_expect 429
mgr_jq .error | grep -E '^too many failed logins; try again in [0-9]+ s$' >/dev/null ||
  fail "the 11th failed login: $MGR_BODY"
login "$(jq -cn --arg p "$MGR_PASSWORD" '{password: $p}')"
mgr_expect 429
mgr_jq .error | grep -E '^too many failed logins; try again in [0-9]+ s$' >/dev/null ||
  fail "the right password while locked out: $MGR_BODY"
grep -q 'sv_session' "$MGR_HEADERS" && fail "a locked-out login got a session cookie"
# The bearer token, the right one too, is locked out with the login.
mgr_req GET /api/vms
mgr_expect 429
[[ $(mgr_header Retry-After) =~ ^[0-9]+$ ]] || fail "the locked-out bearer token: no Retry-After"
# The manager lives on.
mgr_req -a none GET /healthz
mgr_expect 200
info "ok"

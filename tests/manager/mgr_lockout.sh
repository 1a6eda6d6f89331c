#!/bin/bash
# Guessing the password, the ways around the login lockout: the bearer
# token (a wrong one is a failed login, in the same per-address window),
# X-Forwarded-For (only MANAGER_TRUSTED_PROXY may say who the client is,
# and only its own hop, the last, counts), IPv6 (a client's key is its
# /64), and a short MANAGER_PASSWORD (the manager does not start).  The
# routes used need no Docker: a fake Docker API (tests/tools/fake_docker.py)
# stands in, so this needs no podman and no guest.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"

mgr_fake_prereqs
echo '[]' >"$MGR_TMP/routes.json"
mgr_fake_docker "$MGR_TMP/routes.json"

# --- settings refused at start: exit 2, the message, nothing made ---
refused_start() { # MESSAGE VAR=VALUE...
  local want=$1 rc
  shift
  env -i PATH="$PATH" DOCKER_HOST="$MGR_DOCKER_HOST" MANAGER_LISTEN=127.0.0.1:1 \
    MANAGER_STATE_DIR="$MGR_TMP/st" MANAGER_DATA_DIR="$MGR_TMP/dt" MANAGER_INSECURE_HTTP=true \
    "$@" timeout 20 "$MGR_BINARY" >"$MGR_TMP/start.out" 2>&1
  rc=$?
  assert_eq 2 "$rc" "exit status with $*"
  assert_eq "startvm-manager: $want" "$(cat "$MGR_TMP/start.out")" "the manager's words with $*"
  [ ! -e "$MGR_TMP/dt" ] || fail "the manager made its data directory with $*"
}
refused_start "MANAGER_PASSWORD is too short (11 characters): use at least 12" \
  MANAGER_PASSWORD=elevenchars
refused_start "MANAGER_TRUSTED_PROXY=proxy.example: expected the proxy's IP address (e.g. 10.0.0.2)" \
  MANAGER_PASSWORD=twelve-chars MANAGER_TRUSTED_PROXY=proxy.example

MGR_PASSWORD=twelve-chars
mgr_start MANAGER_INSECURE_HTTP=true MANAGER_TRUSTED_PROXY=127.0.0.1

# bearer TOKEN STATUS [CURL_ARGS...]: GET /api/session with this token.
bearer() {
  local tok=$1 status=$2
  shift 2
  mgr_req -a none GET /api/session -H "Authorization: Bearer $tok" "$@"
  mgr_expect "$status"
  case $status in
  401) mgr_expect 401 "wrong password" ;;
  429)
    mgr_jq .error | grep -E '^too many failed logins; try again in [0-9]+ s$' >/dev/null ||
      fail "429 without the lockout's message: $MGR_BODY"
    [[ $(mgr_header Retry-After) =~ ^[0-9]+$ ]] || fail "429 without Retry-After"
    ;;
  esac
}

# --- an untrusted peer (127.0.0.2): its X-Forwarded-For is ignored ---
for i in $(seq 10); do
  bearer "wrong-$i" 401 --interface 127.0.0.2 -H "X-Forwarded-For: 198.51.100.$i"
done
# The 11th, with the right token and yet another forwarded address: locked.
bearer "$MGR_PASSWORD" 429 --interface 127.0.0.2 -H "X-Forwarded-For: 198.51.100.99"
# The window is 127.0.0.2's alone.
bearer "$MGR_PASSWORD" 200

# --- the trusted proxy (127.0.0.1): the client is its last hop ---
for i in $(seq 10); do
  bearer "wrong-$i" 401 -H "X-Forwarded-For: 2001:db8:0:1::$i"
done
# The same /64 is the same client: bearer and login locked.
bearer "$MGR_PASSWORD" 429 -H "X-Forwarded-For: 2001:db8:0:1:ffff::1"
mgr_req -a none POST /api/login -H 'Content-Type: application/json' \
  -H "X-Forwarded-For: 2001:db8:0:1:8000::1" --data-binary "{\"password\": \"$MGR_PASSWORD\"}"
mgr_expect 429
# Only the last hop is the proxy's word; what comes before it is the
# client's: a client claiming another address first is still locked.
bearer "$MGR_PASSWORD" 429 -H "X-Forwarded-For: 203.0.113.5, 2001:db8:0:1::1"
# Another /64, another client, also when the locked one is named first.
bearer "$MGR_PASSWORD" 200 -H "X-Forwarded-For: 2001:db8:0:2::1"
bearer "$MGR_PASSWORD" 200 -H "X-Forwarded-For: 2001:db8:0:1::1, 203.0.113.5"
# The proxy itself (no header) is not its clients.
bearer "$MGR_PASSWORD" 200

# --- a login's failures and the bearer's share the window ---
for i in $(seq 5); do
  mgr_req -a none POST /api/login -H 'Content-Type: application/json' \
    -H "X-Forwarded-For: 192.0.2.7" --data-binary '{"password": "wrong"}'
  mgr_expect 401 "wrong password"
  bearer "wrong-$i" 401 -H "X-Forwarded-For: 192.0.2.7"
done
bearer "$MGR_PASSWORD" 429 -H "X-Forwarded-For: 192.0.2.7"
_sv_alive "$MGR_PID" || fail "the manager died"
info "ok"

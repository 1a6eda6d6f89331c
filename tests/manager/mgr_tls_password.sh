#!/usr/bin/env bash
# startvm-manager's TLS certificate and password, without Docker (the
# manager starts and serves /healthz, /api/session and TLS with DOCKER_HOST
# on a socket nobody listens on; no podman service, no guest):
#  1. MANAGER_TLS_CERT + MANAGER_TLS_KEY given: that certificate is the one
#     served (SHA-256 fingerprint from openssl s_client), the log names it,
#     and no certificate is generated in MANAGER_DATA_DIR;
#  2. only one of the two set: exit 2, the exact one-line message, and
#     MANAGER_DATA_DIR is not even created;
#  3. neither set and no MANAGER_PASSWORD: the generated password and the
#     self-signed certificate are stored (password and tls.key mode 0600)
#     and reused by a restart: the same password works (a wrong one gets
#     401), the same certificate is served.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/manager.sh" || exit 1
need curl openssl
MGR_BINARY=${SV_BINARY_DIR:-}/startvm-manager
[ -n "${SV_BINARY_DIR:-}" ] && [ -x "$MGR_BINARY" ] ||
  skip "no startvm-manager at '$MGR_BINARY' (build the startvm-manager target; ctest sets SV_BINARY_DIR)"
tmpdir T
chmod 0700 "$T"
nodocker=$T/no-docker.sock

# start NAME VAR=VALUE...: the manager with a private state dir, data dir
# $T/NAME.data, the caller's MANAGER_* settings removed; waits for /healthz.
start() {
  local name=$1 i
  shift
  port=$(_mgr_free_port) || fail "no free port"
  url=https://127.0.0.1:$port
  log=$T/$name.log
  setsid env -u MANAGER_PASSWORD -u MANAGER_TLS_CERT -u MANAGER_TLS_KEY -u MANAGER_INSECURE_HTTP \
    DOCKER_HOST="unix://$nodocker" MANAGER_LISTEN="127.0.0.1:$port" MANAGER_STATE_DIR="$T/state" \
    MANAGER_DATA_DIR="$T/$name.data" MANAGER_WEB_DIR="$SV_SOURCE_DIR/web" "$@" \
    "$MGR_BINARY" >"$log" 2>&1 </dev/null &
  pid=$!
  on_exit kill_pid "$pid" 10
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -sk --max-time 5 "$url/healthz" 2>/dev/null)" = ok ] && {
      info "manager (pid $pid) serves $url"
      return 0
    }
    _sv_alive "$pid" || break
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  fail "startvm-manager did not answer /healthz on $url"
}

served_fp() {
  openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256
}
file_fp() { openssl x509 -noout -fingerprint -sha256 -in "$1"; }

# GET /api/session with PASSWORD as the bearer token: the HTTP status.
session() {
  curl -sk --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$url/api/session"
}

# ---- 1. a given certificate is the one served ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=svtest-given -keyout "$T/given.key" -out "$T/given.crt" 2>"$T/openssl.log" ||
  fail "openssl req failed: $(cat "$T/openssl.log")"
given=$(file_fp "$T/given.crt") || fail "no fingerprint of the given certificate"
start given MANAGER_PASSWORD=svtest-given-pw MANAGER_TLS_CERT="$T/given.crt" MANAGER_TLS_KEY="$T/given.key"
assert_eq "$given" "$(served_fp)" "the served certificate (MANAGER_TLS_CERT given)"
assert_line "$log" "^startvm-manager: TLS certificate $T/given.crt\$"
assert_eq 200 "$(session svtest-given-pw)" "GET /api/session with MANAGER_PASSWORD"
[ ! -e "$T/given.data/tls.crt" ] && [ ! -e "$T/given.data/tls.key" ] ||
  fail "a certificate was generated although one was given: $(ls -A "$T/given.data")"
kill_pid "$pid" 10

# ---- 2. only one of the two ----
for var in MANAGER_TLS_CERT="$T/given.crt" MANAGER_TLS_KEY="$T/given.key"; do
  env -u MANAGER_PASSWORD -u MANAGER_TLS_CERT -u MANAGER_TLS_KEY DOCKER_HOST="unix://$nodocker" \
    MANAGER_LISTEN=127.0.0.1:1 MANAGER_STATE_DIR="$T/state" MANAGER_DATA_DIR="$T/half.data" \
    "$var" timeout 30 "$MGR_BINARY" >"$T/half.out" 2>&1 </dev/null
  rc=$?
  assert_eq 2 "$rc" "exit status with only ${var%%=*}"
  assert_eq "startvm-manager: MANAGER_TLS_CERT and MANAGER_TLS_KEY must be set together" \
    "$(cat "$T/half.out")" "output with only ${var%%=*}"
  [ ! -e "$T/half.data" ] || fail "with only ${var%%=*}, MANAGER_DATA_DIR was made: $(ls -lA "$T/half.data")"
done

# ---- 3. generated password and certificate, reused on restart ----
start gen
pw=$(sed -n 's/^startvm-manager: generated password: \([^ ]*\) (stored in .*)$/\1/p' "$log")
[ -n "$pw" ] || fail "no generated password in the log: $(cat "$log")"
assert_line "$log" "^startvm-manager: generated a self-signed TLS certificate $T/gen.data/tls.crt\$"
assert_eq "$pw" "$(cat "$T/gen.data/password")" "the stored password"
assert_eq 600 "$(stat -c %a "$T/gen.data/password")" "mode of the password file"
assert_eq 600 "$(stat -c %a "$T/gen.data/tls.key")" "mode of tls.key"
fp1=$(served_fp)
[ -n "$fp1" ] || fail "no certificate served"
assert_eq "$(file_fp "$T/gen.data/tls.crt")" "$fp1" "the served certificate (generated)"
assert_eq 200 "$(session "$pw")" "GET /api/session with the generated password"
cp -p "$T/gen.data/password" "$T/gen.data/tls.crt" "$T/gen.data/tls.key" "$T/"
kill_pid "$pid" 10

start gen
assert_line "$log" "^startvm-manager: password from $T/gen.data/password\$"
assert_line "$log" "^startvm-manager: using the self-signed TLS certificate $T/gen.data/tls.crt\$"
assert_no_line "$log" 'generated'
assert_eq "$fp1" "$(served_fp)" "the served certificate after a restart"
assert_eq 200 "$(session "$pw")" "GET /api/session with the stored password after a restart"
assert_eq 401 "$(session "x$pw")" "GET /api/session with a wrong password"
for f in password tls.crt tls.key; do
  cmp -s "$T/$f" "$T/gen.data/$f" || fail "the restart rewrote $f"
done
assert_eq 600 "$(stat -c %a "$T/gen.data/password")" "mode of the password file after a restart"
assert_eq 600 "$(stat -c %a "$T/gen.data/tls.key")" "mode of tls.key after a restart"
kill_pid "$pid" 10
info "ok"

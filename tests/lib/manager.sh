# Helpers for the startvm-manager tests (tests/manager/*.sh, and the
# browser tests): a private podman API service, the images, the manager
# process on a free port, curl against its API, and cleanup of everything
# a test made.  Source after common.sh and podman.sh:
#
#   . "$SV_SOURCE_DIR/tests/lib/common.sh"
#   . "$SV_SOURCE_DIR/tests/lib/podman.sh"
#   . "$SV_SOURCE_DIR/tests/lib/manager.sh"
#   mgr_prereqs; mgr_images; mgr_podman_service; mgr_start
#
#   mgr_prereqs                 skip unless root, podman, mmdebstrap, curl,
#                               jq and $SV_BINARY_DIR/startvm-manager
#   mgr_fake_prereqs            the same but root and podman: for a test
#                               against mgr_fake_docker
#   mgr_images                  podman_images, and check that the tiny VM
#                               image carries io.startvm.vm=true
#   mgr_image                   build (or reuse) images/manager as
#                               localhost/startvm-manager:TAG on the
#                               mmdebstrap base, cached like podman_images;
#                               sets SV_PODMAN_MANAGER
#   mgr_podman_service          start `podman system service` on a private
#                               socket (MGR_SOCK; MGR_DOCKER_HOST is its
#                               unix:// URL) with a private CONTAINERS_CONF
#                               (exported, so the test's podman CLI calls
#                               see the same configuration); stopped on exit
#   mgr_fake_docker ROUTES      instead of the podman service: the fake
#                               Docker API tests/tools/fake_docker.py on
#                               MGR_SOCK, answering from the JSON file
#                               ROUTES (see there); every request it got is
#                               a line "METHOD PATH" of MGR_FAKE_LOG;
#                               stopped on exit
#   mgr_podman_stop / mgr_podman_restart
#                               stop it / start it again on the same socket
#   mgr_start [VAR=VALUE...]    start $SV_BINARY_DIR/startvm-manager on a
#                               free 127.0.0.1 port with private
#                               MANAGER_STATE_DIR/MANAGER_DATA_DIR and
#                               MGR_PASSWORD (generated unless set; set
#                               MGR_PASSWORD= empty, on its own line, not as
#                               a prefix of the call, to let the manager make
#                               one: it is then read from its log); waits for
#                               /healthz.  Sets MGR_URL, MGR_HOSTPORT,
#                               MGR_PID, MGR_LOG, MGR_STATE_DIR, MGR_DATA_DIR.
#                               VAR=VALUE: more environment (e.g.
#                               MANAGER_INSECURE_HTTP=true: MGR_URL is http)
#   mgr_stop                    stop the manager (TERM, then KILL)
#   mgr_curl [-a MODE] METHOD PATH [CURL_ARGS...]
#                               curl -sk; prints the status line then the
#                               body.  MODE: bearer (default: Authorization:
#                               Bearer $MGR_PASSWORD), cookie (the jar
#                               $MGR_JAR, and Origin: $MGR_URL on POST and
#                               DELETE as a browser sends it), none
#   mgr_req [-a MODE] METHOD PATH [CURL_ARGS...]
#                               the same, but sets MGR_STATUS, MGR_BODY and
#                               MGR_HEADERS (a file) and logs one line to
#                               stderr instead of printing
#   mgr_ws [-a MODE] PATH TIMEOUT [HEADER...]
#                               open the console WebSocket at PATH
#                               (tests/tools/ws_console.py; MODE as for
#                               mgr_req, cookie with Origin: $MGR_URL);
#                               sets MGR_WS to how it went: "http STATUS",
#                               "close CODE REASON", "message TEXT" or
#                               "no answer ..."
#   mgr_post_json PATH JSON [CURL_ARGS...]
#                               mgr_req POST with a JSON body
#   mgr_login                   POST /api/login into the cookie jar $MGR_JAR
#   mgr_expect STATUS [ERROR]   the last mgr_req answered STATUS (and, when
#                               given, exactly {"error": ERROR})
#   mgr_jq FILTER               jq -r FILTER over the last body
#   mgr_header NAME             the last response's header NAME (value only)
#   mgr_name SUFFIX             a container name with this test's tag and
#                               pid (svmgr<pid>-SUFFIX); everything named so
#                               is removed on exit
#   mgr_wait_vm ID FILTER TIMEOUT
#                               poll GET /api/vms/ID until `jq -e FILTER`
#                               holds (e.g. '.state == "running"')
#   mgr_snapshot / mgr_assert_unchanged WHAT
#                               the containers and volumes named with this
#                               test's tag, the containers whose mounts come
#                               from this manager's state directory, and
#                               that directory's entries: take them, and
#                               fail unless they are the same now (one API
#                               request each: cheap enough after every
#                               refusal)
#   mgr_events_start / mgr_events_stop
#                               follow GET /api/events into MGR_EVENTS (a
#                               file) with curl -N in the background
#   mgr_event_mark              from now on, mgr_wait_event looks only at
#                               lines MGR_EVENTS gets after this call
#   mgr_wait_event REGEX TIMEOUT
#                               wait for a line of MGR_EVENTS (after the
#                               last mgr_event_mark) to match
# shellcheck shell=bash

MGR_TAG=svmgr$$
MGR_AUTH=${MGR_AUTH:-bearer}

mgr_prereqs() {
  podman_prereqs
  mgr_fake_prereqs
}

mgr_fake_prereqs() {
  need curl jq openssl /usr/bin/python3
  MGR_BINARY=${MGR_BINARY:-${SV_BINARY_DIR:-}/startvm-manager}
  [ -n "${SV_BINARY_DIR:-}" ] && [ -x "$MGR_BINARY" ] ||
    skip "no startvm-manager at '$MGR_BINARY' (build the startvm-manager target; ctest sets SV_BINARY_DIR)"
  [ -n "${MGR_TMP:-}" ] || tmpdir MGR_TMP
  # A container's /ranchervm is bound from MGR_TMP/state: others may enter.
  chmod 0755 "$MGR_TMP"
}

mgr_images() {
  podman_images
  local l
  l=$(podman image inspect -f '{{index .Labels "io.startvm.vm"}}' "$SV_PODMAN_TINY" 2>/dev/null)
  assert_eq true "$l" "label io.startvm.vm of $SV_PODMAN_TINY (images/base sets it)"
}

mgr_image() {
  local t0=$SECONDS ctx
  _sv_podman_base
  [ -n "${MGR_TMP:-}" ] || tmpdir MGR_TMP
  ctx=$MGR_TMP/manager-ctx
  mkdir -p "$ctx/web"
  # Sources, not logs: no sanitizer report to look for (common.sh).
  touch "$ctx/.sv-noscan"
  (cd "$SV_SOURCE_DIR" && git ls-files -co --exclude-standard -- CMakeLists.txt cmake schemas src tools tests web |
    tar -cf - -T -) | tar -xf - -C "$ctx" || fail "staging the manager's build context failed"
  SV_PODMAN_MANAGER=localhost/startvm-manager:${SV_PODMAN_TAG:-test}
  _sv_podman_build "$SV_PODMAN_MANAGER" "$SV_SOURCE_DIR/images/manager/Dockerfile" "$ctx" \
    "$SV_PODMAN_BASE" "$MGR_TMP/manager-build.log"
  info "manager image ready in $((SECONDS - t0))s: $SV_PODMAN_MANAGER"
}

# --- the private podman service -----------------------------------------

# The service's configuration replaces the system's containers.conf whole
# (docs/manager.md): runc, ulimits without which runc fails ("error
# setting rlimit type 7"), and podman's default capabilities, without which
# containers silently gain NET_RAW, MKNOD and AUDIT_WRITE.
_mgr_containers_conf() {
  cat <<'EOF'
# written by tests/lib/manager.sh
[containers]
default_capabilities = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]
default_ulimits = [
  "nofile=1024:1024",
  "nproc=1024:1024",
]
default_sysctls = [
  "net.ipv4.ping_group_range=0 0",
]

[engine]
runtime = "runc"
events_logger = "file"
EOF
}

_mgr_ping() {
  [ "$(curl -s --max-time 5 --unix-socket "$MGR_SOCK" -o /dev/null -w '%{http_code}' \
    http://d/_ping 2>/dev/null)" = 200 ]
}

mgr_podman_service() {
  [ -n "${MGR_TMP:-}" ] || tmpdir MGR_TMP
  mkdir -p "$MGR_TMP/podman"
  _mgr_containers_conf >"$MGR_TMP/podman/containers.conf"
  export CONTAINERS_CONF=$MGR_TMP/podman/containers.conf
  MGR_SOCK=$MGR_TMP/podman/podman.sock
  MGR_DOCKER_HOST=unix://$MGR_SOCK
  MGR_PODMAN_LOG=$MGR_TMP/podman/service.log
  on_exit mgr_podman_stop
  # Runs before the service stops, and before MGR_TMP (the VM containers'
  # state) goes.
  on_exit _mgr_sweep
  mgr_podman_restart
}

mgr_fake_docker() {
  local i
  [ -n "${MGR_TMP:-}" ] || tmpdir MGR_TMP
  MGR_SOCK=$MGR_TMP/docker.sock
  MGR_DOCKER_HOST=unix://$MGR_SOCK
  MGR_FAKE_LOG=$MGR_TMP/fake.requests
  setsid /usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/fake_docker.py" "$MGR_SOCK" "$1" \
    "$MGR_FAKE_LOG" >"$MGR_TMP/fake.log" 2>&1 </dev/null &
  MGR_FAKE_PID=$!
  on_exit kill_pid "$MGR_FAKE_PID" 2
  for ((i = 0; i < 100; i++)); do
    _mgr_ping && return 0
    _sv_alive "$MGR_FAKE_PID" || break
    sleep 0.1
  done
  fail "the fake Docker API did not answer on $MGR_SOCK: $(cat "$MGR_TMP/fake.log")"
}

mgr_podman_restart() {
  local i
  rm -f "$MGR_SOCK"
  setsid podman system service --time=0 "$MGR_DOCKER_HOST" >>"$MGR_PODMAN_LOG" 2>&1 </dev/null &
  MGR_PODMAN_PID=$!
  for ((i = 0; i < 600; i++)); do
    _mgr_ping && {
      info "podman service (pid $MGR_PODMAN_PID) answers on $MGR_SOCK"
      return 0
    }
    _sv_alive "$MGR_PODMAN_PID" || break
    sleep 0.1
  done
  tail -n 20 "$MGR_PODMAN_LOG" >&2
  fail "podman system service did not answer on $MGR_SOCK"
}

mgr_podman_stop() {
  [ -n "${MGR_PODMAN_PID:-}" ] || return 0
  kill_pid "$MGR_PODMAN_PID" 10
  MGR_PODMAN_PID=
}

# --- the manager ----------------------------------------------------------

_mgr_free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

mgr_start() {
  local i try scheme=https env_pw=() gen=0
  [ -n "${MGR_TMP:-}" ] || tmpdir MGR_TMP
  [ -n "${MGR_SOCK:-}" ] || fail "mgr_start: call mgr_podman_service first"
  MGR_STATE_DIR=${MGR_STATE_DIR:-$MGR_TMP/state}
  MGR_DATA_DIR=${MGR_DATA_DIR:-$MGR_TMP/data}
  MGR_JAR=$MGR_TMP/cookies
  mkdir -p "$MGR_STATE_DIR" "$MGR_DATA_DIR"
  chmod 0700 "$MGR_DATA_DIR"
  if [ -z "${MGR_PASSWORD+set}" ]; then
    MGR_PASSWORD=svtest-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  fi
  if [ -n "$MGR_PASSWORD" ]; then
    env_pw=(MANAGER_PASSWORD="$MGR_PASSWORD")
  else
    gen=1
  fi
  for i in "$@"; do
    [ "$i" != MANAGER_INSECURE_HTTP=true ] || scheme=http
  done
  # A port taken between the probe and the bind: try another.
  for ((try = 1; try <= 3; try++)); do
    MGR_PORT=$(_mgr_free_port) || fail "no free port"
    MGR_HOSTPORT=127.0.0.1:$MGR_PORT
    MGR_URL=$scheme://$MGR_HOSTPORT
    _mgr_starts=$((${_mgr_starts:-0} + 1))
    MGR_LOG=$MGR_TMP/manager.$_mgr_starts.log
    setsid env DOCKER_HOST="$MGR_DOCKER_HOST" MANAGER_LISTEN="$MGR_HOSTPORT" \
      MANAGER_STATE_DIR="$MGR_STATE_DIR" MANAGER_DATA_DIR="$MGR_DATA_DIR" \
      MANAGER_WEB_DIR="${MGR_WEB_DIR:-$SV_SOURCE_DIR/web}" "${env_pw[@]}" "$@" \
      "$MGR_BINARY" >"$MGR_LOG" 2>&1 </dev/null &
    MGR_PID=$!
    # Its sanitizer reports (leaks at exit) fail the test: common.sh's
    # log_path, and the scan of MGR_TMP (its log) before it goes.
    on_exit kill_pid "$MGR_PID" 10
    for ((i = 0; i < 600; i++)); do
      if [ "$(curl -sk --max-time 5 "$MGR_URL/healthz" 2>/dev/null)" = ok ]; then
        info "manager (pid $MGR_PID) serves $MGR_URL (log $MGR_LOG)"
        if [ "$gen" = 1 ]; then
          MGR_PASSWORD=$(sed -n 's/^startvm-manager: generated password: \([^ ]*\) .*/\1/p' "$MGR_LOG" | head -n1)
          [ -n "$MGR_PASSWORD" ] || fail "the manager made a password but did not log it"
        fi
        return 0
      fi
      _sv_alive "$MGR_PID" || break
      sleep 0.1
    done
    if _sv_alive "$MGR_PID" || ! grep -qi 'in use' "$MGR_LOG"; then
      tail -n 30 "$MGR_LOG" >&2
      fail "startvm-manager did not answer /healthz on $MGR_URL"
    fi
    info "port $MGR_PORT was taken; another"
  done
  fail "startvm-manager found no free port"
}

mgr_stop() {
  [ -n "${MGR_PID:-}" ] || return 0
  kill_pid "$MGR_PID" 10
}

# --- requests -------------------------------------------------------------

_mgr_curl_args() { # MODE METHOD PATH -> _mgr_args
  local mode=$1 method=$2 path=$3
  _mgr_args=(-sSk --max-time "${MGR_CURL_TIMEOUT:-150}" -X "$method" -o "$MGR_TMP/body"
    -D "$MGR_TMP/headers" -w '%{http_code}')
  case $mode in
  bearer) _mgr_args+=(-H "Authorization: Bearer $MGR_PASSWORD") ;;
  cookie)
    _mgr_args+=(-b "$MGR_JAR" -c "$MGR_JAR")
    case $method in POST | DELETE | PUT | PATCH) _mgr_args+=(-H "Origin: $MGR_URL") ;; esac
    ;;
  none) ;;
  *) fail "mgr_curl: unknown auth mode '$mode'" ;;
  esac
  # --path-as-is: ids with ".." must reach the server as written.
  _mgr_args+=(--path-as-is "$MGR_URL$path")
}

mgr_req() {
  local mode=$MGR_AUTH
  if [ "${1:-}" = -a ]; then
    mode=$2
    shift 2
  fi
  local method=$1 path=$2
  shift 2
  _mgr_curl_args "$mode" "$method" "$path"
  rm -f "$MGR_TMP/body" "$MGR_TMP/headers"
  MGR_STATUS=$(curl "${_mgr_args[@]}" "$@" 2>"$MGR_TMP/curl.err")
  MGR_BODY=$(cat "$MGR_TMP/body" 2>/dev/null)
  MGR_HEADERS=$MGR_TMP/headers
  [ -n "$MGR_STATUS" ] || MGR_STATUS=000
  local shown=${MGR_BODY:0:300}
  [ "$MGR_STATUS" != 000 ] || shown="(no answer: $(cat "$MGR_TMP/curl.err" 2>/dev/null))"
  info "$method $path ($mode) -> $MGR_STATUS ${shown//$'\n'/ }"
}

mgr_ws() {
  local mode=$MGR_AUTH
  if [ "${1:-}" = -a ]; then
    mode=$2
    shift 2
  fi
  local path=$1 timeout=$2 url=ws${MGR_URL#http}
  shift 2
  local hdr=()
  case $mode in
  bearer) hdr=("Authorization: Bearer $MGR_PASSWORD") ;;
  cookie)
    # The jar's cookies (Netscape format: name and value are fields 6, 7).
    hdr=("Cookie: $(awk -F'\t' 'NF == 7 { printf "%s%s=%s", n++ ? "; " : "", $6, $7 }' "$MGR_JAR")"
      "Origin: $MGR_URL")
    ;;
  esac
  MGR_WS=$(/usr/bin/python3 "$SV_SOURCE_DIR/tests/tools/ws_console.py" "$url$path" "$timeout" \
    "${hdr[@]}" "$@" 2>&1)
  info "WebSocket $path ($mode) -> $MGR_WS"
}

mgr_curl() {
  mgr_req "$@" 2>/dev/null
  printf '%s\n%s\n' "$MGR_STATUS" "$MGR_BODY"
}

mgr_post_json() {
  local path=$1 json=$2
  shift 2
  mgr_req POST "$path" -H 'Content-Type: application/json' --data-binary "$json" "$@"
}

mgr_login() {
  rm -f "$MGR_JAR"
  mgr_req -a cookie POST /api/login -H 'Content-Type: application/json' \
    --data-binary "$(jq -cn --arg p "$MGR_PASSWORD" '{password: $p}')"
  mgr_expect 204
  grep -q sv_session "$MGR_JAR" || fail "login set no sv_session cookie"
}

mgr_expect() {
  local status=$1 err=${2-}
  [ "$MGR_STATUS" = "$status" ] || fail "expected HTTP $status, got $MGR_STATUS: $MGR_BODY"
  [ $# -ge 2 ] || return 0
  local got
  got=$(jq -r '.error // empty' <<<"$MGR_BODY" 2>/dev/null) || fail "the body is not JSON: $MGR_BODY"
  assert_eq "$err" "$got" "error message"
}

mgr_jq() { jq -r "$1" <<<"$MGR_BODY"; }

mgr_header() {
  tr -d '\r' <"$MGR_HEADERS" | sed -n "s/^$1: *//Ip" | tail -n1
}

# --- containers -----------------------------------------------------------

mgr_name() { printf '%s-%s\n' "$MGR_TAG" "$1"; }

# Containers, volumes and networks named with this test's tag, whoever
# made them (the manager or the podman CLI); with the podman CLI, so it
# works with the service stopped.  mgr_podman_service registers it.
_mgr_sweep() {
  local c v n
  for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^$MGR_TAG-"); do
    podman rm -f -v -t 2 "$c" >/dev/null 2>&1
  done
  for v in $(podman volume ls --format '{{.Name}}' 2>/dev/null | grep "^$MGR_TAG-"); do
    podman volume rm -f "$v" >/dev/null 2>&1
  done
  for n in $(podman network ls --format '{{.Name}}' 2>/dev/null | grep "^$MGR_TAG-"); do
    podman network rm -f "$n" >/dev/null 2>&1
  done
}

# What a refused request must not have changed, through the API socket (a
# podman CLI call costs a second or more on a loaded machine; this is one
# request each): the containers named with this test's tag, the VM
# containers whose /ranchervm comes from this manager's state directory
# (whatever their name), the volumes named with the tag, and the entries
# of the state directory.  With the service stopped, the CLI.
_mgr_state() {
  local c v
  if _mgr_ping; then
    c=$(curl -s --max-time 30 --unix-socket "$MGR_SOCK" 'http://d/v1.41/containers/json?all=1')
    v=$(curl -s --max-time 30 --unix-socket "$MGR_SOCK" 'http://d/v1.41/volumes')
  else
    c=$(podman ps -a --format json 2>/dev/null | jq '[.[] | {Names: [.Names[] | "/" + .], Id, Mounts: []}]')
    v=$(podman volume ls --format json 2>/dev/null | jq '{Volumes: [.[] | {Name}]}')
  fi
  echo "containers:"
  jq -r --arg t "/$MGR_TAG-" '.[] | .Names[] | select(startswith($t))' <<<"$c" | LC_ALL=C sort
  echo "made by this manager:"
  jq -r --arg d "${MGR_STATE_DIR:-/nonexistent}/" \
    '.[] | select(any(.Mounts[]?; (.Source // "") | startswith($d))) | .Id' <<<"$c" | LC_ALL=C sort
  echo "volumes:"
  jq -r --arg t "$MGR_TAG-" '.Volumes[]? | .Name | select(startswith($t))' <<<"$v" | LC_ALL=C sort
  echo "state dir:"
  [ -z "${MGR_STATE_DIR:-}" ] || ls -A "$MGR_STATE_DIR" | LC_ALL=C sort
}

mgr_snapshot() { MGR_SNAP=$(_mgr_state); }

mgr_assert_unchanged() {
  local now
  now=$(_mgr_state)
  [ "$now" = "$MGR_SNAP" ] && return 0
  diff <(echo "$MGR_SNAP") <(echo "$now") >&2
  fail "${1:-a refused request} changed containers, volumes or the state directory"
}

mgr_wait_vm() {
  local id=$1 filter=$2 timeout=$3 t0=$SECONDS
  while ((SECONDS - t0 < timeout)); do
    mgr_req GET "/api/vms/$id" 2>/dev/null
    [ "$MGR_STATUS" = 200 ] && jq -e "$filter" <<<"$MGR_BODY" >/dev/null 2>&1 && {
      info "VM $id: $filter after $((SECONDS - t0))s"
      return 0
    }
    sleep 0.5
  done
  info "VM $id: not $filter after ${timeout}s; last answer $MGR_STATUS: $MGR_BODY"
  return 1
}

# --- events -----------------------------------------------------------------

mgr_events_start() {
  MGR_EVENTS=$MGR_TMP/events.${1:-0}
  MGR_EVENTS_MARK=0
  : >"$MGR_EVENTS"
  curl -sk -N -H "Authorization: Bearer $MGR_PASSWORD" "$MGR_URL/api/events" \
    >"$MGR_EVENTS" 2>&1 </dev/null &
  MGR_EVENTS_PID=$!
  on_exit kill_pid "$MGR_EVENTS_PID" 1
}

mgr_events_stop() {
  [ -n "${MGR_EVENTS_PID:-}" ] || return 0
  kill_pid "$MGR_EVENTS_PID" 1
  MGR_EVENTS_PID=
}

mgr_event_mark() { MGR_EVENTS_MARK=$(wc -l <"$MGR_EVENTS"); }

mgr_wait_event() {
  local re=$1 timeout=$2 i text
  for ((i = 0; i < timeout * 10; i++)); do
    # The whole file into a variable: grep -q on a pipe would SIGPIPE
    # tail, and pipefail would call the match a failure.
    text=$(tail -n "+$((${MGR_EVENTS_MARK:-0} + 1))" "$MGR_EVENTS" 2>/dev/null)
    grep -aEq -- "$re" <<<"$text" && return 0
    if [ -n "${MGR_EVENTS_PID:-}" ] && ! _sv_alive "$MGR_EVENTS_PID"; then
      info "the event stream (curl, pid $MGR_EVENTS_PID) ended before /$re/"
      break
    fi
    sleep 0.1
  done
  info "no event matched /$re/ after line ${MGR_EVENTS_MARK:-0} within ${timeout}s; the stream:"
  tail -n 30 "$MGR_EVENTS" >&2
  return 1
}

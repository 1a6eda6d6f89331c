# Shared helpers for startvm's script tests (tests/{cli,e2e,netns,podman}/*.sh).
# Source it first:   . "$SV_SOURCE_DIR/tests/lib/common.sh"
#
# ctest gives every script STARTVM, SV_SOURCE_DIR, SV_BINARY_DIR and
# SV_TINY_DIR (vmlinuz + initrd.img of the tiny guest, images/tiny).
# Exit codes: 0 pass, 1 fail, 77 skip.  Under CI=true a missing
# prerequisite is a failure, never a skip.
#
# Cleanup: this file owns the EXIT trap.  Do not call `trap ... EXIT`
# yourself; register work with `on_exit CMD...` (run last-registered first,
# also when the test fails or is interrupted).
#
#   need CMD...                     skip (77) unless every command exists
#   need_root, need_netns, need_tiny, need_startvm
#   skip MSG / fail MSG / info MSG
#   on_exit CMD [ARGS...]           register a cleanup command
#   tmpdir [VAR]                    make a temp dir (removed on exit) and set
#                                   VAR (default SV_TMP) to its path
#   wait_for_line FILE REGEX TIMEOUT [PID]
#                                   wait until an extended regex matches a
#                                   line of FILE; fails early when PID dies
#   wait_for_lines FILE REGEX COUNT TIMEOUT [PID]
#                                   the same, until COUNT lines match (the
#                                   COUNTth restart, not the first's line)
#   run_startvm_bg LOG [ARGS...]    start $STARTVM ARGS in the background,
#                                   stdout+stderr to LOG, in its own process
#                                   group; sets STARTVM_PID; killed on exit.
#                                   Prefix command from SV_WRAP (a bash array
#                                   or a string), e.g. SV_WRAP=(unshare -n)
#   wait_exit PID TIMEOUT           wait for a background child; sets
#                                   EXIT_STATUS; returns 1 on timeout
#   stop_startvm PID LOG [EXPECTED] SIGTERM (docker stop), wait (120 s) and
#                                   assert the exit status (default 0: the
#                                   guest powered off); LOG's tail on failure
#   kill_pid PID [GRACE_S]          TERM, wait, then KILL (and its group)
#   assert_eq EXPECTED ACTUAL [MSG]
#   assert_no_process STRING        no process has STRING in its command line
#                                   (QEMU or dnsmasq left behind)
#   assert_line FILE REGEX [MSG]    some line matches (extended regex; the
#                                   serial console's \r is ignored, so $ works)
#   assert_no_line FILE REGEX [MSG] no line matches
#   tiny_yaml FILE APPEND [EXTRA]   write a vm.yaml booting the tiny guest
#                                   with kernel command line APPEND; EXTRA is
#                                   more top-level YAML (not boot:)
#   tiny_line FILE KEY              print the first "TINYVM: KEY ..." line's
#                                   rest, e.g. tiny_line log "lease eth0"
#
# Sanitizer reports (ASan/LSan/UBSan) of any program the test ran fail it
# at exit: see "sanitizer reports" below.  Set ASAN_OPTIONS or
# UBSAN_OPTIONS for one command only by appending ("$ASAN_OPTIONS:...").
# shellcheck shell=bash

set -uo pipefail

SV_TEST_NAME=${SV_TEST_NAME:-$(basename "${0%.sh}")}

info() { echo "[$SV_TEST_NAME] $*" >&2; }

fail() {
  echo "[$SV_TEST_NAME] FAIL: $*" >&2
  exit 1
}

skip() {
  if [ "${CI:-}" = true ]; then
    echo "[$SV_TEST_NAME] FAIL (CI=true, prerequisite missing): $*" >&2
    exit 1
  fi
  echo "[$SV_TEST_NAME] SKIP: $*" >&2
  exit 77
}

need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "needs '$c' (run scripts/setup.sh)"
  done
}

need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

need_netns() {
  need unshare ip
  unshare -n true 2>/dev/null || skip "cannot create network namespaces (unshare -n refused)"
}

need_startvm() {
  [ -n "${STARTVM:-}" ] && [ -x "$STARTVM" ] || skip "STARTVM is not set to an executable (run under ctest)"
}

need_tiny() {
  [ -n "${SV_TINY_DIR:-}" ] || skip "SV_TINY_DIR is not set (run under ctest)"
  [ -s "$SV_TINY_DIR/vmlinuz" ] && [ -s "$SV_TINY_DIR/initrd.img" ] ||
    skip "no tiny guest in $SV_TINY_DIR (images/tiny/build.sh $SV_TINY_DIR)"
  need qemu-system-x86_64
}

# --- cleanup stack ------------------------------------------------------

_sv_cleanups=()
on_exit() {
  local q
  printf -v q '%q ' "$@"
  _sv_cleanups+=("$q")
}
# A cleanup that finds a fault (a sanitizer report in a log once the
# process has exited) calls fail_at_exit: the test then fails even when
# its steps passed.
_sv_exit_faults=()
fail_at_exit() { _sv_exit_faults+=("$*"); }
_sv_run_cleanups() {
  local rc=$? i
  trap - EXIT INT TERM HUP
  for ((i = ${#_sv_cleanups[@]} - 1; i >= 0; i--)); do
    eval "${_sv_cleanups[i]}" >/dev/null 2>&1 || true
  done
  _sv_sanitizer_dir_check
  for i in "${_sv_exit_faults[@]}"; do
    echo "[$SV_TEST_NAME] FAIL: $i" >&2
    rc=1
  done
  exit "$rc"
}
trap _sv_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

tmpdir() {
  local var=${1:-SV_TMP} d
  d=$(mktemp -d "${TMPDIR:-/tmp}/sv-$SV_TEST_NAME.XXXXXX") || fail "mktemp -d failed"
  # Scanned for sanitizer reports (a log of startvm's stderr) just before
  # it goes: after the processes started later than it were stopped.
  on_exit _sv_tmpdir_done "$d"
  printf -v "$var" '%s' "$d"
}

# --- sanitizer reports ------------------------------------------------------
#
# Every sanitized program a test runs (startvm, sv-nettool, the manager,
# however started, as long as they inherit the environment: not the
# startvm built into a podman image) writes its ASan/LSan reports to
# $SV_SAN_DIR/report.PID instead of stderr (log_path, appended to what the
# caller set), so that output captured into a variable or thrown away
# cannot hide one.  Any file there fails the test at exit, printed.
# UBSan's reports need a second look: in GCC's combined
# -fsanitize=address,undefined build, libubsan keeps writing them to
# stderr whatever log_path says (its __sanitizer_set_report_path call
# binds to libasan's copy).  So every file the test kept in its tmpdir
# (where startvm's stderr is logged) is scanned for a report too, but for
# folders holding a file .sv-noscan (copies of sources, as a podman build
# context: they may quote a report's words).
# Override ASAN_OPTIONS only by appending to it: ASAN_OPTIONS="$ASAN_OPTIONS:x=y".
SV_SAN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sv-san-$SV_TEST_NAME.XXXXXX") || fail "mktemp -d failed"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SV_SAN_DIR/report"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SV_SAN_DIR/report"
SV_SAN_RE='ERROR: (Address|Leak)Sanitizer|[0-9]+:[0-9]+: runtime error: '

_sv_tmpdir_done() { # DIR
  local f
  while IFS= read -r -d '' f; do
    grep -a -q -E -- "$SV_SAN_RE" "$f" 2>/dev/null || continue
    fail_at_exit "sanitizer report in $f:
$(grep -a -E -A40 -- "$SV_SAN_RE" "$f" | head -n 60)"
  done < <(find "$1" -type d -exec test -e '{}/.sv-noscan' ';' -prune -o -type f -size -16M -print0 2>/dev/null)
  rm -rf "$1"
}

_sv_sanitizer_dir_check() {
  local f
  for f in "$SV_SAN_DIR"/*; do
    [ -e "$f" ] || continue
    fail_at_exit "sanitizer report $(basename "$f"):
$(head -n 60 "$f")"
  done
  rm -rf "$SV_SAN_DIR"
}

# --- processes ------------------------------------------------------------

# True while PID exists and is not a zombie.
_sv_alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ]
}

kill_pid() {
  local pid=$1 grace=${2:-10} i
  [ -n "$pid" ] || return 0
  _sv_alive "$pid" || {
    wait "$pid" 2>/dev/null
    return 0
  }
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do
    _sv_alive "$pid" || break
    sleep 0.1
  done
  # The whole group: QEMU and dnsmasq must not outlive a killed startvm.
  kill -KILL -- "-$pid" 2>/dev/null
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# Kills what is left of a process group started by run_startvm_bg.
_sv_kill_group() {
  local pid=$1
  kill_pid "$pid" 5
  kill -KILL -- "-$pid" 2>/dev/null
  return 0
}

run_startvm_bg() {
  local log=$1
  shift
  need_startvm
  local -a wrap=()
  if declare -p SV_WRAP 2>/dev/null | grep '^declare -a' >/dev/null; then
    wrap=("${SV_WRAP[@]}")
  elif [ -n "${SV_WRAP:-}" ]; then
    read -r -a wrap <<<"$SV_WRAP"
  fi
  # setsid in a background job (not a group leader) execs in place: the
  # pid is startvm's own and also its process group's id.
  setsid "${wrap[@]}" "$STARTVM" "$@" >"$log" 2>&1 </dev/null &
  STARTVM_PID=$!
  on_exit _sv_kill_group "$STARTVM_PID"
  info "started startvm (pid $STARTVM_PID): ${wrap[*]} $STARTVM $*"
}

# shellcheck disable=SC2034 # EXIT_STATUS is for the caller
wait_exit() {
  local pid=$1 timeout=$2 i
  for ((i = 0; i < timeout * 10; i++)); do
    if ! _sv_alive "$pid"; then
      wait "$pid" 2>/dev/null
      EXIT_STATUS=$?
      return 0
    fi
    sleep 0.1
  done
  EXIT_STATUS=
  return 1
}

stop_startvm() {
  local pid=$1 log=$2 want=${3:-0}
  kill -TERM "$pid" 2>/dev/null || fail "startvm (pid $pid) was gone before the stop"
  wait_exit "$pid" 120 || {
    tail -n 30 "$log" >&2
    fail "startvm (pid $pid) did not stop within 120 s of SIGTERM"
  }
  [ "$EXIT_STATUS" = "$want" ] || {
    tail -n 30 "$log" >&2
    fail "startvm (pid $pid) exited $EXIT_STATUS after SIGTERM, expected $want"
  }
}

wait_for_line() {
  wait_for_lines "$1" "$2" 1 "$3" "${4:-}"
}

# Lines of FILE matching REGEX (0 when none or no file).
_sv_count() {
  [ -e "$2" ] || {
    echo 0
    return
  }
  tr -d '\r' <"$2" | grep -a -c -E -- "$1"
}

wait_for_lines() {
  local file=$1 re=$2 count=$3 timeout=$4 pid=${5:-} i
  for ((i = 0; i < timeout * 10; i++)); do
    [ "$(_sv_count "$re" "$file")" -ge "$count" ] && return 0
    if [ -n "$pid" ] && ! _sv_alive "$pid"; then
      # One last look: the line may have come with the exit.
      [ "$(_sv_count "$re" "$file")" -ge "$count" ] && return 0
      info "process $pid ended before $count line(s) matched /$re/ in $file; its last lines:"
      tail -n 30 "$file" >&2 2>/dev/null
      return 1
    fi
    sleep 0.1
  done
  info "timed out after ${timeout}s waiting for $count line(s) matching /$re/ in $file; last lines:"
  tail -n 30 "$file" >&2 2>/dev/null
  return 1
}

# --- assertions -----------------------------------------------------------

# grep -E over FILE without the \r that the guest's serial console puts
# before each \n, so "ready$" matches.  Usage: _sv_grep [-q|""] REGEX FILE
# Never grep -q or -m: grep would exit at the first match while tr still
# writes, tr would die of SIGPIPE, and pipefail makes that "no match" (a
# lease line present in the log was reported missing that way in CI).
_sv_grep() {
  local opt=$1
  [ -e "$3" ] || return 1
  if [ "$opt" = -q ]; then
    tr -d '\r' <"$3" | grep -a -E -- "$2" >/dev/null
  else
    tr -d '\r' <"$3" | grep -a -E ${opt:+"$opt"} -- "$2"
  fi
}

assert_eq() {
  [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$1', got '$2'"
}

assert_line() {
  _sv_grep -q "$2" "$1" && return 0
  info "no line of $1 matches /$2/; the file:"
  tail -n 40 "$1" >&2 2>/dev/null
  fail "${3:-expected a line matching /$2/ in $1}"
}

assert_no_line() {
  _sv_grep -q "$2" "$1" || return 0
  info "unexpected line(s) in $1:"
  _sv_grep "" "$2" "$1" >&2
  fail "${3:-no line should match /$2/ in $1}"
}

assert_no_process() {
  local i pids
  # A process that just got its SIGKILL may need a moment to disappear.
  for ((i = 0; i < 20; i++)); do
    pids=$(pgrep -f -- "$1" | grep -vx "$$" || true)
    [ -z "$pids" ] && return 0
    sleep 0.1
  done
  ps -o pid,args -p "$(echo $pids | tr ' ' ',')" >&2
  fail "process(es) left behind matching '$1'"
}

# --- the tiny guest -------------------------------------------------------

# YAML double-quoted scalar of $1.
_sv_yq() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

tiny_yaml() {
  local file=$1 append=$2 extra=${3:-}
  {
    echo "# written by tests/lib/common.sh tiny_yaml"
    echo "memory: 256M"
    echo "accel: tcg"
    echo "boot:"
    echo "  kernel: $(_sv_yq "$SV_TINY_DIR/vmlinuz")"
    echo "  initrd: $(_sv_yq "$SV_TINY_DIR/initrd.img")"
    echo "  append: $(_sv_yq "console=ttyS0 quiet panic=-1 $append")"
    [ -z "$extra" ] || printf '%s\n' "$extra"
  } >"$file"
}

tiny_line() {
  local l
  # -a: one stray byte from the guest's serial line (a NUL, or invalid
  # UTF-8) makes grep call the log binary and print no line at all.
  # (sed, not grep -m1, takes the first: see _sv_grep on SIGPIPE.)
  l=$(tr -d '\r' <"$1" | grep -a -E -- "TINYVM: $2( |$)" | sed -n 1p) || return 1
  l=${l#*TINYVM: $2}
  printf '%s\n' "${l# }"
}

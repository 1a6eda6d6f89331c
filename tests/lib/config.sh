# Helpers for the config CLI tests (tests/cli/config_*.sh).  Source after
# common.sh:   . "$SV_SOURCE_DIR/tests/lib/config.sh"
#
#   cfg_setup                 temp dir ($SV_TMP), $STATE (a state_dir that must
#                             never appear), needs strace
#   expect_refused MSG CONFIG [VAR=VALUE...]
#                             startvm --config CONFIG with --check, --dry-run and
#                             --print-config: each must exit exactly 2, print
#                             exactly "startvm: MSG" on stderr and nothing on
#                             stdout, and write nothing anywhere: its cwd (an
#                             empty temp dir) stays empty, $STATE is not
#                             created, and strace sees no open for writing,
#                             mkdir, unlink, rename or similar (first mode).
#                             CFG_MODES overrides the list of modes.
#   expect_valid CONFIG [VAR=VALUE...]   --check exits 0
#   cfg_snapshot              every path under $SV_TMP, sorted (nothing made?)
#   expect_exit STATUS MSG [VAR=VALUE...] -- ARGS...
#                             startvm ARGS in a network namespace of its own
#                             (the caller's overrides unset, VAR=VALUE set)
#                             exits exactly STATUS with exactly "startvm: MSG"
#                             on stderr, and nothing under $SV_TMP changed;
#                             its output goes to $LOG (a tmpdir of the caller's)
# shellcheck shell=bash

# The caller's own overrides must not leak into the cases.
_cfg_unset="-u MEMORY -u MEMORY_MB -u CPUS -u ACCEL -u DISKS -u NO_DHCP -u IP_PREFIX -u FIRMWARE -u TPM -u SHARES"

cfg_setup() {
  need_startvm
  need strace
  tmpdir
  STATE=$SV_TMP/state
}

# Fails when the strace log shows the file system being changed.
_cfg_check_trace() {
  local log=$1 what=$2 bad
  bad=$(grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|^[0-9]+ +(mkdir|mkdirat|unlink|unlinkat|rename|renameat2?|rmdir|creat|link|linkat|symlink|symlinkat|truncate|ftruncate|chmod|fchmodat|mknod|mknodat)\(' "$log" |
    grep -vE '= -1 E' | head -3)
  [ -z "$bad" ] || fail "$what changed the file system: $bad"
}

_cfg_run() {
  # _cfg_run WORKDIR MODE CONFIG [VAR=VALUE...]: stdout/stderr/rc in $SV_TMP
  local work=$1 mode=$2 cfg=$3
  shift 3
  : >"$SV_TMP/trace"
  if [ "${_cfg_strace:-1}" = 0 ]; then
    (cd "$work" && env -u RANCHERVM_CONFIG $_cfg_unset "$@" "$STARTVM" --config "$cfg" "$mode" >"$SV_TMP/out" 2>"$SV_TMP/err")
    echo $? >"$SV_TMP/rc"
    return
  fi
  # LeakSanitizer cannot run under ptrace; the unstraced modes keep it.
  (cd "$work" && env -u RANCHERVM_CONFIG $_cfg_unset "$@" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -o "$SV_TMP/trace" \
    -e trace=open,openat,creat,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2,rmdir,link,linkat,symlink,symlinkat,truncate,ftruncate,chmod,fchmodat,mknod,mknodat \
    "$STARTVM" --config "$cfg" "$mode" >"$SV_TMP/out" 2>"$SV_TMP/err")
  echo $? >"$SV_TMP/rc"
}

expect_refused() {
  local msg=$1 cfg=$2 mode work rc _cfg_strace=1
  shift 2
  # strace (slow) watches the first mode; the others check cwd and state_dir.
  for mode in ${CFG_MODES:---check --dry-run --print-config}; do
    work=$(mktemp -d "$SV_TMP/cwd.XXXXXX")
    _cfg_run "$work" "$mode" "$cfg" "$@"
    _cfg_strace=0
    rc=$(cat "$SV_TMP/rc")
    [ "$rc" = 2 ] || fail "$mode on $(basename "$cfg") $*: exit $rc, expected 2 (stderr: $(cat "$SV_TMP/err"))"
    [ "$(cat "$SV_TMP/err")" = "startvm: $msg" ] ||
      fail "$mode $*: wrong message
  expected: startvm: $msg
  got:      $(cat "$SV_TMP/err")"
    [ ! -s "$SV_TMP/out" ] || fail "$mode $*: printed on stdout: $(head -3 "$SV_TMP/out")"
    [ -z "$(ls -A "$work")" ] || fail "$mode $*: created files in its cwd: $(ls -A "$work")"
    [ ! -e "$STATE" ] || fail "$mode $*: created the state_dir $STATE"
    _cfg_check_trace "$SV_TMP/trace" "$mode $*"
    rmdir "$work"
  done
  info "ok: $msg"
}

expect_valid() {
  local cfg=$1 work rc
  shift
  work=$(mktemp -d "$SV_TMP/cwd.XXXXXX")
  _cfg_run "$work" --check "$cfg" "$@"
  rc=$(cat "$SV_TMP/rc")
  [ "$rc" = 0 ] || fail "--check on $(basename "$cfg") $*: exit $rc (stderr: $(cat "$SV_TMP/err"))"
  [ -z "$(ls -A "$work")" ] || fail "--check created files in its cwd"
  _cfg_check_trace "$SV_TMP/trace" "--check $*"
  rmdir "$work"
}

cfg_snapshot() { (cd "$SV_TMP" && find . | LC_ALL=C sort); }

expect_exit() {
  local want=$1 msg=$2 before after rc
  shift 2
  local -a envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  before=$(cfg_snapshot)
  # shellcheck disable=SC2086 # _cfg_unset is a list of env options
  unshare -n env $_cfg_unset "${envs[@]}" "$STARTVM" "$@" >"$LOG/out" 2>"$LOG/err"
  rc=$?
  [ "$rc" = "$want" ] || fail "${envs[*]} $*: exit $rc, expected $want ($(cat "$LOG/err"))"
  [ "$(cat "$LOG/err")" = "startvm: $msg" ] ||
    fail "${envs[*]} $*: wrong message
  expected: startvm: $msg
  got:      $(cat "$LOG/err")"
  after=$(cfg_snapshot)
  [ "$before" = "$after" ] || fail "${envs[*]} $*: files changed: $(diff <(echo "$before") <(echo "$after"))"
  info "ok ($rc): $msg"
}

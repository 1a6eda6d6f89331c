#!/usr/bin/env bash
# A startvm killed in the middle of the handoff (a SIGKILL, an OOM kill, a
# node losing power under a pod) leaves its namespace half handed off.  The
# bridge and its alias come first, so every such state is one the next
# start finishes: here the two ends of that window, rebuilt exactly as the
# plan's first steps leave them (`ip` doing what --dry-run lists), in the
# same namespace (a Kubernetes container restart):
#   A. killed after step 1: br0 with the alias, eth0 untouched;
#   B. killed after step 4: eth0 down with the derived MAC and without its
#      address (its routes gone with it), not yet in br0 (before the
#      bridge came first, this state had no record and could not start).
# Each time the guest gets the original address, MAC, router and MTU.
#   C. finishing A fails (tap0 taken): exit 4, and the namespace is as the
#      killed start left it (eth0's address, MAC and routes back, br0 kept).
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test unfin dnsmasq

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "state_dir: $SV_TMP/state"

# interrupted NAME STEPS: a fresh container NAME, then the plan's first
# STEPS steps done by hand.
interrupted ()
{
  local name=$1 steps=$2
  sv_host "h$name" 172.28.0.1/16
  sv_container "$name" "h$name" 172.28.0.2/16 172.28.0.1
  sv_resolv "$name" "nameserver 8.8.8.8"
  sv_in "$name" "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/$name.plan" ||
    fail "$name: dry-run of the fresh handoff failed"
  local alias newmac
  alias=$(sed -n "s/^ *1\. link add br0 type bridge mtu 1500 alias '\(.*\)'$/\1/p" "$SV_TMP/$name.plan")
  newmac=$(sed -n 's/^ *3\. link set eth0 address \([0-9a-f:]*\)$/\1/p' "$SV_TMP/$name.plan")
  [ -n "$alias" ] && [ -n "$newmac" ] || fail "$name: the plan does not start with the bridge: $(cat "$SV_TMP/$name.plan")"
  sv_in "$name" ip link add br0 mtu 1500 type bridge
  sv_in "$name" ip link set br0 alias "$alias"
  if [ "$steps" -ge 4 ]; then
    sv_in "$name" ip link set eth0 down
    sv_in "$name" ip link set eth0 address "$newmac"
    sv_in "$name" ip addr del 172.28.0.2/16 dev eth0
  fi
}

# resume NAME WHAT: the dry-run says it finishes the handoff, then a VM
# boots with the original lease and eth0 ends up in br0.
resume ()
{
  local name=$1 what=$2 mac
  mac=$(sed -n 's/^  eth0: mac \([0-9a-f:]*\),.*/\1/p' "$SV_TMP/$name.plan")
  sv_in "$name" "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/$name.dry" 2>&1 ||
    fail "$what: dry-run exited $?: $(cat "$SV_TMP/$name.dry")"
  assert_line "$SV_TMP/$name.dry" '^    resumed: br0 holds the handoff an earlier startvm' \
    "$what: the dry-run does not say it finishes the handoff"
  assert_line "$SV_TMP/$name.dry" "^  eth0: mac $mac, 172\.28\.0\.2/16, gateway 172\.28\.0\.1, mtu 1500$" \
    "$what: the dry-run does not hand off eth0's original facts"
  assert_no_line "$SV_TMP/$name.dry" 'link add br0' "$what: the plan creates br0 again"
  assert_line "$SV_TMP/$name.dry" '^ +[0-9]+\. link set eth0 master br0$' "$what: eth0 does not join br0"
  sv_vm_start "$name" "$SV_TMP/$name.log" "$SV_TMP/vm.yaml" web-1
  wait_exit "$STARTVM_PID" 180 || fail "$what: startvm did not exit after the guest's poweroff"
  [ "$EXIT_STATUS" = 0 ] || { tail -n 30 "$SV_TMP/$name.log" >&2; fail "$what: startvm exited $EXIT_STATUS"; }
  sv_lease_check "$SV_TMP/$name.log" eth0 ip=172.28.0.2 mask=16 router=172.28.0.1 dns=8.8.8.8 \
    mtu=1500 "mac=$mac"
  sv_in "$name" ip link show eth0 | grep "master br0" >/dev/null || fail "$what: eth0 is not in br0"
  sv_in "$name" ip -4 addr show eth0 | grep inet >/dev/null && fail "$what: eth0 still has an address"
  info "$what: resumed, same lease"
}

interrupted a 1
assert_line "$SV_TMP/a.plan" '^ +4\. addr del 172\.28\.0\.2/16 dev eth0$' "the fresh plan does not remove the address at step 4"
resume a "killed after step 1"
assert_line "$SV_TMP/a.dry" '^ +[0-9]+\. addr del 172\.28\.0\.2/16 dev eth0$' \
  "killed after step 1: eth0 keeps its address in the plan"

interrupted b 4
resume b "killed after step 4"
assert_no_line "$SV_TMP/b.dry" 'addr del' "killed after step 4: the plan removes an address eth0 no longer has"
interrupted c 1
sv_in c ip link add tap0 type veth peer name tap0p
# All but br0's own MAC and TSO limit (eth0 passed through it) and its
# running timers.
dump ()
{
  sv_dump c | sed -E 's/[a-z_]+_timer +[0-9.]+//g' |
    awk '/^[0-9]+: / {br = ($2 == "br0:")} !(br && /link\/ether|tso_max_size/)'
}
sv_settle c
dump >"$SV_TMP/c.before"
set +e
sv_in c env ACCEL=tcg timeout 120 "$STARTVM" --config "$SV_TMP/vm.yaml" >"$SV_TMP/c.log" 2>&1
rc=$?
set -e
assert_eq 4 "$rc" "finishing with tap0 taken: exit status"
assert_line "$SV_TMP/c.log" 'apply step 5/10 \(tuntap add tap0' "finishing with tap0 taken: the step is not named"
sv_settle c
dump >"$SV_TMP/c.after"
diff "$SV_TMP/c.before" "$SV_TMP/c.after" >&2 ||
  fail "finishing with tap0 taken: the namespace was not restored to the interrupted state"
info "failed finish: restored"
echo PASS

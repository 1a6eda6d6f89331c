#!/usr/bin/env bash
# apply_net undo: a step failing halfway leaves the container's network
# byte-for-byte as it was (ip -d link/addr, every route table, permanent
# neighbours), exit 4 naming the step.  Failures are natural ones: a
# link named like the tap or the bridge already exists.  Also checks
# that a successful apply builds what the steps say.
set -euo pipefail
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
source "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
TOOL="$SV_BINARY_DIR/sv-nettool"
[ -x "$TOOL" ] || sv_skip "sv-nettool not built"
sv_netns_init netrb

# The steps plan_net.c emits for one interface (its order).
steps ()
{
  local ifc=$1 addr=$2 newmac=$3 braddr=$4
  printf '%s\n' "bridge_add br0 1500" "down $ifc" "mac $ifc $newmac" "addr_del $ifc $addr" \
    "set_master $ifc br0" "tap_add tap0 0 1500" "set_master tap0 br0" "up $ifc" "up tap0" \
    "up br0" "addr_add br0 $braddr"
}

check_rollback ()
{
  local name=$1 ifc=$2 addr=$3 braddr=$4 blocker=$5 want_step=$6
  sv_in "$name" ip link add "$blocker" type veth peer name "${blocker}p"
  local before after msg rc
  before=$(sv_dump "$name")
  mapfile -t ops < <(steps "$ifc" "$addr" 02:00:00:00:00:01 "$braddr")
  set +e
  msg=$(sv_in "$name" "$TOOL" apply "${ops[@]}" 2>&1)
  rc=$?
  set -e
  echo "$msg"
  [ $rc = 4 ] || sv_fail "$name: exit $rc, expected 4"
  grep -q "apply step $want_step/11" <<<"$msg" || sv_fail "$name: step not named: $msg"
  sv_settle "$name"
  after=$(sv_dump "$name")
  if ! diff <(echo "$before") <(echo "$after"); then
    sv_fail "$name: network not restored byte-for-byte"
  fi
  sv_in "$name" ip link del "$blocker"
}

# Docker-like /16 with an extra route and a second address label.
sv_host h 172.30.0.1/16
sv_container c h 172.30.0.2/16 172.30.0.1
sv_in c ip route add 10.99.0.0/16 via 172.30.0.9 metric 7
sv_in c ip route add 192.0.2.0/24 dev eth0 scope link
check_rollback c eth0 172.30.0.2/16 172.30.255.254/16 tap0 6
check_rollback c eth0 172.30.0.2/16 172.30.255.254/16 br0 1

# Calico-style /32 pod: the on-link gateway route must come back too.
sv_calico pod h2 10.244.1.5
check_rollback pod eth0 10.244.1.5/32 10.244.1.4/31 tap0 6

# Success: the bridge holds eth0 and tap0, the tap lives while the fd does.
mapfile -t ops < <(steps eth0 172.30.0.2/16 02:00:00:00:00:01 172.30.255.254/16)
coproc HOLD { sv_in c "$TOOL" apply --hold "${ops[@]}"; }
# Bash unsets HOLD_PID once the coproc is reaped: keep the pid for wait.
hold_pid=$HOLD_PID
sv_track_pid "$hold_pid"
read -r line <&"${HOLD[0]}"
[ "$line" = ok ] || sv_fail "apply failed: $line"
sv_in c ip -d link show tap0 | grep "tun type tap" >/dev/null || sv_fail "tap0 is not a tap"
sv_in c ip link show tap0 | grep "master br0" >/dev/null || sv_fail "tap0 not in br0"
sv_in c ip link show eth0 | grep "master br0" >/dev/null || sv_fail "eth0 not in br0"
sv_in c ip link show eth0 | grep "02:00:00:00:00:01" >/dev/null || sv_fail "eth0 MAC not changed"
sv_in c ip -4 addr show eth0 | grep inet >/dev/null && sv_fail "eth0 kept its address"
sv_in c ip addr show br0 | grep "inet 172.30.255.254/16 brd 172.30.255.255" >/dev/null \
  || sv_fail "bridge address missing"
sv_in c ip -d link show tap0 | grep "vnet_hdr" >/dev/null || sv_fail "tap without vnet_hdr"
exec {HOLD[1]}>&-
# End of input: the tool closes the tap and exits 0.
rc=0
wait "$hold_pid" || rc=$?
[ "$rc" = 0 ] || sv_fail "sv-nettool apply --hold exited $rc after its input ended"
sleep 0.2
sv_in c ip link show tap0 >/dev/null 2>&1 && sv_fail "tap0 outlived its fd"
echo PASS

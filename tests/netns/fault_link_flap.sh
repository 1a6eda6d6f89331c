#!/usr/bin/env bash
# The container's link flaps while the guest runs: first the veth's host
# side (a switch port or CNI plugin bouncing it), then the container's own
# eth0 (now a port of br0), each down for 3 s.  While down the guest is
# unreachable (the flap is real); once up it is reachable again at the
# same address, its TCP service answers with its own hostname (no other
# machine took the address), startvm and dnsmasq run on unchanged, and
# the guest still stops gracefully.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test flap dnsmasq ping

sv_host h 172.25.0.1/16
sv_container c h 172.25.0.2/16 172.25.0.1
mac=$(sv_in c cat /sys/class/net/eth0/address)
peer="vc0$$"
peer=${peer:0:15}
hns=$(sv_ns h)
ip -n "$hns" link show "$peer" >/dev/null || fail "no host-side veth $peer"

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.listen=7777" "state_dir: $SV_TMP/state"
sv_vm_start c "$SV_TMP/vm.log" "$SV_TMP/vm.yaml" web-1
pid=$STARTVM_PID
wait_for_line "$SV_TMP/vm.log" '^TINYVM: ready' 240 "$pid" || fail "the guest did not come up"
sv_lease_check "$SV_TMP/vm.log" eth0 ip=172.25.0.2 "mac=$mac" hostname=web-1
dnsmasq_pid=$(pgrep -P "$pid" -x dnsmasq) || fail "no dnsmasq"

hello ()
{
  ip netns exec "$hns" timeout 10 bash -c \
    'exec 3<>/dev/tcp/172.25.0.2/7777 && head -n 1 <&3' 2>/dev/null | tr -d '\r'
}
# reachable WHAT: within 20 s the guest answers pings and its service.
reachable ()
{
  local i
  for ((i = 0; i < 40; i++)); do
    ip netns exec "$hns" ping -c 1 -W 1 172.25.0.2 >/dev/null 2>&1 && break
    sleep 0.5
  done
  [ "$i" -lt 40 ] || fail "$1: the guest is not reachable again"
  assert_eq "TINYVM-HELLO web-1" "$(hello)" "$1: the guest's greeting"
  info "$1: reachable again after $((i / 2)) s"
}
reachable "before the flaps"

# flap WHAT NS LINK
flap ()
{
  ip -n "$2" link set "$3" down
  sleep 1
  ip netns exec "$hns" ping -c 2 -W 1 172.25.0.2 >/dev/null 2>&1 &&
    fail "$1: the guest answered with the link down (no real flap)"
  sleep 1
  ip -n "$2" link set "$3" up
  reachable "$1"
  _sv_alive "$pid" || fail "$1: startvm ended"
  _sv_alive "$dnsmasq_pid" || fail "$1: dnsmasq ended"
}
flap "host side down" "$hns" "$peer"
flap "container eth0 down" "$(sv_ns c)" eth0
assert_no_line "$SV_TMP/vm.log" '^TINYVM: (nolease|init-error)' "the guest lost its network"
assert_eq "$dnsmasq_pid" "$(pgrep -P "$pid" -x dnsmasq)" "dnsmasq was restarted"

kill -TERM "$pid"
wait_exit "$pid" 120 || fail "startvm did not stop"
assert_eq 0 "$EXIT_STATUS" "exit status of the graceful stop"
assert_line "$SV_TMP/vm.log" '^startvm: the guest powered off after' "not a graceful stop"
echo PASS

#!/usr/bin/env bash
# A container restart in a pod, dual-stack: the second startvm in the same
# network namespace resumes the handoff from br0's alias, IPv6 included
# (the address and gateway are in the alias), and the guest gets the same
# IPv4 and IPv6 leases and an IPv6 default route again; --dry-run of the
# resumed state changes nothing.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test ip6rst dnsmasq

sv_host h 172.29.0.1/24
sv_host6 h fd00:29::1/64
sv_container c h 172.29.0.2/24 172.29.0.1
sv_container6 c fd00:29::2/64 fd00:29::1
sv_resolv c "nameserver fd00:29::53"
mac=$(sv_in c cat /sys/class/net/eth0/address)
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff tinyvm.ra_wait=60" "state_dir: $SV_TMP/state"

run ()
{
  sv_vm_start c "$SV_TMP/log$1" "$SV_TMP/vm.yaml" web-1
  wait_exit "$STARTVM_PID" 240 || fail "run $1: startvm did not exit after the guest's poweroff"
  [ "$EXIT_STATUS" = 0 ] || { tail -n 30 "$SV_TMP/log$1" >&2; fail "run $1: startvm exited $EXIT_STATUS"; }
  sv_lease_check "$SV_TMP/log$1" eth0 ip=172.29.0.2 "mac=$mac"
  l6=$(tiny_line "$SV_TMP/log$1" "lease6 eth0") || { tail -n 40 "$SV_TMP/log$1" >&2; fail "run $1: no lease6"; }
  grep -qw "ip6=fd00:29::2/128" <<<"$l6" || fail "run $1: lease6 $l6"
  grep -qw "dns6=fd00:29::53" <<<"$l6" || fail "run $1: no IPv6 DNS: $l6"
  assert_line "$SV_TMP/log$1" '^TINYVM: route6 default via fe80::' "run $1: no IPv6 default route"
}

run 1
sv_in c ip -d link show br0 | grep "alias startvm1 eth0 $mac 172.29.0.2/24 mtu=1500 gw=172.29.0.1 a6=fd00:29::2/64 gw6=fd00:29::1" >/dev/null ||
  fail "br0 lacks the IPv6 facts in its alias: $(sv_in c ip -d link show br0)"

dump () { { sv_dump c; sv_in c ip -6 route show; } | sed -E 's/[a-z_]+_timer +[0-9.]+//g'; }
sv_settle c
dump >"$SV_TMP/before"
sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/dry" 2>&1 || fail "dry-run exited $?"
dump >"$SV_TMP/after"
diff "$SV_TMP/before" "$SV_TMP/after" || fail "--dry-run changed the namespace"
assert_line "$SV_TMP/dry" '^    ipv6 fd00:29::2/64, gateway fd00:29::1$' "the resumed dry-run lacks the IPv6 facts"
assert_line "$SV_TMP/dry" '^    resumed: already a port of br0' "the dry-run does not say it resumes"
assert_no_line "$SV_TMP/dry" 'addr del' "the resumed plan removes an address again"
assert_line "$SV_TMP/dry" '^dhcp-host=.*,172\.29\.0\.2,\[fd00:29::2\],' "dnsmasq would not hand out the IPv6 address"

run 2
# One IPv6 address on the bridge, not two; eth0 still without one.
n=$(sv_in c ip -6 -o addr show dev br0 scope global | wc -l)
assert_eq 1 "$n" "br0's global IPv6 addresses after the restart"
sv_in c ip -6 addr show dev eth0 scope global | grep inet6 >/dev/null && fail "eth0 has a global IPv6 address again"
echo PASS

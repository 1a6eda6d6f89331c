#!/usr/bin/env bash
# Two VM containers on one dual-stack network: each guest gets its own
# container's IPv6 address (each dnsmasq answers only its VM), learns its
# default route from its own container's bridge only (the other's RAs
# never leave that container), and the guests reach each other over IPv6.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test ip6two dnsmasq ping

sv_host h 172.30.0.1/24
sv_host6 h fd00:30::1/64
sv_container a h 172.30.0.2/24 172.30.0.1
sv_container6 a fd00:30::2/64 fd00:30::1
sv_container b h 172.30.0.3/24 172.30.0.1
sv_container6 b fd00:30::3/64 fd00:30::1
mac_a=$(sv_in a cat /sys/class/net/eth0/address)
mac_b=$(sv_in b cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/a.yaml" "tinyvm.mode=wait tinyvm.ra_wait=60" "state_dir: $SV_TMP/state-a"
tiny_yaml "$SV_TMP/b.yaml" "tinyvm.mode=wait tinyvm.ping=fd00:30::2 tinyvm.pingwait=30 tinyvm.ra_wait=60" \
  "state_dir: $SV_TMP/state-b"
sv_vm_start a "$SV_TMP/a.log" "$SV_TMP/a.yaml" vm-a
pid_a=$STARTVM_PID
wait_for_line "$SV_TMP/a.log" '^TINYVM: ready' 240 "$pid_a" || fail "guest A did not come up"
# B boots while A runs: B's solicitations (RS, DHCPv6) cross A's bridge too.
sv_vm_start b "$SV_TMP/b.log" "$SV_TMP/b.yaml" vm-b
pid_b=$STARTVM_PID
wait_for_line "$SV_TMP/b.log" '^TINYVM: ready' 240 "$pid_b" || fail "guest B did not come up"

grep -qw "ip6=fd00:30::2/128" <<<"$(tiny_line "$SV_TMP/a.log" "lease6 eth0")" || fail "A: no lease6 for fd00:30::2"
grep -qw "ip6=fd00:30::3/128" <<<"$(tiny_line "$SV_TMP/b.log" "lease6 eth0")" || fail "B: no lease6 for fd00:30::3"
assert_line "$SV_TMP/b.log" '^TINYVM: ping fd00:30::2 ok' "guest B could not reach guest A over IPv6"
# A's dnsmasq never answered B's VM (and the other way round).
assert_no_line "$SV_TMP/a.log" "DHCP(ADVERTISE|REPLY)\(br0\) fd00:30::3" "A's dnsmasq answered B's VM"
assert_no_line "$SV_TMP/b.log" "DHCP(ADVERTISE|REPLY)\(br0\) fd00:30::2" "B's dnsmasq answered A's VM"
# B's one default route is via B's own bridge.
br_b=$(sv_in b ip -6 addr show dev br0 scope link | awk '/inet6/ {sub("/.*", "", $2); print $2}')
[ -n "$br_b" ] || fail "B's bridge has no link-local address"
n=$(tr -d '\r' <"$SV_TMP/b.log" | grep -c '^TINYVM: route6 default')
[ "$n" = 1 ] || fail "guest B has $n IPv6 default routes: $(grep 'route6 default' "$SV_TMP/b.log")"
assert_line "$SV_TMP/b.log" "^TINYVM: route6 default via $br_b dev eth0" "B's default route is not via its own bridge ($br_b)"
for ip in fd00:30::2 fd00:30::3; do
  ip netns exec "$(sv_ns h)" ping -6 -c 1 -W 5 "$ip" >/dev/null || fail "no ping reply from $ip"
done
# docker stop of both: each guest powers off; each startvm exits 0.
stop_startvm "$pid_b" "$SV_TMP/b.log" 0
stop_startvm "$pid_a" "$SV_TMP/a.log" 0
echo PASS

#!/usr/bin/env bash
# An IPv6-only interface next to an IPv4-only one (two interfaces of
# different families), MTU 1400 on the IPv6 network: the tiny guest gets
# the IPv6 address by DHCPv6 and the MTU, on-link prefix and default
# route by RA on eth0 (no IPv4 lease there), the IPv4 lease on eth1 (no
# IPv6 there), reaches beyond the IPv6 gateway, and the host side reaches
# it over IPv6 by ping and TCP.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test ip6only dnsmasq ping socat

sv_host h6 192.0.2.1/24
sv_host6 h6 fd00:40::1/64
sv_beyond6 h6 fd00:98::1
sv_host h4 172.31.0.1/24
sv_container c h6 - - eth0 1400
sv_container6 c fd00:40::5/64 fd00:40::1 eth0
sv_container c h4 172.31.0.5/24 172.31.0.1 eth1
sv_resolv c "nameserver fd00:40::53
search v6.example"
# eth0's RA may come late on a loaded machine: 60 s; eth1 (IPv4 only)
# waits the usual 4 s for the RA that must not come (the guest is ready
# only after both waits: 60 s on eth1 was most of this test's time).
mac0=$(sv_in c cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.listen=8080 tinyvm.ping=fd00:98::1 tinyvm.dhcp_timeout=1 tinyvm.ra_wait=60 tinyvm.ra_wait.eth1=4" \
  "state_dir: $SV_TMP/state"
sv_vm_start c "$SV_TMP/log" "$SV_TMP/vm.yaml" v6vm
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 240 "$STARTVM_PID" || fail "the guest did not come up"

lease6=$(tiny_line "$SV_TMP/log" "lease6 eth0")
info "lease6: $lease6"
for want in "ip6=fd00:40::5/128" dad=ok dns6=fd00:40::53 search6=v6.example. mtu6=1400 "mac=$mac0"; do
  grep -qw -- "$want" <<<"$lease6" || fail "lease6 lacks $want: $lease6"
done
grep -q 'default_via_fe80::[0-9a-f:]*_dev_eth0' <<<"$lease6" || fail "no IPv6 default route: $lease6"
assert_line "$SV_TMP/log" '^TINYVM: nolease eth0' "eth0 (IPv6 only) got an IPv4 lease"
sv_lease_check "$SV_TMP/log" eth1 ip=172.31.0.5 mask=24
tiny_line "$SV_TMP/log" "lease6 eth1" >/dev/null && fail "eth1 (IPv4 only) got IPv6"
assert_line "$SV_TMP/log" '^TINYVM: ping fd00:98::1 ok' "the guest did not reach beyond the gateway over IPv6"
grep -q 'dhcp-range=set:br0' "$SV_TMP/state"/*/dnsmasq.conf && fail "an IPv4 range for the IPv6-only interface"

sv_in c ip -6 addr show | grep 'fd00:40::5/' >/dev/null && fail "the container kept fd00:40::5"
ip netns exec "$(sv_ns h6)" ping -6 -c 2 -W 5 fd00:40::5 >/dev/null || fail "no IPv6 ping reply from the VM"
# 1352 bytes of payload make a 1400-byte packet: it passes; 1353 does not.
ip netns exec "$(sv_ns h6)" ping -6 -c 1 -W 5 -M do -s 1352 fd00:40::5 >/dev/null ||
  fail "a 1400-byte packet did not reach the VM"
reply=$(ip netns exec "$(sv_ns h6)" timeout 20 socat -T 10 - 'TCP6:[fd00:40::5]:8080' </dev/null | tr -d '\r')
# (The hostname goes out with the IPv4 lease of the first interface only,
# and the tiny guest's dhclient asks for no DHCPv6 FQDN: it stays tinyvm.)
[ "$reply" = "TINYVM-HELLO tinyvm" ] || fail "TCP over IPv6 to the VM: '$reply'"

# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
echo PASS

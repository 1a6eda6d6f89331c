#!/usr/bin/env bash
# Dual-stack Docker-like network (an IPv4 /24 and a ULA /64, gateways .1
# and ::1): the tiny guest gets both of the container's addresses (DHCPv4
# and DHCPv6 from startvm's dnsmasq), the on-link prefix, a default route
# and the MTU from the bridge's router advertisements, IPv6 DNS and the
# search list; it reaches an address beyond the gateway over IPv6, and the
# host side reaches it by ping and TCP over IPv6.  No copy of the address
# stays in the container's namespace, the guest answers neighbour
# discovery for it, and a neighbour that accepts RAs learns nothing.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test ip6dual dnsmasq ping socat rdisc6 nft

sv_host h 172.30.0.1/24
sv_host6 h fd00:30::1/64
sv_beyond6 h fd00:99::1
sv_container c h 172.30.0.2/24 172.30.0.1
sv_container6 c fd00:30::2/64 fd00:30::1
sv_resolv c "nameserver 8.8.8.8
nameserver fd00:30::53
search corp.example svc.example"
sv_ra_listener n h
mac=$(sv_in c cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.listen=8080 tinyvm.ping=fd00:99::1 tinyvm.ra_wait=60" \
  "state_dir: $SV_TMP/state"
sv_vm_start c "$SV_TMP/log" "$SV_TMP/vm.yaml" web-1
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 240 "$STARTVM_PID" || fail "the guest did not come up"

sv_lease_check "$SV_TMP/log" eth0 ip=172.30.0.2 mask=24 router=172.30.0.1 dns=8.8.8.8 "mac=$mac"
lease6=$(tiny_line "$SV_TMP/log" "lease6 eth0") ||
  fail "no lease6 line; the guest's DHCPv6 client said: $(tr -d '\r' <"$SV_TMP/log" | grep -a -E 'TINYVM: (dhclient6|nolease6)')"
info "lease6: $lease6"
for want in "ip6=fd00:30::2/128" dad=ok dns6=fd00:30::53 "search6=corp.example.,svc.example." \
  mtu6=1500 "mac=$mac"; do
  grep -qw -- "$want" <<<"$lease6" || fail "lease6 lacks $want: $lease6"
done
grep -q 'routes6=.*fd00:30::/64_dev_eth0' <<<"$lease6" || fail "no on-link prefix route: $lease6"
grep -q 'default_via_fe80::[0-9a-f:]*_dev_eth0' <<<"$lease6" || fail "no IPv6 default route: $lease6"
assert_line "$SV_TMP/log" '^TINYVM: ping fd00:99::1 ok' "the guest did not reach beyond the gateway over IPv6"

# The container: no copy of the guest's address anywhere, forwarding on.
sv_in c ip -6 addr show | grep 'fd00:30::2/' >/dev/null && fail "the container kept fd00:30::2: $(sv_in c ip -6 addr)"
sv_in c ip -6 addr show | grep dadfailed >/dev/null && fail "DAD failed in the container: $(sv_in c ip -6 addr)"
[ "$(sv_in c cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ] || fail "no IPv6 forwarding in the container"

# From the host side: ping and TCP over IPv6, and the neighbour entry
# for the guest's address is the guest's (the container's original) MAC.
ip netns exec "$(sv_ns h)" ping -6 -c 2 -W 5 fd00:30::2 >/dev/null || fail "no IPv6 ping reply from the VM"
reply=$(ip netns exec "$(sv_ns h)" timeout 20 socat -T 10 - 'TCP6:[fd00:30::2]:8080' </dev/null | tr -d '\r')
info "tcp6: $reply"
[ "$reply" = "TINYVM-HELLO web-1" ] || fail "TCP over IPv6 to the VM: '$reply'"
ip -n "$(sv_ns h)" -6 neigh show fd00:30::2 | grep "$mac" >/dev/null || fail "fd00:30::2 is not at the VM's MAC: $(ip -n "$(sv_ns h)" -6 neigh)"

# The neighbour container learnt no router and no address from us (it
# has had at least one unsolicited RA interval's worth of chances: the
# guest's own solicitations were answered by multicast RAs).
learnt=$(sv_ra_learnt n)
[ -z "$learnt" ] || fail "a neighbour learnt from our RAs: $learnt"
grep -q 'RTR-ADVERT(br0)' "$SV_TMP/log" || fail "dnsmasq sent no RA (so the check above proves nothing)"
# A solicitation from the neighbour reaches dnsmasq through eth0 and br0
# (it logs it), but the answer never comes back out.
ra=$(sv_in n rdisc6 -1 -w 3000 eth0 2>&1) && fail "the neighbour got an RA from the VM container: $ra"
grep -q 'RTR-SOLICIT(br0)' "$SV_TMP/log" || fail "the neighbour's solicitation did not reach dnsmasq"
# The filter is what keeps it in: the table is there, and without it the
# same solicitation is answered.
# (Read whole, with nft's errors, then matched: once in CI this check
# failed while the ruleset printed right after had the rule; under
# pipefail `nft | grep` also fails if grep exits before nft is done. >/dev/null)
ra_table=$(sv_in c nft list table bridge startvm_eth0 2>&1)
grep -q 'icmpv6 type nd-router-advert drop' <<<"$ra_table" ||
  fail "no RA filter table: nft said: $ra_table; the ruleset now: $(sv_in c nft list ruleset)"
sv_in c nft delete table bridge startvm_eth0
sv_in n rdisc6 -1 -w 3000 eth0 >/dev/null 2>&1 || fail "no RA even without the filter: the check above proves nothing"

# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
assert_line "$SV_TMP/log" 'DHCPREPLY\(br0\) fd00:30::2' "dnsmasq's DHCPv6 reply is not in the log"
echo PASS

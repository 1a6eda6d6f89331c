#!/usr/bin/env bash
# IPv6 without a guest: --dry-run in a dual-stack "container" shows the
# IPv6 facts, steps and dnsmasq lines and leaves the namespace unchanged
# (addresses, both families' routes, forwarding, no nftables table); a
# step failing early (tap0 taken) or late (the bridge's IPv6 address
# refused) restores the container's IPv6 addresses and routes, the
# forwarding sysctl and the nftables table as they were, exit 4 naming
# the step.  NO_DHCP plans (and does) no RA filter, forwarding or bridge
# address; a
# container with only link-local IPv6 gets the IPv4 plan alone.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
need_root
need_netns
need_startvm
need dnsmasq nft
tmpdir
sv_netns_init ip6fail

sv_host h 172.30.0.1/24
sv_host6 h fd00:30::1/64
sv_container c h 172.30.0.2/24 172.30.0.1
sv_container6 c fd00:30::2/64 fd00:30::1
# A second global address (not handed off, but the link going down drops
# it: the undo must put it back) and an extra route.
sv_in c ip -6 addr add fd00:31::2/64 dev eth0 nodad
sv_in c ip -6 route add fd00:77::/64 via fd00:30::9 metric 5
sv_resolv c "nameserver 8.8.8.8
nameserver fd00:30::53
search corp.example"
printf 'state_dir: %s/state\nboot:\n  kernel: /nonexistent/vmlinuz\naccel: tcg\n' "$SV_TMP" >"$SV_TMP/vm.yaml"

# Everything the IPv6 handoff may change, for byte-for-byte comparisons.
dump6 ()
{
  local ns i
  ns=$(sv_ns c)
  sv_settle c
  # Link-local addresses come back tentative when a link comes up again.
  for i in $(seq 50); do
    ip -n "$ns" -6 addr show | grep tentative >/dev/null || break
    sleep 0.1
  done
  sv_dump c
  ip -n "$ns" -6 route show table all | grep -v '^local\|^multicast\|^anycast'
  sv_in c cat /proc/sys/net/ipv6/conf/all/forwarding
  sv_in c nft list ruleset
}

# ---- --dry-run ----
dump6 >"$SV_TMP/before"
sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/dry.txt" 2>&1 ||
  fail "dry-run exited $?: $(cat "$SV_TMP/dry.txt")"
sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run --format json >"$SV_TMP/dry.json" ||
  fail "dry-run --format json exited $?"
dump6 >"$SV_TMP/after"
diff "$SV_TMP/before" "$SV_TMP/after" || fail "--dry-run changed the namespace"
for want in "    ipv6 fd00:30::2/64, gateway fd00:30::1 (1 more global address(es), not handed off)" \
  "    route6 fd00:77::/64 via fd00:30::9 metric 5" "  dns6: fd00:30::53" \
  "dhcp-range=fd00:30::2,static,64,infinite" "enable-ra" \
  "dhcp-option=tag:br0,option6:dns-server,[fd00:30::53]" \
  "dhcp-option=tag:br0,option6:domain-search,corp.example"; do
  grep -qxF -- "$want" "$SV_TMP/dry.txt" || fail "dry-run lacks '$want':
$(cat "$SV_TMP/dry.txt")"
done
for want in "nft bridge table startvm_eth0: drop our router advertisements and DHCPv6 replies out of eth0" \
  "addr del fd00:30::2/64 dev eth0" "addr del fd00:31::2/64 dev eth0" \
  "sysctl net.ipv6.conf.all.forwarding=1" "route add default via fd00:30::1 dev br0 metric 1024" \
  "route add fd00:77::/64 via fd00:30::9 dev br0 metric 5"; do
  grep -qF -- ". $want" "$SV_TMP/dry.txt" || fail "dry-run lacks the step '$want'"
done
grep -qE '^ +[0-9]+\. addr add fd00:30::[0-9a-f:]+/64 dev br0 nodad$' "$SV_TMP/dry.txt" ||
  fail "dry-run lacks the bridge's IPv6 address"
python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["observed"]["interfaces"][0]; assert i["address6"]=="fd00:30::2" and i["prefix6"]==64 and i["gateway6"]=="fd00:30::1", i' \
  "$SV_TMP/dry.json" || fail "dry-run JSON lacks the IPv6 facts"
/usr/bin/python3 -c 'import json,sys; open(sys.argv[2],"w").write(json.load(open(sys.argv[1]))["dnsmasq"]["conf"])' \
  "$SV_TMP/dry.json" "$SV_TMP/dnsmasq.conf"
dnsmasq --test --conf-file="$SV_TMP/dnsmasq.conf" >/dev/null 2>&1 ||
  fail "dnsmasq refuses the planned conf: $(dnsmasq --test --conf-file="$SV_TMP/dnsmasq.conf" 2>&1)"

# NO_DHCP: the addresses leave, nothing else IPv6 is planned.
sv_in c env NO_DHCP=true "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/nodhcp.txt" 2>&1 ||
  fail "NO_DHCP dry-run exited $?"
grep -qF ". addr del fd00:30::2/64 dev eth0" "$SV_TMP/nodhcp.txt" || fail "NO_DHCP keeps the IPv6 address"
grep -qE 'nft bridge|forwarding|dev br0 nodad|route add' "$SV_TMP/nodhcp.txt" &&
  fail "NO_DHCP plans IPv6 service steps: $(cat "$SV_TMP/nodhcp.txt")"

# A container with IPv6 on but only its link-local address: exactly the
# IPv4 plan (nothing IPv6 observed, planned or configured).
sv_container ll h 172.30.0.7/24 172.30.0.1
_sv_ipv6_on "$(sv_ns ll)" eth0
for i in $(seq 50); do sv_in ll ip -6 addr show dev eth0 | grep 'inet6 fe80' >/dev/null && break; sleep 0.1; done
sv_in ll ip -6 addr show dev eth0 | grep 'inet6 fe80' >/dev/null || fail "no link-local address to test with"
sv_in ll "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/ll.txt" 2>&1 || fail "link-local dry-run exited $?"
grep -qE '^    ipv6 |route6 |dns6:|nft bridge|forwarding=1|nodad|enable-ra|option6|,\[' "$SV_TMP/ll.txt" &&
  fail "a link-local-only container gets IPv6 steps: $(cat "$SV_TMP/ll.txt")"

# fail_at BLOCKER WANT: run startvm; it must fail with exit 4 naming the
# step WANT and leave the namespace as it was.
fail_at ()
{
  local want=$1 rc
  dump6 >"$SV_TMP/before"
  set +e
  sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" >"$SV_TMP/run.log" 2>&1
  rc=$?
  set -e
  info "startvm: $(tail -n 1 "$SV_TMP/run.log")"
  [ "$rc" = 4 ] || fail "exit $rc, expected 4: $(cat "$SV_TMP/run.log")"
  grep -qF -- "$want" "$SV_TMP/run.log" || fail "the failed step is not named ($want): $(cat "$SV_TMP/run.log")"
  dump6 >"$SV_TMP/after"
  diff "$SV_TMP/before" "$SV_TMP/after" || fail "not restored after a failure at '$want'"
}

# Early: tap0 is taken (after the filter, the address removal and the MAC).
sv_in c ip link add tap0 type veth peer name tap0p
fail_at "(tuntap add tap0 mtu 1500)"
sv_in c ip link del tap0

# Late: after forwarding, a bridge made with IPv6 off (the namespace's
# default for new links) refuses its address.
sv_in c sysctl -qw net.ipv6.conf.default.disable_ipv6=1
fail_at "nodad): RTM_NEWADDR"
sv_in c sysctl -qw net.ipv6.conf.default.disable_ipv6=0

# NO_DHCP for real (QEMU then fails on the missing kernel, after the
# handoff): the addresses left eth0, and nothing IPv6 was added.
rc=0 # (fail_at leaves errexit on)
sv_in c env NO_DHCP=true "$STARTVM" --config "$SV_TMP/vm.yaml" >"$SV_TMP/nodhcp.log" 2>&1 || rc=$?
# QEMU's own status comes out of startvm: 1 for the kernel it cannot load.
[ "$rc" = 1 ] || fail "NO_DHCP: startvm exited $rc, expected QEMU's 1: $(tail -n 5 "$SV_TMP/nodhcp.log")"
assert_line "$SV_TMP/nodhcp.log" '^startvm: QEMU exited with status 1$' "NO_DHCP: QEMU's failure is not logged"
sv_in c ip link show eth0 | grep "master br0" >/dev/null || fail "NO_DHCP: eth0 is not in br0: $(cat "$SV_TMP/nodhcp.log")"
sv_in c ip -6 addr show scope global | grep inet6 >/dev/null &&
  fail "NO_DHCP: a global IPv6 address in the container: $(sv_in c ip -6 addr show scope global)"
[ "$(sv_in c cat /proc/sys/net/ipv6/conf/all/forwarding)" = 0 ] || fail "NO_DHCP turned forwarding on"
[ -z "$(sv_in c nft list ruleset)" ] || fail "NO_DHCP put in an nftables table"
echo PASS

#!/usr/bin/env bash
# The planned dnsmasq.conf and bridge address really work with dnsmasq, for
# prefix lengths /1 to /32 (the original's bridge rule only worked for
# /16): a container namespace with eth0 at each prefix gives a dry-run
# plan; a "bridge" namespace gets the planned bridge address and runs
# dnsmasq with the planned conf; busybox udhcpc, with the VM's MAC, must
# get the container's address, netmask, broadcast and router (or the
# classless routes), and a stranger's MAC must get nothing.  No VM boots.
set -euo pipefail
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh"
# Debian's python3 when there is one: a version manager's shim can cost
# seconds a call on a loaded machine.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
[ -x "${STARTVM:-}" ] || sv_skip "STARTVM is not set (run under ctest)"
for t in python3 dnsmasq busybox timeout; do
  command -v "$t" >/dev/null || sv_skip "$t missing (scripts/setup.sh)"
done
busybox udhcpc --help >/dev/null 2>&1 || sv_skip "busybox has no udhcpc applet"
sv_netns_init lease
tmpdir tmp
sed "s|STATE_DIR|$tmp/state|" "$SV_SOURCE_DIR/tests/data/plan/net.yaml" >"$tmp/vm.yaml"
cat >"$tmp/lease.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] || exit 0
for v in ip subnet broadcast router staticroutes mtu; do eval "echo $v=\${$v:-}"; done
SH
chmod +x "$tmp/lease.sh"

# Three namespaces, reused for every prefix: the container (eth0), the
# bridge side after the handoff (br0 + tap0) and the VM (vmnic).
c=$(sv_ns c)
b=$(sv_ns b)
v=$(sv_ns v)
for ns in "$c" "$b" "$v"; do
  ip netns add "$ns"
  SV_NS_LIST+=("$ns")
done
ip -n "$c" link add eth0 type veth peer name peer0
ip -n "$c" link set eth0 up
ip -n "$c" link set peer0 up
ip -n "$b" link add br0 type bridge
ip -n "$b" link add tap0 type veth peer name vmnic netns "$v"
ip -n "$b" link set tap0 master br0
ip -n "$b" link set tap0 up
ip -n "$b" link set br0 up

# lease PREFIX ADDR GW [onlink]
lease ()
{
  local prefix=$1 addr=$2 gw=$3 onlink=${4:-}
  ip -n "$c" addr flush dev eth0
  ip -n "$c" route flush dev eth0 2>/dev/null || true
  ip -n "$c" addr add "$addr/$prefix" dev eth0
  if [ -n "$onlink" ]; then
    ip -n "$c" route add "$gw" dev eth0 scope link
  fi
  ip -n "$c" route add default via "$gw" dev eth0
  ip netns exec "$c" "$STARTVM" --config "$tmp/vm.yaml" --dry-run --format json >"$tmp/p$prefix.json" 2>"$tmp/p$prefix.err" ||
    sv_fail "/$prefix: dry-run failed: $(cat "$tmp/p$prefix.err")"
  python3 - "$tmp/p$prefix.json" "$tmp/p$prefix" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
out = sys.argv[2]
open(out + ".conf", "w").write(p["dnsmasq"]["conf"])
add = [s for s in p["network_steps"] if s["op"] == "addr-add"][0]
open(out + ".bridge", "w").write("%s/%d\n" % (add["address"], add["prefix"]))
open(out + ".mac", "w").write(p["observed"]["interfaces"][0]["mac"] + "\n")
PY
  local bridge mac
  bridge=$(cat "$tmp/p$prefix.bridge")
  mac=$(cat "$tmp/p$prefix.mac")

  ip -n "$b" addr flush dev br0
  ip -n "$b" addr add "$bridge" dev br0
  ip -n "$v" link set vmnic down
  ip -n "$v" link set vmnic address "$mac"
  ip -n "$v" link set vmnic up
  ip netns exec "$b" dnsmasq --keep-in-foreground --conf-file="$tmp/p$prefix.conf" >"$tmp/p$prefix.dnsmasq" 2>&1 &
  local dpid=$!
  sv_track_pid "$dpid"
  # Ask only once dnsmasq listens: a lost first DISCOVER costs a retry.
  local i
  for i in $(seq 100); do
    grep -q "started, version" "$tmp/p$prefix.dnsmasq" && break
    kill -0 "$dpid" 2>/dev/null || sv_fail "/$prefix: dnsmasq exited: $(cat "$tmp/p$prefix.dnsmasq")"
    sleep 0.05
  done
  local got=""
  got=$(timeout 20 ip netns exec "$v" busybox udhcpc -i vmnic -f -q -n -t 5 -T 1 \
    -O staticroutes -O mtu -s "$tmp/lease.sh" 2>"$tmp/p$prefix.udhcpc") || true
  echo "$got" >"$tmp/p$prefix.lease"
  # A stranger on the same bridge gets nothing (waiting for "nothing"
  # takes seconds: checked on a few typical prefixes).
  local stranger=""
  case $prefix in
    16 | 24 | 32)
      ip -n "$v" link set vmnic address 02:00:00:00:00:99
      stranger=$(timeout 10 ip netns exec "$v" busybox udhcpc -i vmnic -f -q -n -t 2 -T 1 \
        -s "$tmp/lease.sh" 2>/dev/null) || true
      ;;
  esac
  kill "$dpid" 2>/dev/null || true
  wait "$dpid" 2>/dev/null || true

  python3 - "$prefix" "$addr" "$gw" "$tmp/p$prefix.lease" "$bridge" <<'PY' ||
import ipaddress, sys
prefix, addr, gw, path, bridge = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
got = dict(l.split("=", 1) for l in open(path).read().split("\n") if "=" in l)
net = ipaddress.ip_network("%s/%d" % (addr, prefix), strict=False)
bcast = "255.255.255.255" if prefix >= 31 else str(net.broadcast_address)
want = {"ip": addr, "subnet": str(net.netmask), "broadcast": bcast}
if ipaddress.ip_address(gw) in net:
    want["router"] = gw
else:
    want["router"] = ""
    want["staticroutes"] = "%s/32 0.0.0.0 0.0.0.0/0 %s" % (gw, gw)
bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
if bad:
    print("/%d (bridge %s): got/want %r" % (prefix, bridge, bad), file=sys.stderr)
    sys.exit(1)
PY
    sv_fail "/$prefix: wrong or no lease; udhcpc: $(cat "$tmp/p$prefix.udhcpc"); dnsmasq: $(tail -5 "$tmp/p$prefix.dnsmasq")"
  [ -z "$stranger" ] || sv_fail "/$prefix: dnsmasq answered a MAC that is not the VM's: $stranger"
  case $prefix in
    16 | 24 | 32)
      grep -q "DHCPDISCOVER(br0) 02:00:00:00:00:99 ignored" "$tmp/p$prefix.dnsmasq" ||
        sv_fail "/$prefix: the stranger's DISCOVER never reached dnsmasq: $(tail -5 "$tmp/p$prefix.dnsmasq")"
      ;;
  esac
  echo "/$prefix: $addr via bridge $bridge: lease ok"
}

# Every prefix length: the gateway on the subnet where there is room for
# one, the /31 peer, and for /32 an on-link 169.254.1.1 (Calico).  The
# address is in 128.0.0.0/1: the kernel adds no prefix route for a
# network that starts at 0.0.0.0, so a /1 in 0.0.0.0/1 would have no
# reachable gateway.
for prefix in $(seq 1 32); do
  case $prefix in
    [1-8]) lease "$prefix" 172.77.33.9 172.0.0.1 ;;
    31) lease 31 172.77.33.8 172.77.33.9 ;;
    32) lease 32 172.77.33.9 169.254.1.1 onlink ;;
    *) lease "$prefix" 172.77.33.9 "$(python3 -c "import ipaddress; n=ipaddress.ip_network('172.77.33.9/$prefix',strict=False); g=n.network_address+1; print(g if str(g)!='172.77.33.9' else g+1)")" ;;
  esac
done
echo "ok"

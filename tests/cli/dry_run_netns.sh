#!/usr/bin/env bash
# --dry-run inside "containers" (network namespaces): it shows the
# observed network, the handoff steps and a dnsmasq.conf that dnsmasq
# accepts, for a Docker-like /16, a Calico /32 pod, two networks and
# NO_DHCP, and leaves every namespace byte-for-byte unchanged.
set -euo pipefail
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh"
# Debian's python3 when there is one: a version manager's shim can cost
# seconds a call on a loaded machine.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
[ -x "${STARTVM:-}" ] || sv_skip "STARTVM is not set (run under ctest)"
command -v python3 >/dev/null || sv_skip "python3 missing"
command -v dnsmasq >/dev/null || sv_skip "dnsmasq missing (dnsmasq-base)"
command -v unshare >/dev/null || sv_skip "unshare missing"
sv_netns_init plan
tmpdir tmp
sed "s|STATE_DIR|$tmp/state|" "$SV_SOURCE_DIR/tests/data/plan/net.yaml" >"$tmp/vm.yaml"

# dry NAME OUT [ENV...]: dry-run (text and JSON) in container NAME, with
# hostname "myvm", checking that nothing in the namespace changed.
dry ()
{
  local name=$1 out=$2
  shift 2
  sv_settle "$name"
  sv_dump "$name" >"$tmp/before"
  local fmt
  for fmt in text json; do
    sv_in "$name" env "$@" unshare -u sh -c 'hostname myvm && exec "$@"' sh \
      "$STARTVM" --config "$tmp/vm.yaml" --dry-run --format "$fmt" >"$out.$fmt" 2>"$out.err" ||
      sv_fail "$name: dry-run ($fmt) exited $?: $(cat "$out.err")"
  done
  sv_dump "$name" >"$tmp/after"
  cmp -s "$tmp/before" "$tmp/after" || sv_fail "$name: --dry-run changed the namespace: $(diff "$tmp/before" "$tmp/after")"
  python3 -m json.tool "$out.json" >/dev/null || sv_fail "$name: invalid JSON"
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["dnsmasq"]; open(sys.argv[2],"w").write(c["conf"] if c else "")' \
    "$out.json" "$out.conf"
  if [ -s "$out.conf" ]; then
    dnsmasq --test --conf-file="$out.conf" >/dev/null 2>&1 ||
      sv_fail "$name: dnsmasq --test refuses the planned dnsmasq.conf: $(dnsmasq --test --conf-file="$out.conf" 2>&1)"
  fi
}

has_line ()
{
  grep -qxF -- "$2" "$1" || sv_fail "$1: no line '$2'; the file:
$(cat "$1")"
}

# Docker-like /16, with DNS and a search domain.
sv_host h 172.17.0.1/16
sv_container c h 172.17.0.2/16 172.17.0.1
sv_resolv c "nameserver 10.0.0.53
search example.com"
dry c "$tmp/c"
mac=$(ip -n "$(sv_ns c)" link show eth0 | awk '/link\/ether/ {print $2}')
has_line "$tmp/c.text" "  eth0: mac $mac, 172.17.0.2/16, gateway 172.17.0.1, mtu 1500"
has_line "$tmp/c.text" "  dns: 10.0.0.53"
has_line "$tmp/c.text" "  hostname: myvm"
has_line "$tmp/c.text" "   4. addr del 172.17.0.2/16 dev eth0"
has_line "$tmp/c.text" "  11. addr add 172.16.0.2/15 dev br0"
has_line "$tmp/c.conf" "dhcp-range=set:br0,172.17.0.2,static,255.254.0.0,infinite"
has_line "$tmp/c.conf" "dhcp-host=$mac,set:vm0,172.17.0.2,myvm,infinite"
has_line "$tmp/c.conf" "dhcp-option=tag:vm0,3,172.17.0.1"
has_line "$tmp/c.conf" "dhcp-option=tag:vm0,6,10.0.0.53"
has_line "$tmp/c.conf" "dhcp-option=tag:vm0,119,example.com"
grep -qE -- "^  -device virtio-net-pci,netdev=net0,mac=$mac( \\\\)?\$" "$tmp/c.text" ||
  sv_fail "the VM NIC does not get eth0's original MAC $mac: $(grep virtio-net "$tmp/c.text")"

# NO_DHCP: plain L2, no dnsmasq, no bridge address.
dry c "$tmp/nodhcp" NO_DHCP=true
has_line "$tmp/nodhcp.text" "  (none: no interface, or DHCP is off)"
grep -q "addr add" "$tmp/nodhcp.text" && sv_fail "NO_DHCP still plans a bridge address"
[ ! -s "$tmp/nodhcp.conf" ] || sv_fail "NO_DHCP still plans a dnsmasq.conf"

# Calico pod: /32 and an on-link 169.254.1.1.
sv_calico p hc 10.244.1.17
dry p "$tmp/p"
has_line "$tmp/p.conf" "dhcp-range=set:br0,10.244.1.17,static,255.255.255.254,infinite"
has_line "$tmp/p.conf" "dhcp-option=tag:vm0,121,169.254.1.1/32,0.0.0.0,0.0.0.0/0,169.254.1.1"
has_line "$tmp/p.conf" "dhcp-option=tag:vm0,3"
has_line "$tmp/p.text" "  11. addr add 10.244.1.16/31 dev br0"

# Two networks: eth0 and eth1, two bridges, two taps, two NICs.
sv_host h2 10.10.0.1/24
sv_container d h 172.17.0.3/16 172.17.0.1
sv_container d h2 10.10.0.7/24 "" eth1
dry d "$tmp/d"
has_line "$tmp/d.conf" "interface=br1"
has_line "$tmp/d.conf" "dhcp-range=set:br1,10.10.0.7,static,255.255.254.0,infinite"
python3 - "$tmp/d.json" <<'PY' || sv_fail "two networks: wrong NICs"
import json, sys
p = json.load(open(sys.argv[1]))
a = p["qemu_argv"]
nd = [a[i + 1] for i, w in enumerate(a) if w == "-netdev"]
assert p["taps"] == 2, p["taps"]
assert [n.split(",")[:3] for n in nd] == [["tap", "id=net0", "fd=10"], ["tap", "id=net1", "fd=11"]], nd
assert [i["name"] for i in p["observed"]["interfaces"]] == ["eth0", "eth1"]
PY
echo "ok"

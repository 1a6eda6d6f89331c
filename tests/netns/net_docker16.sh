#!/usr/bin/env bash
# End to end on a Docker-like bridge network (/16, gateway .1): the tiny
# guest gets the container's address, netmask, gateway, DNS, search
# domains, hostname and MTU by DHCP from startvm's dnsmasq, with the
# container's original MAC, and answers ping and TCP from the "host" at the
# container's address.  The container NIC keeps running as a bridge port
# with a derived MAC.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test netd16 dnsmasq ping socat

sv_host h 172.30.0.1/16
sv_container c h 172.30.0.2/16 172.30.0.1
sv_resolv c "nameserver 8.8.8.8
nameserver 1.1.1.1
search corp.example svc.example"
mac=$(sv_in c cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.listen=8080" "state_dir: $SV_TMP/state"
SV_WRAP=(ip netns exec "$(sv_ns c)" unshare --uts sh -c 'hostname web-1 && exec "$0" "$@"')
run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml"
sv_track_pid "$STARTVM_PID"
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 120 "$STARTVM_PID" || fail "the guest did not come up"

lease=$(tiny_line "$SV_TMP/log" "lease eth0")
info "lease: $lease"
for want in "ip=172.30.0.2" "mask=16" "router=172.30.0.1" "dns=8.8.8.8,1.1.1.1" \
  "search=corp.example,svc.example" "hostname=web-1" "mtu=1500" "mac=$mac" \
  "broadcast=172.30.255.255" "lease=4294967295"; do
  grep -qw -- "$want" <<<"$lease" || fail "lease lacks $want: $lease"
done
assert_line "$SV_TMP/log" '^TINYVM: route default via 172.30.0.1 dev eth0' "no default route in the guest"

# The container side: eth0 is a port of br0 with a derived MAC, no address.
sv_in c ip link show eth0 | grep "master br0" >/dev/null || fail "eth0 is not in br0"
sv_in c ip link show eth0 | grep "$mac" >/dev/null && fail "eth0 kept the MAC the VM now has"
sv_in c ip -4 addr show eth0 | grep inet >/dev/null && fail "eth0 kept its address"

# From outside: the VM answers at the container's address.
ip netns exec "$(sv_ns h)" ping -c 2 -W 5 172.30.0.2 >/dev/null || fail "no ping reply from the VM"
reply=$(ip netns exec "$(sv_ns h)" timeout 20 socat -T 10 - TCP:172.30.0.2:8080 </dev/null | tr -d '\r')
info "tcp: $reply"
[ "$reply" = "TINYVM-HELLO web-1" ] || fail "TCP to the VM: '$reply'"
# The neighbour the host learnt for the container address is the VM's MAC.
ip -n "$(sv_ns h)" neigh show 172.30.0.2 | grep "$mac" >/dev/null || fail "172.30.0.2 is not at the VM's MAC"

# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
assert_line "$SV_TMP/log" 'DHCPACK\(br0\) 172.30.0.2' "dnsmasq's lease log is not in the container's output"
echo PASS

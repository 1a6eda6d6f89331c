#!/usr/bin/env bash
# A /24 network (the original RancherVM's bridge-address bit flip broke
# every prefix but /16) with MTU 1400 on eth0: the guest gets its address
# with mask 24, the gateway, MTU 1400 on its NIC, DNS and search domains,
# and answers ping with a full 1400-byte packet (no fragmentation: DF set).
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test net24 dnsmasq ping

sv_host h 192.168.57.1/24
sv_in h true 2>/dev/null || true
ip -n "$(sv_ns h)" link set hbr mtu 1400
sv_container c h 192.168.57.77/24 192.168.57.1 eth0 1400
sv_resolv c "nameserver 192.168.57.53
search lab.example"
mac=$(sv_in c cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $SV_TMP/state"
sv_vm_start c "$SV_TMP/log" "$SV_TMP/vm.yaml" db-7
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 120 "$STARTVM_PID" || fail "the guest did not come up"
sv_lease_check "$SV_TMP/log" eth0 ip=192.168.57.77 mask=24 router=192.168.57.1 mtu=1400 \
  dns=192.168.57.53 search=lab.example hostname=db-7 "mac=$mac" broadcast=192.168.57.255
sv_in c ip link show br0 | grep "mtu 1400" >/dev/null || fail "br0 MTU is not 1400"
sv_in c ip link show tap0 | grep "mtu 1400" >/dev/null || fail "tap0 MTU is not 1400"
# 1372 bytes of payload + 28 of headers = 1400, with DF: arrives only if
# every hop (tap, bridge, guest NIC) really has MTU 1400.
ip netns exec "$(sv_ns h)" ping -c 2 -W 5 -M do -s 1372 192.168.57.77 >/dev/null \
  || fail "no 1400-byte ping reply from the VM"
# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
echo PASS

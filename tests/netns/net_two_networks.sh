#!/usr/bin/env bash
# A container on two networks (eth0 and eth1): the guest gets a NIC and a
# lease for each, with each network's own address, netmask and MTU; the
# default route comes from eth0's network only.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test net2nw dnsmasq ping

sv_host h1 172.30.0.1/16
sv_host h2 10.77.5.1/24
sv_container c h1 172.30.0.2/16 172.30.0.1
sv_container c h2 10.77.5.20/24 "" eth1 1450
mac0=$(sv_in c cat /sys/class/net/eth0/address)
mac1=$(sv_in c cat /sys/class/net/eth1/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $SV_TMP/state"
sv_vm_start c "$SV_TMP/log" "$SV_TMP/vm.yaml" multi
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 120 "$STARTVM_PID" || fail "the guest did not come up"
assert_line "$SV_TMP/log" '^TINYVM: nics eth0,eth1$' "the guest does not have two NICs"
sv_lease_check "$SV_TMP/log" eth0 ip=172.30.0.2 mask=16 router=172.30.0.1 "mac=$mac0" mtu=1500
sv_lease_check "$SV_TMP/log" eth1 ip=10.77.5.20 mask=24 router= "mac=$mac1" mtu=1450
assert_no_line "$SV_TMP/log" '^TINYVM: route default via .* dev eth1' "a default route via eth1"
ip netns exec "$(sv_ns h1)" ping -c 1 -W 5 172.30.0.2 >/dev/null || fail "no reply on eth0's network"
ip netns exec "$(sv_ns h2)" ping -c 1 -W 5 10.77.5.20 >/dev/null || fail "no reply on eth1's network"
# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
echo PASS

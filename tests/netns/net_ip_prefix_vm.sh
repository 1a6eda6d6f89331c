#!/usr/bin/env bash
# IP_PREFIX=10.42: startvm waits until an address with that prefix shows
# up (added 3 s after it starts, on eth1, as an overlay network agent
# would), then hands off that interface only; the guest gets that address.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test netpfv dnsmasq ping

sv_host h1 172.30.0.1/16
sv_host h2 10.42.0.1/16
sv_container c h1 172.30.0.2/16 172.30.0.1
sv_container c h2 10.99.0.2/16 "" eth1
# eth1 carries only a placeholder until the agent gives it 10.42.0.7.
sv_in c ip addr flush dev eth1
mac1=$(sv_in c cat /sys/class/net/eth1/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $SV_TMP/state"
SV_VM_ENV=(ACCEL=tcg IP_PREFIX=10.42)
start=$(date +%s)
sv_vm_start c "$SV_TMP/log" "$SV_TMP/vm.yaml" overlay
sleep 3
sv_in c ip -4 addr show | grep "10\.42\." >/dev/null && fail "an address appeared by itself"
sv_in c ip link show eth1 | grep master >/dev/null && fail "startvm handed off before the address existed"
sv_in c ip addr add 10.42.0.7/16 brd + dev eth1
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 120 "$STARTVM_PID" || fail "the guest did not come up"
assert_line "$SV_TMP/log" '^TINYVM: nics eth0$' "only the 10.42 interface should be handed off"
sv_lease_check "$SV_TMP/log" eth0 ip=10.42.0.7 mask=16 "mac=$mac1"
# The other network stays the container's own.
sv_in c ip -4 addr show eth0 | grep "172.30.0.2/16" >/dev/null || fail "eth0 lost its address"
ip netns exec "$(sv_ns h2)" ping -c 1 -W 5 10.42.0.7 >/dev/null || fail "no reply from the VM"
# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
echo PASS

#!/usr/bin/env bash
# NO_DHCP=true: plain L2.  The handoff still bridges the container NIC and
# the tap (the VM has the container's MAC and link), but no dnsmasq runs,
# the bridge has no address and the guest gets no lease.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test netnod

sv_host h 172.30.0.1/16
sv_container c h 172.30.0.2/16 172.30.0.1
mac=$(sv_in c cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.dhcp_timeout=1" "state_dir: $SV_TMP/state"
SV_VM_ENV=(ACCEL=tcg NO_DHCP=true)
sv_vm_start c "$SV_TMP/log" "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 120 "$STARTVM_PID" || fail "the guest did not come up"
assert_line "$SV_TMP/log" "^TINYVM: nolease eth0 mac=$mac" "the guest got a lease without DHCP"
for p in $(ip netns pids "$(sv_ns c)"); do
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dnsmasq ] && fail "dnsmasq runs with NO_DHCP=true"
done
sv_in c ip link show eth0 | grep "master br0" >/dev/null || fail "eth0 is not in br0"
sv_in c ip link show tap0 | grep "master br0" >/dev/null || fail "tap0 is not in br0"
sv_in c ip -4 addr show br0 | grep inet >/dev/null && fail "br0 has an address with NO_DHCP=true"
sv_in c ip -4 addr show eth0 | grep inet >/dev/null && fail "eth0 kept its address"
[ -e "$SV_TMP/state" ] && find "$SV_TMP/state" -name dnsmasq.conf | grep . >/dev/null \
  && fail "dnsmasq.conf written with NO_DHCP=true"
# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
echo PASS

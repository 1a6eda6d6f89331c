#!/usr/bin/env bash
# A Calico-like Kubernetes pod: a /32 address and the on-link gateway
# 169.254.1.1, which the host side answers by proxy ARP.  The guest gets
# the /32 and the gateway as classless static routes (option 121), and the
# host reaches it through its /32 route to the pod's veth.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test netcal dnsmasq ping socat

sv_calico pod node 10.244.1.5
sv_resolv pod "nameserver 10.96.0.10
search default.svc.cluster.local svc.cluster.local cluster.local"
mac=$(sv_in pod cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.listen=8080" "state_dir: $SV_TMP/state"
sv_vm_start pod "$SV_TMP/log" "$SV_TMP/vm.yaml" vm-pod-0
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 120 "$STARTVM_PID" || fail "the guest did not come up"
sv_lease_check "$SV_TMP/log" eth0 ip=10.244.1.5 mask=32 "mac=$mac" dns=10.96.0.10 \
  search=default.svc.cluster.local,svc.cluster.local,cluster.local
lease=$(tiny_line "$SV_TMP/log" "lease eth0")
grep -q "staticroutes=169.254.1.1/32,0.0.0.0,.*0.0.0.0/0,169.254.1.1" <<<"$lease" \
  || fail "option 121 does not carry the on-link gateway and the default: $lease"
assert_line "$SV_TMP/log" '^TINYVM: route default via 169.254.1.1 dev eth0' "no default route in the guest"
ip netns exec "$(sv_ns node)" ping -c 2 -W 5 10.244.1.5 >/dev/null || fail "no ping reply from the VM"
reply=$(ip netns exec "$(sv_ns node)" timeout 20 socat -T 10 - TCP:10.244.1.5:8080 </dev/null | tr -d '\r')
[ "$reply" = "TINYVM-HELLO vm-pod-0" ] || fail "TCP to the VM: '$reply'"
# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
echo PASS

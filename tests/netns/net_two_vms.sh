#!/usr/bin/env bash
# Two VM containers on one network: each guest gets its own container's
# address (never the other's: each dnsmasq answers only its VM's MAC) and
# the guests reach each other.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test net2vm dnsmasq ping

sv_host h 172.30.0.1/16
sv_container a h 172.30.0.2/16 172.30.0.1
sv_container b h 172.30.0.3/16 172.30.0.1
mac_a=$(sv_in a cat /sys/class/net/eth0/address)
mac_b=$(sv_in b cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/a.yaml" "tinyvm.mode=wait" "state_dir: $SV_TMP/state-a"
tiny_yaml "$SV_TMP/b.yaml" "tinyvm.mode=wait tinyvm.ping=172.30.0.2" "state_dir: $SV_TMP/state-b"
sv_vm_start a "$SV_TMP/a.log" "$SV_TMP/a.yaml" vm-a
pid_a=$STARTVM_PID
wait_for_line "$SV_TMP/a.log" '^TINYVM: ready' 120 "$pid_a" || fail "guest A did not come up"
# B boots while A runs: B's DHCP broadcasts cross A's bridge too.
sv_vm_start b "$SV_TMP/b.log" "$SV_TMP/b.yaml" vm-b
pid_b=$STARTVM_PID
wait_for_line "$SV_TMP/b.log" '^TINYVM: ready' 120 "$pid_b" || fail "guest B did not come up"

sv_lease_check "$SV_TMP/a.log" eth0 ip=172.30.0.2 "mac=$mac_a" hostname=vm-a
sv_lease_check "$SV_TMP/b.log" eth0 ip=172.30.0.3 "mac=$mac_b" hostname=vm-b
# B pinged A (A's replies came back): the guests reach each other.
assert_line "$SV_TMP/b.log" '^TINYVM: ping 172.30.0.2 ok' "guest B could not ping guest A"
# A's dnsmasq saw B's requests but never offered anything to B's MAC.
assert_no_line "$SV_TMP/a.log" "DHCP(OFFER|ACK)\(br0\) [0-9.]+ $mac_b" "A's dnsmasq answered B's VM"
assert_no_line "$SV_TMP/b.log" "DHCP(OFFER|ACK)\(br0\) [0-9.]+ $mac_a" "B's dnsmasq answered A's VM"
for ip in 172.30.0.2 172.30.0.3; do
  ip netns exec "$(sv_ns h)" ping -c 1 -W 5 "$ip" >/dev/null || fail "no ping reply from $ip"
done
# docker stop of both: each guest powers off; each startvm exits 0.
stop_startvm "$pid_b" "$SV_TMP/b.log" 0
stop_startvm "$pid_a" "$SV_TMP/a.log" 0
echo PASS

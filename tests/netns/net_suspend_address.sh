#!/usr/bin/env bash
# shutdown.mode suspend onto a new address (a rescheduled pod, a new
# network): the guest is saved in one "container" (172.29.0.2) and resumed
# in another with a new address (172.29.0.7) and a new MAC.  The same boot
# goes on (its token); it keeps the MAC it was saved with, so dnsmasq
# answers that MAC; its link goes down for 7 s and up again, so its DHCP
# client asks again and gets the new address.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test susad dnsmasq jq

sv_host h 172.29.0.1/16
sv_container c1 h 172.29.0.2/16 172.29.0.1
sv_container c2 h 172.29.0.7/16 172.29.0.1
mac1=$(sv_in c1 cat /sys/class/net/eth0/address)
mac2=$(sv_in c2 cat /sys/class/net/eth0/address)
[ "$mac1" != "$mac2" ] || fail "the two containers have the same MAC: this run tests nothing"
data=$SV_TMP/data
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.alive=1 tinyvm.relink=1" "state_dir: $SV_TMP/state
data_dir: $data
shutdown:
  mode: suspend"

sv_vm_start c1 "$SV_TMP/log1" "$SV_TMP/vm.yaml" vm1
wait_for_line "$SV_TMP/log1" '^TINYVM: alive boot=' 180 "$STARTVM_PID" || fail "the guest does not run"
sv_lease_check "$SV_TMP/log1" eth0 ip=172.29.0.2 "mac=$mac1"
token=$(tiny_line "$SV_TMP/log1" alive | sed 's/^boot=\([0-9a-f]*\) .*/\1/')
stop_startvm "$STARTVM_PID" "$SV_TMP/log1" 0
assert_line "$SV_TMP/log1" "^startvm: suspend: saved the guest to $data/vmstate "

sv_vm_start c2 "$SV_TMP/log2" "$SV_TMP/vm.yaml" vm1
wait_for_line "$SV_TMP/log2" '^startvm: suspend: resumed the guest' 60 "$STARTVM_PID" || fail "the guest was not resumed"
assert_line "$SV_TMP/log2" "^startvm: suspend: the container's network changed since the save \\(MAC $mac1 became $mac2\\): resuming with the saved MACs, then the guest's links go down for 7 s so it asks for its new address\$"
assert_no_line "$SV_TMP/log2" '^TINYVM: (init|ready)' "the guest booted again"
# dnsmasq answers the saved MAC, with the new address.
conf=$SV_TMP/state/vm1/dnsmasq.conf
assert_line "$conf" "^dhcp-host=$mac1,set:vm0,172\\.29\\.0\\.7," "dnsmasq.conf does not give the saved MAC the new address"
wait_for_line "$SV_TMP/log2" '^startvm: suspend: the guest.s links are up again' 30 "$STARTVM_PID" || fail "the links did not come up"
wait_for_line "$SV_TMP/log2" '^TINYVM: relink eth0$' 30 "$STARTVM_PID" || fail "the guest did not see its link come back"
wait_for_line "$SV_TMP/log2" '^TINYVM: lease eth0 ' 60 "$STARTVM_PID" || fail "the guest got no new lease"
sv_lease_check "$SV_TMP/log2" eth0 ip=172.29.0.7 router=172.29.0.1 "mac=$mac1"
assert_eq "$token" "$(tiny_line "$SV_TMP/log2" alive | sed 's/^boot=\([0-9a-f]*\) .*/\1/')" "the boot token after the resume"
# status.json knows the guest by the MAC it kept, and is ready once that
# MAC has its new lease (it stayed "booting" for good before).
st=$SV_TMP/state/vm1/status.json
for ((i = 0; i < 100; i++)); do
  [ "$(jq -r .phase "$st" 2>/dev/null)" = ready ] && break
  sleep 0.1
done
assert_eq "ready true $mac1 172.29.0.7/16" \
  "$(jq -r '"\(.phase) \(.resumed) \(.interfaces[0].vm_mac) \(.interfaces[0].addresses[0])"' "$st")" \
  "status.json after the resume onto the new address"
stop_startvm "$STARTVM_PID" "$SV_TMP/log2" 0

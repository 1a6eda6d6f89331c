#!/usr/bin/env bash
# A published port (docker run -p 18080:8080): a DNAT rule in the host
# namespace sends a client's connection to the container address, and a
# TCP listener in the guest answers it.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test netpub dnsmasq iptables socat

sv_host h 172.30.0.1/16
sv_container c h 172.30.0.2/16 172.30.0.1
# An outside client on another link of the host.
sv_container client h 198.51.100.2/24 198.51.100.1
ip -n "$(sv_ns h)" link set "$(ip -n "$(sv_ns h)" -o link show master hbr | awk -F': ' '/vclient/ {print $2}' | cut -d@ -f1)" nomaster
hclient=$(ip -n "$(sv_ns h)" -o link show | awk -F': ' '/vclient/ {print $2}' | cut -d@ -f1)
ip -n "$(sv_ns h)" addr add 198.51.100.1/24 dev "$hclient"
ip netns exec "$(sv_ns h)" iptables -t nat -A PREROUTING -p tcp --dport 18080 \
  -j DNAT --to-destination 172.30.0.2:8080 || skip "iptables cannot add a DNAT rule here"

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.listen=8080" "state_dir: $SV_TMP/state"
sv_vm_start c "$SV_TMP/log" "$SV_TMP/vm.yaml" web
wait_for_line "$SV_TMP/log" '^TINYVM: listening 8080' 120 "$STARTVM_PID" || fail "the guest did not come up"
reply=$(sv_in client timeout 20 socat -T 10 - TCP:198.51.100.1:18080 </dev/null | tr -d '\r')
info "client got: $reply"
[ "$reply" = "TINYVM-HELLO web" ] || fail "published port: '$reply'"
# docker stop: the guest powers off at the ACPI request; startvm exits 0.
stop_startvm "$STARTVM_PID" "$SV_TMP/log" 0
echo PASS

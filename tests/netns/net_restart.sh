#!/usr/bin/env bash
# A container restart in a Kubernetes pod: the network namespace outlives
# startvm.  The first run hands eth0 off (eth0 ends up in br0 without its
# address, the facts in br0's alias); the guest powers off and startvm
# exits 0.  A second startvm in the SAME namespace resumes that handoff:
# --dry-run shows it and changes nothing, and the guest gets exactly the
# original address, MAC, router, DNS and MTU again.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test restart dnsmasq

sv_host h 172.29.0.1/16
sv_container c h 172.29.0.2/16 172.29.0.1
sv_resolv c "nameserver 8.8.8.8
search corp.example"
mac=$(sv_in c cat /sys/class/net/eth0/address)

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "state_dir: $SV_TMP/state"

# run N: one startvm in the container until the guest powers off.
run ()
{
  sv_vm_start c "$SV_TMP/log$1" "$SV_TMP/vm.yaml" web-1
  wait_exit "$STARTVM_PID" 180 || fail "run $1: startvm did not exit after the guest's poweroff"
  [ "$EXIT_STATUS" = 0 ] || { tail -n 30 "$SV_TMP/log$1" >&2; fail "run $1: startvm exited $EXIT_STATUS"; }
  tiny_line "$SV_TMP/log$1" "lease eth0" >/dev/null || { tail -n 40 "$SV_TMP/log$1" >&2; fail "run $1: no lease"; }
  sv_lease_check "$SV_TMP/log$1" eth0 ip=172.29.0.2 mask=16 router=172.29.0.1 dns=8.8.8.8 \
    search=corp.example mtu=1500 "mac=$mac"
}

run 1
# What the restarted container finds: eth0 in br0 without its address,
# br0 with the bridge address and the alias, the tap gone with QEMU.
sv_in c ip -d link show br0 | grep "alias startvm1 eth0 $mac 172.29.0.2/16 mtu=1500 gw=172.29.0.1" >/dev/null ||
  fail "br0 lacks the handoff alias: $(sv_in c ip -d link show br0)"
sv_in c ip link show eth0 | grep "master br0" >/dev/null || fail "eth0 is not in br0 after run 1"
sv_in c ip -4 addr show eth0 | grep inet >/dev/null && fail "eth0 has an address after run 1"
sv_in c ip link show tap0 >/dev/null 2>&1 && fail "tap0 outlived QEMU"

# --dry-run in the resumed state: the resumed plan, and nothing changes.
# (the bridge's running timers left out: they tick between the dumps)
dump () { sv_dump c | sed -E 's/[a-z_]+_timer +[0-9.]+//g'; }
sv_settle c
dump >"$SV_TMP/before"
sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/dry" 2>"$SV_TMP/dry.err" ||
  fail "dry-run exited $?: $(cat "$SV_TMP/dry.err")"
dump >"$SV_TMP/after"
cmp -s "$SV_TMP/before" "$SV_TMP/after" ||
  fail "--dry-run changed the namespace: $(diff "$SV_TMP/before" "$SV_TMP/after")"
assert_line "$SV_TMP/dry" "^  eth0: mac $mac, 172\.29\.0\.2/16, gateway 172\.29\.0\.1, mtu 1500$" \
  "the dry-run does not hand off eth0's original address"
assert_line "$SV_TMP/dry" '^    resumed: already a port of br0' "the dry-run does not say it resumes"
assert_line "$SV_TMP/dry" '^ +[0-9]+\. tuntap add tap0 mtu 1500$' "no tap in the resumed plan"
assert_no_line "$SV_TMP/dry" '(addr del|link add br0|address [0-9a-f:]+$|link set eth0 master)' \
  "the resumed plan repeats a step already done"
assert_no_line "$SV_TMP/dry" 'addr add' "the resumed plan adds the bridge address again"
assert_line "$SV_TMP/dry" '^dhcp-host=.*,172\.29\.0\.2,' "dnsmasq would not hand out the original address"
json=$(sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run --format json) || fail "dry-run json"
grep -q '"resumed_from": "br0"' <<<"$json" || fail "the JSON dry-run does not say it resumes"

run 2
l1=$(tiny_line "$SV_TMP/log1" "lease eth0")
l2=$(tiny_line "$SV_TMP/log2" "lease eth0")
assert_eq "$l1" "$l2" "the restarted VM's lease differs"
assert_line "$SV_TMP/log2" '^TINYVM: route default via 172\.29\.0\.1 dev eth0' "no default route after the restart"
# Still one bridge address, eth0 still a port, no tap left.
n=$(sv_in c ip -4 -o addr show dev br0 | wc -l)
assert_eq 1 "$n" "br0 addresses after the restart"
sv_in c ip link show eth0 | grep "master br0" >/dev/null || fail "eth0 left br0"
sv_in c ip link show tap0 >/dev/null 2>&1 && fail "tap0 outlived the second QEMU"

# An alias whose port was changed by someone else (out of the bridge, a
# MAC that is neither its own nor the handoff's) is refused clearly
# (exit 3), not guessed at.  (Out of the bridge with the handoff's MAC is
# an unfinished handoff: tests/netns/net_resume_unfinished.sh.)
sv_in c ip link set eth0 nomaster
sv_in c ip link set eth0 address 02:00:00:00:00:99
sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/gone" 2>&1
rc=$?
assert_eq 3 "$rc" "exit status with br0's port gone"
assert_line "$SV_TMP/gone" 'br0 holds an earlier startvm.s handoff of eth0, but eth0 is not its port' \
  "no clear message with br0's port gone"
echo PASS

#!/usr/bin/env bash
# Many VM containers on one bridged network, started at the same moment
# (SV_DENSITY_N, default 16; the tiny guest under TCG, 128 MiB each):
#   - each guest gets its own container's lease (address, MAC, hostname),
#     and no dnsmasq ever offers or acknowledges another VM's MAC;
#   - all reach each other: every guest pings every other guest (one echo
#     at a time until the peer answers: peers boot at different speeds),
#     and the host side pings every guest;
#   - SIGTERM sent to every startvm at the same moment stops every guest
#     gracefully (ACPI power-off, exit 0), and nothing is left running.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/density.sh" || exit 1
sv_vm_test dens dnsmasq ping

n=${SV_DENSITY_N:-16}
# Generous: 16 TCG boots share 2 cores with whatever else runs.
boot_timeout=${SV_DENSITY_TIMEOUT:-420}

# Each guest's QEMU has about 240 MiB of RSS under TCG (the guest
# touches nearly all its 128 MiB, TCG's code cache and QEMU itself about
# as much; bench/density): say so instead of failing half-way when the
# machine cannot hold them.
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
[ "$avail" -ge $((n * 260)) ] || skip "needs about $((n * 260)) MiB free for $n guests, $avail MiB available"

sv_many_net "$n"
sv_many_start "$n" "tinyvm.mode=wait tinyvm.pingwait=$boot_timeout %peers"
info "started $n VMs"
sv_many_wait_leases "$n" "$boot_timeout" || fail "not every guest got a lease"
info "every guest has a lease after $(printf '%s\n' "${SV_MANY_LEASE_MS[@]}" | sort -n | tail -n 1) ms"
for ((i = 1; i <= n; i++)); do
  wait_for_line "$SV_TMP/vm$i.log" '^TINYVM: ready' "$boot_timeout" "${SV_MANY_PIDS[i]}" ||
    fail "guest $i did not reach ready"
done
ready_s=$((($(date +%s%N) - SV_MANY_GO_NS) / 1000000000))
info "all $n guests ready (pinged every peer) after ${ready_s}s"

for ((i = 1; i <= n; i++)); do
  log=$SV_TMP/vm$i.log
  mac=$(sv_many_mac "$i")
  sv_lease_check "$log" eth0 "ip=$(sv_many_ip "$i")" mask=24 "router=$SV_MANY_NET.1" \
    "mac=$mac" "hostname=vm$i"
  # This VM's dnsmasq answered this VM's MAC, and only it.
  assert_line "$SV_TMP/vm$i.err" "DHCPACK\(br0\) $(sv_many_ip "$i") $mac" "VM $i's dnsmasq never acknowledged its lease"
  others=$(grep -E 'DHCP(OFFER|ACK)\(br0\)' <"$SV_TMP/vm$i.err" | grep -v " $mac" || true)
  [ -z "$others" ] || fail "VM $i's dnsmasq answered another MAC: $others"
  for ((j = 1; j <= n; j++)); do
    [ "$j" = "$i" ] && continue
    assert_line "$log" "^TINYVM: ping $(sv_many_ip "$j") ok" "guest $i could not reach guest $j"
  done
done
for ((i = 1; i <= n; i++)); do
  ip netns exec "$(sv_ns h)" ping -c 1 -W 5 "$(sv_many_ip "$i")" >/dev/null ||
    fail "the host side gets no reply from guest $i"
done

# Stop them all at once, as `docker stop $(docker ps -q)` does.
t0=$(date +%s%N)
kill -TERM "${SV_MANY_PIDS[@]:1}"
for ((i = 1; i <= n; i++)); do
  wait_exit "${SV_MANY_PIDS[i]}" 180 || fail "startvm $i did not exit within 180 s of SIGTERM"
  [ "$EXIT_STATUS" = 0 ] || {
    tail -n 20 "$SV_TMP/vm$i.err" >&2
    fail "startvm $i exited $EXIT_STATUS after SIGTERM"
  }
done
info "all $n stopped after $((($(date +%s%N) - t0) / 1000000)) ms"
for ((i = 1; i <= n; i++)); do
  assert_line "$SV_TMP/vm$i.log" '^TINYVM: acpi-powerdown' "guest $i did not see the power button"
  assert_line "$SV_TMP/vm$i.err" '^startvm: the guest powered off after' "guest $i was not stopped gracefully"
  left=$(ip netns pids "$(sv_ns "c$i")")
  [ -z "$left" ] || fail "processes left in container $i: $(ps -o pid,args -p "${left//$'\n'/,}")"
done
assert_no_process "$SV_TMP/"
echo PASS

#!/usr/bin/env bash
# A guest that reboots (docs/operations.md: "A reboot inside the guest
# restarts the VM in the same QEMU"): startvm keeps running, QEMU and
# dnsmasq are the same processes (same pids), the guest gets its lease
# again from dnsmasq after the reboot (a second, identical TINYVM lease
# line and a second DHCPACK), and status.json says ready before, during
# (docs/status.md: "A guest that reboots and asks again changes nothing")
# and after the reboot: the file is the same, byte for byte (phase_since
# included), so even a short "booting" that polling would miss fails.  The reboot is the guest's own (`reboot -f` typed
# on its serial console, the tiny guest's shell after ready: the same
# reboot(2) as tinyvm.mode=reboot, once).  Then a SIGTERM stops it
# cleanly (exit 0, status stopped) and nothing is left running.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test reboot dnsmasq /usr/bin/python3

sv_host h 172.30.0.1/24
sv_container c h 172.30.0.2/24 172.30.0.1
state=$SV_TMP/state
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $state
console:
  vnc: false"
mkfifo "$SV_TMP/stdin"
# Held open read-write: the guest's console never sees end of file.
exec 3<>"$SV_TMP/stdin"
log=$SV_TMP/log
setsid ip netns exec "$(sv_ns c)" env ACCEL=tcg unshare --uts sh -c 'hostname rbvm && exec "$0" "$@"' \
  "$STARTVM" --config "$SV_TMP/vm.yaml" <"$SV_TMP/stdin" >"$log" 2>&1 &
pid=$!
on_exit _sv_kill_group "$pid"
sv_track_pid "$pid"

phase() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phase"])' "$state/rbvm/status.json" 2>/dev/null; }
leases() { tr -d '\r' <"$log" | grep -a -E '^TINYVM: lease eth0 '; }
acks() { tr -d '\r' <"$log" | grep -a -cE '^dnsmasq-dhcp\[[0-9]+\]: [0-9]+ DHCPACK\(br0\) 172\.30\.0\.2 '; }

wait_for_line "$log" '^TINYVM: ready$' 180 "$pid" || fail "the guest did not reach ready"
for ((i = 0; i < 100; i++)); do [ "$(phase)" = ready ] && break; sleep 0.1; done
assert_eq ready "$(phase)" "status.json's phase before the reboot"
lease1=$(leases)
assert_eq 1 "$(wc -l <<<"$lease1")" "lease lines before the reboot"
assert_eq 1 "$(acks)" "DHCPACKs before the reboot"
qemu=$(pgrep -P "$pid" qemu-system)
dnsmasq=$(pgrep -P "$pid" dnsmasq)
cp "$state/rbvm/status.json" "$SV_TMP/status.before"
[ -n "$qemu" ] && [ -n "$dnsmasq" ] || fail "QEMU ($qemu) or dnsmasq ($dnsmasq) is not startvm's child"

printf 'reboot -f\r' >&3
# The second boot's first line, then its lease and ready; status.json
# is read all along.
seen=
for ((i = 0; i < 1800; i++)); do
  p=$(phase)
  case " $seen " in *" $p "*) ;; *) seen="$seen $p" ;; esac
  [ "$(tr -d '\r' <"$log" | grep -a -c '^TINYVM: ready$')" -ge 2 ] && break
  _sv_alive "$pid" || fail "startvm ended during the reboot: $(tail -n 20 "$log")"
  sleep 0.1
done
[ "$i" -lt 1800 ] || fail "the guest did not come back ready after its reboot: $(tail -n 30 "$log")"
info "phases seen during the reboot:$seen"
assert_eq " ready" "$seen" "status.json's phases during the reboot"
leases >"$SV_TMP/leases"
assert_eq 2 "$(wc -l <"$SV_TMP/leases")" "lease lines after the reboot"
assert_eq "$lease1" "$(sed -n 2p "$SV_TMP/leases")" "the lease after the reboot"
assert_eq 2 "$(acks)" "DHCPACKs after the reboot (dnsmasq answered the rebooted guest)"
assert_eq "$qemu" "$(pgrep -P "$pid" qemu-system)" "QEMU's pid after the reboot"
assert_eq "$dnsmasq" "$(pgrep -P "$pid" dnsmasq)" "dnsmasq's pid after the reboot"
assert_eq ready "$(phase)" "status.json's phase after the reboot"
cmp "$SV_TMP/status.before" "$state/rbvm/status.json" >&2 ||
  fail "status.json changed across the reboot: $(cat "$SV_TMP/status.before") -> $(cat "$state/rbvm/status.json")"
assert_no_line "$log" '^startvm: (QEMU|dnsmasq) ' "startvm saw QEMU or dnsmasq end"

kill -TERM "$pid"
wait_exit "$pid" 60 || fail "startvm did not stop"
assert_eq 0 "$EXIT_STATUS" "startvm's exit status"
assert_eq stopped "$(phase)" "phase after the stop"
assert_line "$log" '^TINYVM: acpi-powerdown$' "the rebooted guest did not see the power button"
[ -z "$(ip netns pids "$(sv_ns c)")" ] || fail "processes left in the container: $(ip netns pids "$(sv_ns c)")"
assert_no_process "$SV_TMP/vm.yaml"
info "ok"

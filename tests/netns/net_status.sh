#!/usr/bin/env bash
# status.json and `startvm status` through a real boot, with startvm's
# output in a regular file opened without O_APPEND (`startvm > log 2>&1`,
# systemd's StandardOutput=file:): the VM is "booting" until dnsmasq
# acknowledges the lease of the VM's MAC, then "ready"; every dnsmasq line
# (DISCOVER, OFFER, REQUEST, ACK) is in the log, whole, beside QEMU's
# serial output; a SIGTERM makes it "stopped" with exit status 0.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test netst dnsmasq /usr/bin/python3

sv_host h 172.30.0.1/16
sv_container c h 172.30.0.2/16 172.30.0.1
mac=$(sv_in c cat /sys/class/net/eth0/address)
state=$SV_TMP/state
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $state
name: status-vm"
SV_WRAP=(ip netns exec "$(sv_ns c)" unshare --uts sh -c 'hostname stvm-1 && exec "$0" "$@"')
run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml"
sv_track_pid "$STARTVM_PID"

st() { "$STARTVM" status --state-dir "$state" "$@"; }
json() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$state/stvm-1/status.json" "$1"; }

# Before the lease: never ready.  Poll until ready, recording what was seen.
seen=
for ((i = 0; i < 1800; i++)); do
  out=$(st --ready 2>&1)
  rc=$?
  case $rc in
  0) break ;;
  1) case $out in "not ready: booting"*) seen="$seen booting" ;; esac ;;
  3) ;; # not written yet
  *) fail "startvm status --ready exited $rc: $out" ;;
  esac
  _sv_alive "$STARTVM_PID" || fail "startvm ended early: $(tail -5 "$SV_TMP/log")"
  sleep 0.1
done
[ "$rc" = 0 ] || fail "never ready: $out"
assert_eq "ready" "$out" "--ready's line"
case $seen in *booting*) ;; *) fail "never saw 'booting' before ready" ;; esac
grep -q '^TINYVM: lease eth0' <(tr -d '\r' <"$SV_TMP/log") || info "(ready before the guest printed its lease: expected, dnsmasq acks first)"

assert_eq ready "$(json 'd["phase"]')" "phase"
assert_eq "True" "$(json 'd["supervised"]')" "supervised"
assert_eq "status-vm" "$(json 'd["name"]')" "name"
assert_eq "stvm-1" "$(json 'd["container_id"]')" "container id (hostname outside a container)"
assert_eq "$mac" "$(json 'd["interfaces"][0]["vm_mac"]')" "the VM's MAC"
assert_eq "['172.30.0.2/16']" "$(json 'd["interfaces"][0]["addresses"]')" "addresses"
assert_eq "True" "$(json 'd["interfaces"][0]["lease_acked_at"].endswith("Z")')" "lease_acked_at"
assert_eq "True" "$(json 'd["phase_since"] >= d["interfaces"][0]["dhcp_discover_at"] >= d["qemu_started_at"] >= d["started_at"]')" "time order"
assert_eq "$state/stvm-1/vnc" "$(json 'd["vnc"]')" "vnc path"
assert_eq "tcg" "$(json 'd["accel"]')" "accel"
human=$(st) || fail "startvm status exited $?"
info "startvm status:"$'\n'"$human"
grep -q "phase:     ready since" <<<"$human" || fail "no ready line in: $human"
grep -q "eth0 .*172.30.0.2/16, VM MAC $mac, lease acknowledged" <<<"$human" || fail "no eth0 line"
st --json | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' || fail "--json is not JSON"
# The same file found as startvm finds it (vm.yaml's state_dir + an id).
"$STARTVM" status --config "$SV_TMP/vm.yaml" --ready stvm-1 >/dev/null || fail "--config ID did not find it"

wait_for_line "$SV_TMP/log" '^TINYVM: ready' 120 "$STARTVM_PID" || fail "the guest did not come up"
kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not stop"
assert_eq 0 "$EXIT_STATUS" "startvm's exit status"
assert_eq stopped "$(json 'd["phase"]')" "phase after the stop"
assert_eq 0 "$(json 'd["exit_status"]')" "exit_status"
out=$(st --ready)
assert_eq 1 "$?" "--ready after the stop"
assert_eq "not ready: stopped" "$out"

# dnsmasq's lines survived QEMU's output in the non-appending file.
tr -d '\r' <"$SV_TMP/log" >"$SV_TMP/log.clean"
for kind in DHCPDISCOVER DHCPOFFER DHCPREQUEST DHCPACK; do
  n=$(grep -cE "^dnsmasq-dhcp\[[0-9]+\]: [0-9]+ $kind\(br0\) " "$SV_TMP/log.clean")
  info "$kind lines: $n"
  [ "$n" -ge 1 ] || fail "no whole $kind line in the log"
done
# Every line that mentions dnsmasq starts with its name: nothing was
# written over the start of a line.
if grep -n 'dnsmasq' "$SV_TMP/log.clean" | grep -vE '^[0-9]+:(dnsmasq(-dhcp)?\[[0-9]+\]: |startvm: )'; then
  fail "damaged dnsmasq lines (above)"
fi
assert_line "$SV_TMP/log" '^dnsmasq\[[0-9]+\]: exiting on receipt of SIGTERM' "dnsmasq's last line"
assert_line "$SV_TMP/log" '^TINYVM: acpi-powerdown' "the guest's serial output"
echo PASS

#!/usr/bin/env bash
# dnsmasq's log lines reach startvm's output whole whatever that output is:
# a regular file opened without O_APPEND, an appending one, a pipe, a FIFO,
# a terminal (a pty from script(1)).  tests/tools/fake_qemu.py stands in
# for QEMU and makes a real DHCP exchange with the real dnsmasq through
# the tap and the bridge, printing its lease on stdout as a guest's serial
# console would (net_status.sh does the regular file with the tiny guest).
# Each output must hold dnsmasq's DHCPDISCOVER, OFFER, REQUEST and ACK
# lines, each starting a line, and the status must turn ready.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test dlog dnsmasq script /usr/bin/python3
sv_host h 172.23.0.1/16
sv_container c h 172.23.0.2/16 172.23.0.1
fake=$SV_SOURCE_DIR/tests/tools/fake_qemu.py
printf 'accel: tcg\nstate_dir: %s/state\nshutdown:\n  timeout: 1s\nqemu:\n  binary: %s\n' "$SV_TMP" "$fake" >"$SV_TMP/vm.yaml"
status=$SV_TMP/state/dlog-vm/status.json
cmd=(ip netns exec "$(sv_ns c)" env FAKE_QEMU_DHCP=1 FAKE_QEMU_HOLD=1 unshare --uts
  sh -c 'hostname dlog-vm && exec "$0" "$@"' "$STARTVM" --config "$SV_TMP/vm.yaml")

# run KIND OUT: start startvm with its output going to OUT through KIND,
# wait for ready, stop it, wait for everything to be written.
run() {
  local kind=$1 out=$2 i spid reader=
  rm -rf "$SV_TMP/state"
  case $kind in
  file) setsid "${cmd[@]}" >"$out" 2>&1 </dev/null & ;;
  append) : >"$out" && setsid "${cmd[@]}" >>"$out" 2>&1 </dev/null & ;;
  pipe) setsid "${cmd[@]}" 2>&1 </dev/null | cat >"$out" & ;;
  fifo)
    mkfifo "$SV_TMP/fifo"
    cat "$SV_TMP/fifo" >"$out" &
    reader=$!
    setsid "${cmd[@]}" >"$SV_TMP/fifo" 2>&1 </dev/null &
    ;;
  tty) setsid script -qfec "$(printf '%q ' "${cmd[@]}")" /dev/null >"$out" 2>&1 </dev/null & ;;
  esac
  local job=$!
  for ((i = 0; i < 600; i++)); do
    grep -q '"phase": "ready"' "$status" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '"phase": "ready"' "$status" 2>/dev/null || { cat "$out" >&2; fail "$kind: never ready"; }
  spid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$status")
  sv_track_pid "$spid"
  kill -TERM "$spid"
  for ((i = 0; i < 300; i++)); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$spid" 2>/dev/null && fail "$kind: startvm did not stop"
  # The fake QEMU has no QMP: no ACPI request reaches it, so the stop is a
  # hard one after shutdown.timeout, and QEMU's 0 on SIGTERM becomes 143.
  local st
  st=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["phase"], d["exit_status"])' "$status")
  assert_eq "stopped 143" "$st" "$kind: status.json's phase and exit status after the stop"
  wait "$job" 2>/dev/null
  local rc=$?
  # Where the job is startvm itself (not cat, not script), its status too.
  case $kind in file | append | fifo) assert_eq 143 "$rc" "$kind: startvm's exit status" ;; esac
  [ -z "$reader" ] || wait "$reader"
  rm -f "$SV_TMP/fifo"
}

for kind in file append pipe fifo tty; do
  out=$SV_TMP/out.$kind
  run "$kind" "$out"
  tr -d '\r' <"$out" >"$out.clean"
  grep -q '^FAKEQEMU: lease eth0 ip=172.23.0.2 ' "$out.clean" || { cat "$out.clean" >&2; fail "$kind: no lease line from the fake QEMU"; }
  for m in DHCPDISCOVER DHCPOFFER DHCPREQUEST DHCPACK; do
    grep -qE "^dnsmasq-dhcp\[[0-9]+\]: [0-9]+ $m\(br0\) " "$out.clean" ||
      { cat "$out.clean" >&2; fail "$kind: no whole $m line"; }
  done
  grep -qE '^dnsmasq\[[0-9]+\]: exiting on receipt of SIGTERM$' "$out.clean" || fail "$kind: no last line from dnsmasq"
  if grep -n 'dnsmasq' "$out.clean" | grep -vE '^[0-9]+:(dnsmasq(-dhcp)?\[[0-9]+\]: |startvm: )'; then
    fail "$kind: damaged dnsmasq lines (above)"
  fi
  info "$kind: $(grep -c '^dnsmasq' "$out.clean") dnsmasq lines, all whole"
done
echo PASS

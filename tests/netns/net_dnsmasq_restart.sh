#!/usr/bin/env bash
# dnsmasq dying while the VM runs (OOM killer, a crash, someone's kill):
# startvm logs it and starts it again, up to 3 times, then leaves the VM
# with the lease it has.  Here dnsmasq is killed as soon as it starts,
# before the guest asks for its lease: the guest still gets the right
# lease, from the restarted dnsmasq.  Three more kills exhaust the
# restarts; the VM keeps running and `docker stop` still stops it cleanly.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test dnsrs dnsmasq

sv_host h 172.27.0.1/16
sv_container c h 172.27.0.2/16 172.27.0.1
sv_resolv c "nameserver 8.8.8.8"
mac=$(sv_in c cat /sys/class/net/eth0/address)
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $SV_TMP/state"
log=$SV_TMP/log

# The dnsmasq running in the container other than OLD, waited for.
next_dnsmasq ()
{
  local old=${1:-} i p
  for ((i = 0; i < 100; i++)); do
    for p in $(ip netns pids "$(sv_ns c)"); do
      if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dnsmasq ] && [ "$p" != "$old" ]; then
        echo "$p"
        return 0
      fi
    done
    sleep 0.1
  done
  return 1
}

sv_vm_start c "$log" "$SV_TMP/vm.yaml" web-1
p=$(next_dnsmasq) || fail "no dnsmasq started"
kill -KILL "$p"
wait_for_line "$log" '^startvm: dnsmasq killed by signal 9 .*while the VM runs' 10 "$STARTVM_PID" ||
  fail "the first dnsmasq's death is not logged"
wait_for_line "$log" '^startvm: dnsmasq: restarted \(pid [0-9]+\)' 10 "$STARTVM_PID" ||
  fail "dnsmasq was not restarted"
tiny_line "$log" "lease eth0" >/dev/null &&
  fail "the guest had its lease before dnsmasq was killed: this run tests nothing"
wait_for_line "$log" 'TINYVM: ready' 180 "$STARTVM_PID" || fail "the guest did not come up"
sv_lease_check "$log" eth0 ip=172.27.0.2 mask=16 router=172.27.0.1 dns=8.8.8.8 "mac=$mac"

# Three more deaths: two more restarts, then none.  Each waits for the
# lines of its own death (the nth "killed" line, then the nth restart's
# line or the refusal), not the first restart's line, which is there
# already.
restarted='^startvm: dnsmasq: restarted \(pid [0-9]+\)$'
for n in 2 3 4; do
  old=$p
  p=$(next_dnsmasq "$old") || fail "no dnsmasq after restart $((n - 1))"
  kill -KILL "$p"
  wait_for_lines "$log" '^startvm: dnsmasq killed by signal 9 .*while the VM runs' "$n" 10 \
    "$STARTVM_PID" || fail "death $n is not logged"
  if [ "$n" -lt 4 ]; then
    wait_for_lines "$log" "$restarted" "$n" 10 "$STARTVM_PID" || fail "death $n: dnsmasq was not restarted"
    assert_line "$log" "^startvm: dnsmasq: restarted \\(pid $(next_dnsmasq "$p")\\)\$" \
      "death $n: the restart's line does not name the new dnsmasq"
  else
    wait_for_line "$log" '^startvm: dnsmasq: not restarting it again; the VM keeps its current lease$' 10 \
      "$STARTVM_PID" || fail "death $n: no word that the restarts are exhausted"
  fi
done
assert_eq 3 "$(_sv_count "$restarted" "$log")" "dnsmasq restarts"
# Nothing comes after the refusal: no late fourth restart.
sleep 1
assert_eq 3 "$(_sv_count "$restarted" "$log")" "dnsmasq restarts a second after the refusal"
next_dnsmasq "$p" >/dev/null 2>&1 && fail "a fifth dnsmasq was started"
_sv_alive "$STARTVM_PID" || fail "startvm ended when dnsmasq stayed down"

stop_startvm "$STARTVM_PID" "$log" 0
echo PASS

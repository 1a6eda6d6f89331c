#!/usr/bin/env bash
# A state directory that is not writable (a read-only volume): startvm
# still runs the VM (its sockets and dnsmasq.conf go to /run/startvm), the
# guest gets its lease, stderr says once that status is unavailable, and
# `startvm status --ready` fails with that reason (exit 3).  The read-only
# bind mount and the /run tmpfs live in a mount namespace of the test's
# own, entered with nsenter to ask as `docker exec` would.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test netro dnsmasq nsenter

sv_host h 172.29.0.1/16
sv_container c h 172.29.0.2/16 172.29.0.1
state=$SV_TMP/state
mkdir -p "$state"
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $state"
SV_WRAP=(ip netns exec "$(sv_ns c)" unshare -m --uts sh -c
  'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && mount -t tmpfs -o size=4m tmpfs /run &&
   hostname ro-vm && shift && exec "$@"' sh "$state")
run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml"
sv_track_pid "$STARTVM_PID"
wait_for_line "$SV_TMP/log" '^TINYVM: ready' 180 "$STARTVM_PID" || fail "the guest did not come up"
lease=$(tiny_line "$SV_TMP/log" "lease eth0")
grep -qw "ip=172.29.0.2" <<<"$lease" || fail "no lease: $lease"

n=$(grep -c 'status unavailable' "$SV_TMP/log")
assert_eq 1 "$n" "lines saying that status is unavailable"
assert_line "$SV_TMP/log" "^startvm: warning: status unavailable: state_dir is not writable \($state: Read-only file system\): the sockets and dnsmasq.conf go to /run/startvm instead"
assert_line "$SV_TMP/log" '^startvm: QMP socket: /run/startvm/ro-vm/qmp$'

# Asked from inside (the container's view): the reason, exit 3.
out=$(nsenter -t "$STARTVM_PID" -m -u "$STARTVM" status --ready --config "$SV_TMP/vm.yaml" 2>&1)
assert_eq 3 "$?" "status --ready with a read-only state dir"
assert_eq "startvm status: status unavailable: $state is not writable (Read-only file system), so startvm cannot keep $state/ro-vm/status.json there" "$out"
[ -z "$(ls -A "$state")" ] || fail "something was written in the read-only state dir: $(ls -A "$state")"

kill -TERM "$STARTVM_PID"
wait_exit "$STARTVM_PID" 60 || fail "startvm did not stop"
assert_eq 0 "$EXIT_STATUS" "exit status after a graceful stop"
echo PASS

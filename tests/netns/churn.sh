#!/usr/bin/env bash
# A pod whose VM container restarts all day: SV_CHURN_CYCLES (default 200)
# starts and stops of startvm in the SAME network namespace.  Every tenth
# cycle (20 of 200) boots the tiny guest and stops it gracefully (SIGTERM,
# ACPI power-off); the others run tests/tools/fake_qemu.py as qemu.binary,
# which takes the tap fd, gets its lease from the real dnsmasq through the
# real bridge and quits at once.  Every cycle: exit 0, the container's
# original address and MAC in the lease, nothing left running in the
# namespace.  Afterwards:
#   - the namespace's links, addresses, routes (all tables) and neighbours
#     are exactly the same after the last cycle as after the first (full
#     dumps; the bridge's running timers and the neighbours the kernel
#     makes and ages out by itself with traffic left out);
#   - the state directory holds the same files with the same modes;
#   - the mount table is unchanged (the test's namespaces and directory);
#   - QEMU (the fake) never inherits an fd beyond stdio and its tap, and
#     the real QEMU, dnsmasq and the supervising startvm hold the same fds
#     in the last real cycle as in the first;
#   - no process is left.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test churn dnsmasq
need /usr/bin/python3
fake=$SV_SOURCE_DIR/tests/tools/fake_qemu.py

cycles=${SV_CHURN_CYCLES:-200}
real_every=${SV_CHURN_REAL_EVERY:-10}

sv_host h 172.27.0.1/16
sv_container c h 172.27.0.2/16 172.27.0.1
sv_resolv c "nameserver 9.9.9.9"
mac=$(sv_in c cat /sys/class/net/eth0/address)
# 128 MiB: the guest touches all of its RAM while booting, and under TCG
# that is most of a boot's time.
SV_VM_ENV=(ACCEL=tcg MEMORY=128M)
tiny_yaml "$SV_TMP/real.yaml" "tinyvm.mode=wait" "state_dir: $SV_TMP/state
shutdown:
  timeout: 120s"
printf 'accel: tcg\nstate_dir: %s/state\nqemu:\n  binary: %s\n' "$SV_TMP" "$fake" >"$SV_TMP/fake.yaml"

dump ()
{
  local ns
  ns=$(sv_ns c)
  {
    ip -n "$ns" -d link show
    ip -n "$ns" -d addr show
    ip -n "$ns" route show table all
    # Neighbours but those the kernel makes and ages out by itself with
    # traffic (learned ones; NOARP ones for broadcast and multicast).
    ip -n "$ns" neigh show nud permanent
    ip -n "$ns" neigh show nud noarp | grep -vE '^(22[4-9]|23[0-9]|255)\.' || true
  } | sed -E 's/[a-z_]+_timer +[0-9.]+//g'
}
state_files ()
{
  (cd "$SV_TMP/state" && find . -printf '%p %y %m\n' | sort)
}
# fds of PID as "fd -> target", the varying inode numbers of pipes,
# sockets and anon inodes and the pids in paths left out.
fd_list ()
{
  local f
  for f in /proc/"$1"/fd/*; do
    printf '%s -> %s\n' "${f##*/}" "$(readlink "$f" | sed -E 's/:\[[0-9]+\]/:[]/; s/[0-9]+/N/g')"
  done | sort
}
# What any child of this shell inherits without startvm: the baseline for
# the fake's own fd list.
base_fds=$("$fake" | sed -n 's/^FAKEQEMU: fds //p')
tap_fd=10
expect_fds=$(tr ',' '\n' <<<"$base_fds,$tap_fd" | sort -n | uniq | paste -sd,)
# Mounts of this test's own (its namespaces, its directory): the rest of
# the machine's mount table moves with other tests and containers.
our_mounts () { grep -E -e "$SV_TAG" -e "$SV_TMP" /proc/self/mountinfo | awk '{ $1 = $2 = ""; print }' | sort; }
mounts0=$(our_mounts)

left_check ()
{
  local k=$1 pids
  pids=$(ip netns pids "$(sv_ns c)")
  [ -z "$pids" ] || fail "cycle $k: left running in the namespace: $(ps -o pid,args -p "${pids//$'\n'/,}")"
  sv_in c ip link show tap0 >/dev/null 2>&1 && fail "cycle $k: tap0 outlived QEMU"
  return 0
}

cycle_real ()
{
  local k=$1 log=$SV_TMP/real$1.log q d
  sv_vm_start c "$log" "$SV_TMP/real.yaml" web-1
  wait_for_line "$log" '^TINYVM: ready' 240 "$STARTVM_PID" || fail "cycle $k: the guest did not come up"
  sv_lease_check "$log" eth0 ip=172.27.0.2 mask=16 router=172.27.0.1 dns=9.9.9.9 "mac=$mac" hostname=web-1
  q=$(pgrep -f -P "$STARTVM_PID" qemu-system) || fail "cycle $k: no QEMU child"
  d=$(pgrep -P "$STARTVM_PID" -x dnsmasq) || fail "cycle $k: no dnsmasq child"
  { echo "# startvm"; fd_list "$STARTVM_PID"; echo "# qemu"; fd_list "$q"; echo "# dnsmasq"; fd_list "$d"; } \
    >"$SV_TMP/fds.real$k"
  kill -TERM "$STARTVM_PID"
  wait_exit "$STARTVM_PID" 120 || fail "cycle $k: startvm did not stop"
  [ "$EXIT_STATUS" = 0 ] || { tail -n 20 "$log" >&2; fail "cycle $k: startvm exited $EXIT_STATUS"; }
  assert_line "$log" '^startvm: the guest powered off after' "cycle $k: not a graceful stop"
  last_real=$k
}

cycle_fake ()
{
  local k=$1 log=$SV_TMP/fake.log rc fds
  # O_APPEND: dnsmasq appends through a description of its own, which a
  # plain > would let the others' writes overwrite.
  : >"$log"
  sv_in c env ACCEL=tcg FAKE_QEMU_DHCP=1 FAKE_QEMU_DHCP_TIMEOUT=60 unshare --uts \
    sh -c 'hostname web-1 && exec "$@"' sh timeout 120 "$STARTVM" --config "$SV_TMP/fake.yaml" \
    >>"$log" 2>&1 </dev/null
  rc=$?
  [ "$rc" = 0 ] || { tail -n 30 "$log" >&2; fail "cycle $k: startvm exited $rc"; }
  grep -q "^FAKEQEMU: lease eth0 ip=172.27.0.2 mask=16 router=172.27.0.1 hostname=web-1 mac=$mac " "$log" ||
    { tail -n 30 "$log" >&2; fail "cycle $k: no lease with the container's address and MAC"; }
  fds=$(sed -n 's/^FAKEQEMU: fds //p' "$log")
  [ "$fds" = "$expect_fds" ] || fail "cycle $k: QEMU inherited fds $fds, expected $expect_fds"
  grep -q '^FAKEQEMU: tap net0 fd=10 ifname=tap0 ' "$log" || fail "cycle $k: fd 10 is not tap0"
}

t0=$(date +%s)
for ((k = 1; k <= cycles; k++)); do
  if [ $(((k - 1) % real_every)) = 0 ]; then
    cycle_real "$k"
    n_real=$((${n_real:-0} + 1))
  else
    cycle_fake "$k"
  fi
  left_check "$k"
  if [ "$k" = 1 ]; then
    sv_settle c
    dump >"$SV_TMP/dump.first"
    state_files >"$SV_TMP/state.first"
  fi
  [ $((k % 20)) = 0 ] && info "$k cycles ($n_real with the guest) after $(($(date +%s) - t0)) s"
done
sv_settle c
dump >"$SV_TMP/dump.last"
state_files >"$SV_TMP/state.last"
info "$cycles cycles ($n_real with the guest) in $(($(date +%s) - t0)) s"

diff "$SV_TMP/dump.first" "$SV_TMP/dump.last" >&2 ||
  fail "the namespace after the last cycle differs from after the first"
grep -q 'alias startvm1 eth0' "$SV_TMP/dump.last" || fail "the dump lacks br0's handoff record (a vacuous comparison)"
diff "$SV_TMP/state.first" "$SV_TMP/state.last" >&2 ||
  fail "the state directory after the last cycle differs from after the first"
diff <(echo "$mounts0") <(our_mounts) >&2 || fail "the mount table changed"
grep -q "/run/netns/$(sv_ns c) " <<<"$mounts0" || fail "the mount list lacks the container's namespace (a vacuous comparison)"
diff "$SV_TMP/fds.real1" "$SV_TMP/fds.real$last_real" >&2 ||
  fail "startvm, QEMU or dnsmasq hold other fds in cycle $last_real than in cycle 1"
assert_no_process "$SV_TMP/"
echo PASS

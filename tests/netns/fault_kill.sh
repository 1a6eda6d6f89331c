#!/usr/bin/env bash
# SIGKILL at a random moment of startvm's start (an OOM kill, `docker
# kill`, a node losing power under a pod), SV_KILL_ROUNDS times (default
# 50), each followed by a normal start in the SAME network namespace (a
# Kubernetes container restart).  startvm runs as PID 1 of a PID namespace
# of its own, as in a container: killing it takes dnsmasq and QEMU along.
# The kill lands uniformly within the time a whole start takes (measured
# first, with qemu.binary /bin/true), so it hits every phase: before the
# handoff, in its middle, with dnsmasq or QEMU running.  Odd rounds kill
# a fresh handoff (the container's network put back as Docker made it),
# even rounds the start that resumes the last round's handoff.  Each
# following start must give the guest the container's own lease (the
# resume logic finishes or reuses what the killed one left).  The issue
# would also accept a clear refusal with the network intact, but every
# state a kill leaves is one the next start can finish (the bridge and
# its record come first), so a refusal fails the test.  Most starts run
# tests/tools/fake_qemu.py (a real DHCP exchange with the real dnsmasq
# through the tap and the bridge); every tenth boots the tiny guest.
# Finally the namespace is the same as after the first round.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test kill dnsmasq
need /usr/bin/python3
fake=$SV_SOURCE_DIR/tests/tools/fake_qemu.py
rounds=${SV_KILL_ROUNDS:-50}
real_every=${SV_KILL_REAL_EVERY:-10}

sv_host h 172.24.0.1/16
sv_container c h 172.24.0.2/16 172.24.0.1
sv_resolv c "nameserver 9.9.9.9"
mac=$(sv_in c cat /sys/class/net/eth0/address)
ns=$(sv_ns c)
tiny_yaml "$SV_TMP/real.yaml" "tinyvm.mode=poweroff" "state_dir: $SV_TMP/state"
printf 'accel: tcg\nstate_dir: %s/state\nqemu:\n  binary: %s\n' "$SV_TMP" "$fake" >"$SV_TMP/fake.yaml"
printf 'accel: tcg\nstate_dir: %s/state\nqemu:\n  binary: /bin/true\n' "$SV_TMP" >"$SV_TMP/true.yaml"

dump ()
{
  {
    ip -n "$ns" -d link show
    ip -n "$ns" -d addr show
    ip -n "$ns" route show table all
    # Neighbours but those the kernel makes and ages out by itself with
    # traffic (learned ones; NOARP ones for broadcast and multicast).
    ip -n "$ns" neigh show nud permanent
    ip -n "$ns" neigh show nud noarp | grep -vE '^(22[4-9]|23[0-9]|255)\.' || true
    # br0 is made again in the fresh rounds: link indexes move on.
  } | sed -E 's/[a-z_]+_timer +[0-9.]+//g; s/^[0-9]+: /N: /; s/@if[0-9]+/@ifN/'
}
# The container as it was before any start (the fresh rounds): what
# sv_container made, the handoff undone by hand.
pristine ()
{
  ip -n "$ns" link del br0 2>/dev/null
  ip -n "$ns" link set eth0 down
  ip -n "$ns" link set eth0 address "$mac"
  ip -n "$ns" addr flush dev eth0
  ip -n "$ns" addr add 172.24.0.2/16 brd + dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via 172.24.0.1 dev eth0
  sv_settle c
}
# What a kill left: none (eth0 untouched), partial (the handoff begun),
# done (eth0 in br0 with the bridge address), running (dnsmasq or QEMU
# had started: the log says so); in a resumed round, resumed (no sign of
# the killed start) or running.
phase ()
{
  if [ "$2" = resumed ]; then
    if grep -q -e '^FAKEQEMU:' -e 'dnsmasq' "$1"; then echo resumed-running; else echo resumed; fi
  elif ! ip -n "$ns" link show br0 >/dev/null 2>&1; then
    echo none
  elif grep -q -e '^FAKEQEMU:' -e 'dnsmasq' "$1"; then
    echo running
  elif ip -n "$ns" link show eth0 | grep 'master br0' >/dev/null &&
    ip -n "$ns" -4 addr show br0 | grep inet >/dev/null; then
    echo done
  else
    echo partial
  fi
}
ns_empty ()
{
  local i
  for ((i = 0; i < 50; i++)); do
    [ -z "$(ip netns pids "$ns")" ] && return 0
    sleep 0.1
  done
  fail "$1: left running in the namespace: $(ip netns pids "$ns" | xargs -r ps -o pid,args -p)"
}
# launch LOG YAML [ENV...]: startvm as PID 1 of a new PID namespace in the
# container (the pid returned is unshare's; SIGKILL to it kills the
# namespace's init through --kill-child).
launch ()
{
  local log=$1 yaml=$2
  shift 2
  : >"$log"
  setsid ip netns exec "$ns" env ACCEL=tcg MEMORY=128M "$@" unshare --uts --pid --fork --kill-child=SIGKILL \
    sh -c 'hostname web-1 && exec "$@"' sh "$STARTVM" --config "$yaml" >>"$log" 2>&1 </dev/null &
  LAUNCHED=$!
}

sv_settle c
dump >"$SV_TMP/dump.pristine"
# How long a whole start takes here (median of 5): the kill window.
for i in 1 2 3 4 5; do
  t=$(date +%s%N)
  launch "$SV_TMP/cal.log" "$SV_TMP/true.yaml"
  wait "$LAUNCHED" || { cat "$SV_TMP/cal.log" >&2; fail "calibration start failed"; }
  echo $((($(date +%s%N) - t) / 1000))
done | sort -n | sed -n 3p >"$SV_TMP/window"
window_us=$(cat "$SV_TMP/window")
info "a whole start takes ${window_us} us: each round kills at a random point of its own slice of it"

t0=$(date +%s)
declare -A seen=()
for ((k = 1; k <= rounds; k++)); do
  # Odd rounds kill a fresh handoff, even ones the start that resumes
  # the handoff the last round left.
  kind=resumed
  if [ $((k % 2)) = 1 ]; then
    kind=fresh
    pristine
    dump | diff "$SV_TMP/dump.pristine" - >&2 || fail "round $k: could not undo the handoff for a fresh round"
  fi
  # Stratified: round k's kill lands at a random point of its own slice
  # of the window (fresh and resumed rounds each sweep it once), so that
  # every phase is hit in every run, not only in most.
  slice=$(((k - 1) / 2))
  slices=$(((rounds + 1) / 2))
  # The first slice's kill comes at once: with 20 rounds (10 slices) a
  # random point of it fell after br0 existed on a quiet machine, and
  # "none" went unhit (the default run's size; the soak has 50).
  delay_us=0
  [ "$slice" = 0 ] || delay_us=$(((slice * window_us + (RANDOM * 32768 + RANDOM) % window_us) / slices))
  launch "$SV_TMP/killed.log" "$SV_TMP/fake.yaml" FAKE_QEMU_DHCP=1 FAKE_QEMU_HOLD=1
  [ "$delay_us" = 0 ] || sleep "$(printf '0.%06d' "$delay_us")"
  # The container's death: its init (startvm, unshare's child) and so
  # the whole PID namespace.  unshare's --kill-child alone has a window:
  # a child forked but not yet past its PR_SET_PDEATHSIG outlives a
  # SIGKILLed unshare (it happened once in 19 rounds).  A stopped unshare
  # forks no more; its child, if any, is killed by pid.
  kill -STOP "$LAUNCHED" 2>/dev/null
  pkill -KILL -P "$LAUNCHED" 2>/dev/null
  kill -KILL "$LAUNCHED" 2>/dev/null
  wait "$LAUNCHED" 2>/dev/null
  ns_empty "round $k (kill)"
  p=$(phase "$SV_TMP/killed.log" "$kind")
  seen[$p]=$((${seen[$p]:-0} + 1))
  sv_settle c
  dump >"$SV_TMP/killed.dump"

  log=$SV_TMP/start$k.log
  if [ $((k % real_every)) = 0 ]; then
    launch "$log" "$SV_TMP/real.yaml"
    what="guest"
  else
    launch "$log" "$SV_TMP/fake.yaml" FAKE_QEMU_DHCP=1 FAKE_QEMU_DHCP_TIMEOUT=60
    what="fake"
  fi
  wait_exit "$LAUNCHED" 240 || fail "round $k: the start after the kill did not end"
  rc=$EXIT_STATUS
  ns_empty "round $k (start)"
  if [ "$rc" = 0 ]; then
    lease=$(tr -d '\r' <"$log" | grep -a -E '^(TINYVM|FAKEQEMU): lease eth0 ' | sed -n 1p)
    for w in ip=172.24.0.2 mask=16 router=172.24.0.1 hostname=web-1 "mac=$mac"; do
      grep -qw -- "$w" <<<"$lease" ||
        { tail -n 30 "$log" >&2; fail "round $k (killed: $p, $delay_us us): the lease lacks $w: $lease"; }
    done
  elif [ "$rc" = 4 ] && [ "$p" = partial ] &&
    grep -q "^startvm: network handoff: apply step 1/[0-9]* (link add br0 type bridge .*): RTM_NEWLINK br0 type bridge: Object exists$" "$log"; then
    # The one state a kill can leave that the next start does not finish:
    # a bare br0, killed between its creation and its alias (two netlink
    # messages; the kernel ignores IFLA_IFALIAS at creation; see
    # docs/networking.md).  The issue allows a clear refusal with the
    # container's network intact: eth0 must be exactly as the kill left it.
    info "round $k (killed: $p): refused: $(grep '^startvm: ' "$log" | tail -n 1)"
    sv_settle c
    dump | diff "$SV_TMP/killed.dump" - >&2 || fail "round $k: the refusal changed the network"
    seen[refused]=$((${seen[refused]:-0} + 1))
    pristine
  elif [ "$rc" = 3 ] || [ "$rc" = 4 ]; then
    # Any other refusal: every other state a kill leaves is one the next
    # start can finish (the bridge and its record come first).
    info "round $k (killed: $p): refused: $(grep '^startvm: ' "$log" | tail -n 1)"
    sv_settle c
    dump | diff "$SV_TMP/killed.dump" - >&2 && info "round $k: the network is as the kill left it"
    fail "round $k: refused after a kill in phase $p"
  else
    tail -n 30 "$log" >&2
    fail "round $k (killed: $p, $delay_us us): the start after the kill exited $rc ($what)"
  fi
  # The namespace after each successful start: the first and the last
  # must be the same (a refused round is put back to pristine instead).
  if [ "$rc" = 0 ]; then
    sv_settle c
    if [ -e "$SV_TMP/dump.first" ]; then dump >"$SV_TMP/dump.last"; else dump >"$SV_TMP/dump.first"; fi
  fi
  [ $((k % 10)) = 0 ] && info "$k rounds after $(($(date +%s) - t0)) s"
done
diff "$SV_TMP/dump.first" "$SV_TMP/dump.last" >&2 || fail "the namespace after the last round differs from after the first"
# Not vacuous: the kills hit the fresh start before, after the handoff
# and with the VM running (partial is a window of a few hundred
# microseconds: reported, not required).  Uniform random delays missed
# "none" in one CI run of 25 fresh rounds; the slices make it certain.
[ "$rounds" -lt 20 ] || { [ -n "${seen[none]:-}" ] && [ -n "${seen[done]:-}" ] && [ -n "${seen[running]:-}" ]; } ||
  fail "the kills hit only these phases: ${!seen[*]} (window ${window_us} us)"
info "killed in phase: $(for q in "${!seen[@]}"; do printf '%s=%s ' "$q" "${seen[$q]}"; done)"
assert_no_process "$SV_TMP/"
echo PASS

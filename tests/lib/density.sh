# Many VM containers on one bridged network, started at the same moment
# (tests/density/*.sh and bench/density).  Load after common.sh and
# netns.sh, and after sv_vm_test (or sv_netns_init + tmpdir).
#
#   sv_many_net N           host "h" (10.77.0.1/24, the gateway) and
#                           containers c1..cN at 10.77.0.(10+i)/24
#   sv_many_ip I            10.77.0.(10+I)
#   sv_many_start N APPEND  one startvm per container, each waiting for
#                           the same go file; APPEND is the guest's kernel
#                           command line (%i in it becomes the VM's number,
#                           %peers the other VMs' addresses as
#                           tinyvm.ping words).  Sets SV_MANY_PIDS[i],
#                           SV_MANY_GO_NS (when the go file appeared,
#                           CLOCK_REALTIME ns; SV_MANY_GO_UPTIME_CS: in
#                           /proc/uptime's 10 ms units).  The serial console goes
#                           to $SV_TMP/vm<i>.log, startvm's and dnsmasq's
#                           lines to $SV_TMP/vm<i>.err: as with Docker's
#                           two log streams, a guest line is never cut by
#                           a dnsmasq line written in its middle
#   sv_many_wait_leases N TIMEOUT
#                           wait until every guest printed its lease; sets
#                           SV_MANY_LEASE_MS[i] (ms from go to the line
#                           being seen, polled every 50 ms)
#   sv_many_mac I           container I's original eth0 MAC

SV_MANY_NET=10.77.0
SV_MANY_MEMORY=${SV_MANY_MEMORY:-128M}
SV_MANY_PIDS=()
SV_MANY_LEASE_MS=()
SV_MANY_MACS=()

sv_many_ip ()
{
  echo "$SV_MANY_NET.$((10 + $1))"
}

sv_many_net ()
{
  local n=$1 i
  sv_host h "$SV_MANY_NET.1/24"
  for ((i = 1; i <= n; i++)); do
    sv_container "c$i" h "$(sv_many_ip "$i")/24" "$SV_MANY_NET.1"
    SV_MANY_MACS[i]=$(sv_in "c$i" cat /sys/class/net/eth0/address)
  done
}

sv_many_mac ()
{
  echo "${SV_MANY_MACS[$1]}"
}

sv_many_start ()
{
  local n=$1 append=$2 i j peers a go=$SV_TMP/go
  rm -f "$go"
  for ((i = 1; i <= n; i++)); do
    peers=
    for ((j = 1; j <= n; j++)); do
      [ "$j" = "$i" ] || peers+=" tinyvm.ping=$(sv_many_ip "$j")"
    done
    a=${append//%i/$i}
    a=${a//%peers/${peers# }}
    tiny_yaml "$SV_TMP/vm$i.yaml" "$a" "state_dir: $SV_TMP/state$i
shutdown:
  timeout: 120s"
    # Each waits for the go file (10 ms polls), so all start within a
    # few ms of each other however long the loop that launches them takes.
    SV_WRAP=(ip netns exec "$(sv_ns "c$i")" env ACCEL=tcg MEMORY="$SV_MANY_MEMORY" unshare --uts
      sh -c 'go=$1 err=$2; while [ ! -e "$go" ]; do sleep 0.01; done
        hostname "$0" && shift 2 && exec "$@" 2>>"$err"' "vm$i" "$go" "$SV_TMP/vm$i.err")
    run_startvm_bg "$SV_TMP/vm$i.log" --config "$SV_TMP/vm$i.yaml"
    sv_track_pid "$STARTVM_PID"
    SV_MANY_PIDS[i]=$STARTVM_PID
  done
  SV_MANY_GO_NS=$(date +%s%N)
  touch "$go"
  # The same moment on the clock of /proc/PID/stat's start times.
  local up
  read -r up _ </proc/uptime
  SV_MANY_GO_UPTIME_CS=${up/./}
}

sv_many_wait_leases ()
{
  local n=$1 timeout=$2 i left now
  local -a done_=()
  left=$n
  while [ "$left" -gt 0 ]; do
    now=$(date +%s%N)
    for ((i = 1; i <= n; i++)); do
      [ -z "${done_[i]:-}" ] || continue
      if grep -aq '^TINYVM: lease eth0' "$SV_TMP/vm$i.log" 2>/dev/null; then
        done_[i]=1
        SV_MANY_LEASE_MS[i]=$(((now - SV_MANY_GO_NS) / 1000000))
        left=$((left - 1))
      elif ! kill -0 "${SV_MANY_PIDS[i]}" 2>/dev/null; then
        tail -n 20 "$SV_TMP/vm$i.log" "$SV_TMP/vm$i.err" >&2
        info "VM $i ended before its lease"
        return 1
      fi
    done
    if [ $(((now - SV_MANY_GO_NS) / 1000000000)) -ge "$timeout" ]; then
      info "timed out after ${timeout}s: $left guest(s) without a lease"
      return 1
    fi
    [ "$left" -gt 0 ] && sleep 0.05
  done
  return 0
}

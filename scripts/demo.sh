#!/usr/bin/env bash
# The startvm demo, on a fresh Debian 12 machine, as root:
#   1. installs what is needed (scripts/setup.sh), builds startvm (build/)
#      and the tiny guest (build/tiny);
#   2. makes a throwaway "container": a network namespace whose eth0 is
#      172.30.0.2/24 with gateway 172.30.0.1 (a veth whose other end sits in
#      a second, "host side" namespace), its own resolv.conf and hostname;
#   3. runs startvm there (ACCEL=tcg, examples/tiny/vm.yaml): the VM takes
#      over the container's address, MAC, gateway, DNS and hostname;
#   4. shows the guest's DHCP lease, pings and connects to the guest at the
#      container's address from the host side;
#   5. stops it with SIGTERM (what `docker stop` sends) and removes
#      everything it made, also when interrupted;
#   6. starts startvm-manager on a private podman service, creates a VM
#      through its API and prints the URL and password
#      (scripts/demo-manager.sh).
# Steps 2-5 touch nothing of the machine's own network namespace; step 6
# runs real podman containers on podman's default network.
#
# Environment: BUILD_DIR (default build/) is where startvm and the guest
# are built.  DEMO_PREBUILT=1 skips step 1's package install and build and
# uses the startvm already in BUILD_DIR, whatever its build type (the tests
# run the demo this way on their own build: tests/e2e/demo_smoke.sh); the
# tiny guest is still built there if missing (images/tiny/build.sh returns
# at once when it is up to date).  DEMO_MANAGER=0 skips step 6.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
  echo "demo: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, taps, bridges)"

# BUILD_DIR: where startvm and the guest are built (default build/).
build=$(realpath -m "${BUILD_DIR:-build}")
if [ "${DEMO_PREBUILT:-0}" = 1 ]; then
  say "Using the startvm already built in $build (DEMO_PREBUILT=1)"
  [ -x "$build/startvm" ] || die "DEMO_PREBUILT=1, but there is no $build/startvm"
else
  say "Installing packages (scripts/setup.sh)"
  bash scripts/setup.sh
  say "Building startvm ($build)"
  if ! out=$(cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo 2>&1 &&
    cmake --build "$build" -j"$(nproc)" 2>&1); then
    echo "$out" | tail -n 30 >&2
    die "building startvm failed"
  fi
fi
startvm=$build/startvm

say "Building the tiny guest ($build/tiny)"
bash images/tiny/build.sh "$build/tiny"

ctr=svdemo-ctr-$$  # the "container"
hst=svdemo-hst-$$  # the host side of its network
work=$(mktemp -d /tmp/svdemo.XXXXXX)
pid=
tailpid=

cleanup() {
  set +e
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # startvm leads its own process group: QEMU and dnsmasq go with it.
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  [ -z "$tailpid" ] || kill "$tailpid" 2>/dev/null
  ip netns del "$ctr" 2>/dev/null
  ip netns del "$hst" 2>/dev/null
  rm -rf "/etc/netns/$ctr" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "Making the container network: $ctr (eth0 172.30.0.2/24, gw 172.30.0.1)"
ip netns add "$hst"
ip netns add "$ctr"
ip -n "$hst" link add veth-ctr type veth peer name eth0 netns "$ctr"
ip -n "$hst" addr add 172.30.0.1/24 dev veth-ctr
ip -n "$hst" link set veth-ctr up
ip -n "$hst" link set lo up
ip -n "$ctr" link set lo up
ip -n "$ctr" link set eth0 up
ip -n "$ctr" addr add 172.30.0.2/24 dev eth0
ip -n "$ctr" route add default via 172.30.0.1
# `ip netns exec` bind-mounts this over /etc/resolv.conf: the container's DNS.
mkdir -p "/etc/netns/$ctr"
printf 'nameserver 172.30.0.1\nsearch demo.example\n' >"/etc/netns/$ctr/resolv.conf"
ip -n "$ctr" -br link show eth0
ip -n "$ctr" -br addr show eth0
ip -n "$ctr" route show

# With a network that startvm cannot hand off yet, fall back to a VM
# without network, and say so.
# examples/tiny/vm.yaml, with the guest's paths made absolute and the
# state under our throwaway directory.
cfg=$work/vm.yaml
sed -e "s|build/tiny/|$build/tiny/|" -e "s|^state_dir: .*|state_dir: $work/state|" \
  examples/tiny/vm.yaml >"$cfg"
networked=1
if ! ip netns exec "$ctr" env ACCEL=tcg "$startvm" --config "$cfg" --dry-run >"$work/plan.txt" 2>&1 ||
  ! grep -q dnsmasq "$work/plan.txt"; then
  echo "demo: startvm plans no network handoff here yet:" >&2
  tail -n 5 "$work/plan.txt" >&2
  echo "demo: falling back to a VM without network" >&2
  networked=0
  printf 'network:\n  interfaces: []\n' >>"$cfg"
fi

say "Running startvm in $ctr (ACCEL=tcg, examples/tiny/vm.yaml)"
sed -n '/^[a-z]/,$p' "$cfg"
log=$work/startvm.log
# unshare -u: the container's own hostname, which the VM takes over.
setsid ip netns exec "$ctr" unshare -u sh -c \
  'hostname demo-vm && exec env ACCEL=tcg "$0" --config "$1"' "$startvm" "$cfg" \
  >"$log" 2>&1 </dev/null &
pid=$!
# Show startvm's and the guest's lines while it boots (dnsmasq's DHCP
# log stays in the log file).
show() { grep --line-buffered -a -E '^(startvm|TINYVM):' | tr -d '\r' | sed -u 's/^/  | /'; }
tail -n +1 -f "$log" 2>/dev/null > >(show) &
tailpid=$!
for _ in $(seq 1200); do
  grep -aq 'TINYVM: ready' "$log" && break
  kill -0 "$pid" 2>/dev/null || die "startvm ended early (see above)"
  sleep 0.1
done
grep -aq 'TINYVM: ready' "$log" || die "the guest did not come up in 120 s"
sleep 0.3
kill "$tailpid" 2>/dev/null
wait "$tailpid" 2>/dev/null || true

if [ "$networked" = 1 ]; then
  say "The guest's DHCP lease (the container's identity)"
  grep -a 'TINYVM: lease\|TINYVM: nolease\|TINYVM: hostname' "$log" | tr -d '\r'
  say "From the host side: ping 172.30.0.2"
  ip netns exec "$hst" ping -c 3 -W 2 172.30.0.2 || echo "demo: ping failed" >&2
  say "From the host side: connect to 172.30.0.2:8080"
  ip netns exec "$hst" socat -T 5 - TCP:172.30.0.2:8080,connect-timeout=5 </dev/null ||
    echo "demo: connect failed" >&2
else
  say "The guest is up (no network in this build of startvm)"
fi

say "Stopping: SIGTERM to startvm (as docker stop does)"
kill -TERM "$pid"
set +e
wait "$pid"
status=$?
set -e
pid=
sleep 0.2
sed -n '/TINYVM: ready/,$p' "$log" | sed 1d | show
echo "startvm exited with status $status"
say "Done; cleaning up $ctr and $hst"

# The management container: the manager on a private podman service, a VM
# created through its API (scripts/demo-manager.sh; DEMO_MANAGER=0 skips it,
# DEMO_MANAGER_KEEP=1 keeps it running until Ctrl-C).
if [ "${DEMO_MANAGER:-1}" != 0 ]; then
  say "The management container (scripts/demo-manager.sh)"
  bash scripts/demo-manager.sh "$build"
fi

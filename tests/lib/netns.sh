# Helpers for network-namespace tests: a "docker-like" network made of a
# host-side namespace (bridge + gateway address) and per-"container"
# namespaces with a veth named eth0, an address, a default route, a
# resolv.conf (/etc/netns/NAME/resolv.conf, which `ip netns exec` mounts)
# and IPv6 off (as Docker does for containers on IPv4-only networks).
# Everything created is recorded and removed by sv_netns_cleanup, which
# sv_netns_init installs as the EXIT trap (or registers with on_exit when
# tests/lib/common.sh is loaded first): tests clean up even when they fail.
#
#   sv_netns_init TAG           prefix names with sv<TAG><pid>
#   sv_host NAME CIDR           host namespace with bridge "hbr" at CIDR (gateway)
#   sv_container NAME HOST CIDR GW [IFNAME] [MTU]
#   sv_calico NAME HOST ADDR    /32 pod, gateway 169.254.1.1 via proxy ARP
#   sv_host6 NAME CIDR6         IPv6 on HOST's bridge (the gateway), forwarding on
#   sv_container6 NAME CIDR6 GW6 [IFNAME]
#                               IPv6 address (and default route) for a container
#   sv_beyond6 HOST ADDR6       an address "beyond the gateway" (on HOST's lo)
#   sv_ra_listener NAME HOST    a neighbour that accepts RAs (sv_ra_learnt reads it)
#   sv_dump NAME                ip -d link/addr + routes (for byte-for-byte checks)
#   sv_settle NAME              wait for carrier on up links before a dump
#   sv_track_pid PID            killed (and waited for) at cleanup
#   sv_skip MSG                 exit 77, or 1 under CI=true

SV_NS_LIST=()
SV_PID_LIST=()
SV_ETC_LIST=()

sv_skip ()
{
  if [ "${CI:-}" = true ]; then
    echo "FAIL (prerequisite missing under CI): $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

sv_fail ()
{
  echo "FAIL: $*" >&2
  exit 1
}

# The cleanup itself (no exit): processes first, then namespaces, then
# the /etc/netns files.
_sv_netns_cleanup_body ()
{
  set +e
  local p ns d
  for p in "${SV_PID_LIST[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${SV_PID_LIST[@]}"; do
    # Not necessarily our child (started through ip netns exec ... &):
    # wait until it is gone, at most 5 s.
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  for ns in "${SV_NS_LIST[@]}"; do
    # Anything still running inside (dnsmasq, QEMU) goes before the netns.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns delete "$ns" 2>/dev/null
  done
  for d in "${SV_ETC_LIST[@]}"; do rm -rf "$d"; done
  return 0
}

sv_netns_cleanup ()
{
  local rc=$?
  _sv_netns_cleanup_body
  exit $rc
}

sv_netns_init ()
{
  [ "$(id -u)" = 0 ] || sv_skip "needs root for network namespaces"
  command -v ip >/dev/null || sv_skip "iproute2 (ip) missing"
  SV_TAG="sv${1}$$"
  # tests/lib/common.sh owns the EXIT trap when it is loaded: register
  # with it instead of replacing it.
  if declare -F on_exit >/dev/null; then
    on_exit _sv_netns_cleanup_body
  else
    trap sv_netns_cleanup EXIT
    trap 'exit 130' INT TERM
  fi
  ip netns add "${SV_TAG}probe" 2>/dev/null || sv_skip "cannot create network namespaces"
  ip netns delete "${SV_TAG}probe"
}

# sv_vm_test TAG [PROGRAM...]: the preamble of a test that boots the tiny
# guest in container namespaces (after sourcing common.sh and this file):
# root, network namespaces, startvm, the tiny guest and each PROGRAM are
# there (skip, or fail under CI=true), $SV_TMP, and the namespaces tagged
# TAG go at exit.
sv_vm_test ()
{
  local tag=$1
  shift
  need_root
  need_netns
  need_startvm
  need_tiny
  [ $# -eq 0 ] || need "$@"
  tmpdir
  sv_netns_init "$tag"
}

sv_ns ()
{
  echo "${SV_TAG}$1"
}

sv_track_pid ()
{
  SV_PID_LIST+=("$1")
}

_sv_netns_add ()
{
  local ns=$1
  ip netns add "$ns"
  SV_NS_LIST+=("$ns")
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
}

# sv_host NAME CIDR: the "docker host" side of one network.
sv_host ()
{
  local ns
  ns=$(sv_ns "$1")
  _sv_netns_add "$ns"
  ip -n "$ns" link add hbr type bridge
  ip -n "$ns" addr add "$2" brd + dev hbr
  ip -n "$ns" link set hbr up
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
}

# sv_container NAME HOST CIDR GW [IFNAME] [MTU]: a container namespace
# (created on first use) with a veth IFNAME (default eth0) plugged into
# HOST's bridge.  Call again with eth1 and another HOST for a second
# network.  CIDR "-" gives no IPv4 address (an IPv6-only container, with
# sv_container6).
sv_container ()
{
  local name=$1 host=$2 cidr=$3 gw=$4 ifname=${5:-eth0} mtu=${6:-1500}
  local ns hns peer
  ns=$(sv_ns "$name")
  hns=$(sv_ns "$host")
  ip netns list | grep -w "^$ns" >/dev/null || _sv_netns_add "$ns"
  peer="v${name}${ifname#eth}$$"
  peer=${peer:0:15}
  ip link add "$peer" mtu "$mtu" netns "$hns" type veth peer name "$ifname" mtu "$mtu" netns "$ns"
  ip -n "$hns" link set "$peer" master hbr up
  [ "$cidr" = - ] || ip -n "$ns" addr add "$cidr" brd + dev "$ifname"
  ip -n "$ns" link set "$ifname" up
  if [ -n "$gw" ] && [ "$gw" != - ] && ! ip -n "$ns" route show default | grep . >/dev/null; then
    ip -n "$ns" route add default via "$gw" dev "$ifname"
  fi
}

# ---- IPv6 (namespaces start with IPv6 off, as Docker's IPv4-only
# networks do; these turn it on where a test wants it) ----

_sv_ipv6_on ()
{
  local ns=$1 ifname=${2:-}
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=0
  [ -z "$ifname" ] || ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifname.disable_ipv6=0"
}

# sv_host6 NAME CIDR6: HOST's bridge gets CIDR6 (the gateway, e.g.
# fd00:30::1/64, as Docker's and podman's IPv6 networks have it) and
# forwards IPv6.  nodad: the gateway is usable at once.
sv_host6 ()
{
  local ns
  ns=$(sv_ns "$1")
  _sv_ipv6_on "$ns" hbr
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
  ip -n "$ns" addr add "$2" dev hbr nodad
}

# sv_beyond6 HOST ADDR6: an address beyond the gateway (HOST's lo) that a
# guest reaches only through its default route.
sv_beyond6 ()
{
  ip -n "$(sv_ns "$1")" addr add "$2/128" dev lo
}

# sv_container6 NAME CIDR6 GW6 [IFNAME]: IPv6 for a container made by
# sv_container: the address (nodad, permanent, as a runtime configures it)
# and a default route via GW6 ("-" for none).
sv_container6 ()
{
  local name=$1 cidr=$2 gw=$3 ifname=${4:-eth0} ns
  ns=$(sv_ns "$name")
  _sv_ipv6_on "$ns" "$ifname"
  ip -n "$ns" addr add "$cidr" dev "$ifname" nodad
  if [ "$gw" != - ] && ! ip -n "$ns" -6 route show default | grep . >/dev/null; then
    ip -n "$ns" -6 route add default via "$gw" dev "$ifname"
  fi
}

# sv_ra_listener NAME HOST: a neighbour on HOST's network (no address of
# its own but a link-local one) that accepts router advertisements and
# would autoconfigure from them: what another container on a network
# with a router advertising would learn.  sv_ra_learnt NAME prints the
# routes and addresses it learnt from RAs (empty: none).
sv_ra_listener ()
{
  local name=$1 host=$2 ns hns peer
  ns=$(sv_ns "$name")
  hns=$(sv_ns "$host")
  _sv_netns_add "$ns"
  _sv_ipv6_on "$ns"
  peer="v${name}$$"
  peer=${peer:0:15}
  ip link add "$peer" netns "$hns" type veth peer name eth0 netns "$ns"
  ip -n "$hns" link set "$peer" master hbr up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_ra=2
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.autoconf=1
  ip -n "$ns" link set eth0 up
}

sv_ra_learnt ()
{
  local ns
  ns=$(sv_ns "$1")
  ip -n "$ns" -6 route show proto ra
  ip -n "$ns" -6 addr show scope global
}

# sv_resolv NAME TEXT: the container's /etc/resolv.conf.
sv_resolv ()
{
  local ns
  ns=$(sv_ns "$1")
  mkdir -p "/etc/netns/$ns"
  SV_ETC_LIST+=("/etc/netns/$ns")
  printf '%s\n' "$2" >"/etc/netns/$ns/resolv.conf"
}

# sv_calico NAME HOST ADDR: a Calico-style pod.  The pod has ADDR/32 and
# reaches 169.254.1.1 as an on-link gateway; the host side answers ARP
# for it (proxy ARP) and routes ADDR/32 to the pod's veth.  The node's own
# address is 192.168.200.1.
sv_calico ()
{
  local name=$1 host=$2 addr=$3
  local ns hns peer
  ns=$(sv_ns "$name")
  hns=$(sv_ns "$host")
  _sv_netns_add "$ns"
  if ! ip netns list | grep -w "^$hns" >/dev/null; then
    # The node: an address of its own (on lo) and a default route out of
    # an uplink.  Proxy ARP answers for 169.254.1.1 only when the node
    # routes it out of another interface than the pod's.
    _sv_netns_add "$hns"
    ip -n "$hns" addr add 192.168.200.1/32 dev lo
    ip -n "$hns" link add upl type veth peer name uplp
    ip -n "$hns" link set uplp up
    ip -n "$hns" link set upl up
    ip -n "$hns" route add default dev upl
  fi
  peer="cali${name}$$"
  peer=${peer:0:15}
  ip link add "$peer" netns "$hns" type veth peer name eth0 netns "$ns"
  ip netns exec "$hns" sysctl -qw "net.ipv4.conf.$peer.proxy_arp=1"
  ip netns exec "$hns" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$hns" link set "$peer" up
  ip -n "$hns" route add "$addr/32" dev "$peer" scope link
  ip -n "$ns" addr add "$addr/32" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
  ip -n "$ns" route add default via 169.254.1.1 dev eth0
}

# sv_dump NAME: everything a handoff may change, for byte-for-byte
# comparisons.  Link statistics are left out (traffic changes them).
sv_dump ()
{
  local ns
  ns=$(sv_ns "$1")
  ip -n "$ns" -d link show
  ip -n "$ns" -d addr show
  ip -n "$ns" route show table all
  ip -n "$ns" neigh show nud permanent
}

# sv_settle NAME: wait (at most 3 s) until no up link of NAME is without
# carrier.  A veth set up again reports NO-CARRIER until the kernel's
# linkwatch runs (up to a second later): compare dumps after that.
sv_settle ()
{
  local i
  for i in $(seq 30); do
    ip -n "$(sv_ns "$1")" link show up | grep NO-CARRIER >/dev/null || return 0
    sleep 0.1
  done
}

# sv_in NAME CMD...: run CMD inside the container namespace.
sv_in ()
{
  local ns
  ns=$(sv_ns "$1")
  shift
  ip netns exec "$ns" "$@"
}

# ---- with tests/lib/common.sh: the tiny guest in a "container" ----

# sv_vm_start NAME LOG YAML [HOSTNAME]: start startvm inside container
# NAME (in the background, its own process group, killed at exit), with
# HOSTNAME as the container's hostname (own UTS namespace).  Sets
# STARTVM_PID.  Extra environment: set SV_VM_ENV=(VAR=value ...).
sv_vm_start ()
{
  local name=$1 log=$2 yaml=$3 host=${4:-$1}
  SV_WRAP=(ip netns exec "$(sv_ns "$name")" env "${SV_VM_ENV[@]}" unshare --uts
    sh -c 'hostname "$0" && exec "$@"' "$host")
  run_startvm_bg "$log" --config "$yaml"
  sv_track_pid "$STARTVM_PID"
}
SV_VM_ENV=(ACCEL=tcg)

# sv_lease_check LOG IFACE WORD...: the guest's lease line for IFACE has
# every WORD (key=value) in it.
sv_lease_check ()
{
  local log=$1 ifc=$2 lease w
  shift 2
  lease=$(tiny_line "$log" "lease $ifc")
  [ -n "$lease" ] || { tr -d "\r" <"$log" | grep -v -e "sent size" -e "requested options" | tail -n 40 >&2; fail "no lease for $ifc in $log"; }
  info "lease $ifc: $lease"
  for w in "$@"; do
    grep -qw -- "$w" <<<"$lease" || fail "lease $ifc lacks $w: $lease"
  done
}

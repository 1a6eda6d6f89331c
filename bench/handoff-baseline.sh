#!/usr/bin/env bash
# The shell baseline for bench/handoff: the network handoff for eth0 done
# the way the original RancherVM entrypoint did it, with `ip` and a
# backgrounded dnsmasq, then exec QEMU (bench/handoff's stand-in).  Run it inside the
# container's network namespace:
#   bench/handoff-baseline.sh RUN_DIR QEMU
# It performs the same steps, in the same order, as startvm's plan
# (startvm --dry-run shows them), writes an equivalent dnsmasq.conf, and
# starts dnsmasq without waiting for it, as startvm does.
set -euo pipefail
run_dir=$1
qemu=${2:-/bin/true}
mkdir -p "$run_dir"

# Observe: address, MAC, MTU, gateway, DNS, hostname.
read -r _ _ _ cidr _ < <(ip -4 -o addr show dev eth0 scope global)
addr=${cidr%/*}
prefix=${cidr#*/}
mac=$(cat /sys/class/net/eth0/address)
mtu=$(cat /sys/class/net/eth0/mtu)
gw=$(ip -4 route show default dev eth0 | awk '{print $3; exit}')
dns=$(awk '$1 == "nameserver" && $2 ~ /^[0-9.]+$/ {printf ",%s", $2}' /etc/resolv.conf)
host=$(hostname)

# A derived locally administered MAC for the container NIC, and the bridge
# address (the sibling subnet, as startvm's plan computes it for /16).
newmac=$(printf '%02x:%s' $(( (0x${mac%%:*} | 2) & ~1 )) "$(tr 0-9a-f 5-9a-f0-4 <<<"${mac#*:}")")
IFS=. read -r a b c d <<<"$addr"
ip32=$(( (a << 24) | (b << 16) | (c << 8) | d ))
br32=$(( ip32 ^ (1 << (32 - prefix)) ))
braddr="$(( (br32 >> 24) & 255 )).$(( (br32 >> 16) & 255 )).$(( (br32 >> 8) & 255 )).$(( br32 & 255 ))"
brprefix=$(( prefix - 1 ))

ip link add br0 mtu "$mtu" type bridge
ip link set eth0 down
ip link set eth0 address "$newmac"
ip addr del "$cidr" dev eth0
ip link set eth0 master br0
ip tuntap add dev tap0 mode tap vnet_hdr
ip link set tap0 mtu "$mtu"
ip link set tap0 master br0
ip link set eth0 up
ip link set tap0 up
ip link set br0 up
ip addr add "$braddr/$brprefix" dev br0

cat >"$run_dir/dnsmasq.conf" <<CONF
port=0
no-resolv
no-hosts
leasefile-ro
log-facility=-
pid-file
bind-interfaces
interface=br0
dhcp-authoritative
dhcp-ignore=tag:!known
dhcp-range=set:br0,$addr,static,255.254.0.0,infinite
dhcp-host=$mac,set:vm0,$addr,$host,infinite
dhcp-option=tag:vm0,3,$gw
dhcp-option=tag:vm0,6$dns
dhcp-option=tag:vm0,26,$mtu
CONF
dnsmasq --keep-in-foreground --conf-file="$run_dir/dnsmasq.conf" 2>/dev/null &

exec "$qemu" -netdev tap,id=net0,ifname=tap0,script=no,downscript=no -device "virtio-net-pci,netdev=net0,mac=$mac"

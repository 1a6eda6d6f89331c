#!/usr/bin/env bash
# The VM container on a dual-stack podman network (podman network create
# --ipv6): the guest gets both of the container's addresses (the ones
# podman inspect reports), and the host reaches it over IPv6.  The
# container needs IPv6 forwarding in its namespace, and /proc/sys is
# read-only there: --sysctl gives it.  podman turns on the host's IPv6
# forwarding for such a network: the test puts the host's value back.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
podman_prereqs
need_tiny
tmpdir

fwd=/proc/sys/net/ipv6/conf/all/forwarding
fwd_before=$(cat "$fwd")
restore_fwd() { echo "$fwd_before" >"$fwd"; }
on_exit restore_fwd

podman_images
name=svip6$$
net=svip6net$$
# Subnets from the pid, so parallel runs do not collide.
n=$(($$ % 200 + 20))
on_exit podman network rm -f "$net"
podman network create --ipv6 --subnet "10.$n.7.0/24" --subnet "fd00:$n:7::/64" "$net" >/dev/null ||
  fail "podman network create --ipv6 failed"

podman_run "$name" --network "$net" --sysctl net.ipv6.conf.all.forwarding=1 \
  -e MEMORY=256M -e ACCEL=tcg "$SV_PODMAN_TINY"
podman_wait_log "$name" '^TINYVM: ready$' 240 || fail "the guest did not boot"
podman logs "$name" >"$SV_TMP/log" 2>&1
ip4=$(podman inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$name")
ip6=$(podman inspect -f "{{(index .NetworkSettings.Networks \"$net\").GlobalIPv6Address}}" "$name")
info "podman says: $ip4 $ip6"
[ -n "$ip4" ] && [ -n "$ip6" ] || fail "podman reports no dual-stack addresses"
assert_line "$SV_TMP/log" "^TINYVM: lease eth0 ip=$ip4 " "the guest did not get the container's IPv4 address"
assert_line "$SV_TMP/log" "^TINYVM: lease6 eth0 ip6=$ip6/128 dad=ok" "the guest did not get the container's IPv6 address"
grep -q 'route6 default via fe80::' <(tr -d '\r' <"$SV_TMP/log") || fail "the guest has no IPv6 default route"
reply=$(timeout 20 bash -c "exec 3<>/dev/tcp/$ip6/8080 && cat <&3" 2>/dev/null | tr -d '\r')
case "$reply" in
TINYVM-HELLO*) info "reached the guest at [$ip6]:8080: $reply" ;;
*) fail "no TINYVM-HELLO from [$ip6]:8080 (got '$reply')" ;;
esac
podman stop -t 60 "$name" >/dev/null || fail "podman stop failed"
info "ok"

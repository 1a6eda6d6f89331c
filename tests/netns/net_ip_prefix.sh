#!/usr/bin/env bash
# IP_PREFIX: observe waits (netlink notifications) until an address with
# the prefix appears on some interface, then hands off only that one; it
# times out with exit 3 and a clear message.
set -euo pipefail
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
source "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
TOOL="$SV_BINARY_DIR/sv-nettool"
[ -x "$TOOL" ] || sv_skip "sv-nettool not built"
sv_netns_init netpfx

sv_host h 172.30.0.1/16
sv_container c h 172.30.0.2/16 172.30.0.1
sv_container c h 172.30.0.3/16 "" eth1

# The address arrives on eth1 2 s after observe starts, as an overlay
# network agent would add it.
( sleep 2; ip -n "$(sv_ns c)" addr add 10.42.7.9/16 dev eth1 ) &
sv_track_pid $!
start=$(date +%s%N)
out=$(sv_in c "$TOOL" observe --ip-prefix 10.42 --wait-ms 20000)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$out"
echo "waited ${ms} ms"
grep -qx "iface eth1 mac .* addr 10.42.7.9/16 gateway 0.0.0.0" <<<"$out" \
  || grep "^iface eth1 .* addr 10.42.7.9/16 " <<<"$out" >/dev/null || sv_fail "10.42 address not handed off"
[ "$(grep -c '^iface' <<<"$out")" = 1 ] || sv_fail "more than the matching interface handed off"
[ "$ms" -ge 1500 ] || sv_fail "returned before the address existed (${ms} ms)"
[ "$ms" -lt 10000 ] || sv_fail "took ${ms} ms to notice the address"

# Already there: no wait.  "10.4" must not match 10.42.x.x.
out=$(sv_in c "$TOOL" observe --ip-prefix 10.42.0.0/16 --wait-ms 1000)
grep -q "addr 10.42.7.9/16" <<<"$out" || sv_fail "CIDR form did not match"

set +e
start=$(date +%s%N)
msg=$(sv_in c "$TOOL" observe --ip-prefix 10.4 --wait-ms 700 2>&1)
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
set -e
echo "$msg (${ms} ms)"
[ $rc = 3 ] || sv_fail "timeout: exit $rc, expected 3"
grep -q "network.ip_prefix 10.4: no address appeared within 700ms" <<<"$msg" \
  || sv_fail "timeout message: $msg"
[ "$ms" -ge 650 ] || sv_fail "timed out early (${ms} ms)"
echo PASS

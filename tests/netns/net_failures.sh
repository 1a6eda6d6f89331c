#!/usr/bin/env bash
# What must leave the container's network untouched, byte for byte:
#   --dry-run;
#   exit 3 before any change: no /dev/net/tun, no CAP_NET_ADMIN, no
#     CAP_NET_RAW (with DHCP), dnsmasq not on PATH, qemu.binary not a
#     program (a directory);
#   exit 4 after a failure halfway (a link named tap0 already exists, so
#     the tap cannot be made after the bridge was): everything undone.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
need_root
need_netns
need_startvm
need setpriv unshare mount
tmpdir
sv_netns_init netfail

sv_host h 172.30.0.1/16
sv_container c h 172.30.0.2/16 172.30.0.1
sv_in c ip route add 10.99.0.0/16 via 172.30.0.9 metric 7
printf 'accel: tcg\nstate_dir: %s/state\n' "$SV_TMP" >"$SV_TMP/vm.yaml"
before=$(sv_dump c)

unchanged ()
{
  sv_settle c
  diff <(echo "$before") <(sv_dump c) >&2 || fail "$1: the container's network changed"
}

# run WANT_RC WANT_TEXT WHAT CMD...: CMD (startvm inside the container)
# exits WANT_RC saying WANT_TEXT, and nothing changed.
run ()
{
  local want_rc=$1 want=$2 what=$3 rc
  shift 3
  timeout 60 "$@" >"$SV_TMP/out" 2>&1
  rc=$?
  info "$what: exit $rc: $(tail -n 1 "$SV_TMP/out")"
  [ "$rc" = "$want_rc" ] || { cat "$SV_TMP/out" >&2; fail "$what: exit $rc, expected $want_rc"; }
  grep -q -- "$want" "$SV_TMP/out" || fail "$what: message does not say '$want'"
  unchanged "$what"
}
NS=$(sv_ns c)

run 0 "Network steps" "--dry-run" \
  ip netns exec "$NS" "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run
run 3 "/dev/net/tun" "no /dev/net/tun" \
  ip netns exec "$NS" unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh \
  "$STARTVM" --config "$SV_TMP/vm.yaml"
run 3 "CAP_NET_ADMIN" "no CAP_NET_ADMIN" \
  ip netns exec "$NS" setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
  "$STARTVM" --config "$SV_TMP/vm.yaml"
run 3 "CAP_NET_RAW" "no CAP_NET_RAW" \
  ip netns exec "$NS" setpriv --inh-caps=-net_raw --bounding-set=-net_raw \
  "$STARTVM" --config "$SV_TMP/vm.yaml"
# A PATH with QEMU but no dnsmasq.
mkdir -p "$SV_TMP/bin"
ln -s "$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)" "$SV_TMP/bin/"
run 3 "dnsmasq: not found" "dnsmasq missing" \
  ip netns exec "$NS" env PATH="$SV_TMP/bin" "$STARTVM" --config "$SV_TMP/vm.yaml"
printf 'accel: tcg\nstate_dir: %s/state\nqemu:\n  binary: %s\n' "$SV_TMP" "$SV_TMP" >"$SV_TMP/noqemu.yaml"
run 3 "not found on PATH" "qemu.binary not a program" \
  ip netns exec "$NS" "$STARTVM" --config "$SV_TMP/noqemu.yaml"

# Halfway: tap0 is taken by a veth, so step 6 (the tap) fails after the
# container NIC was taken down, re-addressed and put in br0.
sv_in c ip link add tap0 type veth peer name tap0p
before=$(sv_dump c)
run 4 "apply step 6/11 (tuntap add tap0" "tap0 taken" \
  ip netns exec "$NS" "$STARTVM" --config "$SV_TMP/vm.yaml"
echo PASS

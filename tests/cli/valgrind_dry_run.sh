#!/usr/bin/env bash
# valgrind on the --dry-run path (config, observe, plan, print) finds no
# leaks and no memory errors: with no network, with a network namespace
# holding two interfaces and DHCP (dnsmasq.conf, steps), and as JSON.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_startvm
need_netns
need valgrind
tmpdir
sed "s|STATE_DIR|$SV_TMP/state|" "$SV_SOURCE_DIR/tests/data/plan/basic.yaml" >"$SV_TMP/basic.yaml"
sed "s|STATE_DIR|$SV_TMP/state|" "$SV_SOURCE_DIR/tests/data/plan/net.yaml" >"$SV_TMP/net.yaml"
sed "s|STATE_DIR|$SV_TMP/state|g" "$SV_SOURCE_DIR/tests/data/plan/hostile.yaml" >"$SV_TMP/hostile.yaml"
vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
  --show-leak-kinds=definite,indirect --error-exitcode=99)

check() {
  local name=$1
  shift
  "$@" >"$SV_TMP/$name.out" 2>"$SV_TMP/$name.err"
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$SV_TMP/$name.err" >&2
    fail "$name: exit $rc under valgrind (99: leak or memory error)"
  fi
  grep -q '^QEMU command:$\|"qemu_argv"' "$SV_TMP/$name.out" || fail "$name: no plan printed"
  info "$name: clean"
}

check basic unshare -n "${vg[@]}" "$STARTVM" --config "$SV_TMP/basic.yaml" --dry-run -- -cdrom x.iso
check hostile unshare -n "${vg[@]}" "$STARTVM" --config "$SV_TMP/hostile.yaml" --dry-run --format json -- '$(id)'

# With interfaces: two veths in a fresh namespace.
ns=svplanvg$$
ip netns add "$ns" || skip "cannot create network namespaces"
on_exit ip netns delete "$ns"
ip -n "$ns" link add eth0 type veth peer name eth1
ip -n "$ns" addr add 172.17.0.2/16 dev eth0
ip -n "$ns" addr add 10.244.1.17/32 dev eth1
ip -n "$ns" link set eth0 up
ip -n "$ns" link set eth1 up
ip -n "$ns" route add default via 172.17.0.1
ip -n "$ns" route add 10.96.0.0/12 via 172.17.0.1
check net-text ip netns exec "$ns" "${vg[@]}" "$STARTVM" --config "$SV_TMP/net.yaml" --dry-run
check net-json ip netns exec "$ns" "${vg[@]}" "$STARTVM" --config "$SV_TMP/net.yaml" --dry-run --format json
grep -q '^interface=br1$' "$SV_TMP/net-text.out" || fail "net-text: expected two bridges in the plan"

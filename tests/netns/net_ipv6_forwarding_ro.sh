#!/usr/bin/env bash
# The IPv6 forwarding preflight: a dual-stack container whose IPv6 default
# route the VM takes over needs net.ipv6.conf.all.forwarding=1 in the
# container's namespace.  Where it is 0 and /proc/sys is read-only (a
# container run without --sysctl net.ipv6.conf.all.forwarding=1, as Docker
# mounts /proc/sys), startvm exits 3 with one line that says so and how to
# fix it, before it changes anything: the namespace's links, addresses,
# routes, forwarding and nftables ruleset are as before, the state
# directory holds no run directory, and no dnsmasq or QEMU runs.  No guest
# boots (the kernel named does not exist: startvm must stop before QEMU).
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
need_root
need_netns
need_startvm
need dnsmasq nft unshare mount
tmpdir
sv_netns_init ip6ro

sv_host h 172.30.0.1/24
sv_host6 h fd00:30::1/64
sv_container c h 172.30.0.2/24 172.30.0.1
sv_container6 c fd00:30::2/64 fd00:30::1
sv_in c sysctl -qw net.ipv6.conf.all.forwarding=0
mkdir -p "$SV_TMP/state"
printf 'state_dir: %s/state\nboot:\n  kernel: %s/no-such-vmlinuz\naccel: tcg\n' "$SV_TMP" "$SV_TMP" >"$SV_TMP/vm.yaml"

dump() {
  sv_settle c
  sv_dump c
  ip -n "$(sv_ns c)" -6 route show table all | grep -v '^local\|^multicast\|^anycast'
  sv_in c cat /proc/sys/net/ipv6/conf/all/forwarding
  sv_in c nft list ruleset
}

# The plan does need forwarding here (else the check below proves nothing).
sv_in c "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run >"$SV_TMP/dry.txt" 2>&1 ||
  fail "--dry-run exited $?: $(cat "$SV_TMP/dry.txt")"
grep -qF '. sysctl net.ipv6.conf.all.forwarding=1' "$SV_TMP/dry.txt" ||
  fail "the plan has no forwarding step: $(cat "$SV_TMP/dry.txt")"

dump >"$SV_TMP/before"
# /proc/sys read-only in a mount namespace of startvm's own, as Docker
# mounts it; the forwarding file itself is the container namespace's.
sv_in c unshare -m sh -c 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys &&
  ! (echo 1 >/proc/sys/net/ipv6/conf/all/forwarding) 2>/dev/null && exec "$0" --config "$1"' \
  "$STARTVM" "$SV_TMP/vm.yaml" >"$SV_TMP/out" 2>&1 </dev/null
rc=$?
cat "$SV_TMP/out" >&2
assert_eq 3 "$rc" "exit status with forwarding needed and /proc/sys read-only"
assert_eq "startvm: /proc/sys/net/ipv6/conf/all/forwarding is 0 and read-only here: the VM's IPv6 default route needs forwarding in the container's namespace (docker run --sysctl net.ipv6.conf.all.forwarding=1): Read-only file system" \
  "$(cat "$SV_TMP/out")" "startvm's output"
dump >"$SV_TMP/after"
diff "$SV_TMP/before" "$SV_TMP/after" >&2 || fail "the refused start changed the container's namespace"
[ -z "$(ls -A "$SV_TMP/state")" ] || fail "the refused start left files in the state dir: $(ls -A "$SV_TMP/state")"
[ -z "$(ip netns pids "$(sv_ns c)")" ] || fail "processes left in the container namespace: $(ip netns pids "$(sv_ns c)")"
assert_no_process "$SV_TMP/vm.yaml"
assert_no_process "$SV_TMP/state"
info "ok"

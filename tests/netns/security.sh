#!/usr/bin/env bash
# What other users and planted links can do to a VM container's state:
#   1. The VM's run directory (<state_dir>/<container id>) is 0700, so
#      its sockets (qmp, vnc, startvm.qmp) and files are out of reach of
#      other users: an unprivileged user cannot connect to a socket or
#      read a file there.
#   2. dnsmasq runs as an unprivileged user with no capabilities beyond
#      CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE (none
#      inheritable or ambient).
#   3. Symbolic links planted in the run directory (where startvm writes
#      dnsmasq.conf, the cloud-init seed and QEMU's sockets) are never
#      followed: their targets keep their content and modes, and the VM
#      starts; a run directory that is itself a link is refused (exit 3)
#      and its target gets nothing.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test sec dnsmasq setpriv /usr/bin/python3

sv_host h 172.23.0.1/16
sv_container c h 172.23.0.2/16 172.23.0.1
mac=$(sv_in c cat /sys/class/net/eth0/address)
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait" "state_dir: $SV_TMP/state
cloud_init:
  user_data: |
    #cloud-config
    hostname: sec"
# The run directory's name: the container id as startvm finds it.
sv_in c unshare --uts sh -c 'hostname web-1 && exec "$@"' sh "$STARTVM" --config "$SV_TMP/vm.yaml" \
  --dry-run >"$SV_TMP/dry" || fail "dry-run failed"
run=$(sed -n 's/^Run directory: //p' "$SV_TMP/dry")
[ -n "$run" ] || fail "no run directory in the dry-run"

# Victims outside the state directory, and links to them where startvm
# writes.
victim=$SV_TMP/victim
mkdir -p "$victim/dir" "$run"
echo "precious" >"$victim/file"
echo "keep me" >"$victim/dir/keep"
chmod 0751 "$victim/dir"
victims ()
{
  (cd "$victim" && find . -printf '%p %y %m %s\n' | sort)
  cat "$victim/file" "$victim/dir/keep"
}
victims >"$SV_TMP/victims.before"
for f in dnsmasq.conf qmp vnc startvm.qmp status.json .status.json.tmp status.json.tmp; do
  ln -s "$victim/file" "$run/$f"
done
ln -s "$victim/dir" "$run/cidata"

sv_vm_start c "$SV_TMP/vm.log" "$SV_TMP/vm.yaml" web-1
pid=$STARTVM_PID
wait_for_line "$SV_TMP/vm.log" '^TINYVM: ready' 240 "$pid" || fail "the guest did not come up with links planted"
sv_lease_check "$SV_TMP/vm.log" eth0 ip=172.23.0.2 "mac=$mac"
assert_line "$SV_TMP/vm.log" '^TINYVM: cidata-line user-data: hostname: sec' "the guest did not get its seed"
victims | diff "$SV_TMP/victims.before" - >&2 || fail "a planted link was followed"
[ -f "$run/dnsmasq.conf" ] && [ ! -L "$run/dnsmasq.conf" ] || fail "dnsmasq.conf is not a file of its own"
[ -d "$run/cidata" ] && [ ! -L "$run/cidata" ] || fail "the seed is not a directory of its own"

# 1. Modes, and what an unprivileged user can reach.
assert_eq 700 "$(stat -c %a "$run")" "mode of the run directory"
[ "$(stat -c %u "$run")" = 0 ] || fail "the run directory is not root's"
for s in qmp vnc startvm.qmp; do
  [ -S "$run/$s" ] || fail "no $s socket"
done
nobody ()
{
  setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
}
for s in qmp vnc startvm.qmp; do
  out=$(nobody /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print(e.strerror)' "$run/$s" 2>&1)
  assert_eq "Permission denied" "$out" "an unprivileged user connecting to $s"
done
nobody cat "$run/dnsmasq.conf" >/dev/null 2>&1 && fail "an unprivileged user can read dnsmasq.conf"
nobody ls "$run" >/dev/null 2>&1 && fail "an unprivileged user can list the run directory"

# 2. dnsmasq's user and capabilities.
d=$(pgrep -P "$pid" -x dnsmasq) || fail "no dnsmasq"
st=/proc/$d/status
read -r _ r e s f <<<"$(grep '^Uid:' "$st")"
uids="$r $e $s $f"
[ "$r" != 0 ] && [ "$e" = "$r" ] && [ "$s" = "$r" ] && [ "$f" = "$r" ] ||
  fail "dnsmasq runs with uids $uids (real, effective, saved, fs): root in one of them"
# CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12, CAP_NET_RAW 13.
allowed=$(((1 << 10) | (1 << 12) | (1 << 13)))
for c in CapPrm CapEff; do
  v=$((16#$(awk -v k="$c:" '$1 == k { print $2 }' "$st")))
  [ $((v & ~allowed)) = 0 ] || fail "dnsmasq's $c has more than it needs: $(printf %x $v)"
done
for c in CapInh CapAmb; do
  v=$((16#$(awk -v k="$c:" '$1 == k { print $2 }' "$st")))
  [ "$v" = 0 ] || fail "dnsmasq's $c is not empty: $(printf %x $v)"
done
[ $((16#$(awk '$1 == "CapEff:" { print $2 }' "$st") & (1 << 13))) != 0 ] ||
  fail "dnsmasq lacks CAP_NET_RAW (DHCP needs it): the check above is vacuous"
info "dnsmasq: uid $uids, $(grep -E '^Cap(Prm|Eff)' "$st" | tr -s '\t\n' '  ')"

kill -TERM "$pid"
wait_exit "$pid" 120 || fail "startvm did not stop"
assert_eq 0 "$EXIT_STATUS" "exit status of the graceful stop"
victims | diff "$SV_TMP/victims.before" - >&2 || fail "a planted link was followed at the stop"

# 3b. The run directory itself a link: refused before anything is
# written through it, and before any network change.
rm -rf "$run"
ln -s "$victim/dir" "$run"
sv_settle c
sv_dump c | sed -E 's/[a-z_]+_timer +[0-9.]+//g' >"$SV_TMP/net.before"
sv_in c env ACCEL=tcg unshare --uts sh -c 'hostname web-1 && exec "$@"' sh timeout 60 "$STARTVM" \
  --config "$SV_TMP/vm.yaml" >"$SV_TMP/link.log" 2>&1
rc=$?
assert_eq 3 "$rc" "exit status with the run directory a link"
assert_line "$SV_TMP/link.log" "^startvm: $run: .*symbolic link" "no clear message for a linked run directory"
victims | diff "$SV_TMP/victims.before" - >&2 || fail "startvm wrote through a linked run directory"
sv_settle c
sv_dump c | sed -E 's/[a-z_]+_timer +[0-9.]+//g' | diff "$SV_TMP/net.before" - >&2 ||
  fail "the network changed although the run directory was refused"
echo PASS

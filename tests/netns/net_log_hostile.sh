#!/usr/bin/env bash
# Values startvm logs in a real run cannot forge log lines: a disk file
# name with a newline and a fake "startvm: ..." line in it, a container
# hostname with a newline (it names the state directory, so it reaches the
# QMP socket path) and an interface name with an escape sequence each end
# up inside one log line, quoted the way --dry-run quotes them.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
. "$SV_SOURCE_DIR/tests/lib/netns.sh" || exit 1
sv_vm_test loghostile dnsmasq qemu-img /usr/bin/python3

fake='startvm: the guest powered off after 0.1 s'
esc=$'e\e[31mx'     # ESC [ 3 1 m: red text on a terminal
host=$'web\n'"$fake" # the container's hostname

sv_host h1 172.30.0.1/16
sv_host h2 10.77.5.1/24
sv_container c h1 172.30.0.2/16 172.30.0.1
sv_container c h2 10.77.5.20/24 "" "$esc"
sv_in c ip link show "$esc" >/dev/null || fail "could not name an interface with an escape byte"

tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "state_dir: $SV_TMP/state
disks:
  - file: \"$SV_TMP/disks/d\\n$fake\"
    size: 16M"
# sv_vm_start's way, but hostname(1) refuses such a name and
# /proc/sys/kernel/hostname stops at the newline: sethostname() takes it.
SV_WRAP=(ip netns exec "$(sv_ns c)" env "${SV_VM_ENV[@]}" unshare --uts
  /usr/bin/python3 -c 'import os, socket, sys
socket.sethostname(sys.argv[1])
os.execvp(sys.argv[2], sys.argv[2:])' "$host")
run_startvm_bg "$SV_TMP/log" --config "$SV_TMP/vm.yaml"
sv_track_pid "$STARTVM_PID"
wait_exit "$STARTVM_PID" 180 || fail "startvm did not exit after the guest's poweroff"
[ "$EXIT_STATUS" = 0 ] || { tail -n 30 "$SV_TMP/log" >&2; fail "startvm exited $EXIT_STATUS"; }
[ -f "$SV_TMP/disks/d"$'\n'"$fake" ] || fail "the disk was not created under its own name"

# The guest powered off by itself: startvm logs no "powered off" line
# (that one is for a stop it asked for), so any such line is forged.
assert_no_line "$SV_TMP/log" '^startvm: the guest powered off' "a forged log line"
if grep -a '^startvm:' "$SV_TMP/log" | grep $'\e' >/dev/null; then
  fail "an escape byte reached the log raw: $(grep -a '^startvm:' "$SV_TMP/log" | grep $'\e' | cat -v)"
fi

# Each value on one line, escaped as in --dry-run.
assert_line "$SV_TMP/log" \
  "^startvm: qemu-img create .*\\\$'$SV_TMP/disks/d\\\\n$fake'" \
  "the disk step is not one line with the name quoted as \$'...\\n...'"
grep -F -q -- 'startvm: link set e\x1b[31mx down' "$SV_TMP/log" ||
  fail "the interface name is not escaped as \\x1b: $(grep -a '^startvm: link' "$SV_TMP/log" | cat -v)"
grep -F -q -- "startvm: QMP socket: \$'$SV_TMP/state/web\\n$fake/qmp'" "$SV_TMP/log" ||
  fail "the QMP socket path (hostname) is not one quoted line: $(grep -a -A1 'QMP socket' "$SV_TMP/log" | cat -v)"
echo PASS

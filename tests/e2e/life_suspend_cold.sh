#!/usr/bin/env bash
# shutdown.mode suspend never resumes onto something else.  One guest is
# saved once; copies of its state are then put back before each start:
#   - unchanged: resumed (the copies are a good state), and a vmstate.tmp
#     left by a save that did not finish is removed with a line;
#   - another QEMU version (vmstate.json edited), more memory, one more
#     disk, the guest's MAC, a truncated state, vmstate.json missing or not
#     startvm's, another DHCP identity, a corrupt state that QEMU refuses (QEMU exits: a second
#     QEMU boots cold), a writable disk written since the save, a disk
#     that this start grows:
#     each boots cold, with one line saying why, and the state kept aside
#     as vmstate.stale-<time> and .json, byte for byte.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

data=$SV_TMP/data
truncate -s 4M "$SV_TMP/disk.raw"
truncate -s 1M "$SV_TMP/extra.raw"
yaml() { # MEMORY [EXTRA-DISK-YAML]
  tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.alive=1" "name: tiny-suspend-cold
network:
  interfaces: []
disks:
  - file: $SV_TMP/disk.raw
    format: raw${2:+
$2}
shutdown:
  mode: suspend
data_dir: $data
state_dir: $SV_TMP/state"
  sed -i "s/^memory: 256M\$/memory: $1/" "$SV_TMP/vm.yaml"
}
yaml 256M
SV_WRAP=(env ACCEL=tcg unshare -n)

run_startvm_bg "$SV_TMP/log0" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log0" '^TINYVM: alive boot=' 180 "$STARTVM_PID" || fail "the guest does not run"
stop_startvm "$STARTVM_PID" "$SV_TMP/log0" 0
assert_line "$SV_TMP/log0" '^startvm: suspend: saved the guest to '
mkdir "$SV_TMP/saved"
cp -p "$data/vmstate" "$data/vmstate.json" "$SV_TMP/saved/"

restore() { cp -p "$SV_TMP/saved/vmstate" "$SV_TMP/saved/vmstate.json" "$data/"; }
# startvm's QEMU child, if any.
qemu_child() {
  local p
  for p in $(cat /proc/"$STARTVM_PID"/task/*/children 2>/dev/null); do
    case "$(readlink /proc/"$p"/exe)" in */qemu-system-x86_64) echo "$p" ;; esac
  done
}
kill_startvm() {
  kill -KILL -- "-$STARTVM_PID" 2>/dev/null
  wait_exit "$STARTVM_PID" 30 || fail "startvm survived SIGKILL"
  assert_no_process "$SV_TMP/state"
}

# A cold boot for WHY (an ERE).  JSON: the json kept aside is the saved
# one (no: it was edited or removed before the start).
cold() {
  local name=$1 why=$2 json=${3:-yes} log=$SV_TMP/log-$1 stale
  run_startvm_bg "$log" --config "$SV_TMP/vm.yaml"
  if [ "$name" = corrupt ]; then
    # The second QEMU's guest boots.
    wait_for_line "$log" '^TINYVM: init ' 120 "$STARTVM_PID" || fail "$name: no cold boot"
  else
    # Decided before QEMU starts: QEMU runs without -incoming (faster
    # than waiting for the guest's first line, as sure).
    wait_for_line "$log" '^startvm: suspend: not resuming: ' 60 "$STARTVM_PID" || fail "$name: no line about the state"
    local q= i
    for ((i = 0; i < 100; i++)); do
      q=$(qemu_child)
      [ -n "$q" ] && break
      sleep 0.1
    done
    [ -n "$q" ] || fail "$name: QEMU was not started"
    tr '\0' ' ' <"/proc/$q/cmdline" | grep -e '-incoming' >/dev/null && fail "$name: QEMU was started to resume"
  fi
  kill_startvm
  assert_line "$log" "^startvm: suspend: not resuming: $why; booting cold, the saved state is kept as $data/vmstate\\.stale-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?( and $data/vmstate\\.stale-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\\.json)?\$" "$name: not the line that says why"
  assert_eq 1 "$(_sv_count '^startvm: suspend: ' "$log")" "$name: lines about the state"
  assert_no_line "$log" '^startvm: suspend: resumed' "$name: resumed anyway"
  stale=$(cd "$data" && ls -d vmstate.stale-* | grep -v '\.json$' || true)
  assert_eq 1 "$(echo "$stale" | wc -l)" "$name: states kept aside"
  [ -e "$data/vmstate" ] && fail "$name: vmstate is still in place"
  [ -e "$data/vmstate.json" ] && fail "$name: vmstate.json is still in place"
  case $name in
  truncated | corrupt) ;;
  *) cmp "$SV_TMP/saved/vmstate" "$data/$stale" || fail "$name: the state kept aside differs" ;;
  esac
  [ "$json" = no ] || cmp "$SV_TMP/saved/vmstate.json" "$data/$stale.json" || fail "$name: the json kept aside differs"
  rm -f "$data"/vmstate.stale-*
  info "$name: cold boot, as it should"
}

# --- unchanged: resumed; a leftover vmstate.tmp goes ---
restore
echo half >"$data/vmstate.tmp"
run_startvm_bg "$SV_TMP/log-same" --config "$SV_TMP/vm.yaml"
wait_for_line "$SV_TMP/log-same" '^startvm: suspend: resumed the guest' 60 "$STARTVM_PID" || fail "the unchanged copy was not resumed"
assert_line "$SV_TMP/log-same" "^startvm: suspend: removed $data/vmstate\\.tmp, left by a save that did not finish\$"
kill_startvm
assert_eq "" "$(ls "$data")" "data_dir after a resume"

# --- another QEMU ---
restore
sed -i 's/"qemu": "[^"]*"/"qemu": "QEMU emulator version 7.1.0"/' "$data/vmstate.json"
cold qemu "it was saved by QEMU emulator version 7\\.1\\.0, this is QEMU emulator version 7\\.2[^,]*" no

# --- other hardware: memory, a disk more ---
restore
yaml 320M
cold memory "the hardware changed since the save: QEMU's 256 became 320"
restore
yaml 256M "  - file: $SV_TMP/extra.raw
    format: raw"
cold disk-added "the hardware changed since the save: QEMU's .* became .*"
yaml 256M

# --- the guest's MAC ---
restore
sed -i 's/"macs": \[\]/"macs": ["02:42:0a:58:00:05"]/' "$data/vmstate.json"
cold mac "the guest's MAC changed since the save: 02:42:0a:58:00:05 became \\(nothing\\)" no

# --- what DHCP gave it (a resumed guest keeps its lease) ---
restore
sed -i 's/"network": \[\]/"network": ["dhcp-host=02:42:0a:58:00:05,set:vm0,10.88.0.5,vm,infinite"]/' "$data/vmstate.json"
cold network "the guest's network changed since the save \\(it would keep its old lease\\): dhcp-host=02:42:0a:58:00:05,set:vm0,10\\.88\\.0\\.5,vm,infinite became \\(nothing\\)" no

# --- a truncated state, vmstate.json missing or not ours ---
restore
truncate -s -4096 "$data/vmstate"
size=$(stat -c %s "$SV_TMP/saved/vmstate")
cold truncated "vmstate is $((size - 4096)) bytes, $size were saved \\(truncated or replaced\\)"
restore
rm "$data/vmstate.json"
cold no-json "vmstate.json is missing \\(No such file or directory\\)" no
restore
echo '{"format": 2}' >"$data/vmstate.json"
cold bad-json "vmstate.json is not one startvm wrote \\(format 1\\)" no

# --- a corrupt state: QEMU refuses it and exits; a second QEMU boots ---
restore
printf 'garbage!' | dd of="$data/vmstate" conv=notrunc status=none
cold corrupt "QEMU could not load the state \\(it exited with status 1; its words above\\)"
assert_line "$SV_TMP/log-corrupt" '^qemu-system-x86_64: load of migration failed' "QEMU's own words"

# --- a writable disk written since the save (last: the disk stays changed) ---
restore
printf 'x' | dd of="$SV_TMP/disk.raw" conv=notrunc status=none
cold disk-written "a writable disk changed since the save: $SV_TMP/disk.raw size=4194304 mtime=[0-9.]+ inode=[0-9]+ became $SV_TMP/disk.raw size=4194304 mtime=[0-9.]+ inode=[0-9]+"

# --- a disk grown at this start (size: above the file's): decided before
# the disk steps, which would change it under the resumed guest ---
restore
sed -i "s|^    format: raw\$|    format: raw\n    size: 8M|" "$SV_TMP/vm.yaml"
cold disk-grown "a disk is created or grown at this start"
assert_eq 8388608 "$(stat -c %s "$SV_TMP/disk.raw")" "the disk was not grown by the cold boot"

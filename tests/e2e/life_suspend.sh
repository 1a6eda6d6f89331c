#!/usr/bin/env bash
# shutdown.mode suspend: docker stop keeps the running guest.
#  1. SIGTERM saves the guest to data_dir/vmstate (0600) + vmstate.json
#     (the QEMU version, the hardware argv, the writable disks, what DHCP gives the guest), QEMU
#     quits, startvm exits 0; no vmstate.tmp is left; status.json says
#     suspended.
#  2. The next start resumes it: the same boot token, the counter goes on
#     (RAM survived); status.json says resumed and ready; the state is
#     removed once the guest runs (used once).
#  3. Killed without a save (SIGKILL): the next start boots cold.
#  4. A save that fails (vmstate.tmp cannot be created) falls back to the
#     ACPI power-off, says so in one line, and keeps nothing.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

data=$SV_TMP/data
truncate -s 4M "$SV_TMP/disk.raw"
tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=wait tinyvm.alive=1" "name: tiny-suspend
network:
  interfaces: []
disks:
  - file: $SV_TMP/disk.raw
    format: raw
shutdown:
  mode: suspend
data_dir: $data
state_dir: $SV_TMP/state"
SV_WRAP=(env ACCEL=tcg unshare -n)
status_json=$SV_TMP/state/vm/status.json

json_field() { /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$1" "$2"; }
# The last "alive" line's token and counter: "TOKEN N".
alive() { tr -d '\r' <"$1" | grep -a -E '^TINYVM: alive boot=' | sed -n '$s/^TINYVM: alive boot=\([0-9a-f]*\) n=\([0-9]*\)$/\1 \2/p'; }

start() {
  local n=$1
  run_startvm_bg "$SV_TMP/log$n" --config "$SV_TMP/vm.yaml"
  wait_for_line "$SV_TMP/log$n" '^TINYVM: alive boot=' 180 "$STARTVM_PID" || fail "start $n: the guest does not run"
}

# --- 1. the save ---
start 1
wait_for_line "$SV_TMP/log1" '^TINYVM: alive boot=[0-9a-f]+ n=3$' 60 "$STARTVM_PID" || fail "the guest stopped counting"
read -r token1 n1 <<<"$(alive "$SV_TMP/log1")"
stop_startvm "$STARTVM_PID" "$SV_TMP/log1" 0
assert_line "$SV_TMP/log1" "^startvm: SIGTERM: saving the guest to $data/vmstate \\(suspend\\), within 6s$"
assert_line "$SV_TMP/log1" "^startvm: suspend: saved the guest to $data/vmstate \\([0-9.]+ MB in [0-9.]+ s\\)$"
assert_no_line "$SV_TMP/log1" '^TINYVM: acpi-powerdown$' "the guest was powered off instead of saved"
assert_eq "600 600" "$(stat -c %a "$data/vmstate") $(stat -c %a "$data/vmstate.json")" "the state's modes"
assert_eq "vmstate vmstate.json" "$(ls "$data" | tr '\n' ' ' | sed 's/ $//')" "data_dir after the save"
assert_eq "\"$(qemu-system-x86_64 --version | sed -n 1p)\"" "$(json_field "$data/vmstate.json" qemu)" "the QEMU version in vmstate.json"
assert_eq "$(stat -c %s "$data/vmstate")" "$(json_field "$data/vmstate.json" bytes)" "the state's size in vmstate.json"
hw=$(json_field "$data/vmstate.json" hardware)
case "$hw" in *'"-accel", "tcg"'*'"-cpu", "max"'*'"-m", "256"'*) ;; *) fail "the hardware fingerprint lacks accel, CPU model or memory: $hw" ;; esac
case "$hw" in *"$SV_TMP/state"*) fail "the hardware fingerprint names the run directory: $hw" ;; esac
disks=$(json_field "$data/vmstate.json" disks)
assert_eq "[\"$SV_TMP/disk.raw size=4194304 mtime=$(stat -c %.9Y "$SV_TMP/disk.raw") inode=$(stat -c %i "$SV_TMP/disk.raw")\"]" "$disks" "the disk's identity"
assert_eq '"stopped" true 0' "$(json_field "$status_json" phase) $(json_field "$status_json" suspended) $(json_field "$status_json" exit_status)" "status.json after the save"

# --- 2. the resume ---
start 2
assert_line "$SV_TMP/log2" "^startvm: suspend: resumed the guest from $data/vmstate \\([0-9.]+ MB in [0-9.]+ s\\); the state is used and removed$"
assert_no_line "$SV_TMP/log2" '^TINYVM: (init|ready)' "the resumed guest booted again"
wait_for_lines "$SV_TMP/log2" '^TINYVM: alive boot=' 2 30 "$STARTVM_PID" || fail "the resumed guest stopped counting"
read -r token2 n2 <<<"$(alive "$SV_TMP/log2")"
assert_eq "$token1" "$token2" "the boot token after the resume (RAM lost?)"
[ "$n2" -gt "$n1" ] || fail "the counter went from $n1 to $n2: not the same RAM"
assert_eq '"ready" true' "$(json_field "$status_json" phase) $(json_field "$status_json" resumed)" "status.json after the resume"
assert_eq "" "$(ls "$data")" "the state was not removed once the guest ran"

# --- 3. killed without a save: a cold boot next time ---
kill -KILL "$STARTVM_PID"
wait_exit "$STARTVM_PID" 30 || fail "startvm survived SIGKILL"
assert_no_process "$SV_TMP/state"
start 3
read -r token3 _ <<<"$(alive "$SV_TMP/log3")"
[ "$token3" != "$token1" ] || fail "the guest resumed a state that was already used"
assert_line "$SV_TMP/log3" '^TINYVM: ready$' "no cold boot after the kill"
assert_no_line "$SV_TMP/log3" '^startvm: suspend: ' "a start with no state talked about one"

# --- 4. a save that fails: the ACPI stop, nothing kept ---
mkdir "$data/vmstate.tmp"
stop_startvm "$STARTVM_PID" "$SV_TMP/log3" 0
assert_line "$SV_TMP/log3" "^startvm: suspend: the save failed \\(opening $data/vmstate.tmp: File exists\\): nothing was kept; falling back to the ACPI power-off$"
assert_line "$SV_TMP/log3" '^TINYVM: acpi-powerdown$' "the guest was not asked to power off after the failed save"
assert_eq "vmstate.tmp" "$(ls "$data")" "data_dir after a failed save"
assert_eq '"stopped" false' "$(json_field "$status_json" phase) $(json_field "$status_json" suspended)" "status.json after a failed save"
assert_no_process "$SV_TMP/state"

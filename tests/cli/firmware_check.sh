#!/usr/bin/env bash
# firmware and tpm without a guest: what --check refuses (exit 2, the
# exact message, from vm.yaml and from FIRMWARE/TPM), what --dry-run
# shows (the pflash drives and the copy step, text and JSON, the copy
# gone once efivars.fd exists), and what is an environment error (exit
# 3: a missing OVMF file names Debian's ovmf, a missing swtpm names
# swtpm, a link where the store belongs).  None of it creates a file.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/config.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
need_startvm
need_netns
need python3
[ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || skip "needs Debian's ovmf (run scripts/setup.sh)"
tmpdir
tmpdir LOG # outputs, outside the directory whose listing must not change
c=$SV_TMP/vm.yaml
data=$SV_TMP/data
state=$SV_TMP/state

base="accel: tcg
network:
  interfaces: []
data_dir: $data
state_dir: $state"

# --- refused by --check: uefi-secure with boot.kernel, or without q35 ---
printf '%s\nfirmware: uefi-secure\nboot:\n  kernel: /vmlinuz\n' "$base" >"$c"
secure_kernel="uefi-secure cannot boot boot.kernel: QEMU hands the kernel to OVMF's own loader, which starts it without checking its signature while the guest reports Secure Boot on; boot a signed bootloader from a disk, or use firmware: uefi"
expect_exit 2 "$c:6:11: firmware: $secure_kernel" -- --config "$c" --check
expect_exit 2 "$c:6:11: firmware: $secure_kernel" -- --config "$c" --dry-run
printf '%s\nfirmware: uefi\nboot:\n  kernel: /vmlinuz\n' "$base" >"$c"
expect_exit 2 "FIRMWARE=uefi-secure: firmware: $secure_kernel" FIRMWARE=uefi-secure -- --config "$c" --check
printf '%s\nmachine: pc\n' "$base" >"$c"
expect_exit 2 "FIRMWARE=uefi-secure: firmware: uefi-secure needs machine q35: OVMF's Secure Boot build needs SMM, which it only supports on q35 (machine is pc)" \
  FIRMWARE=uefi-secure -- --config "$c" --check
printf '%s\ntpm: true\nshutdown:\n  mode: exec\n' "$base" >"$c"
expect_exit 2 "$c:6:6: tpm: the TPM needs shutdown.mode acpi: with exec, QEMU replaces startvm and nobody supervises swtpm or stops it after QEMU" \
  -- --config "$c" --check
printf '%s\n' "$base" >"$c"
expect_exit 2 "FIRMWARE=efi: firmware: 'efi' is not a valid value (accepted: bios, uefi, uefi-secure; did you mean 'uefi'?)" \
  FIRMWARE=efi -- --config "$c" --check
expect_exit 2 "TPM=maybe: tpm: 'maybe' is not a boolean (accepted: true, false, yes, no, 1, 0)" \
  TPM=maybe -- --config "$c" --check

# --- --dry-run: the pflash drives, the copy step, swtpm; nothing made ---
printf '%s\nfirmware: uefi\n' "$base" >"$c"
expect_exit 0 "$c: configuration is valid" TPM=yes -- --config "$c" --check
before=$(cfg_snapshot)
TPM=yes unshare -n "$STARTVM" --config "$c" --dry-run >"$LOG/a.txt" 2>"$LOG/a.err" || fail "dry-run failed: $(cat "$LOG/a.err")"
TPM=yes unshare -n "$STARTVM" --config "$c" --dry-run --format json >"$LOG/a.json" 2>"$LOG/a.err" || fail "JSON dry-run failed"
[ "$before" = "$(cfg_snapshot)" ] || fail "--dry-run made files"
assert_line "$LOG/a.txt" '^Firmware: uefi$'
assert_line "$LOG/a.txt" "^  2\\. copy /usr/share/OVMF/OVMF_VARS_4M\\.fd to $data/efivars\\.fd \\(mode 0600, only while it does not exist\\)\$"
assert_line "$LOG/a.txt" "^  -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M\\.fd \\\\\$"
assert_line "$LOG/a.txt" "^  -drive if=pflash,format=raw,unit=1,file=$data/efivars\\.fd \\\\\$"
assert_line "$LOG/a.txt" '^  -device tpm-crb,tpmdev=tpm0'
python3 - "$LOG/a.json" "$data" "$state" <<'PY' || fail "the JSON plan is not what the text says"
import json, sys
p = json.load(open(sys.argv[1])); data, state = sys.argv[2], sys.argv[3]
assert p["firmware"] == "uefi" and p["data_dir"] == data, (p["firmware"], p["data_dir"])
steps = [(s["op"], s["path"], s.get("src"), s.get("mode")) for s in p["data_steps"]]
want = [("mkdir", data, None, "0700"),
        ("copy", data + "/efivars.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "0600"),
        ("mkdir", data + "/tpm", None, "0700")]
# As root (with CAP_SETUID, CAP_SETGID, CAP_CHOWN), swtpm gets its own uid.
own = p["swtpm"]["uid"] is not None
if own:
    want.append(("chown", data + "/tpm", None, None))
    assert p["swtpm"]["uid"] == p["swtpm"]["gid"] == 64999, p["swtpm"]
    assert p["data_steps"][3]["uid"] == p["data_steps"][3]["gid"] == 64999
assert steps == want, steps
a = p["qemu_argv"]
assert a[a.index("if=pflash,format=raw,unit=1,file=%s/efivars.fd" % data) - 1] == "-drive"
assert p["swtpm"]["argv"] == ["swtpm", "socket", "--tpm2", "--tpmstate",
    "dir=.,mode=0600", "--ctrl", "type=unixio,fd=3"], p["swtpm"]
assert p["swtpm"]["cwd"] == data + "/tpm", p["swtpm"]
assert p["swtpm"]["ctrl_socket"].startswith(state + "/") and p["swtpm"]["ctrl_socket"].endswith("/swtpm.sock")
PY

# A store from an earlier start: kept, so no copy step.
mkdir -m 0700 "$data"
head -c 540672 /dev/zero >"$data/efivars.fd"
unshare -n "$STARTVM" --config "$c" --dry-run --format json >"$LOG/b.json" || fail "dry-run with a store failed"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["data_steps"]; assert s == [], s' "$LOG/b.json" ||
  fail "a dry-run with an existing efivars.fd still plans a step"
cmp -s "$data/efivars.fd" <(head -c 540672 /dev/zero) || fail "the dry-run changed efivars.fd"

# --- environment errors: exit 3, nothing made ---
rm "$data/efivars.fd"
ln -s /usr/share/OVMF/OVMF_VARS_4M.fd "$data/efivars.fd"
expect_exit 3 "data_dir: the UEFI variable store $data/efivars.fd is a symbolic link" -- --config "$c" --dry-run
rm "$data/efivars.fd"
rmdir "$data"
mkdir "$SV_TMP/nobin"
expect_exit 3 "tpm: swtpm (not found in PATH) is missing: install Debian's swtpm package" \
  PATH="$SV_TMP/nobin" TPM=1 -- --config "$c" --dry-run
# OVMF hidden by an empty tmpfs in a private mount namespace.
if unshare -rm true 2>/dev/null; then
  printf '%s\nfirmware: uefi-secure\n' "$base" >"$c"
  before=$(cfg_snapshot)
  unshare -rm sh -c 'mount -t tmpfs none /usr/share/OVMF && exec unshare -n "$0" --config "$1" --dry-run' \
    "$STARTVM" "$c" >"$LOG/out" 2>"$LOG/err"
  rc=$?
  assert_eq 3 "$rc" "exit status without OVMF"
  assert_eq "startvm: firmware uefi-secure: /usr/share/OVMF/OVMF_CODE_4M.secboot.fd is missing: install Debian's ovmf package" \
    "$(cat "$LOG/err")" "the message without OVMF"
  [ "$before" = "$(cfg_snapshot)" ] || fail "files changed without OVMF"
else
  skip "unshare -rm is refused: cannot hide /usr/share/OVMF"
fi
info "ok"

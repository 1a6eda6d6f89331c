#!/usr/bin/env bash
# firmware: uefi-secure booting Debian's signed chain: an ESP image made
# here from Debian's packages (shim-signed's shimx64.efi as
# \EFI\BOOT\BOOTX64.EFI, grub-efi-amd64-signed's grubx64.efi beside it, a
# grub.cfg) boots the tiny guest's kernel (Debian's signed cloud kernel:
# sbverify shows Debian's signature) and initrd; the guest reports Secure
# Boot on (efivarfs SecureBoot = 1) and powers off: status 0.  It boots
# at SV_SECURE_MIN_MIB (259 MiB); below it (256, 257 and 258 MiB were
# measured) the VM resets in a loop, and --check warns with the exact
# message below 259 MiB and not at it.  The minimum grows with the
# kernel and initrd: if the tiny guest grows, this boot may loop, and the
# minimum must be measured again.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
need mkfs.vfat mmd mcopy sbverify
shim=/usr/lib/shim/shimx64.efi.signed
grub=/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
[ -r "$shim" ] || skip "needs Debian's shim-signed ($shim)"
[ -r "$grub" ] || skip "needs Debian's grub-efi-amd64-signed ($grub)"
[ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || skip "needs Debian's ovmf"
tmpdir

# The kernel is Debian's signed one: otherwise the test proves nothing.
sbverify --list "$SV_TINY_DIR/vmlinuz" >"$SV_TMP/sig" 2>&1 || fail "sbverify failed: $(cat "$SV_TMP/sig")"
assert_line "$SV_TMP/sig" '^ - /CN=Debian Secure Boot CA$' "the tiny guest's kernel is not signed by Debian's CA"

# --- the ESP (a FAT file system on the whole disk) ---
esp=$SV_TMP/esp.img
cat >"$SV_TMP/grub.cfg" <<'CFG'
set timeout=0
linux /vmlinuz console=ttyS0 quiet panic=-1 tinyvm.mode=poweroff
initrd /initrd.img
boot
CFG
mkfs.vfat -C -n ESP "$esp" 32768 >/dev/null || fail "mkfs.vfat"
mmd -i "$esp" ::/EFI ::/EFI/BOOT || fail "mmd"
mcopy -i "$esp" "$shim" ::/EFI/BOOT/BOOTX64.EFI &&
  mcopy -i "$esp" "$grub" ::/EFI/BOOT/grubx64.efi &&
  mcopy -i "$esp" "$SV_TMP/grub.cfg" ::/EFI/BOOT/grub.cfg &&
  mcopy -i "$esp" "$SV_TINY_DIR/vmlinuz" ::/vmlinuz || fail "mcopy"
mcopy -i "$esp" "$SV_TINY_DIR/initrd.img" ::/initrd.img || fail "mcopy initrd"

yaml() {
  cat >"$SV_TMP/vm.yaml" <<Y
memory: $1
accel: tcg
firmware: uefi-secure
network:
  interfaces: []
data_dir: $SV_TMP/data
state_dir: $SV_TMP/state
disks:
  - {file: $esp, format: raw, bus: virtio, boot_index: 0}
Y
}

# --- --check: the warning below the minimum, none at it ---
yaml 258M
"$STARTVM" --config "$SV_TMP/vm.yaml" --check >"$SV_TMP/check" 2>&1 || fail "--check refused: $(cat "$SV_TMP/check")"
assert_eq "startvm: warning: memory 258 MiB is below 259 MiB: under firmware uefi-secure, Debian's signed shim and grub reset the VM in a loop there (measured: 258 MiB loops, 259 MiB boots with an 18 MB kernel and initrd; larger ones need more)
startvm: $SV_TMP/vm.yaml: configuration is valid" "$(cat "$SV_TMP/check")" "--check below the minimum"
yaml 259M
"$STARTVM" --config "$SV_TMP/vm.yaml" --check >"$SV_TMP/check" 2>&1 || fail "--check refused: $(cat "$SV_TMP/check")"
assert_eq "startvm: $SV_TMP/vm.yaml: configuration is valid" "$(cat "$SV_TMP/check")" "--check at the minimum"

# --- the boot, at the minimum ---
ACCEL=tcg timeout 240 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" >"$SV_TMP/out" 2>&1
rc=$?
[ "$rc" = 124 ] && {
  tail -n 20 "$SV_TMP/out" >&2
  fail "the signed chain did not boot the guest within 240 s"
}
assert_line "$SV_TMP/out" 'Welcome to GRUB!' "grub (through shim) did not start"
assert_line "$SV_TMP/out" '^TINYVM: ready$' "the guest did not reach ready through shim and grub"
assert_eq 1 "$(tiny_line "$SV_TMP/out" secureboot)" "Secure Boot as the guest sees it"
assert_eq 1 "$(tr -d '\r' <"$SV_TMP/out" | grep -a -c 'Welcome to GRUB!')" \
  "grub started more than once (a reset loop: did the tiny guest grow? SV_SECURE_MIN_MIB is measured with its $(stat -c %s "$SV_TINY_DIR/initrd.img")-byte initrd)"
assert_eq 0 "$rc" "startvm's status after the guest powered off"
assert_no_process "$SV_TMP/state"
exit 0

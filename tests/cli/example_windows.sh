#!/usr/bin/env bash
# examples/windows (Windows 11): --check passes, and --dry-run plans
# exactly tests/golden/example_windows.txt: OVMF's Secure Boot build with
# SMM and the Microsoft-keys store copied into /image, swtpm with its
# state in /image/tpm, a 64G qcow2 made in /image on the first start,
# the installation ISO and the virtio-win ISO as SATA CD-ROMs, 4G and 2
# CPUs.  The example's /image and /iso are moved into a temp dir (the
# golden names them back), its ISOs are empty files, and ACCEL=tcg with
# no network makes the plan the same on every host.  Nothing is written.
# SV_UPDATE_GOLDEN=1 rewrites the golden file.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_startvm
need_netns
need_root # the TPM state's chown step is planned only for root
[ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || skip "needs Debian's ovmf (run scripts/setup.sh)"
need swtpm
tmpdir
T=$SV_TMP
mkdir "$T/image" "$T/iso"
: >"$T/iso/win11.iso"
: >"$T/iso/virtio-win.iso"
sed "s|/image|$T/image|g; s|/iso/|$T/iso/|g" "$SV_SOURCE_DIR/examples/windows/vm.yaml" >"$T/vm.yaml"
before=$(cd "$T" && find . -printf '%p %s %m\n' | LC_ALL=C sort)

run() { env -i PATH="$PATH" ACCEL=tcg unshare -n "$STARTVM" --config "$T/vm.yaml" "$@"; }
run --check >"$T/check.out" 2>&1 || fail "--check refused the example: $(cat "$T/check.out")"
assert_eq "startvm: $T/vm.yaml: configuration is valid" "$(cat "$T/check.out")" "--check's answer"
run --dry-run >"$T/plan.txt" 2>"$T/plan.err" || fail "--dry-run failed: $(cat "$T/plan.err")"
# From the accelerator on: the observed network above it (the host's DNS)
# is not the example's.
sed -n '/^Accelerator:/,$p' "$T/plan.txt" | sed "s|$T/|/|g" >"$T/got.txt"
golden=$SV_SOURCE_DIR/tests/golden/example_windows.txt
if [ "${SV_UPDATE_GOLDEN:-}" = 1 ]; then
  cp "$T/got.txt" "$golden"
  info "updated $golden"
fi
diff -u "$golden" "$T/got.txt" >&2 || fail "--dry-run of examples/windows differs from $golden (SV_UPDATE_GOLDEN=1 rewrites it)"
after=$(cd "$T" && find . -printf '%p %s %m\n' | LC_ALL=C sort)
# check.out, plan.*, got.txt are ours.
[ "$(echo "$before" | grep -v -e check.out -e plan. -e got.txt)" = "$(echo "$after" | grep -v -e check.out -e plan. -e got.txt)" ] ||
  fail "--check or --dry-run changed files: $(diff <(echo "$before") <(echo "$after"))"
exit 0

#!/usr/bin/env bash
# Bad disk input is refused before anything is touched: each case checks
# the exit status (2 for a config value, 3 for the files on disk), a
# message naming the file, and that every file under the tree is
# byte-for-byte what it was (and no file appeared).
#
# Overlays are made by startvm itself with qemu.binary=/bin/true: the disk
# ops run for real, then "QEMU" exits at once; no guest needed.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need qemu-img qemu-system-x86_64 sha256sum setpriv
tmpdir
chmod 755 "$SV_TMP" # the unreadable-file case runs startvm as nobody

root=$SV_TMP/root
export RANCHERVM_ROOT=$root
mkdir -p "$root"

# vm.yaml with the given extra YAML; QEMU replaced by /bin/true.
config() {
  cat >"$SV_TMP/vm.yaml" <<YAML
network:
  interfaces: []
state_dir: $SV_TMP/state
console: {qmp: false, vnc: false}
shutdown: {mode: exec}
qemu: {binary: /bin/true}
$1
YAML
}

snapshot() {
  (cd "$root" && find . -printf '%p %y %s %i\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

run() { # expected-status needle [wrapper...]
  local want=$1 needle=$2 rc
  shift 2
  snapshot >"$SV_TMP/before"
  ACCEL=tcg timeout 60 unshare -n "$@" "$STARTVM" --config "$SV_TMP/vm.yaml" >"$SV_TMP/out" 2>&1
  rc=$?
  snapshot >"$SV_TMP/after"
  if [ "$rc" != "$want" ] || ! grep -qF -- "$needle" "$SV_TMP/out"; then
    cat "$SV_TMP/out" >&2
    fail "expected exit $want and a message with '$needle', got exit $rc"
  fi
  diff -u "$SV_TMP/before" "$SV_TMP/after" >&2 || fail "files changed although startvm refused ($needle)"
  info "refused as expected: $(grep -F -- "$needle" "$SV_TMP/out" | head -n 1)"
}

ok() {
  ACCEL=tcg timeout 60 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" >"$SV_TMP/out" 2>&1 || {
    cat "$SV_TMP/out" >&2
    fail "startvm failed on good input"
  }
}

config ""
# --- the convention ---
mkdir "$root/base_image"
run 3 "no image in $root/base_image"

qemu-img create -q -f qcow2 "$root/base_image/a.qcow2" 32M
qemu-img create -q -f raw "$root/base_image/b.raw" 16M
run 3 "$root/base_image holds 2 images (a.qcow2, b.raw)"
rm "$root/base_image/b.raw" "$root/base_image/a.qcow2"

# qcow2 magic with a nonsense header: qemu-img refuses it.
printf 'QFI\373\0\0\0\3this is not a qcow2 header' >"$root/base_image/corrupt.qcow2"
run 3 "$root/base_image/corrupt.qcow2 is not a usable image"
rm "$root/base_image/corrupt.qcow2"

# Unreadable: mode 000 and startvm running as nobody (root reads anything).
qemu-img create -q -f qcow2 "$root/base_image/secret.qcow2" 32M
chmod 755 "$root" "$root/base_image"
chmod 000 "$root/base_image/secret.qcow2"
run 3 "$root/base_image/secret.qcow2" setpriv --reuid=65534 --regid=65534 --clear-groups
[ ! -e "$root/image" ] || fail "an overlay appeared for an unreadable base"
rm "$root/base_image/secret.qcow2"

# A good base: startvm makes the overlay, then the base changes under it.
truncate -s 32M "$root/base_image/base.raw"
ok
[ -f "$root/image/sda.qcow2" ] || fail "no overlay was created from a good base"
printf 'other content' | dd of="$root/base_image/base.raw" conv=notrunc status=none
run 3 "its base image $root/base_image/base.raw changed since the overlay was created (content)"
truncate -s 48M "$root/base_image/base.raw"
run 3 "changed since the overlay was created (size 32M -> 48M)"
mv "$root/base_image/base.raw" "$root/base_image/new.raw"
run 3 "its backing file $root/base_image/base.raw is missing"
rm -rf "$root/base_image" "$root/image"

# --- disks in vm.yaml ---
mkdir "$root/adir"
config "disks:
  - file: $root/adir"
run 3 "disk $root/adir is a directory"

qemu-img create -q -f raw "$root/data.img" 32M
config "disks:
  - file: $root/data.img
    size: 16M"
run 2 "disk $root/data.img: size 16M is smaller than the disk's current size 32M"

# An overlay whose configured base is now another file.
qemu-img create -q -f raw "$root/base1.raw" 8M
qemu-img create -q -f raw "$root/base2.raw" 8M
config "disks:
  - file: $root/os.qcow2
    base: $root/base1.raw"
ok
config "disks:
  - file: $root/os.qcow2
    base: $root/base2.raw"
run 3 "disk $root/os.qcow2 is an overlay on $root/base1.raw, but the base image is now $root/base2.raw"

# A disk another QEMU holds: qemu-img's lock check says so.
config "disks:
  - file: $root/data.img"
qemu-system-x86_64 -nodefaults -display none -accel tcg -S \
  -blockdev "{\"driver\":\"file\",\"node-name\":\"f\",\"filename\":\"$root/data.img\"}" \
  -blockdev '{"driver":"raw","node-name":"d","file":"f"}' -device virtio-blk-pci,drive=d \
  >"$SV_TMP/holder.log" 2>&1 &
holder=$!
on_exit kill_pid "$holder" 2
for _ in $(seq 50); do
  qemu-img info "$root/data.img" >/dev/null 2>&1 || break
  sleep 0.2
done
run 3 "disk $root/data.img is in use by another QEMU"
kill_pid "$holder" 2
ok
info "ok"

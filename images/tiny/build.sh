#!/usr/bin/env bash
# Builds the tiny test guest from Debian packages only:
#   OUTDIR/vmlinuz     Debian's cloud kernel (linux-image-cloud-amd64)
#   OUTDIR/initrd.img  gzip'd cpio (newc): busybox-static, our init, the
#                      few kernel modules the init loads (virtio, vfat,
#                      iso9660, scsi cdrom, ACPI power button, virtiofs,
#                      9p), and ISC
#                      dhclient with ld.so and libc for DHCPv6
# The .debs are downloaded with `apt-get download` (never installed on the
# host) and cached under OUTDIR/cache.  A second run with the same inputs
# does nothing (stamp over this directory's files and the package names),
# without touching apt at all, so the ctest fixture costs nothing once built.
#
# Usage: images/tiny/build.sh OUTDIR
# Environment: TINY_KERNEL_PKG (default linux-image-cloud-amd64),
#              TINY_FORCE=1 rebuilds even when the stamp matches.
set -euo pipefail

die() {
  echo "tiny/build.sh: $*" >&2
  exit 1
}
log() { echo "tiny/build.sh: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=$out/cache
mkdir -p "$cache"
kernel_meta=${TINY_KERNEL_PKG:-linux-image-cloud-amd64}

# Modules the init loads, by name; their dependencies are added (in load
# order) from modinfo, because Debian's modules.dep does not apply to our
# initramfs layout.  The cloud kernel has no AHCI driver, so a CD-ROM must
# sit on virtio-scsi (sr_mod) or be a virtio-blk disk.
modules=(virtio_pci virtio_net virtio_blk virtio_scsi sd_mod sr_mod
  vfat nls_cp437 nls_ascii nls_iso8859-1 nls_utf8 isofs button evdev pvpanic-pci efivarfs
  virtiofs)
# Loaded when the kernel has them: the cloud kernel has no 9p at all
# (CONFIG_9P_FS is off); TINY_KERNEL_PKG=linux-image-amd64 has it.
optional_modules=(9p 9pnet_virtio)

for tool in apt-get apt-cache dpkg-deb cpio gzip modinfo flock sha256sum; do
  command -v "$tool" >/dev/null || die "missing tool: $tool (run scripts/setup.sh)"
done

# One build at a time per OUTDIR (ctest fixture and demo may race).
exec 9>"$out/.lock"
flock 9

inputs_hash() {
  (
    cd "$here"
    # Everything in images/tiny but the Dockerfile and docs feeds
    # the initramfs or the build itself.
    find . -type f ! -name Dockerfile ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    echo "kernel_meta=$kernel_meta modules=${modules[*]} optional=${optional_modules[*]}"
  ) | sha256sum | cut -d' ' -f1
}
want=$(inputs_hash)
if [ "${TINY_FORCE:-0}" != 1 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] &&
  [ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ]; then
  log "up to date: $out"
  exit 0
fi

apt_updated=0
apt_update_once() {
  [ "$apt_updated" = 0 ] || return 1
  apt_updated=1
  log "apt lists missing or stale: apt-get update"
  apt-get update -qq >&2 || return 1
}

# Prints the real kernel package behind the meta package, e.g.
# linux-image-6.1.0-56-cloud-amd64.
resolve_kernel() {
  apt-cache depends "$kernel_meta" 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1
}

# Downloads package $1 into the cache unless a .deb of its candidate
# version is already there; prints the .deb's path.
fetch_deb() {
  local pkg=$1 ver deb
  ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    apt_update_once || true
    ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
  fi
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    # Offline, but maybe cached from an earlier run: use the newest.
    deb=$(ls -1 "$cache/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n1)
    [ -n "$deb" ] || die "package $pkg not found in apt's lists (is the Debian archive reachable?)"
    log "using cached $deb (no candidate from apt)"
    echo "$deb"
    return
  fi
  # apt-get download names files with the epoch's colon escaped as %3a.
  local fver=${ver//:/%3a}
  deb=$cache/${pkg}_${fver}_amd64.deb
  if [ ! -s "$deb" ]; then
    log "downloading $pkg $ver"
    # The sandbox user _apt cannot write into root's build dirs.
    if ! (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
      apt_update_once || die "apt-get download $pkg=$ver failed"
      (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
        die "apt-get download $pkg=$ver failed"
    fi
    [ -s "$deb" ] || deb=$(ls -1 "$cache/${pkg}_"*.deb | sort -V | tail -n1)
  fi
  echo "$deb"
}

kpkg=$(resolve_kernel)
if [ -z "$kpkg" ]; then
  apt_update_once || true
  kpkg=$(resolve_kernel)
fi
if [ -z "$kpkg" ]; then
  # Offline fallback: a kernel .deb cached by an earlier run.
  kpkg=$(ls -1 "$cache"/linux-image-[0-9]*-cloud-amd64_*.deb 2>/dev/null | sort -V | tail -n1 |
    xargs -r -n1 basename | cut -d_ -f1)
  [ -n "$kpkg" ] || die "cannot resolve $kernel_meta to a kernel package (apt-cache depends)"
fi
kdeb=$(fetch_deb "$kpkg")
bdeb=$(fetch_deb busybox-static)
# IPv6: ISC dhclient (dynamically linked: ld.so and libc from libc6).
ddeb=$(fetch_deb isc-dhcp-client)
cdeb=$(fetch_deb libc6)

work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Only the kernel image and the modules tree are needed from the kernel
# package; extracting the full 100+ MB tree would be the slow part.
mkdir -p "$work/k" "$work/bb" "$work/dh" "$work/c"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work/k" --wildcards './boot/vmlinuz-*' './lib/modules/*'
dpkg-deb -x "$bdeb" "$work/bb"
dpkg-deb --fsys-tarfile "$ddeb" | tar -x -C "$work/dh" ./sbin/dhclient
dpkg-deb --fsys-tarfile "$cdeb" | tar -x -C "$work/c" --wildcards './lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' './lib/x86_64-linux-gnu/libc.so.6'
kver=$(ls "$work/k/lib/modules")
[ -n "$kver" ] && [ -f "$work/k/boot/vmlinuz-$kver" ] || die "unexpected layout in $kdeb"
moddir=$work/k/lib/modules/$kver

# Index every module once (name -> path); names use '_' in modinfo's
# depends field and in the file names of most, but not all, modules.
declare -A modpath
while IFS= read -r f; do
  n=${f##*/}
  n=${n%%.ko*}
  modpath[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko*')

declare -A seen
order=()
add_module() {
  local m=${1//-/_} dep f
  [ -z "${seen[$m]:-}" ] || return 0
  seen[$m]=1
  f=${modpath[$m]:-}
  if [ -z "$f" ]; then
    # Built into this kernel: nothing to load.
    grep -q "/${1}.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
    die "module $1 not found in $kpkg"
  fi
  for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
    add_module "$dep"
  done
  order+=("$m")
}
for m in "${modules[@]}"; do add_module "$m"; done
for m in "${optional_modules[@]}"; do
  if [ -n "${modpath[${m//-/_}]:-}" ]; then
    add_module "$m"
  else
    log "no module $m in $kpkg: left out"
  fi
done

root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,mnt,etc,lib/tinyvm/modules,lib64,lib/x86_64-linux-gnu}
cp "$work/bb/bin/busybox" "$root/bin/busybox"
cp "$work/dh/sbin/dhclient" "$root/sbin/dhclient"
cp "$work/c/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$work/c/lib/x86_64-linux-gnu/libc.so.6" \
  "$root/lib/x86_64-linux-gnu/"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
# Applet links are made by the init at boot (busybox --install), so the
# archive holds one binary, not 300 links.
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/init" "$root/init"
for f in "$here"/lib/*; do
  [ -e "$f" ] || continue
  install -m 0755 "$f" "$root/lib/tinyvm/$(basename "$f")"
done
: >"$root/lib/tinyvm/modules.order"
for m in "${order[@]}"; do
  f=${modpath[$m]}
  case "$f" in
  # The kernel loads plain .ko through init_module(); busybox insmod does
  # not decompress, so store compressed modules decompressed.
  *.ko.xz) xz -dc "$f" >"$root/lib/tinyvm/modules/$m.ko" ;;
  *.ko.zst) zstd -dqc "$f" >"$root/lib/tinyvm/modules/$m.ko" ;;
  *.ko.gz) gzip -dc "$f" >"$root/lib/tinyvm/modules/$m.ko" ;;
  *) cp "$f" "$root/lib/tinyvm/modules/$m.ko" ;;
  esac
  echo "$m" >>"$root/lib/tinyvm/modules.order"
done
echo "kernel=$kver busybox=$(dpkg-deb -f "$bdeb" Version) dhclient=$(dpkg-deb -f "$ddeb" Version)" \
  >"$root/lib/tinyvm/version"
# The kernel opens /dev/console for PID 1 before anything is mounted.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

# Reproducible archive: fixed order and timestamps.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
  cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
  gzip -n -9 >"$work/initrd.img"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"

mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.img" "$out/initrd.img"
echo "$want" >"$out/stamp"
# Drop .debs superseded by a newer archive version.
find "$cache" -name '*.deb' ! -path "$kdeb" ! -path "$bdeb" ! -path "$ddeb" ! -path "$cdeb" -delete
log "built $out (kernel $kver, modules: ${order[*]}, initrd $(stat -c %s "$out/initrd.img") bytes)"

#!/usr/bin/env bash
# Bad values in the environment overrides: exit 2, the message names the
# variable and lists what is accepted, nothing written.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/config.sh"
cfg_setup
c=$SV_TMP/vm.yaml
printf 'state_dir: %s\ncpus: 2\nmemory: 1G\n' "$STATE" >"$c"

expect_refused "CPUS=abc: cpus: 'abc' is not an integer (accepted: 1 to 512, e.g. CPUS=2)" "$c" CPUS=abc
expect_refused "CPUS=0: cpus: 0 is out of range (accepted: 1 to 512, e.g. CPUS=2)" "$c" CPUS=0
expect_refused "CPUS=10000: cpus: 10000 is out of range (accepted: 1 to 512, e.g. CPUS=2)" "$c" CPUS=10000
expect_refused "MEMORY=12XB: memory: '12XB' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain number of MiB such as 2048)" "$c" MEMORY=12XB
expect_refused "MEMORY=0: memory: size must be greater than zero (e.g. 512M)" "$c" MEMORY=0
expect_refused "MEMORY=8T: memory: 8T is out of range (accepted: 16M to 4T, e.g. MEMORY=2G)" "$c" MEMORY=8T
expect_refused "MEMORY_MB=2G: memory: '2G' is not a plain number of MiB (e.g. MEMORY_MB=2048; use MEMORY for units)" "$c" MEMORY_MB=2G
expect_refused "ACCEL=fast: accel: 'fast' is not a valid value (accepted: auto, kvm, tcg)" "$c" ACCEL=fast
expect_refused "NO_DHCP=maybe: network.dhcp: 'maybe' is not a boolean (accepted: true, false, yes, no, 1, 0)" "$c" NO_DHCP=maybe
expect_refused "IP_PREFIX=10.42.x: network.ip_prefix: '10.42.x' is not an IPv4 prefix (1 to 4 dotted numbers from 0 to 255, e.g. 10.42)" "$c" IP_PREFIX=10.42.x
expect_refused "DISKS=/volumes/a.img:20G:fast: disks[0]: unknown field 'fast' in '/volumes/a.img:20G:fast' (accepted after the file: a size such as 20G, a format (auto, raw, qcow2, vmdk, vdi, vhdx, qed), a bus (virtio, scsi, sata, ide), a media (disk, cdrom) or ro)" "$c" DISKS=/volumes/a.img:20G:fast
expect_refused "DISKS=/a.img,/b.img:20XB: disks[1].size: '20XB' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain number of MiB such as 2048)" "$c" DISKS=/a.img,/b.img:20XB
# The environment is checked even when the file is fine and the other
# variables are good.
expect_refused "ACCEL=KVM: accel: 'KVM' is not a valid value (accepted: auto, kvm, tcg; did you mean 'kvm'?)" "$c" CPUS=4 ACCEL=KVM

# Good values are accepted.
expect_valid "$c" CPUS=4 MEMORY=1.5G ACCEL=tcg NO_DHCP=yes IP_PREFIX=10.42. DISKS=/volumes/a.img:20G,/b.qcow2:qcow2:ro
expect_valid "$c" MEMORY_MB=2048 NO_DHCP=0
# Empty variables count as unset.
expect_valid "$c" CPUS= MEMORY= DISKS=

#!/usr/bin/env bash
# Wrong types for every scalar field of vm.yaml, out-of-range values and
# unknown keys: exit 2, "FILE:LINE:COL: key: ...", nothing written.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/config.sh"
cfg_setup
c=$SV_TMP/vm.yaml

# field path | what the message says is expected
fields=(
  "name|a string"
  "memory|a size such as 2G"
  "cpus|an integer from 1 to 512"
  "accel|one of auto, kvm, tcg"
  "machine|a string"
  "state_dir|a string"
  "data_dir|a string"
  "firmware|one of bios, uefi, uefi-secure"
  "tpm|a boolean (true or false)"
  "boot.kernel|a string"
  "boot.initrd|a string"
  "boot.append|a string"
  "network.dhcp|a boolean (true or false)"
  "network.ip_prefix|a string"
  "network.wait|a duration such as 2m"
  "network.model|a string"
  "console.serial|one of stdio, none"
  "console.vnc|a boolean (true or false)"
  "console.qmp|a boolean (true or false)"
  "shutdown.mode|one of acpi, exec, suspend"
  "shutdown.timeout|a duration such as 20s"
  "cloud_init.user_data|a string"
  "cloud_init.meta_data|a string"
  "cloud_init.network_config|a string"
  "qemu.binary|a string"
  "disks.file|a string"
  "disks.base|a string"
  "disks.size|a size such as 20G"
  "disks.format|one of auto, raw, qcow2, vmdk, vdi, vhdx, qed"
  "disks.bus|one of virtio, scsi, sata, ide"
  "disks.cache|one of none, writeback, writethrough, directsync, unsafe"
  "disks.readonly|a boolean (true or false)"
  "disks.media|one of disk, cdrom"
  "disks.boot_index|an integer from 0 to 99"
)
for entry in "${fields[@]}"; do
  path=${entry%%|*} expected=${entry#*|}
  for bad in "[x]|a list" "{x: 1}|a map"; do
    val=${bad%%|*} got=${bad#*|}
    case $path in
    disks.*)
      key=${path#disks.}
      if [ "$key" = file ]; then line="disks: [{$key: $val}]"; else line="disks: [{file: a, $key: $val}]"; fi
      shown=disks[0].$key
      ;;
    *.*)
      line="${path%%.*}: {${path#*.}: $val}"
      shown=$path
      ;;
    *)
      line="$path: $val"
      shown=$path
      ;;
    esac
    prefix=${line%"$val"*}
    col=$((${#prefix} + 1))
    printf 'state_dir: %s\n%s\n' "$STATE" "$line" >"$c"
    [ "$path" = state_dir ] && printf '%s\n' "$line" >"$c" && ln=1 || ln=2
    # Many cases: --check only (the other modes share the code path, and
    # the cases below run all three).
    CFG_MODES=--check expect_refused "$c:$ln:$col: $shown: expected $expected, got $got" "$c"
  done
done

w() { printf "state_dir: $STATE\n$1" >"$c"; }
# Quoted numbers and booleans are strings.
w 'cpus: "2"\n'
expect_refused "$c:2:7: cpus: expected an integer from 1 to 512, got a quoted string (\"2\"): remove the quotes" "$c"
w 'console:\n  vnc: "false"\n'
expect_refused "$c:3:8: console.vnc: expected a boolean (true or false), got a quoted string (\"false\"): remove the quotes" "$c"
# Ranges.
w 'cpus: 0\n'
expect_refused "$c:2:7: cpus: 0 is out of range (accepted: 1 to 512, e.g. 2)" "$c"
w 'cpus: 10000\n'
expect_refused "$c:2:7: cpus: 10000 is out of range (accepted: 1 to 512, e.g. 2)" "$c"
w 'cpus: abc\n'
expect_refused "$c:2:7: cpus: 'abc' is not an integer (accepted: 1 to 512, e.g. 2)" "$c"
w 'memory: 8M\n'
expect_refused "$c:2:9: memory: 8M is out of range (accepted: 16M to 4T, e.g. 2G)" "$c"
w 'memory: 5T\n'
expect_refused "$c:2:9: memory: 5T is out of range (accepted: 16M to 4T, e.g. 2G)" "$c"
w 'memory: 0\n'
expect_refused "$c:2:9: memory: size must be greater than zero (e.g. 512M)" "$c"
w 'memory: -512M\n'
expect_refused "$c:2:9: memory: '-512M' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain number of MiB such as 2048)" "$c"
w 'memory: 12XB\n'
expect_refused "$c:2:9: memory: '12XB' is not a size (accepted: 512M, 2G, 1.5G, 512MiB, or a plain number of MiB such as 2048)" "$c"
w 'memory: 99999999999999999999G\n'
expect_refused "$c:2:9: memory: size '99999999999999999999G' is too large (e.g. 2G)" "$c"
w 'shutdown:\n  timeout: 2h\n'
expect_refused "$c:3:12: shutdown.timeout: 2h is out of range (accepted: 1s to 1h, e.g. 20s)" "$c"
w 'network:\n  ip_prefix: 10.256\n'
expect_refused "$c:3:14: network.ip_prefix: '10.256' is not an IPv4 prefix (1 to 4 dotted numbers from 0 to 255, e.g. 10.42)" "$c"
printf 'state_dir: relative/dir\n' >"$c"
expect_refused "$c:1:12: state_dir: 'relative/dir' is not an absolute path (e.g. /var/lib/ranchervm)" "$c"
w 'accel: tcgg\n'
expect_refused "$c:2:8: accel: 'tcgg' is not a valid value (accepted: auto, kvm, tcg; did you mean 'tcg'?)" "$c"
# Unknown keys, with a did-you-mean when one is close.
w 'memroy: 2G\n'
expect_refused "$c:2:1: unknown key 'memroy' (did you mean 'memory'?)" "$c"
w 'network:\n  dchp: false\n'
expect_refused "$c:3:3: network: unknown key 'dchp' (did you mean 'dhcp'?)" "$c"
w 'disks:\n  - file: /a.img\n    readnoly: true\n'
expect_refused "$c:4:5: disks[0]: unknown key 'readnoly' (did you mean 'readonly'?)" "$c"
w 'colour: blue\n'
expect_refused "$c:2:1: unknown key 'colour' (accepted: name, memory, cpus, accel, machine, firmware, tpm, boot, disks, shares, network, console, state_dir, data_dir, shutdown, cloud_init, qemu)" "$c"
w 'disks:\n  - size: 20G\n'
expect_refused "$c:3:5: disks[0]: 'file' is required (e.g. file: /volumes/data.img)" "$c"

#!/usr/bin/env bash
# cloud-init NoCloud seed, booted for real: the guest sees a FAT disk
# labelled cidata holding user-data (vm.yaml's cloud_init.user_data wins
# over the directory's file), meta-data (the directory's, plus a stable
# instance-id) and network-config.  The seed is rebuilt at each start: a
# file removed from the directory is gone from the next boot's seed.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
need_root
need_netns
need_startvm
need_tiny
tmpdir

root=$SV_TMP/root
export RANCHERVM_ROOT=$root
ci=$root/etc/ranchervm/cloud-init
mkdir -p "$ci"
printf '#cloud-config\n# from-dir\n' >"$ci/user-data"
printf 'local-hostname: from-dir\n' >"$ci/meta-data"
printf 'version: 2\n' >"$ci/network-config"

boot() {
  tiny_yaml "$SV_TMP/vm.yaml" "tinyvm.mode=poweroff" "network:
  interfaces: []
state_dir: $SV_TMP/state
cloud_init:
  user_data: |
    #cloud-config
    # from-yaml"
  ACCEL=tcg timeout 180 unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" >"$1" 2>&1
  local rc=$?
  [ "$rc" = 0 ] || {
    tail -n 30 "$1" >&2
    fail "startvm exited $rc"
  }
  assert_line "$1" '^TINYVM: ready$' "the guest did not reach ready"
}

boot "$SV_TMP/boot1.log"
assert_line "$SV_TMP/boot1.log" '^TINYVM: disk [a-z0-9]+ size=[0-9]+ fstype=vfat label=cidata$' \
  "the guest sees no vfat disk labelled cidata"
assert_line "$SV_TMP/boot1.log" '^TINYVM: cidata files=meta-data,network-config,user-data$'
assert_line "$SV_TMP/boot1.log" '^TINYVM: cidata-line user-data: # from-yaml$' "vm.yaml's user_data should win"
assert_no_line "$SV_TMP/boot1.log" 'user-data: # from-dir' "user-data from the directory leaked in"
assert_line "$SV_TMP/boot1.log" '^TINYVM: cidata-line meta-data: local-hostname: from-dir$'
assert_line "$SV_TMP/boot1.log" '^TINYVM: cidata-line meta-data: instance-id: "iid-[^"]+"$'
assert_line "$SV_TMP/boot1.log" '^TINYVM: cidata-line network-config: version: 2$'
id1=$(tiny_line "$SV_TMP/boot1.log" "cidata-line meta-data: instance-id:")

rm "$ci/network-config"
boot "$SV_TMP/boot2.log"
assert_line "$SV_TMP/boot2.log" '^TINYVM: cidata files=meta-data,user-data$' "a stale seed file survived"
id2=$(tiny_line "$SV_TMP/boot2.log" "cidata-line meta-data: instance-id:")
assert_eq "$id1" "$id2" "instance-id changed for the same container"
info "ok"

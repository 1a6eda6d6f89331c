#!/usr/bin/env bash
# --print-config: the merged configuration, each value with where it came
# from (file:line:column, env VAR, default); config path resolution:
# --config, else $RANCHERVM_CONFIG, else /etc/ranchervm/vm.yaml (which may
# be missing: defaults apply).
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/config.sh"
cfg_setup
c=$SV_TMP/vm.yaml
printf '# test\nname: web1\ncpus: 2\nmemory: 1G\nnetwork:\n  interfaces: [eth0]\nstate_dir: %s\n' "$STATE" >"$c"

out=$SV_TMP/print.txt
env -u RANCHERVM_CONFIG MEMORY=3G NO_DHCP=true DISKS=/volumes/d.img:20G:ro "$STARTVM" --config "$c" --print-config >"$out" 2>"$SV_TMP/err" ||
  fail "--print-config failed: $(cat "$SV_TMP/err")"
[ ! -s "$SV_TMP/err" ] || fail "--print-config wrote to stderr: $(cat "$SV_TMP/err")"
for want in \
  "name: web1  # $c:2:7" \
  "memory: 3G  # env MEMORY" \
  "cpus: 2  # $c:3:7" \
  "accel: auto  # default" \
  "machine: q35  # default" \
  "  - file: /volumes/d.img  # env DISKS" \
  "    size: 20G  # env DISKS" \
  "    readonly: true  # env DISKS" \
  "    format: auto  # default" \
  "  dhcp: false  # env NO_DHCP" \
  "  wait: 60s  # default" \
  "    - eth0  # $c:6:16" \
  "state_dir: $STATE  # $c:7:12" \
  "  timeout: 8s  # default"; do
  grep -qxF -- "$want" "$out" || fail "--print-config lacks the line '$want':
$(cat "$out")"
done
[ ! -e "$STATE" ] || fail "--print-config created the state_dir"
# What it prints is a valid vm.yaml giving the same result.
env -u RANCHERVM_CONFIG "$STARTVM" --config "$out" --print-config >"$SV_TMP/print2.txt" ||
  fail "the printed config does not load back"
diff <(sed 's/  # .*//' "$out" | tail -n +2) <(sed 's/  # .*//' "$SV_TMP/print2.txt" | tail -n +2) >/dev/null ||
  fail "printing the printed config changes values: $(diff <(sed 's/  # .*//' "$out") <(sed 's/  # .*//' "$SV_TMP/print2.txt"))"
info "ok: --print-config origins"

# Path resolution.
printf 'cpus: 3\n' >"$SV_TMP/env.yaml"
printf 'cpus: 4\n' >"$SV_TMP/opt.yaml"
got=$(RANCHERVM_CONFIG=$SV_TMP/env.yaml "$STARTVM" --print-config | grep '^cpus:')
assert_eq "cpus: 3  # $SV_TMP/env.yaml:1:7" "$got" "RANCHERVM_CONFIG is used without --config"
got=$(RANCHERVM_CONFIG=$SV_TMP/env.yaml "$STARTVM" --config "$SV_TMP/opt.yaml" --print-config | grep '^cpus:')
assert_eq "cpus: 4  # $SV_TMP/opt.yaml:1:7" "$got" "--config wins over RANCHERVM_CONFIG"
got=$("$STARTVM" --config="$SV_TMP/opt.yaml" --check 2>&1)
assert_eq "startvm: $SV_TMP/opt.yaml: configuration is valid" "$got" "--config=FILE"
# A missing file named by RANCHERVM_CONFIG is an error, like --config.
got=$(RANCHERVM_CONFIG=$SV_TMP/none.yaml "$STARTVM" --check 2>&1)
rc=$?
assert_eq 2 "$rc" "missing RANCHERVM_CONFIG file: exit code"
assert_eq "startvm: $SV_TMP/none.yaml: cannot open config file: No such file or directory" "$got" "missing RANCHERVM_CONFIG file"
info "ok: --config, RANCHERVM_CONFIG"

# The default path may be missing.  Never create /etc/ranchervm here: when
# this machine has one, hide it in a private mount namespace.
default_check() {
  # shellcheck disable=SC2016
  local script='cd "$1" && env -u RANCHERVM_CONFIG "$2" --check; echo "rc=$?"'
  if [ -e /etc/ranchervm/vm.yaml ]; then
    need_root
    unshare -m sh -c "mount -t tmpfs tmpfs /etc/ranchervm && $script" sh "$1" "$STARTVM"
  else
    sh -c "$script" sh "$1" "$STARTVM"
  fi
}
had_etc=$([ -e /etc/ranchervm ] && echo yes || echo no)
work=$(mktemp -d "$SV_TMP/cwd.XXXXXX")
got=$(default_check "$work" 2>&1)
assert_eq "startvm: /etc/ranchervm/vm.yaml: configuration is valid
rc=0" "$got" "missing default config"
[ -z "$(ls -A "$work")" ] || fail "created files in its cwd"
[ "$had_etc" = yes ] || [ ! -e /etc/ranchervm ] || fail "created /etc/ranchervm"
info "ok: missing default config is fine"

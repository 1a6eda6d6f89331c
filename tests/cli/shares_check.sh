#!/usr/bin/env bash
# shares without a guest: what --check refuses (exit 2, the exact message,
# from vm.yaml and from SHARES), that SHARES gives the same plan as the
# file, what --dry-run shows (virtiofsd's argv and socket, the memfd
# memory, vhost-user-fs and 9p with readonly=on), and what is an
# environment error before anything is done (exit 3 naming the path: a
# missing source, a file as source, no virtiofsd), also on a real start.
# None of it creates a file.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/config.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
need_startvm
need_netns
need python3
tmpdir
tmpdir LOG # outputs, outside the directory whose listing must not change
c=$SV_TMP/vm.yaml
state=$SV_TMP/state
mkdir "$SV_TMP/data" "$SV_TMP/docs"

base="accel: tcg
network:
  interfaces: []
state_dir: $state"
d=$SV_TMP/data
o=$SV_TMP/docs

# --- refused by --check (exit 2) ---
printf '%s\nshares:\n  - {source: %s, tag: data}\n  - {source: %s, tag: data, readonly: true}\n' "$base" "$d" "$o" >"$c"
expect_exit 2 "$c:7:$((21 + ${#o})): shares[1].tag: the tag data is already used by shares[0]" -- --config "$c" --check
# (--check does not look at the directories; a long value is cut in messages.)
expect_exit 2 "SHARES=/a:data,/b:data:ro: shares[1].tag: the tag data is already used by shares[0]" \
  "SHARES=/a:data,/b:data:ro" -- --config "$c" --check
printf '%s\nshares:\n  - {source: %s, tag: "my data"}\n' "$base" "$d" >"$c"
expect_exit 2 "$c:6:$((21 + ${#d})): shares[0].tag: a tag is 1 to 31 letters, digits, '.', '_' or '-' (e.g. data)" \
  -- --config "$c" --check
printf '%s\nshares:\n  - {source: data, tag: data}\n' "$base" >"$c"
expect_exit 2 "$c:6:14: shares[0].source: 'data' is not an absolute path (e.g. /data)" -- --config "$c" --check
printf '%s\nshares:\n  - {source: %s}\n' "$base" "$d" >"$c"
expect_exit 2 "$c:6:5: shares[0]: 'tag' is required (e.g. tag: data)" -- --config "$c" --check
printf '%s\n' "$base" >"$c"
for bad in /data /data:data:rw :data /data: /data:data:ro:x; do
  expect_exit 2 "SHARES=$bad: shares[0]: '$bad' is not SOURCE:TAG or SOURCE:TAG:ro (e.g. SHARES=/data:data,/ro:docs:ro)" \
    "SHARES=$bad" -- --config "$c" --check
done
expect_exit 2 "SHARES=/a:data,,/b:docs: shares: entry 2 is empty (a stray ','?)" \
  "SHARES=/a:data,,/b:docs" -- --config "$c" --check
printf '%s\nshutdown:\n  mode: exec\n' "$base" >"$c"
expect_exit 2 "SHARES=/a:data: shares: read-write shares need shutdown.mode acpi: with exec, QEMU replaces startvm and nobody supervises virtiofsd or stops it" \
  "SHARES=/a:data" -- --config "$c" --check
# A read-only share needs no helper: fine with exec.
expect_exit 0 "$c: configuration is valid" "SHARES=$o:docs:ro" -- --config "$c" --check
# Suspend cannot carry a share (virtiofs does not migrate, nor a mounted 9p).
printf '%s\nshutdown:\n  mode: suspend\n' "$base" >"$c"
for sh in "/a:data" "$o:docs:ro"; do
  expect_exit 2 "SHARES=$sh: shares: shares cannot be suspended: QEMU 7.2 cannot migrate a virtiofs device, nor a 9p one the guest has mounted; use shutdown.mode acpi, or no shares" \
    "SHARES=$sh" -- --config "$c" --check
done

# --- SHARES is the file's list; --dry-run shows it all; nothing made ---
printf '%s\nshares:\n  - source: %s\n    tag: data\n  - source: %s\n    tag: docs\n    readonly: true\n' "$base" "$d" "$o" >"$c"
printf '%s\n' "$base" >"$SV_TMP/env.yaml"
before=$(cfg_snapshot)
unshare -n env -u SHARES "$STARTVM" --config "$c" --dry-run >"$LOG/a.txt" 2>"$LOG/a.err" || fail "dry-run failed: $(cat "$LOG/a.err")"
unshare -n env -u SHARES "$STARTVM" --config "$c" --dry-run --format json >"$LOG/a.json" || fail "JSON dry-run failed"
unshare -n env "SHARES=$d:data,$o:docs:ro" "$STARTVM" --config "$SV_TMP/env.yaml" --dry-run --format json >"$LOG/b.json" ||
  fail "JSON dry-run with SHARES failed"
[ "$before" = "$(cfg_snapshot)" ] || fail "--dry-run made files"
cmp "$LOG/a.json" "$LOG/b.json" || fail "SHARES=$d:data,$o:docs:ro does not plan what the file's shares do"
run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_dir"])' "$LOG/a.json")
sed -n '/^Shares:$/,/^$/p' "$LOG/a.txt" >"$LOG/shares.txt"
cat >"$LOG/want.txt" <<TXT
Shares:
  data: $d read-write over virtiofs (guest: mount -t virtiofs TAG DIR)
    /usr/lib/qemu/virtiofsd --fd=3 -o source=$d -o sandbox=chroot --rlimit-nofile=0 -o log_level=warn
    socket (fd 3): $run/virtiofsd-0.sock
  docs: $o read-only over QEMU's 9p (guest: mount -t 9p -o trans=virtio TAG DIR)

TXT
diff "$LOG/want.txt" "$LOG/shares.txt" >&2 || fail "--dry-run's Shares section"
for l in "-object memory-backend-memfd,id=mem,size=512M,share=on" "-numa node,memdev=mem" \
  "-chardev socket,id=fs0,path=$run/virtiofsd-0.sock" "-device vhost-user-fs-pci,chardev=fs0,tag=data" \
  "-fsdev local,id=fsdev1,path=$o,security_model=none,readonly=on" "-device virtio-9p-pci,fsdev=fsdev1,mount_tag=docs"; do
  assert_line "$LOG/a.txt" "^  $l \\\\\$|^  $l\$" "--dry-run's QEMU command has $l"
done
python3 - "$LOG/a.json" "$d" "$o" "$run" <<'PY' || fail "the JSON plan's shares"
import json, sys
p = json.load(open(sys.argv[1])); d, o, run = sys.argv[2:5]
assert p["shares"] == [
    {"tag": "data", "source": d, "readonly": False, "transport": "virtiofs",
     "socket": run + "/virtiofsd-0.sock", "fd": 3,
     "argv": ["/usr/lib/qemu/virtiofsd", "--fd=3", "-o", "source=" + d, "-o", "sandbox=chroot",
              "--rlimit-nofile=0", "-o", "log_level=warn"]},
    {"tag": "docs", "source": o, "readonly": True, "transport": "9p"}], p["shares"]
PY

# --- environment errors (exit 3), also on a real start: nothing made ---
expect_exit 3 "shares[1].source $SV_TMP/nope: no such directory" "SHARES=$d:data,$SV_TMP/nope:docs:ro" -- --config "$SV_TMP/env.yaml" --dry-run
expect_exit 3 "shares[1].source $SV_TMP/nope: no such directory" "SHARES=$d:data,$SV_TMP/nope:docs:ro" -- --config "$SV_TMP/env.yaml"
touch "$SV_TMP/file"
expect_exit 3 "shares[0].source $SV_TMP/file is not a directory" "SHARES=$SV_TMP/file:data" -- --config "$SV_TMP/env.yaml"
# No virtiofsd: hidden by an empty tmpfs in a private mount namespace.
if unshare -rm true 2>/dev/null; then
  before=$(cfg_snapshot)
  SHARES=$d:data unshare -rm sh -c 'mount -t tmpfs none /usr/lib/qemu && exec unshare -n "$0" --config "$1" --dry-run' \
    "$STARTVM" "$SV_TMP/env.yaml" >"$LOG/out" 2>"$LOG/err"
  rc=$?
  assert_eq 3 "$rc" "no virtiofsd: exit status"
  assert_eq "startvm: shares: /usr/lib/qemu/virtiofsd is missing: install Debian's qemu-system-common package" "$(cat "$LOG/err")"
  [ "$before" = "$(cfg_snapshot)" ] || fail "no virtiofsd: files changed"
fi
exit 0

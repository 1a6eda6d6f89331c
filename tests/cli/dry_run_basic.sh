#!/usr/bin/env bash
# startvm --dry-run with no network (unshare -n: only lo): exit 0, the
# QEMU argv as configured, extra args after `--` appended verbatim and
# last, --format json parses and says the same, two runs are
# byte-identical, and nothing is created.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
# Debian's python3 when there is one: a version manager's shim can cost
# seconds a call on a loaded machine.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
need_startvm
need_netns
need python3
tmpdir
state=$SV_TMP/state
sed "s|STATE_DIR|$state|" "$SV_SOURCE_DIR/tests/data/plan/basic.yaml" >"$SV_TMP/vm.yaml"
cmd=(-cdrom '/iso/x y.iso' '$(touch /tmp/sv-pwned)' '' 'a,b=c')

unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run -- "${cmd[@]}" >"$SV_TMP/a.txt" 2>"$SV_TMP/a.err" ||
  fail "dry-run exited $? ($(cat "$SV_TMP/a.err"))"
unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run -- "${cmd[@]}" >"$SV_TMP/b.txt" 2>&1 ||
  fail "second dry-run failed"
cmp -s "$SV_TMP/a.txt" "$SV_TMP/b.txt" || fail "two text dry-runs differ: $(diff "$SV_TMP/a.txt" "$SV_TMP/b.txt")"
unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run --format json -- "${cmd[@]}" >"$SV_TMP/a.json" ||
  fail "json dry-run failed"
unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run --format=json -- "${cmd[@]}" >"$SV_TMP/b.json" ||
  fail "second json dry-run failed"
cmp -s "$SV_TMP/a.json" "$SV_TMP/b.json" || fail "two JSON dry-runs differ"
python3 -m json.tool "$SV_TMP/a.json" >/dev/null || fail "--format json is not valid JSON"

assert_line "$SV_TMP/a.txt" '^QEMU command:$'
assert_line "$SV_TMP/a.txt" '^Network steps:$'
assert_line "$SV_TMP/a.txt" '^  -accel tcg \\$'
grep -qxF "  '\$(touch /tmp/sv-pwned)' \\" "$SV_TMP/a.txt" || fail "the CMD word is not shell-quoted on its own line"

python3 - "$SV_TMP/a.json" "$state" <<'PY' || fail "JSON plan is not what basic.yaml asks for"
import json, sys
p = json.load(open(sys.argv[1]))
state = sys.argv[2]
a = p["qemu_argv"]
def val(opt):
    return a[a.index(opt) + 1]
checks = [
    (a[0], "qemu-system-x86_64"),
    (a[1], "-nodefaults"),
    (val("-name"), "guest=basic"),
    (val("-accel"), "tcg"),
    (val("-cpu"), "max"),
    (val("-machine"), "type=q35"),
    (val("-m"), "1024"),
    (val("-smp"), "2"),
    (val("-kernel"), "/vm/vmlinuz"),
    (val("-initrd"), "/vm/initrd.img"),
    (val("-append"), "console=ttyS0 quiet"),
    (val("-display"), "none"),
    (val("-vga"), "std"),
    (val("-chardev"), "stdio,id=serial0,signal=off"),
    (val("-serial"), "chardev:serial0"),
    (p["accel"], "tcg"),
    (p["taps"], 0),
    (p["dnsmasq"], None),
    (p["network_steps"], []),
    (p["observed"]["interfaces"], []),
    # config extra args, then the CMD, verbatim and last
    (a[-7:], ["-device", "virtio-rng-pci,id=rng0", "-cdrom", "/iso/x y.iso",
              "$(touch /tmp/sv-pwned)", "", "a,b=c"]),
    ("-netdev" in a, False),
    ("-monitor" in a, False),
]
run_dir = p["run_dir"]
if not run_dir.startswith(state + "/"):
    checks.append((run_dir, state + "/<id>"))
checks.append((val("-qmp"), "unix:%s/qmp,server=on,wait=off" % run_dir))
checks.append((val("-vnc"), "unix:%s/vnc" % run_dir))
bad = [(g, w) for g, w in checks if g != w]
for g, w in bad:
    print("got %r, want %r" % (g, w), file=sys.stderr)
sys.exit(1 if bad else 0)
PY

[ ! -e "$state" ] || fail "--dry-run created $state"
[ ! -e /tmp/sv-pwned ] || fail "something ran a CMD argument through a shell"

# Usage errors are exit 2.
unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run --format yaml >/dev/null 2>&1
assert_eq 2 $? "--format yaml"
info "ok"

#!/usr/bin/env bash
# Hostile config values (commas, quotes, $(...), backquotes, newlines,
# spaces) stay single argv elements: inside QEMU option strings their
# commas are doubled, whole arguments are verbatim, nothing is run, and
# the printed QEMU command pastes back into bash as exactly the JSON argv.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
# Debian's python3 when there is one: a version manager's shim can cost
# seconds a call on a loaded machine.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
need_startvm
need_netns
need python3 bash
tmpdir
state=$SV_TMP/st
sed "s|STATE_DIR|$state|g" "$SV_SOURCE_DIR/tests/data/plan/hostile.yaml" >"$SV_TMP/vm.yaml"
cmd=('-cdrom' "/x y,z.iso" "\$(touch $state/pwned)" "\`touch $state/pwned\`")

unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run -- "${cmd[@]}" >"$SV_TMP/out.txt" 2>"$SV_TMP/err" ||
  fail "dry-run exited $?: $(cat "$SV_TMP/err")"
unshare -n "$STARTVM" --config "$SV_TMP/vm.yaml" --dry-run --format json -- "${cmd[@]}" >"$SV_TMP/out.json" ||
  fail "json dry-run failed"

python3 - "$SV_TMP/out.json" "$state" <<'PY' || fail "hostile values were not kept whole and escaped"
import json, sys
p = json.load(open(sys.argv[1]))
st = sys.argv[2]
a = p["qemu_argv"]
def val(opt):
    return a[a.index(opt) + 1]
run_dir = p["run_dir"]
esc = run_dir.replace(",", ",,")
want = {
    "-name": "guest=evil,,name=x $(touch %s/pwned) 'q\"\nline2" % st,
    "-machine": "type=q35,,accel=kvm",
    "-kernel": "/boot/vm linuz,1",
    "-append": "init=/bin/sh -c 'echo $(id)'; rm -rf / `x`\nsecond,line",
    "-qmp": "unix:%s/qmp,server=on,wait=off" % esc,
}
bad = 0
for opt, w in want.items():
    if val(opt) != w:
        print("%s: got %r, want %r" % (opt, val(opt), w), file=sys.stderr)
        bad = 1
if not run_dir.startswith(st + "/a,b=c d/"):
    print("run_dir %r" % run_dir, file=sys.stderr); bad = 1
tail = ["-device", "virtio-rng-pci,id=rng0", "$(touch %s/pwned)" % st,
        "-cdrom", "/x y,z.iso", "$(touch %s/pwned)" % st, "`touch %s/pwned`" % st]
if a[-7:] != tail:
    print("tail %r" % a[-7:], file=sys.stderr); bad = 1
sys.exit(bad)
PY

# The printed command, pasted into bash, is the same argv.
{
  printf "printf '%%s\\\\0' "
  sed -n '/^QEMU command:$/,$p' "$SV_TMP/out.txt" | tail -n +2
} >"$SV_TMP/paste.sh"
bash "$SV_TMP/paste.sh" >"$SV_TMP/paste.argv" || fail "the printed QEMU command is not valid shell"
python3 - "$SV_TMP/out.json" "$SV_TMP/paste.argv" <<'PY' || fail "pasted QEMU command differs from the plan's argv"
import json, sys
want = json.load(open(sys.argv[1]))["qemu_argv"]
got = [w.decode() for w in open(sys.argv[2], "rb").read().split(b"\0")[:-1]]
sys.exit(0 if got == want else 1)
PY

[ ! -e "$state/pwned" ] || fail "a value was run by a shell"
[ ! -e "$state" ] || fail "--dry-run created $state"
info "ok"

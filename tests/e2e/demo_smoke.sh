#!/usr/bin/env bash
# scripts/demo.sh's first part (DEMO_MANAGER=0) as a smoke test, on this
# build (DEMO_PREBUILT=1 BUILD_DIR=$SV_BINARY_DIR: no apt, no rebuild, the
# tiny guest the fixture built): it exits 0 and prints its own success
# lines (the guest's lease of the container's address, 3 of 3 pings
# answered, the guest's TCP answer with the container's hostname, startvm's
# exit status 0 after SIGTERM) and no "demo:" complaint (ping or connect
# failed, fallback to a VM without network), and leaves nothing: no
# namespace, no /etc/netns entry, no work directory, no process.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
need_root
need_netns
need_startvm
need_tiny
need socat ping
tmpdir
[ "$(dirname "$STARTVM")" = "$SV_BINARY_DIR" ] || skip "STARTVM is not in SV_BINARY_DIR ($STARTVM)"

out=$SV_TMP/demo.out
setsid env DEMO_PREBUILT=1 DEMO_MANAGER=0 BUILD_DIR="$SV_BINARY_DIR" \
  bash "$SV_SOURCE_DIR/scripts/demo.sh" >"$out" 2>&1 </dev/null &
demo=$!
on_exit kill_pid "$demo" 20
wait_exit "$demo" 300 || fail "the demo did not end within 300 s: $(tail -n 30 "$out")"
# Without the bold escapes around the "==" titles.
sed 's/\x1b\[[0-9;]*m//g' "$out" >"$SV_TMP/clean"
cat "$SV_TMP/clean" >&2
assert_eq 0 "$EXIT_STATUS" "the demo's exit status"
for re in '^== Using the startvm already built in .* \(DEMO_PREBUILT=1\)$' \
  '^TINYVM: lease eth0 ip=172\.30\.0\.2 mask=24 router=172\.30\.0\.1 .*hostname=demo-vm' \
  '^3 packets transmitted, 3 received, 0% packet loss' \
  '^TINYVM-HELLO demo-vm$' \
  '^startvm exited with status 0$' \
  '^== Done; cleaning up svdemo-ctr-[0-9]+ and svdemo-hst-[0-9]+$'; do
  assert_line "$SV_TMP/clean" "$re" "the demo's output lacks /$re/"
done
assert_no_line "$SV_TMP/clean" '^demo: ' "the demo complained"
assert_no_line "$SV_TMP/clean" '^== Installing packages|^== Building startvm' "the demo installed or built although DEMO_PREBUILT=1"
assert_no_line "$SV_TMP/clean" '^== The management container' "DEMO_MANAGER=0 ran the manager part"

work=$(sed -n 's|^state_dir: \(/tmp/svdemo\.[^/]*\)/state$|\1|p' "$SV_TMP/clean")
[ -n "$work" ] || fail "the demo did not show its state_dir"
[ ! -e "$work" ] || fail "the demo left its work directory $work"
[ -z "$(ip netns list | grep -E "^svdemo-(ctr|hst)-$demo( |$)")" ] || fail "the demo left its namespaces: $(ip netns list)"
[ ! -e "/etc/netns/svdemo-ctr-$demo" ] || fail "the demo left /etc/netns/svdemo-ctr-$demo"
assert_no_process "$work"
info "ok"

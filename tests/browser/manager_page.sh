#!/usr/bin/env bash
# The manager's page in Debian's chromium (headless, selenium): log in,
# the banner while podman's service is down (it is then restarted), a
# refused create (startvm's message next to the field, nothing made),
# create the tiny VM from the form (after the restart), watch it become
# ready, the phone layout, typing into the serial console, the VNC
# console's canvas and typing on its keyboard, stop (the open console
# closes with the server's reason), start, force stop, delete with the
# volume.  The steps are in manager_page.py.
#
# Artifacts: $SV_BINARY_DIR/browser-artifacts/manager_page/ (the VNC
# canvas, and the page at a failure).  SV_WRITE_DOCS_IMG=1 also writes the
# screenshots of docs/manager.md into docs/img/ (off in CI: the tree stays
# clean).
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
need chromium chromedriver socat unshare nsenter
need_netns
/usr/bin/python3 -c 'import selenium, PIL' 2>/dev/null || skip "needs python3-selenium and python3-pil"
mgr_prereqs
mgr_images
mgr_podman_service
mgr_start

artifacts=$SV_BINARY_DIR/browser-artifacts/manager_page
rm -rf "$artifacts"
mkdir -p "$artifacts"
docs=
if [ "${SV_WRITE_DOCS_IMG:-}" = 1 ]; then
  docs=$SV_SOURCE_DIR/docs/img
  mkdir -p "$docs"
fi

# The page test stops podman's service and starts another on the same
# socket (the Docker banner); that one is stopped here.
pidfile=$MGR_TMP/podman-again.pid
_stop_podman_again() { [ -s "$pidfile" ] && kill_pid "$(cat "$pidfile")" 10; }
on_exit _stop_podman_again

# The browser runs in a network namespace of its own, reaching the
# manager's 127.0.0.1:PORT through a unix socket (socat at both ends).
# Chromium cancels requests in flight when the host's interfaces change
# (net::ERR_NETWORK_CHANGED), and on this machine every VM container
# start adds a veth, and other tests add and remove interfaces all the
# time.  Everything else (the manager, podman, the VMs) stays on the host.
bridge=$MGR_TMP/browser.sock
setsid socat "UNIX-LISTEN:$bridge,fork" "TCP:$MGR_HOSTPORT" </dev/null >"$MGR_TMP/socat.log" 2>&1 &
on_exit kill_pid $! 2
for ((i = 0; i < 50; i++)); do [ -S "$bridge" ] && break; sleep 0.1; done
[ -S "$bridge" ] || fail "socat did not listen on $bridge"

# TMPDIR: chromium's profile (manager_page.py's mkdtemp) and its own
# temporary files go in this test's folder, removed when it ends.
TMPDIR=$MGR_TMP MGR_URL=$MGR_URL MGR_PASSWORD=$MGR_PASSWORD SV_IMAGE=$SV_PODMAN_TINY \
  SV_VM_NAME=$(mgr_name web) SV_ARTIFACTS=$artifacts SV_DOCS_IMG=$docs \
  MGR_SOCK=$MGR_SOCK MGR_PODMAN_PID=$MGR_PODMAN_PID MGR_PODMAN_LOG=$MGR_PODMAN_LOG \
  SV_PODMAN_PIDFILE=$pidfile SV_HOST_NETNS=/proc/$MGR_PID/ns/net \
  unshare -n bash -c '
    ip link set lo up || exit 1
    socat "TCP-LISTEN:$1,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$2" </dev/null >>"$3" 2>&1 &
    s=$!
    for i in $(seq 50); do socat -u OPEN:/dev/null "TCP:127.0.0.1:$1" 2>/dev/null && break; sleep 0.1; done
    timeout 800 /usr/bin/python3 "$4"
    rc=$?
    kill $s
    exit $rc' - "$MGR_PORT" "$bridge" "$MGR_TMP/socat.log" "$SV_SOURCE_DIR/tests/browser/manager_page.py"
rc=$?
[ "$rc" = 0 ] || {
  info "the manager's log:"
  tail -n 40 "$MGR_LOG" >&2
  fail "the page test failed (rc $rc); artifacts in $artifacts"
}

#!/usr/bin/env bash
# Suspend through the manager: a VM container whose vm.yaml says
# shutdown.mode: suspend (the tiny image with that one change) is made
# with POST /api/vms.  Its VM object says shutdown_mode "suspend" (the
# page's Stop then says Suspend); POST .../stop saves the running guest:
# the container exits 0 and the VM object says suspended; POST .../start
# resumes it: the same boot (the token the guest keeps in RAM), its
# counter going on, no second boot, and suspended false again.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
mgr_prereqs
need_tiny
mgr_images
mgr_podman_service
mgr_start

# The tiny image, but suspended on docker stop, and saying every second
# that it is alive (a token made at boot, a counter: both only in RAM).
# podman gives a restarted container a new MAC (and may give a new
# address): startvm then flaps the guest's links, and tinyvm.relink=1
# asks DHCP again as a real guest's network manager does; the VM is
# ready once the guest has its new lease.
ctx=$MGR_TMP/suspend-ctx
mkdir -p "$ctx"
sed -e 's/tinyvm.mode=wait /tinyvm.mode=wait tinyvm.alive=1 tinyvm.relink=1 /' \
  "$SV_SOURCE_DIR/images/tiny/container-vm.yaml" >"$ctx/vm.yaml"
grep -q 'tinyvm.alive=1' "$ctx/vm.yaml" || fail "the tiny vm.yaml has no tinyvm.mode=wait to extend"
printf 'shutdown:\n  mode: suspend\n  timeout: 60s\n' >>"$ctx/vm.yaml"
printf 'FROM %s\nCOPY vm.yaml /etc/ranchervm/vm.yaml\n' "$SV_PODMAN_TINY" >"$ctx/Dockerfile"
image=localhost/startvm-tiny-suspend:${SV_PODMAN_TAG:-test}
on_exit podman rmi -f "$image"
podman build "${SV_PODMAN_FLAGS[@]}" --format docker -t "$image" "$ctx" >"$MGR_TMP/build.log" 2>&1 ||
  fail "podman build of the suspend image: $(tail -n 20 "$MGR_TMP/build.log")"

name=$(mgr_name susp)
mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$name" \
  '{image: $i, name: $n, memory: "256M", cpus: 1, env: {ACCEL: "tcg"}}')"
mgr_expect 201
id=$(mgr_jq .id)
mgr_wait_vm "$id" '.phase == "ready"' 180 || fail "the VM did not become ready"
assert_eq suspend "$(mgr_jq .shutdown_mode)" "the VM object's shutdown_mode"
assert_eq false "$(mgr_jq .suspended)" "suspended while it runs"

logs() { # the VM's log as text, \r dropped
  mgr_req GET "/api/vms/$id/logs"
  mgr_expect 200
  tr -d '\r' <<<"$MGR_BODY"
}
alive_line() { # the last "alive boot=TOKEN n=N" line
  logs | grep -a -E '^TINYVM: alive boot=[^ ]+ n=[0-9]+$' | sed -n '$p'
}
t0=$SECONDS
until a=$(alive_line) && [ -n "$a" ]; do
  ((SECONDS - t0 < 30)) || fail "no alive line from the guest"
  sleep 0.5
done
token=$(sed -E 's/.*boot=([^ ]+) .*/\1/' <<<"$a")
info "the guest runs: $a"

# --- Suspend: the graceful stop saves the guest ---
mgr_req POST "/api/vms/$id/stop"
mgr_expect 204
mgr_wait_vm "$id" '.state == "exited"' 90 || fail "the VM did not stop"
assert_eq 0 "$(mgr_jq .exit_code)" "exit code after the suspend"
assert_eq true "$(mgr_jq .suspended)" "suspended after the stop"
before=$(alive_line)
n_before=${before##*n=}
logs >"$MGR_TMP/saved.log"
assert_line "$MGR_TMP/saved.log" '^startvm: suspend: saved the guest' "startvm did not save the guest"

# --- Start resumes it: the same boot goes on ---
mgr_req POST "/api/vms/$id/start"
mgr_expect 204
mgr_wait_vm "$id" '.phase == "ready" and .state == "running"' 120 || fail "the VM did not come back"
assert_eq false "$(mgr_jq .suspended)" "suspended once it runs again"
t0=$SECONDS
while :; do
  a=$(alive_line)
  [ "${a##*n=}" -gt "$n_before" ] 2>/dev/null && break
  ((SECONDS - t0 < 30)) || fail "no alive line after the start (last: $a)"
  sleep 0.5
done
assert_eq "$token" "$(sed -E 's/.*boot=([^ ]+) .*/\1/' <<<"$a")" "the guest's boot token after the start (a cold boot makes a new one)"
logs >"$MGR_TMP/resumed.log"
assert_line "$MGR_TMP/resumed.log" "^TINYVM: alive boot=$token n=$((n_before + 1))\$" "the counter did not go on from n=$n_before"
assert_eq 1 "$(grep -a -c '^TINYVM: ready' "$MGR_TMP/resumed.log")" "boots (TINYVM: ready lines) in the log"
info "suspended at n=$n_before and resumed: $a"

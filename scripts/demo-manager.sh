#!/usr/bin/env bash
# The manager part of the demo (scripts/demo.sh runs it last), as root:
#   1. builds the podman images (a Debian base made with mmdebstrap, startvm's
#      image, the tiny guest's VM image; cached after the first run);
#   2. starts a private podman API service and build/startvm-manager on it
#      (HTTPS on a free 127.0.0.1 port, a password of its own);
#   3. creates a VM through the API, as the page would, waits until the
#      guest is up, and shows what the API says about it;
#   4. prints the URL and the password, then removes everything, or with
#      DEMO_MANAGER_KEEP=1 keeps it all running until you press Ctrl-C.
# Uses the tests' harness (tests/lib/manager.sh), so it cleans up the same
# way, also when interrupted.
# Usage: scripts/demo-manager.sh [BUILD_DIR]   (default build/, with
# startvm-manager and the tiny guest in BUILD_DIR/tiny built)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export SV_SOURCE_DIR=$PWD
SV_BINARY_DIR=$(realpath -m "${1:-${BUILD_DIR:-build}}")
export SV_BINARY_DIR SV_TINY_DIR=$SV_BINARY_DIR/tiny SV_TEST_NAME=demo-manager
. tests/lib/common.sh
. tests/lib/podman.sh
. tests/lib/manager.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

mgr_prereqs
say "Building the podman images (the first time: a few minutes)"
mgr_images
say "Starting a private podman service and startvm-manager"
mgr_podman_service
mgr_start
sed 's/^/  | /' "$MGR_LOG"

name=$(mgr_name demo)
say "Creating the VM $name through the API (POST /api/vms)"
mgr_post_json /api/vms "$(jq -cn --arg i "$SV_PODMAN_TINY" --arg n "$name" \
  '{image: $i, name: $n, memory: "256M", env: {ACCEL: "tcg"}}')"
mgr_expect 201
id=$(mgr_jq .id)
podman_wait_log "$id" '^TINYVM: ready$' 240 || fail "the guest did not come up"
mgr_wait_vm "$id" '(.addresses | length) > 0' 60 || true
mgr_req GET "/api/vms/$id" 2>/dev/null
mgr_jq '{name, image, state, phase, addresses, mac, memory_mib, cpus, volume}'
say "The guest's console, as the API serves it (GET /api/vms/$name/logs, last lines)"
# (Not ?tail=: podman 4.3 mangles the guest's partial lines when it tails.)
mgr_req GET "/api/vms/$id/logs" 2>/dev/null
printf '%s\n' "$MGR_BODY" | tr -d '\r' | grep -a '^TINYVM:' | tail -n 5 | sed 's/^/  | /'

say "The manager"
echo "  URL:      $MGR_URL/   (self-signed certificate)"
echo "  password: $MGR_PASSWORD"
echo "  script:   curl -sk -H 'Authorization: Bearer $MGR_PASSWORD' $MGR_URL/api/vms"
if [ "${DEMO_MANAGER_KEEP:-0}" = 1 ]; then
  say "Running until Ctrl-C (then everything is removed)"
  while _sv_alive "$MGR_PID"; do sleep 1; done
  fail "the manager stopped"
fi
say "Done; removing the VM, the manager and the podman service (DEMO_MANAGER_KEEP=1 keeps them)"

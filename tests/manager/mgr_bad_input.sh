#!/usr/bin/env bash
# Bad input to startvm-manager's API, each refused with its exact status
# and message, and nothing created (no container, no volume, no state
# subdirectory): memory, cpus and disks with startvm's own message for the
# same value (compared with `startvm --check` given it as MEMORY, CPUS,
# DISKS), an unknown image, a name Docker refuses, a name in use, network
# modes, a volume or state directory the manager did not make (and such a
# volume surviving DELETE ?volumes=true), ids with "..", "/", "%2f" and
# NUL, fields of the wrong type.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
mgr_prereqs
need_startvm
need_tiny
mgr_images
mgr_podman_service
mgr_start

image=$SV_PODMAN_TINY
name=$(mgr_name bad)

# create JSON_FIELDS STATUS ERROR [FIELD]: POST /api/vms with image and
# name plus JSON_FIELDS (a jq object), expect the refusal, and that
# nothing was made.
create() {
  local fields=$1 status=$2 err=$3 field=${4-}
  mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$name" "{image: \$i, name: \$n} + $fields")"
  mgr_expect "$status" "$err"
  [ -z "$field" ] || assert_eq "$field" "$(mgr_jq .field)" "field of the refusal of $fields"
  # (The snapshot holds $name, $name-image and the state directory.)
  mgr_assert_unchanged "POST /api/vms with $fields"
}

# startvm's message for an environment value, as `startvm --check` words it
# ("startvm: MEMORY=12X: memory: ..." without the program's name): the
# manager passes the value on as that variable, so the message is the same.
check_msg() { # VAR VALUE
  local out
  out=$(env "$1=$2" "$STARTVM" --check --config "$SV_SOURCE_DIR/images/tiny/container-vm.yaml" 2>&1) &&
    fail "startvm --check accepted $1=$2"
  printf '%s\n' "${out#startvm: }"
}

# Every refusal below is compared with this (taken again after the test's
# own deliberate changes).
mgr_snapshot

# --- memory, cpus, disks: startvm's parsers and messages ---
for v in 12X 0 -5 1.5.5G; do
  create "{memory: \"$v\"}" 400 "$(check_msg MEMORY "$v")" memory
done
for v in 0 abc 1000 1.5; do
  create "{cpus: \"$v\"}" 400 "$(check_msg CPUS "$v")" cpus
done
create '{cpus: 0}' 400 "$(check_msg CPUS 0)" cpus
for v in 'data:size=xyz' 'data:20G:bus=floppy' ':20G'; do
  create "{disks: \"$v\"}" 400 "$(check_msg DISKS "$v")" disks
done
# Wrong JSON types and values of the other fields: the field is named.
create '{memory: true}' 400 "memory: expected a string or a number" memory
create '{cpus: 1.5}' 400 "cpus: expected a string or a number" cpus
create '{cpus: -1}' 400 "$(check_msg CPUS -1)" cpus
create '{disks: 5}' 400 "disks: expected a string" disks
create '{env: "ACCEL=tcg"}' 400 "env: expected an object of NAME: value strings" env
create '{env: {A: 1}}' 400 "env.A: expected a string" env
create '{env: {"A=B": "x"}}' 400 "env: 'A=B' is not a variable name" env
create '{ports: "80"}' 400 'ports: expected a list of {"host_port", "container_port", "protocol"}' ports
create '{ports: [{host_port: 70000, container_port: 80}]}' 400 \
  "ports[0].host_port: expected a port number 1 to 65535 (0 or absent: any free port)" ports
create '{ports: [{host_port: 8080, container_port: 80, protocol: "icmp"}]}' 400 \
  "ports[0].protocol: expected tcp or udp" ports
create '{no_dhcp: "yes"}' 400 "no_dhcp: expected true or false" no_dhcp
create '{user_data: 5}' 400 "user_data: expected a string" user_data
create '{bogus: 1}' 400 \
  "unknown field 'bogus' (accepted: image, name, memory, cpus, disks, network, ports, no_dhcp, user_data, env, firmware, tpm, shares)" body
create '{image: 5}' 400 "image: expected a string" image
mgr_post_json /api/vms '[1]'
mgr_expect 400 "invalid JSON: the body must be an object"
mgr_post_json /api/vms "$(jq -cn --arg n "$name" '{name: $n}')"
mgr_expect 400 "image is required"
assert_eq image "$(mgr_jq .field)" "field of a missing image"
mgr_assert_unchanged "a body without image"

# --- what Docker refuses: in Docker's words, and nothing left behind ---
# An image that does not exist: 400, the field named.
mgr_post_json /api/vms "$(jq -cn --arg n "$name" '{image: "localhost/no-such-image:nope", name: $n}')"
mgr_expect 400
assert_eq image "$(mgr_jq .field)" "field of the unknown image"
mgr_jq .error | grep -i 'no such image' >/dev/null || fail "the unknown image's message is not Docker's: $MGR_BODY"
mgr_jq .error | grep -F 'localhost/no-such-image:nope' >/dev/null || fail "the message does not name the image: $MGR_BODY"
mgr_assert_unchanged "an unknown image"
# A network that does not exist: refused after the manager's own checks
# passed, where a half-made VM (volume, directory) would show.
mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$name" --arg net "$(mgr_name nonet)" \
  '{image: $i, name: $n, network: $net}')"
case "$MGR_STATUS" in 400 | 404 | 502) ;; *) fail "unknown network: $MGR_STATUS: $MGR_BODY" ;; esac
mgr_jq .error | grep -F "$(mgr_name nonet)" >/dev/null || fail "the message does not name the network: $MGR_BODY"
mgr_assert_unchanged "an unknown network"
# Network modes, not networks: the VM container (NET_ADMIN, NET_RAW) would
# take over the host's interfaces.  podman 4.3 answers 404 for "host",
# which once hid that a Docker host let it through (tests/manager/
# mgr_fake_docker.sh has Docker's answers).
for net in host none "container:$(mgr_name taken)" ns:/proc/1/ns/net; do
  create "$(jq -cn --arg net "$net" '{network: $net}')" 400 \
    "network: '$net' is refused: a VM needs a network of its own (not host, none, container:... or ns:...)" \
    network
done
# An image that is no VM image (the plain Debian base): refused before
# anything is made, with nothing left behind.
mgr_post_json /api/vms "$(jq -cn --arg i "$SV_PODMAN_BASE" --arg n "$name" '{image: $i, name: $n}')"
mgr_expect 400 "$SV_PODMAN_BASE is not a VM image (no label io.startvm.vm=true)"
assert_eq image "$(mgr_jq .field)" "field of a non-VM image"
mgr_assert_unchanged "a non-VM image"

# --- names: one Docker refuses, one in use ---
for bad in 'bad name' '-dash' 'a/b' '../x'; do
  mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$bad" '{image: $i, name: $n}')"
  mgr_expect 400 "Invalid container name ($bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
  assert_eq name "$(mgr_jq .field)" "field of the name '$bad'"
  mgr_assert_unchanged "the name '$bad'"
done
taken=$(mgr_name taken)
podman create --name "$taken" "$SV_PODMAN_BASE" sleep 1 >/dev/null || fail "podman create $taken"
mgr_snapshot
mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$taken" '{image: $i, name: $n}')"
mgr_expect 409 "the container name \"$taken\" is already in use"
assert_eq name "$(mgr_jq .field)" "field of the name in use"
mgr_assert_unchanged "a name in use"
podman volume exists "$taken-image" && fail "a refused duplicate made the volume $taken-image"
assert_eq "$SV_PODMAN_BASE" "$(podman inspect -f '{{.ImageName}}' "$taken")" "the container named $taken"

# --- what the manager did not make: never adopted, never deleted ---
# A volume <name>-image made by hand, or made by the manager for another
# VM name (the labels say whose): 409, nothing made, the volume untouched.
hand=$(mgr_name hand)
other=$(mgr_name other)
podman volume create "$hand-image" >/dev/null || fail "podman volume create $hand-image"
podman volume create --label io.startvm.managed=true --label io.startvm.state="$hand" \
  "$other-image" >/dev/null || fail "podman volume create $other-image"
mgr_snapshot
for n in "$hand" "$other"; do
  mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$n" '{image: $i, name: $n}')"
  mgr_expect 409 "the volume \"$n-image\" exists and the manager did not make it for this VM (no labels io.startvm.managed=true and io.startvm.state=$n): remove it or pick another name"
  assert_eq name "$(mgr_jq .field)" "field of the volume $n-image"
  mgr_assert_unchanged "a volume $n-image the manager did not make"
done
# A state directory made by hand (no marker in it): 409, and it stays as
# it was.
dirhand=$(mgr_name dirhand)
mkdir -m 0700 "$MGR_STATE_DIR/$dirhand" && touch "$MGR_STATE_DIR/$dirhand/mine" || fail "mkdir"
mgr_snapshot
mgr_post_json /api/vms "$(jq -cn --arg i "$image" --arg n "$dirhand" '{image: $i, name: $n}')"
mgr_expect 409 "the state directory $MGR_STATE_DIR/$dirhand exists and the manager did not make it (no .startvm-manager in it): remove it or pick another name"
assert_eq name "$(mgr_jq .field)" "field of the state directory $dirhand"
mgr_assert_unchanged "a state directory the manager did not make"
assert_eq mine "$(ls -A "$MGR_STATE_DIR/$dirhand")" "the hand-made state directory's entries"
# DELETE ?volumes=true of a VM container whose /image is a volume made by
# hand: the container goes, the volume stays, and the answer says so.
kept=$(mgr_name kept)
podman volume create "$kept-vol" >/dev/null || fail "podman volume create $kept-vol"
podman create --name "$kept" "${SV_PODMAN_FLAGS[@]}" --label io.startvm.managed=true \
  --label io.startvm.state="$kept" -v "$kept-vol:/image" --entrypoint sleep "$SV_PODMAN_TINY" 600 \
  >/dev/null || fail "podman create $kept"
mgr_req DELETE "/api/vms/$kept?volumes=true"
mgr_expect 200
assert_eq "$kept-vol" "$(mgr_jq .kept_volume)" "kept_volume"
assert_eq "the volume \"$kept-vol\" was kept: the manager did not make it for this VM (no labels io.startvm.managed=true and io.startvm.state=$kept)" \
  "$(mgr_jq .message)" "the answer's message"
podman container exists "$kept" && fail "DELETE left the container $kept"
podman volume exists "$kept-vol" || fail "DELETE ?volumes=true removed the volume $kept-vol, made by hand"
mgr_snapshot

# --- ids that are paths: 404, and nothing touched ---
# path_id RAW MESSAGE: every route on the id RAW (sent as is) answers 404
# with MESSAGE, written as in JSON (\u0000 for NUL), "@" standing for the
# route's suffix (/logs, /stop...).  The HTTP library resolves "." and ".."
# (also %2e%2e) before routing: those never reach a VM route at all.
path_id() {
  local m suffix
  for m in "GET /api/vms/$1" "GET /api/vms/$1/logs" "POST /api/vms/$1/stop" "POST /api/vms/$1/kill" \
    "DELETE /api/vms/$1" "GET /api/vms/$1/screenshot.png"; do
    suffix=${m##*/"$1"}
    # shellcheck disable=SC2086
    mgr_req $m
    mgr_expect 404
    assert_eq "\"${2//@/$suffix}\"" "$(jq -c .error <<<"$MGR_BODY")" "$m"
    mgr_assert_unchanged "$m"
  done
}
path_id .. 'no such API path: /api@'
path_id ../../etc 'no such API path: /etc@'
path_id %2e%2e 'no such API path: /api@'
path_id ..%2f..%2fetc%2fpasswd 'no such API path: /etc/passwd@'
path_id x%2fy 'no such VM: x/y'
path_id x/y 'no such VM: x/y'
# NUL: libwebsockets itself drops a request whose path has %00 after other
# characters (no answer at all, curl's 000) before the manager sees it; a
# leading %00 reaches the manager as an empty id.  Either way a NUL must
# never cut an id down to a VM's name: a VM container (created, not
# started: sleep instead of startvm) is found by its name, and not by its
# name followed by %00 and anything.
vm=$(mgr_name vm)
podman create --name "$vm" "${SV_PODMAN_FLAGS[@]}" --entrypoint sleep "$SV_PODMAN_TINY" 600 >/dev/null ||
  fail "podman create $vm"
mgr_snapshot
mgr_req GET "/api/vms/$vm"
mgr_expect 200
for raw in "$vm%00" "$vm%00x" "$vm%00/stop" "%00$vm"; do
  for m in GET POST DELETE; do
    mgr_req "$m" "/api/vms/$raw"
    case "$MGR_STATUS" in
    000) ;;
    404) mgr_jq .error | grep '^no such VM: ' >/dev/null || fail "$m $raw: $MGR_BODY" ;;
    405) [ "$m" = GET ] && fail "$m $raw: $MGR_STATUS" ;;
    *) fail "$m /api/vms/$raw: expected 404 or no answer, got $MGR_STATUS: $MGR_BODY" ;;
    esac
    mgr_assert_unchanged "$m /api/vms/$raw"
  done
done
assert_eq created "$(podman inspect -f '{{.State.Status}}' "$vm")" "the VM after the NUL requests"
_sv_alive "$MGR_PID" || fail "the manager died"
path_id "$(mgr_name nope)" "no such VM: $(mgr_name nope)"
mgr_req GET "/api/vms/$(mgr_name taken)"
mgr_expect 404 "no such VM: $(mgr_name taken)"
# The manager still serves.
mgr_req GET /api/vms
mgr_expect 200
info "ok"

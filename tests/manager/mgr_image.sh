#!/usr/bin/env bash
# The management container for real: build images/manager (on the
# mmdebstrap base), run it with podman as docs/manager.md's docker run line does
# (the private podman service's socket at /var/run/docker.sock, a host
# directory at /ranchervm, nothing else), and check that it serves
# /healthz over HTTPS on 8443, that it made a password and printed it in
# its log (and stored it 0600 in its own volume, never under /ranchervm),
# that the page, noVNC and term.js are served from the image, and that it
# found the host path of its state directory from its own mounts: a VM it
# creates gets <host dir>/<name> bound at /ranchervm.
. "$SV_SOURCE_DIR/tests/lib/common.sh"
. "$SV_SOURCE_DIR/tests/lib/podman.sh"
. "$SV_SOURCE_DIR/tests/lib/manager.sh"
podman_prereqs
need curl jq
need_tiny
[ -n "${MGR_TMP:-}" ] || tmpdir MGR_TMP
chmod 0755 "$MGR_TMP"
t0=$SECONDS
mgr_image
podman_images
t_build=$((SECONDS - t0))
mgr_podman_service

host_state=$MGR_TMP/ranchervm
mkdir -p "$host_state"
mgr=$(mgr_name manager)
data=$(mgr_name data)
on_exit podman volume rm -f "$data"
t0=$SECONDS
podman run -d --name "$mgr" "${SV_PODMAN_FLAGS[@]}" \
  -v "$MGR_SOCK:/var/run/docker.sock" -v "$host_state:/ranchervm" -v "$data:/var/lib/startvm-manager" \
  "$SV_PODMAN_MANAGER" >/dev/null || fail "podman run $SV_PODMAN_MANAGER"
ip=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$mgr" | awk '{print $1}')
[ -n "$ip" ] || fail "no address for the manager's container"
MGR_URL=https://$ip:8443
ok=0
for ((i = 0; i < 600; i++)); do
  [ "$(curl -sk --max-time 5 "$MGR_URL/healthz")" = ok ] && ok=1 && break
  [ "$(podman inspect -f '{{.State.Running}}' "$mgr")" = true ] || break
  sleep 0.1
done
podman logs "$mgr" >"$MGR_TMP/manager.log" 2>&1
[ "$ok" = 1 ] || {
  tail -n 30 "$MGR_TMP/manager.log" >&2
  fail "the manager container did not answer $MGR_URL/healthz"
}
info "container up and serving in $((SECONDS - t0))s (image build or reuse: ${t_build}s)"
cat "$MGR_TMP/manager.log" >&2

# The password: printed once, stored 0600 in the data volume.
assert_line "$MGR_TMP/manager.log" \
  '^startvm-manager: generated password: [^ ]+ \(stored in /var/lib/startvm-manager/password\)$' \
  "the generated password is not in the log"
MGR_PASSWORD=$(sed -n 's/^startvm-manager: generated password: \([^ ]*\) .*/\1/p' "$MGR_TMP/manager.log")
assert_eq "$MGR_PASSWORD" "$(podman exec "$mgr" cat /var/lib/startvm-manager/password | tr -d '\n')" \
  "the stored password"
assert_eq 600 "$(podman exec "$mgr" stat -c %a /var/lib/startvm-manager/password)" "mode of the password file"
[ -z "$(ls -A "$host_state")" ] || fail "the manager wrote into the VMs' directory: $(ls -A "$host_state")"
assert_line "$MGR_TMP/manager.log" '^startvm-manager: listening on https://0\.0\.0\.0:8443$' "no listening line"
assert_line "$MGR_TMP/manager.log" "^startvm-manager: Docker API at /var/run/docker.sock; VM state in /ranchervm \\(bound from $host_state\\)" \
  "the manager did not find the host path of /ranchervm from its own mounts"

# HTTPS with its own self-signed certificate, as src/manager/tls.c makes
# it: CN=startvm-manager, its own issuer, SAN localhost, 127.0.0.1 and
# ::1, a P-256 key, valid for 10 years from an hour ago; stored in the
# data volume and announced in the log.
echo | openssl s_client -connect "$ip:8443" 2>/dev/null | openssl x509 -out "$MGR_TMP/served.crt" ||
  fail "no certificate on $ip:8443"
openssl x509 -in "$MGR_TMP/served.crt" -noout -subject -issuer -nameopt RFC2253 -ext subjectAltName \
  >"$MGR_TMP/cert.txt" || fail "openssl cannot read the served certificate"
info "certificate: $(tr '\n' ' ' <"$MGR_TMP/cert.txt")"
assert_eq "subject=CN=startvm-manager
issuer=CN=startvm-manager
X509v3 Subject Alternative Name: 
    DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" "$(cat "$MGR_TMP/cert.txt")" \
  "the served certificate's subject, issuer and subjectAltName"
openssl verify -CAfile "$MGR_TMP/served.crt" "$MGR_TMP/served.crt" >/dev/null ||
  fail "the served certificate is not validly self-signed"
openssl x509 -in "$MGR_TMP/served.crt" -noout -text >"$MGR_TMP/cert.text" || fail "openssl x509 -text"
assert_line "$MGR_TMP/cert.text" '^ +ASN1 OID: prime256v1$' "the certificate's key is not P-256"
openssl x509 -in "$MGR_TMP/served.crt" -noout -checkend $((3650 * 86400 - 2 * 86400)) >/dev/null ||
  fail "the certificate ends sooner than 10 years from now"
openssl x509 -in "$MGR_TMP/served.crt" -noout -checkend $((3650 * 86400 + 86400)) >/dev/null &&
  fail "the certificate is valid for longer than 10 years"
podman exec "$mgr" cat /var/lib/startvm-manager/tls.crt >"$MGR_TMP/stored.crt" ||
  fail "no tls.crt in the data volume"
cmp -s <(openssl x509 -in "$MGR_TMP/stored.crt" -outform DER) <(openssl x509 -in "$MGR_TMP/served.crt" -outform DER) ||
  fail "the served certificate is not the one stored in the data volume"
assert_line "$MGR_TMP/manager.log" \
  '^startvm-manager: generated a self-signed TLS certificate /var/lib/startvm-manager/tls\.crt$' \
  "the log does not say the certificate was generated"

MGR_HOSTPORT=$ip:8443
mgr_req -a none GET /
mgr_expect 200
mgr_req -a none GET /novnc/core/rfb.js
mgr_expect 200
mgr_req -a none GET /termjs/term.js
mgr_expect 200
mgr_req GET /api/session
mgr_expect 200

# Its host state directory, from its own mounts: a VM it creates gets
# <host dir>/<name> at /ranchervm.
name=$(mgr_name vm)
mgr_post_json /api/vms "$(jq -cn --arg i "$SV_PODMAN_TINY" --arg n "$name" '{image: $i, name: $n, env: {ACCEL: "tcg"}}')"
[ "$MGR_STATUS" = 201 ] || podman logs "$mgr" 2>&1 | tail -n 20 >&2
mgr_expect 201
assert_eq "$host_state/$name" \
  "$(podman inspect -f '{{range .Mounts}}{{if eq .Destination "/ranchervm"}}{{.Source}}{{end}}{{end}}' "$name")" \
  "the new VM's /ranchervm"
[ -d "$host_state/$name" ] || fail "no $host_state/$name on the host"
mgr_req DELETE "/api/vms/$name?volumes=true"
mgr_expect 204
podman container exists "$name" && fail "$name is still there"

# A clean stop (SIGTERM) well before podman's 10 s.
t0=$SECONDS
podman stop -t 20 "$mgr" >/dev/null
info "stopped in $((SECONDS - t0))s, exit $(podman inspect -f '{{.State.ExitCode}}' "$mgr")"
assert_eq 0 "$(podman inspect -f '{{.State.ExitCode}}' "$mgr")" "the manager's exit code on SIGTERM"
info "ok"

#!/usr/bin/env bash
# The compose and Kubernetes examples agree with what startvm needs: the
# compose health check is the image's (startvm status --ready) and a
# service waits for service_healthy; the Kubernetes ConfigMap's vm.yaml is
# valid (startvm --check), its shutdown.timeout is below the StatefulSet's
# terminationGracePeriodSeconds, and the readiness probe runs startvm
# status --ready by absolute path.
. "$SV_SOURCE_DIR/tests/lib/common.sh" || exit 1
need_startvm
need /usr/bin/python3
/usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "needs python3-yaml"
tmpdir
ex=$SV_SOURCE_DIR/examples

/usr/bin/python3 - "$ex/docker-compose.yml" "$SV_SOURCE_DIR/images/base/Dockerfile" <<'PY' || fail "docker-compose.yml"
import re, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
hc = d["services"]["debian"]["healthcheck"]
assert hc["test"] == ["CMD", "startvm", "status", "--ready"], hc
dockerfile = open(sys.argv[2]).read()
m = re.search(r'HEALTHCHECK (.*?)\\\n\s*CMD (\[.*\])', dockerfile)
assert m and yaml.safe_load(m.group(2)) == hc["test"][1:], "the Dockerfile's HEALTHCHECK differs"
for k in ("interval", "timeout", "start_period", "retries"):
    flag = "--" + k.replace("_", "-") + "="
    assert flag + str(hc[k]) in m.group(1), (k, m.group(1))
waits = [s for s in d["services"].values()
         if s.get("depends_on", {}).get("debian", {}).get("condition") == "service_healthy"]
assert waits, "no service waits for the VM to be healthy"
PY

/usr/bin/python3 - "$ex/kubernetes" "$SV_TMP" <<'PY' || fail "examples/kubernetes"
import glob, sys, yaml
docs = [d for f in sorted(glob.glob(sys.argv[1] + "/*.yaml")) for d in yaml.safe_load_all(open(f)) if d]
kinds = {d["kind"]: d for d in docs}
sts, cm = kinds["StatefulSet"], kinds["ConfigMap"]
open(sys.argv[2] + "/vm.yaml", "w").write(cm["data"]["vm.yaml"])
timeout = yaml.safe_load(cm["data"]["vm.yaml"])["shutdown"]["timeout"]
assert timeout.endswith("s") and timeout[:-1].isdigit(), timeout
spec = sts["spec"]["template"]["spec"]
assert spec["terminationGracePeriodSeconds"] > int(timeout[:-1]), "grace period not above shutdown.timeout"
c = spec["containers"][0]
assert c["readinessProbe"]["exec"]["command"] == ["/usr/local/bin/startvm", "status", "--ready"]
assert set(c["securityContext"]["capabilities"]["add"]) == {"NET_ADMIN", "NET_RAW"}
assert not c["securityContext"].get("privileged")
env = {e["name"]: e["value"] for e in c["env"]}
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
assert env["RANCHERVM_CONFIG"] == mounts["config"] + "/vm.yaml"
assert mounts["cloud-init"] == "/etc/ranchervm/cloud-init"
assert mounts["disk"] == "/image" and sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "disk"
vols = {v["name"]: v for v in spec["volumes"]}
for dev in ("tun", "kvm"):
    assert vols[dev]["hostPath"]["type"] == "CharDevice", dev
assert "user-data" in kinds["Secret"]["stringData"]
PY
"$STARTVM" --check --config "$SV_TMP/vm.yaml" 2>"$SV_TMP/check.err" || fail "the ConfigMap's vm.yaml: $(cat "$SV_TMP/check.err")"
echo ok

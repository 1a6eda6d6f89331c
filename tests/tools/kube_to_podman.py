#!/usr/bin/python3
"""Turn examples/kubernetes/ into what `podman kube play` (4.3) plays.

podman plays Pods, Deployments, PersistentVolumeClaims and ConfigMaps.
This does, for one replica, what Kubernetes' controllers would do with the
rest, and nothing more:
  - StatefulSet -> Pod "<name>-0" (its template, hostname = pod name) and
    one PVC "<claim>-<name>-0" per volumeClaimTemplate, mounted as the
    template's volume of that name;
  - Secret -> a ConfigMap with the same keys (podman 4.3 crashes on secret
    volumes: a nil pointer in VolumeFromSecret), so the container sees the
    same files at the same path;
  - Service -> not played (podman has no Services); its targetPort,
    resolved through the container's named ports, is printed for the test
    to reach at the pod's address.
Every name gets SUFFIX appended, so parallel runs do not collide.  The
image, vm.yaml (the ConfigMap key) and extra env are the test's.

Usage: kube_to_podman.py DIR SUFFIX IMAGE VM_YAML OUT.yaml [ENV=VALUE...]
Prints shell assignments: POD, CONTAINER, CLAIMS, SERVICE_PORT, PROBE.
"""
import base64
import glob
import shlex
import sys

import yaml


def main():
    src, suffix, image, vm_yaml_path, out = sys.argv[1:6]
    env = [a.split("=", 1) for a in sys.argv[6:]]
    docs = []
    for f in sorted(glob.glob(src + "/*.yaml")):
        with open(f) as fh:
            docs += [d for d in yaml.safe_load_all(fh) if d]
    names = {d["metadata"]["name"]: d["metadata"]["name"] + "-" + suffix for d in docs}
    kinds = {}
    for d in docs:
        kinds.setdefault(d["kind"], []).append(d)
    assert len(kinds.get("StatefulSet", [])) == 1, "one StatefulSet expected"
    sts = kinds["StatefulSet"][0]
    played = []

    for cm in kinds.get("ConfigMap", []):
        cm = dict(cm, metadata=dict(cm["metadata"], name=names[cm["metadata"]["name"]]))
        if "vm.yaml" in cm.get("data", {}):
            with open(vm_yaml_path) as fh:
                cm["data"] = dict(cm["data"], **{"vm.yaml": fh.read()})
        played.append(cm)
    for sec in kinds.get("Secret", []):
        data = {k: base64.b64decode(v).decode() for k, v in (sec.get("data") or {}).items()}
        data.update(sec.get("stringData") or {})
        played.append({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": names[sec["metadata"]["name"]]}, "data": data})

    pod_name = names[sts["metadata"]["name"]] + "-0"
    spec = yaml.safe_load(yaml.safe_dump(sts["spec"]["template"]["spec"]))
    spec["hostname"] = pod_name
    claims = []
    for t in sts["spec"].get("volumeClaimTemplates", []):
        claim = t["metadata"]["name"] + "-" + pod_name
        claims.append(claim)
        played.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": claim}, "spec": t["spec"]})
        spec.setdefault("volumes", []).append(
            {"name": t["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
    for v in spec.get("volumes", []):
        if "configMap" in v:
            v["configMap"]["name"] = names[v["configMap"]["name"]]
        if "secret" in v:
            v["configMap"] = {"name": names[v.pop("secret")["secretName"]]}
    assert len(spec["containers"]) == 1, "one container expected"
    c = spec["containers"][0]
    c["image"] = image
    c["imagePullPolicy"] = "Never"
    c.setdefault("env", []).extend({"name": k, "value": v} for k, v in env)
    played.append({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": pod_name,
                                "labels": sts["spec"]["template"]["metadata"]["labels"]},
                   "spec": spec})
    with open(out, "w") as fh:
        yaml.safe_dump_all(played, fh, sort_keys=False)

    # The Service that selects this pod, and where its first port lands.
    labels = sts["spec"]["template"]["metadata"]["labels"]
    port = None
    for svc in kinds.get("Service", []):
        sel = svc["spec"].get("selector", {})
        if svc["spec"].get("clusterIP") != "None" and all(labels.get(k) == v for k, v in sel.items()):
            target = svc["spec"]["ports"][0].get("targetPort", svc["spec"]["ports"][0]["port"])
            if isinstance(target, str):
                target = next(p["containerPort"] for p in c.get("ports", []) if p.get("name") == target)
            port = target
    probe = c["readinessProbe"]["exec"]["command"]
    print("POD=%s" % shlex.quote(pod_name))
    print("CONTAINER=%s" % shlex.quote(pod_name + "-" + c["name"]))
    print("CLAIMS=%s" % shlex.quote(" ".join(claims)))
    print("SERVICE_PORT=%s" % shlex.quote(str(port)))
    print("PROBE=(%s)" % " ".join(shlex.quote(a) for a in probe))
    print("GRACE=%s" % shlex.quote(str(spec.get("terminationGracePeriodSeconds", 30))))


if __name__ == "__main__":
    main()

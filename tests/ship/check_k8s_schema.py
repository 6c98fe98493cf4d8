#!/usr/bin/env python3
"""Validates deploy/kubernetes/*.yaml against kubernetes-api.schema.yaml (python3-jsonschema),
offline: every object of every file, with the path of each error. Then proves the check can
fail: each of a list of misspellings and bad values, put into a copy of the real manifests,
must be refused (a schema that let them through would be no check at all).

    check_k8s_schema.py DIR      (DIR: deploy/kubernetes)"""
import copy
import glob
import os
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def load_docs(directory):
    docs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path) as f:
            for i, d in enumerate(yaml.safe_load_all(f)):
                if d:
                    docs.append((f"{os.path.basename(path)}#{i}", d))
    return docs


def errors_of(validator, doc):
    """Each error as 'path: message'; for oneOf over the kinds, the errors against the schema
    of the document's own kind (what a person needs to read)."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    defs = validator.schema["definitions"]
    if kind in defs:
        sub = jsonschema.Draft7Validator(dict(defs[kind], definitions=defs))
        errs = sorted(sub.iter_errors(doc), key=lambda e: list(e.absolute_path))
    else:
        errs = list(validator.iter_errors(doc))
    return ["/".join(str(p) for p in e.absolute_path) + ": " + e.message for e in errs]


def find(docs, kind, name=None):
    for _, d in docs:
        if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name):
            return d
    raise KeyError(f"{kind}/{name}")


def rename(obj, key, new):
    obj[new] = obj.pop(key)


# (what, how to spoil a copy of the manifests)
def spoilers(docs):
    ds = lambda d: find(d, "DaemonSet")  # noqa: E731
    pod = lambda d: ds(d)["spec"]["template"]["spec"]  # noqa: E731
    ctr = lambda d: pod(d)["containers"][0]  # noqa: E731
    return [
        ("hostPID misspelt hostPid", lambda d: rename(pod(d), "hostPID", "hostPid")),
        ("mountPath misspelt mountpath",
         lambda d: rename(ctr(d)["volumeMounts"][0], "mountPath", "mountpath")),
        ("httpGet misspelt httpget",
         lambda d: rename(ctr(d)["livenessProbe"], "httpGet", "httpget")),
        ("capabilities.drop misspelt Drop",
         lambda d: rename(ctr(d)["securityContext"]["capabilities"], "drop", "Drop")),
        ("secretName misspelt secretname",
         lambda d: rename([v for v in pod(d)["volumes"] if "secret" in v][0]["secret"],
                          "secretName", "secretname")),
        ("dnsPolicy ClusterFirstWithHostnet",
         lambda d: pod(d).update(dnsPolicy="ClusterFirstWithHostnet")),
        ("hostPath type directory",
         lambda d: [v for v in pod(d)["volumes"] if "hostPath" in v][0]["hostPath"].update(
             type="directory")),
        ("a volume with two sources",
         lambda d: [v for v in pod(d)["volumes"] if "hostPath" in v][0].update(emptyDir={})),
        ("the DaemonSet's selector missing", lambda d: ds(d)["spec"].pop("selector")),
        ("ConfigMap data misspelt Data",
         lambda d: rename(find(d, "ConfigMap", "eunomia-config"), "data", "Data")),
        ("Secret type misspelt tpye",
         lambda d: rename(find(d, "Secret", "eunomia-metrics-token"), "type", "tpye")),
        ("the service-account token Secret without its account",
         lambda d: find(d, "Secret", "eunomia-metrics-token")["metadata"].pop("annotations")),
        ("ServiceAccount automountServiceAccountToken misspelt",
         lambda d: rename(find(d, "ServiceAccount", "eunomia-agent"),
                          "automountServiceAccountToken", "automountServiceAccountTokens")),
        ("Service targetPort misspelt targetport",
         lambda d: rename(find(d, "Service")["spec"]["ports"][0], "targetPort", "targetport")),
        ("Kustomization resources misspelt resource",
         lambda d: rename(find(d, "Kustomization"), "resources", "resource")),
        ("a container port number out of range",
         lambda d: ctr(d)["ports"][0].update(containerPort=94640)),
        ("apiVersion apps/v1beta2", lambda d: ds(d).update(apiVersion="apps/v1beta2")),
    ]


def main():
    directory = sys.argv[1]
    with open(os.path.join(HERE, "kubernetes-api.schema.yaml")) as f:
        schema = yaml.safe_load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    docs = load_docs(directory)
    failed = False
    for where, d in docs:
        errs = errors_of(validator, d)
        for e in errs:
            print(f"FAIL: {where} ({d.get('kind')}): {e}", file=sys.stderr)
        failed |= bool(errs)
    if failed:
        sys.exit(1)
    kinds = sorted({d["kind"] for _, d in docs})
    print(f"schema: {len(docs)} objects valid ({', '.join(kinds)})")

    # the check must be able to fail
    for what, spoil in spoilers(docs):
        bad = copy.deepcopy([d for _, d in docs])
        spoil([(None, d) for d in bad])
        if not any(errors_of(validator, d) for d in bad):
            print(f"FAIL: the schema accepts manifests with {what}", file=sys.stderr)
            failed = True
        else:
            first = next(e for d in bad for e in errors_of(validator, d))
            print(f"refused as it must be: {what}: {first}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

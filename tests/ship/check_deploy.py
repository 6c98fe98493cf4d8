#!/usr/bin/env python3
"""Checks the deploy/ manifests for what the agent relies on (python3-yaml).

    check_deploy.py kubernetes   the DaemonSet, its ConfigMaps, the collector Service
    check_deploy.py collector    deploy/otel-collector.yaml and its Kubernetes copy

Environment: EU_SOURCE_DIR (the checkout), EU_AGENT_BIN (the built agent: the manifests'
config and arguments are fed to its --check-config)."""
import os
import re
import subprocess
import sys
import tempfile

import yaml

SRC = os.environ["EU_SOURCE_DIR"]
DEPLOY = os.path.join(SRC, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
AGENT = os.environ.get("EU_AGENT_BIN")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def k8s_objects():
    kust = load_all(os.path.join(K8S, "kustomization.yaml"))[0]
    objs = []
    for res in kust["resources"]:
        for d in load_all(os.path.join(K8S, res)):
            d.setdefault("metadata", {}).setdefault("namespace", kust.get("namespace"))
            objs.append(d)
    for d in load_all(os.path.join(K8S, "packages-configmap.yaml")):
        objs.append(d)
    return kust, objs


def find(objs, kind, name):
    hits = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    check(len(hits) == 1, f"exactly one {kind}/{name} (found {len(hits)})")
    return hits[0] if hits else {}


def unit_caps():
    with open(os.path.join(DEPLOY, "eunomia-agent.service")) as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                return {c[4:] for c in line.split("=", 1)[1].split()}
    return set()


def expand(value, env):
    """Kubernetes $(VAR) expansion: only variables defined earlier in the list expand."""
    def sub(m):
        check(m.group(1) in env, f"$({m.group(1)}) used before it is defined")
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, value)


def run_check_config(config_text, args, env_extra, token_path):
    if not check(AGENT and os.access(AGENT, os.X_OK), f"EU_AGENT_BIN not runnable: {AGENT}"):
        return
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "eunomia.yaml")
        with open(cfg, "w") as f:
            f.write(config_text)
        # the Secret's file as the kubelet makes it (mode 0400)
        token = os.path.join(tmp, "token")
        fd = os.open(token, os.O_WRONLY | os.O_CREAT, 0o400)
        os.write(fd, b"eyJhbGciOiJSUzI1NiJ9." + b"x" * 1200 + b".sig\n")
        os.close(fd)
        args = [cfg if a == "/etc/eunomia/eunomia.yaml" else token if a == token_path else a
                for a in args]
        env = dict(os.environ, **env_extra)
        p = subprocess.run([AGENT, "--check-config"] + args, env=env, capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 0 and "OK:" in p.stdout,
              f"agent --check-config {args}: rc {p.returncode}: {p.stdout}{p.stderr}")
        print(f"agent --check-config on the ConfigMap's config and the DaemonSet's args: "
              f"{p.stdout.strip()}")


def check_kubernetes():
    kust, objs = k8s_objects()
    for o in objs:
        check(o["metadata"]["namespace"] == "eunomia",
              f"{o['kind']}/{o['metadata']['name']} not in namespace eunomia")
    ds = find(objs, "DaemonSet", "eunomia-agent")
    pod = ds["spec"]["template"]["spec"]
    check(ds["spec"]["selector"]["matchLabels"].items() <=
          ds["spec"]["template"]["metadata"]["labels"].items(), "selector matches the pod labels")
    check(pod.get("hostPID") is True, "hostPID: true (events carry the node's pids)")
    check(pod.get("hostNetwork") is True, "hostNetwork: true (tc/xdp on the node's interfaces)")
    check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet",
          "dnsPolicy ClusterFirstWithHostNet (the collector Service resolves with hostNetwork)")
    sa = pod.get("serviceAccountName")
    find(objs, "ServiceAccount", sa)
    check(any(t.get("operator") == "Exists" for t in pod.get("tolerations", [])),
          "tolerates every taint (every node)")

    ctrs = [c for c in pod["containers"] if c["name"] == "agent"]
    if not check(len(ctrs) == 1, "one container named agent"):
        return
    c = ctrs[0]
    sc = c["securityContext"]
    check(sc.get("privileged") is False, "not privileged")
    check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    check(sc["capabilities"].get("drop") == ["ALL"], "drops ALL capabilities")
    added = set(sc["capabilities"].get("add", []))
    check(added == {"BPF", "PERFMON", "NET_ADMIN", "SYS_RESOURCE"}, f"capabilities {added}")
    check(added == unit_caps(),
          f"DaemonSet capabilities {sorted(added)} == systemd unit's {sorted(unit_caps())}")
    check("SYS_ADMIN" not in added, "no SYS_ADMIN")
    res = c.get("resources", {})
    check("memory" in res.get("limits", {}) and "cpu" in res.get("limits", {}),
          "cpu and memory limits")
    check("memory" in res.get("requests", {}), "memory request")

    # mounts: container path -> volume
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for m in c["volumeMounts"]:
        check(m["name"] in vols, f"mount {m['mountPath']} names a defined volume")
    for path in ("/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/bpf"):
        m = mounts.get(path)
        if check(m is not None, f"{path} mounted"):
            hp = vols[m["name"]].get("hostPath", {})
            check(hp.get("path") == path, f"{path} is the host's (hostPath {hp})")
    check(mounts.get("/sys/kernel/tracing", {}).get("readOnly") is not True,
          "tracefs writable (legacy uprobe/kprobe attach writes *_events)")
    pk = mounts.get("/etc/eunomia.d")
    if check(pk is not None, "packages mounted at /etc/eunomia.d"):
        v = vols[pk["name"]]
        check(v.get("configMap", {}).get("name") == "eunomia-packages",
              "/etc/eunomia.d is the ConfigMap eunomia-packages")
        check(not v["configMap"].get("items") and "subPath" not in pk,
              "whole ConfigMap volume, no items/subPath (those are never updated: no hot-plug)")
    find(objs, "ConfigMap", "eunomia-packages")
    cm = mounts.get("/etc/eunomia")
    check(cm is not None and vols[cm["name"]].get("configMap", {}).get("name") ==
          "eunomia-config", "/etc/eunomia is the ConfigMap eunomia-config")

    # environment: downward API -> OTEL_RESOURCE_ATTRIBUTES, endpoint -> collector Service
    env, fields = {}, {}
    for e in c["env"]:
        if "valueFrom" in e:
            fields[e["name"]] = e["valueFrom"]["fieldRef"]["fieldPath"]
            env[e["name"]] = "<" + fields[e["name"]] + ">"
        else:
            env[e["name"]] = expand(e["value"], env)
    want_fields = {"NODE_NAME": "spec.nodeName", "POD_NAME": "metadata.name",
                   "POD_NAMESPACE": "metadata.namespace", "POD_UID": "metadata.uid"}
    for k, v in want_fields.items():
        check(fields.get(k) == v, f"{k} from the downward API {v} (got {fields.get(k)})")
    ra = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    attrs = dict(kv.split("=", 1) for kv in ra.split(",") if "=" in kv)
    for k, v in {"k8s.node.name": "<spec.nodeName>", "host.name": "<spec.nodeName>",
                 "k8s.pod.name": "<metadata.name>", "k8s.pod.uid": "<metadata.uid>",
                 "k8s.namespace.name": "<metadata.namespace>"}.items():
        check(attrs.get(k) == v, f"OTEL_RESOURCE_ATTRIBUTES {k}={v} (got {attrs.get(k)})")
    check(all(re.fullmatch(r"[a-z0-9.]+", k) for k in attrs), f"attribute keys {list(attrs)}")
    ep = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    m = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", ep)
    if check(m is not None, f"OTEL_EXPORTER_OTLP_ENDPOINT {ep!r} is http://SERVICE:PORT"):
        svc = find(objs, "Service", m.group(1))
        ports = [p["port"] for p in svc.get("spec", {}).get("ports", [])]
        check(int(m.group(2)) in ports and m.group(2) == "4318",
              f"Service {m.group(1)} serves port {m.group(2)} ({ports})")
        sel = svc.get("spec", {}).get("selector", {})
        backs = [o for o in objs if o["kind"] == "Deployment" and sel.items() <=
                 o["spec"]["template"]["metadata"]["labels"].items()]
        check(len(backs) == 1, f"Service {m.group(1)} selects the collector Deployment")

    # probes hit the port the agent serves (--prometheus ADDR:PORT), on /healthz: the kubelet
    # sends no token, and /metrics needs one off loopback. POD_IP is the node's address
    # (hostNetwork): a documentation address stands in for it, not loopback.
    args = [expand(a, dict(env, POD_IP="192.0.2.10")) for a in c.get("args", [])]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if "--prometheus" in args:
        prom = args[args.index("--prometheus") + 1]
        for probe in ("livenessProbe", "readinessProbe"):
            get = c.get(probe, {}).get("httpGet", {})
            check(ports.get(get.get("port")) == int(prom.rsplit(":", 1)[1]),
                  f"{probe} port {get.get('port')} is the --prometheus port {prom}")
            check(get.get("path") == "/healthz", f"{probe} asks /healthz (no token needed)")
        check("--metrics-token-file" in args, "--metrics-token-file: /metrics off loopback")
    else:
        check("exec" in c.get("livenessProbe", {}), "an exec liveness probe without an HTTP port")
    token_path = None
    if "--metrics-token-file" in args:
        token_path = args[args.index("--metrics-token-file") + 1]
        m = mounts.get(os.path.dirname(token_path))
        if check(m is not None, f"the token's directory {os.path.dirname(token_path)} mounted"):
            sec = vols[m["name"]].get("secret", {})
            find(objs, "Secret", sec.get("secretName"))
            check(sec.get("defaultMode", 0o644) & 0o077 == 0,
                  f"the token is mode {sec.get('defaultMode', 0o644):o}: no group/other bits "
                  "(the agent refuses a token others may read)")
            check({"key": "token", "path": os.path.basename(token_path)} in sec.get("items", []),
                  "the Secret's key token is the file the agent reads")

    # the agent accepts the ConfigMap's config with the DaemonSet's args and environment
    cfg = find(objs, "ConfigMap", "eunomia-config").get("data", {}).get("eunomia.yaml", "")
    cfg_doc = yaml.safe_load(cfg)
    check("/etc/eunomia.d" in (cfg_doc.get("watch") or []), "config watches /etc/eunomia.d")
    check(any(s.get("type") == "otlp" for s in cfg_doc.get("sinks", [])),
          "config sends to the otlp sink")
    otel_env = {k: v for k, v in env.items() if k.startswith("OTEL_")}
    otel_env["OTEL_RESOURCE_ATTRIBUTES"] = re.sub(r"<[^>]*>", "node-1", ra)
    run_check_config(cfg, args, otel_env, token_path)


def check_collector():
    with open(os.path.join(DEPLOY, "otel-collector.yaml")) as f:
        text = f.read()
    cfg = yaml.safe_load(text)
    http = cfg["receivers"]["otlp"]["protocols"]["http"]
    check(http["endpoint"].endswith(":4318"), "OTLP/HTTP on 4318")
    check("grpc" not in cfg["receivers"]["otlp"]["protocols"], "HTTP only (what the agent speaks)")
    ml = cfg["processors"].get("memory_limiter", {})
    check("check_interval" in ml and ("limit_mib" in ml or "limit_percentage" in ml),
          "memory_limiter with a limit")
    check("batch" in cfg["processors"], "batch processor")
    pipes = cfg["service"]["pipelines"]
    for sig in ("logs", "metrics"):
        p = pipes.get(sig)
        if not check(p is not None, f"a {sig} pipeline"):
            continue
        check(p["receivers"] == ["otlp"], f"{sig}: receives OTLP")
        check(p["processors"][0] == "memory_limiter", f"{sig}: memory_limiter first")
        check(p["processors"][-1] == "batch", f"{sig}: batch last")
        check(any(e.split("/")[0] in ("otlphttp", "otlp") for e in p["exporters"]),
              f"{sig}: exported onward over OTLP")
        for kind in ("receivers", "processors", "exporters"):
            for name in p[kind]:
                check(name in cfg[kind], f"{sig}: {kind[:-1]} {name} is defined")
    for ext in cfg["service"].get("extensions", []):
        check(ext in cfg.get("extensions", {}), f"extension {ext} is defined")
    # the Kubernetes copy is the same file
    cm = [d for d in load_all(os.path.join(K8S, "otel-collector.yaml"))
          if d["kind"] == "ConfigMap"]
    if check(len(cm) == 1, "one collector ConfigMap"):
        check(cm[0]["data"]["config.yaml"] == text,
              "deploy/kubernetes/otel-collector.yaml carries deploy/otel-collector.yaml verbatim")
        dep = [d for d in load_all(os.path.join(K8S, "otel-collector.yaml"))
               if d["kind"] == "Deployment"][0]
        ctr = dep["spec"]["template"]["spec"]["containers"][0]
        mnt = [m["mountPath"] for m in ctr["volumeMounts"]]
        conf_arg = [a for a in ctr.get("args", []) if a.startswith("--config=")]
        check(len(conf_arg) == 1 and conf_arg[0][len("--config="):].rsplit("/", 1)[0] in mnt,
              f"the collector reads the mounted config ({conf_arg}, {mnt})")
        cport = {p["containerPort"] for p in ctr["ports"]}
        check(4318 in cport and 13133 in cport, f"collector ports {cport}")


def main():
    what = sys.argv[1]
    {"kubernetes": check_kubernetes, "collector": check_collector}[what]()
    if failures:
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        sys.exit(1)
    print(f"PASS: {what} manifests")


if __name__ == "__main__":
    main()

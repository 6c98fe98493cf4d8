#!/usr/bin/env python3
"""The DaemonSet of deploy/kubernetes as a kubelet would run it, on this machine (root).

The container's command line and environment are read from daemonset.yaml (never retyped
here); its volumes are made the way the kubelet makes them and mounted at the manifest's
mountPaths in a private mount namespace:
  - ConfigMap and Secret volumes by the kubelet's atomic writer: a root directory 0777
    (ConfigMap, on disk) or 1777 (Secret, tmpfs), the payload in ..YYYY_MM_DD_HH_MM_SS.N
    (0755, files in the volume's defaultMode, all root's), ..data -> that directory, one link
    KEY -> ..data/KEY per key; an update writes a new payload directory, renames ..data_tmp
    over ..data, adds new keys' links, removes gone keys' links and the old directory;
  - hostPath volumes: the host's own paths, except the agent's state (a temp directory);
  - emptyDir volumes: temp directories.
The pod's network is a private network namespace with the node's address (192.0.2.10 on its
lo) and the collector Service's name in /etc/hosts (an overlay: the host's /etc is
untouched) pointing to an OTLP/HTTP receiver on 127.0.0.1:4318.

Checked: the agent starts; /healthz answers without a token and /metrics only with the
Secret's; the package from the ConfigMap loads and its events reach the receiver, by value
(the binary the test ran); editing the ConfigMap (a ..data swap) reloads the package, whose
new version's events arrive; and with an ordinary world-writable directory at /etc/eunomia.d,
the same command line refuses the package.

Environment: EU_SOURCE_DIR, EU_BINARY_DIR, EU_AGENT_BIN."""
import ctypes
import glob
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import otlp_fleet_receiver as rx  # noqa: E402

SRC = os.environ["EU_SOURCE_DIR"]
BUILD = os.environ["EU_BINARY_DIR"]
AGENT = os.environ["EU_AGENT_BIN"]
K8S = os.path.join(SRC, "deploy", "kubernetes")
PACKAGE = os.path.join(BUILD, "plugins", "bootstrap", "package.json")
# where the test's volumes and files live: never below /tmp, which the pod's emptyDir hides
WORK_BASE = "/var/tmp"
NODE_IP = "192.0.2.10"
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000


def sh(*cmd):
    subprocess.run(cmd, check=True)


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def load(name):
    with open(os.path.join(K8S, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


class KubeletVolume:
    """A ConfigMap/Secret volume written as the kubelet's atomic writer does."""

    def __init__(self, root, root_mode, file_mode):
        self.root, self.file_mode = root, file_mode
        os.makedirs(root)
        os.chmod(root, root_mode)
        self.keys, self.payload_dir = set(), None

    def write(self, payload):
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
        ts = tempfile.mkdtemp(prefix=stamp, dir=self.root)
        # MkdirTemp's suffix is digits; mkdtemp's is letters: rename to the kubelet's form
        digits = os.path.join(self.root, stamp + str(secrets.randbelow(10**9)))
        os.rename(ts, digits)
        ts = digits
        os.chmod(ts, 0o755)
        for key, data in payload.items():
            p = os.path.join(ts, key)
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, self.file_mode)
        tmp_link = os.path.join(self.root, "..data_tmp")
        os.symlink(os.path.basename(ts), tmp_link)
        os.rename(tmp_link, os.path.join(self.root, "..data"))
        for key in payload:
            if key not in self.keys:
                os.symlink("..data/" + key, os.path.join(self.root, key))
        for key in self.keys - set(payload):
            os.unlink(os.path.join(self.root, key))
        if self.payload_dir:
            shutil.rmtree(self.payload_dir)
        self.keys, self.payload_dir = set(payload), ts


def version_of(data):
    return hashlib.sha256(data).hexdigest()[:12]


class Receiver:
    def __init__(self, tmp):
        self.state = rx.State(os.path.join(tmp, "otlp-state.json"))
        self.srv = ThreadingHTTPServer(("127.0.0.1", 4318), rx.make_handler(self.state))
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def markers(self):
        with self.state.lock:
            return {m for h in self.state.data["hosts"].values() for m in h["markers"]}

    def hosts(self):
        with self.state.lock:
            return dict(self.state.data["hosts"])


def http(path, token=None):
    req = urllib.request.Request(f"http://{NODE_IP}:9464{path}")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def runtime_prefix(ctr):
    """What the container runtime does to the process from securityContext: capabilities
    dropped to the added ones (uid 0 keeps exactly those), no_new_privs."""
    sc = ctr.get("securityContext", {})
    caps = sc.get("capabilities", {})
    if caps.get("drop") != ["ALL"] or sc.get("runAsUser") != 0:
        fail(f"securityContext {sc}: this test knows drop [ALL] as uid 0 only")
    with open("/proc/self/status") as f:
        bnd = int([ln.split()[1] for ln in f if ln.startswith("CapBnd:")][0], 16)
    known = {"BPF": 39, "PERFMON": 38, "NET_ADMIN": 12, "SYS_RESOURCE": 24, "SYS_ADMIN": 21}
    add = [c for c in caps.get("add", []) if bnd >> known[c] & 1]
    for c in set(caps.get("add", [])) - set(add):
        print(f"note: CAP_{c} is not in this test's own bounding set: the agent runs without it")
    keep = ",".join("+" + c.lower() for c in add)
    pre = ["setpriv", "--bounding-set", "-all," + keep, "--inh-caps", "-all"]
    if sc.get("allowPrivilegeEscalation") is False:
        pre.append("--no-new-privs")
    return pre


class Agent:
    def __init__(self, args, env, log, prefix):
        self.log_path = log
        self.f = open(log, "wb")
        self.p = subprocess.Popen(prefix + [AGENT] + args, env=env, stdout=self.f,
                                  stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout, count=1):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(re.findall(pattern, self.log())) >= count:
                return True
            if self.p.poll() is not None:
                return len(re.findall(pattern, self.log())) >= count
            time.sleep(0.1)
        return False

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.f.close()
        return self.p.returncode


def exec_until(rcv, binary, marker, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        subprocess.run([binary], check=True)
        time.sleep(0.5)
        if marker in rcv.markers():
            return True
    return False


def pod_env(ctr):
    """The container's environment as the kubelet computes it: the downward API's values for
    a node node-1, $(VAR) expanded from the variables before it."""
    field = {"spec.nodeName": "node-1", "metadata.name": "eunomia-agent-x7k2p",
             "metadata.namespace": "eunomia", "status.podIP": NODE_IP,
             "metadata.uid": "3f0c2a9e-1b7d-4c55-9a61-0d2b8e7f4a10"}
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for e in ctr.get("env", []):
        if "valueFrom" in e:
            env[e["name"]] = field[e["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            env[e["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                    lambda m: env.get(m.group(1), m.group(0)), e["value"])
    return env


def expand_args(ctr, env):
    return [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)),
                   a) for a in ctr.get("args", [])]


def enter_pod_namespaces(tmp):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET):
        fail(f"unshare: {os.strerror(ctypes.get_errno())}")
    sh("mount", "--make-rprivate", "/")
    sh("ip", "link", "set", "lo", "up")
    # the node's address (not a loopback one, for the agent) on the namespace's lo
    sh("ip", "addr", "add", NODE_IP + "/32", "dev", "lo")
    # writable views of /etc and /run, so mount points and hosts entries stay in here
    ov = os.path.join(tmp, "ov")
    os.makedirs(ov)
    sh("mount", "-t", "tmpfs", "eu-ov", ov)
    for top in ("/etc", "/run"):
        up, work = os.path.join(ov, top[1:], "up"), os.path.join(ov, top[1:], "work")
        os.makedirs(up)
        os.makedirs(work)
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir={top},upperdir={up},workdir={work}", top)
    with open("/etc/hosts", "a") as f:
        f.write("127.0.0.1 otel-collector otel-collector.eunomia.svc.cluster.local\n")


def mount_volumes(ctr, pod, sources):
    """Binds each volume's directory at the container's mountPath (read-only when asked)."""
    vols = {v["name"]: v for v in pod["volumes"]}
    for m in ctr["volumeMounts"]:
        v = vols[m["name"]]
        src = sources.get(m["name"])
        if src is None:
            if "hostPath" not in v:
                fail(f"volume {m['name']}: no stand-in made for {v}")
            src = v["hostPath"]["path"]
            if not os.path.exists(src):
                continue  # debugfs etc. ("" type: may be absent)
        os.makedirs(m["mountPath"], exist_ok=True)
        sh("mount", "--bind", src, m["mountPath"])
        if m.get("readOnly"):
            sh("mount", "-o", "remount,bind,ro", m["mountPath"])


def main():
    if os.geteuid() != 0:
        fail("needs root (mount and network namespaces, BPF)")
    ds = load("daemonset.yaml")[0]
    pod = ds["spec"]["template"]["spec"]
    ctr = [c for c in pod["containers"] if c["name"] == "agent"][0]
    config = [d for d in load("configmap.yaml") if d["metadata"]["name"] == "eunomia-config"][0]
    vols = {v["name"]: v for v in pod["volumes"]}
    env = pod_env(ctr)
    args = expand_args(ctr, env)
    print("command line from daemonset.yaml:", " ".join(args))
    with open(PACKAGE, "rb") as f:
        pkg = f.read()

    # not under /tmp: the pod's own /tmp (an emptyDir) is mounted over it, and so is a build
    # tree under /tmp (a CI clone): the agent binary is copied out of it for the same reason
    global AGENT
    tmp = tempfile.mkdtemp(prefix="eu-kubelet-", dir=WORK_BASE)
    os.chmod(tmp, 0o755)
    os.makedirs(os.path.join(tmp, "agent-bin"))
    AGENT = shutil.copy2(AGENT, os.path.join(tmp, "agent-bin", "eunomia-agent"))
    enter_pod_namespaces(tmp)
    rcv = Receiver(tmp)
    token = secrets.token_urlsafe(700)  # the size of a service-account JWT

    # the volumes, by kind, as the kubelet makes them
    sources, cm_volumes = {}, {}
    for name, v in vols.items():
        root = os.path.join(tmp, "volumes", name)
        if "configMap" in v:
            cm_volumes[v["configMap"]["name"]] = KubeletVolume(
                root, 0o777, v["configMap"].get("defaultMode", 0o644))
            sources[name] = root
        elif "secret" in v:
            vol = KubeletVolume(root, 0o1777, v["secret"].get("defaultMode", 0o644))
            items = v["secret"].get("items") or [{"key": "token", "path": "token"}]
            vol.write({it["path"]: token.encode() for it in items if it["key"] == "token"})
            sources[name] = root
        elif "emptyDir" in v or v.get("hostPath", {}).get("type") == "DirectoryOrCreate" and \
                not v["hostPath"]["path"].startswith("/sys"):
            os.makedirs(root)
            sources[name] = root
    cm_volumes["eunomia-config"].write({k: s.encode() for k, s in config["data"].items()})
    packages = cm_volumes["eunomia-packages"]
    packages.write({"bootstrap.json": pkg})
    mount_volumes(ctr, pod, sources)

    bins = os.path.join(tmp, "bin")
    os.makedirs(bins)
    prefix = runtime_prefix(ctr)
    a = Agent(args, env, os.path.join(tmp, "agent.log"), prefix)
    try:
        v1 = version_of(pkg)
        if not a.wait_log(r"ready: watching 1 directory, 1 package loaded, 0 failed", 60):
            fail(f"the agent did not load the ConfigMap's package:\n{a.log()}")
        with open(f"/proc/{a.p.pid}/status") as f:
            capeff = [ln.split()[1] for ln in f if ln.startswith("CapEff:")][0]
        print(f"started with CapEff {capeff}: the ConfigMap's package loaded (version {v1})")
        st, body = http("/healthz")
        if st != 200 or body.strip() != '{"status":"ok"}':
            fail(f"/healthz without a token: {st} {body}")
        st, _ = http("/metrics")
        if st != 401:
            fail(f"/metrics without a token: {st}, expected 401")
        st, _ = http("/metrics", "not-the-token")
        if st != 401:
            fail(f"/metrics with a wrong token: {st}, expected 401")
        st, body = http("/metrics", token)
        if st != 200 or "bootstrap" not in body:
            fail(f"/metrics with the Secret's token: {st}\n{body[:500]}")
        print("/healthz: 200 without a token; /metrics: 401 without, 200 with the Secret's")

        b1 = os.path.join(bins, "eu_fleet_k8s_first")
        shutil.copy("/bin/true", b1)
        if not exec_until(rcv, b1, "eu_fleet_k8s_first"):
            fail(f"no event of {b1} reached the collector: {rcv.hosts()}\n{a.log()}")
        attrs = rcv.hosts().get("node-1", {}).get("attributes", {})
        if attrs.get("k8s.node.name") != "node-1" or attrs.get("k8s.pod.name") != \
                "eunomia-agent-x7k2p":
            fail(f"resource attributes from the downward API: {attrs}")
        print("events flow: the exec of", b1, "arrived with host.name node-1")

        # the operator edits the ConfigMap: the kubelet swaps ..data
        pkg2 = pkg + b" \n"
        v2 = version_of(pkg2)
        packages.write({"bootstrap.json": pkg2})
        if not a.wait_log(re.escape(f"bootstrap.json): version {v2}: ") + r"\d+ programs? "
                          r"attached", 30):
            fail(f"the ..data swap did not reload version {v2}:\n{a.log()}")
        b2 = os.path.join(bins, "eu_fleet_k8s_second")
        shutil.copy("/bin/true", b2)
        if not exec_until(rcv, b2, "eu_fleet_k8s_second"):
            fail(f"no event after the reload: {rcv.hosts()}\n{a.log()}")
        if "refused" in a.log():
            fail(f"something was refused:\n{a.log()}")
        print(f"hot reload: the ..data swap loaded version {v2}; its events arrive")
    finally:
        rc = a.stop()
    if rc != 0:
        fail(f"the agent exited {rc} on SIGTERM:\n{a.log()}")

    # the same command line, an ordinary world-writable directory at /etc/eunomia.d
    plain = os.path.join(tmp, "plain")
    os.makedirs(plain)
    os.chmod(plain, 0o777)
    with open(os.path.join(plain, "bootstrap.json"), "wb") as f:
        f.write(pkg)
    os.chmod(os.path.join(plain, "bootstrap.json"), 0o644)
    sh("mount", "--bind", plain, "/etc/eunomia.d")
    a = Agent(args, env, os.path.join(tmp, "agent-plain.log"), prefix)
    try:
        if not a.wait_log(r"ready: watching 1 directory, 0 packages loaded, 1 failed", 60):
            fail(f"an ordinary world-writable directory was not refused:\n{a.log()}")
        # (a file younger than the settle time is reported once it has settled)
        want = "/etc/eunomia.d: refused: world-writable (mode 0777)"
        if not a.wait_log(re.escape(want), 15):
            fail(f"the refusal does not say why ({want!r}):\n{a.log()}")
        print("an ordinary world-writable /etc/eunomia.d: refused:",
              [ln for ln in a.log().splitlines() if "refused" in ln][0])
    finally:
        a.stop()


def in_child_then_clean():
    """main() in a child, which alone enters the namespaces (they end with it); the temp
    directory is removed from outside, where none of its mounts are."""
    before = set(glob.glob(os.path.join(WORK_BASE, "eu-kubelet-*")))
    pid = os.fork()
    if pid == 0:
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:  # noqa: B902 -- reported, then the parent cleans up
            import traceback
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    for d in set(glob.glob(os.path.join(WORK_BASE, "eu-kubelet-*"))) - before:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    in_child_then_clean()

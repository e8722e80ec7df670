#!/usr/bin/env python3
"""A simulated Kubernetes node for tests (python3 stdlib only), beside scripts/kube.

It registers a Node, watches the pods of a namespace (optionally a label selector), binds each new
pod to itself and runs the pod's first container, then reports the pod Running, then Succeeded
(exit 0) or Failed (containerStatuses[0].state.terminated.exitCode/reason), so the real job
controller completes or fails the Job. Volumes: persistentVolumeClaim -> VOLUME_ROOT/<claimName>,
hostPath -> VOLUME_ROOT/<path>, emptyDir -> a fresh directory (subPath honoured). Runtimes:
  local   (default) command + args as a local process with the container's env; no image. The
          mountPaths are rewritten to the host directories in command, args and env values,
          and the process runs in its workingDir's (else its outermost mount's) directory.
  podman  `podman run` of the image (--pull never after a pull attempt; a failed pull leaves the
          pod Pending with waiting reason ErrImagePull), with the pod's runAsUser/runAsGroup/
          fsGroup, readOnlyRootFilesystem, dropped capabilities, memory and cpu limits, mounts,
          env, workingDir; --network none for pods labelled --no-network-label; containers
          are labelled io.querygoal.kube-node=NODE.
$(VAR) references are expanded as the kubelet does. Output goes to
LOG_DIR/<namespace>_<pod>_<container>.log, served to the API server for pods/log (HTTPS, follow
too). A deleted pod's process or container is stopped (SIGTERM, SIGKILL after its grace period,
at most 10 s) and the pod removed. On SIGTERM: stop everything, exit 0. restartPolicy OnFailure
is treated as Never; init containers and valueFrom env are not supported.

  kube-node.py --volume-root DIR [--runtime local|podman] [--namespace NS] [--selector SEL]
               [--log-dir DIR] [--name NODE (default qg-node)]
Server, CA, admin token, serving certificate: --server/--ca/--token/--tls-cert/--tls-key or
QG_KUBE_SERVER/QG_KUBE_CA/QG_KUBE_TOKEN_ADMIN/QG_KUBE_NODE_CERT/QG_KUBE_NODE_KEY (scripts/kube env).
"""
import argparse, http.server, json, os, re, signal, ssl, subprocess, sys, threading, time
import urllib.error, urllib.parse, urllib.request

E = os.environ.get
p = argparse.ArgumentParser(description="simulated Kubernetes node")
p.add_argument("--server", default=E("QG_KUBE_SERVER"))
p.add_argument("--ca", default=E("QG_KUBE_CA"))
p.add_argument("--token", default=E("QG_KUBE_TOKEN_ADMIN"))
p.add_argument("--tls-cert", default=E("QG_KUBE_NODE_CERT"))
p.add_argument("--tls-key", default=E("QG_KUBE_NODE_KEY"))
p.add_argument("--namespace", default=E("QG_KUBE_NAMESPACE", "default"))
p.add_argument("--selector", default="")
p.add_argument("--volume-root", required=True)
p.add_argument("--log-dir", default=None, help="default: VOLUME_ROOT/.pod-logs")
p.add_argument("--name", default="qg-node")
p.add_argument("--port", type=int, default=0, help="pods/log port (default: a free one)")
p.add_argument("--runtime", choices=("local", "podman"), default="local")
p.add_argument("--no-network-label", default="querygoal.io/network=none",
               help="podman: pods with this label get --network none")
A = p.parse_args()
if A.ca and not A.tls_cert:  # scripts/kube's serving certificate for the node, beside its CA
    A.tls_cert, A.tls_key = (os.path.join(os.path.dirname(A.ca), f) for f in ("node.pem", "node.key"))
LOGS = os.path.abspath(A.log_dir or os.path.join(A.volume_root, ".pod-logs"))
TLS = ssl.create_default_context(cafile=A.ca)
procs = {}  # pod uid -> {"proc", "log", "deleted"}
lock = threading.Lock()


def say(msg):
    print(f"kube-node: {msg}", file=sys.stderr, flush=True)


def api(method, path, body=None, ctype="application/json", timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(A.server + path, data=data, method=method, headers={
        "Authorization": f"Bearer {A.token}", "Content-Type": ctype, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=TLS, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def pod_path(pod, sub=""):
    return f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}{sub}"


def set_status(pod, phase, state, ready):
    c = pod["spec"]["containers"][0]
    status = {"phase": phase, "hostIP": "127.0.0.1", "podIP": "127.0.0.1", "startTime": now(),
              "conditions": [{"type": t, "status": "True" if ready else "False",
                              "lastTransitionTime": now()} for t in ("Ready", "ContainersReady")],
              "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                     "ready": ready, "started": ready, "restartCount": 0,
                                     "state": state}]}
    code, body = api("PATCH", pod_path(pod, "/status"), {"status": status},
                     "application/merge-patch+json")
    if code >= 300:
        say(f"status of {pod['metadata']['name']}: {code} {body.get('message')}")


def host_dirs(pod):
    """volume name -> host directory"""
    dirs = {}
    for v in pod["spec"].get("volumes", []):
        if "persistentVolumeClaim" in v:
            dirs[v["name"]] = os.path.join(A.volume_root, v["persistentVolumeClaim"]["claimName"])
        elif "hostPath" in v:
            dirs[v["name"]] = os.path.join(A.volume_root, v["hostPath"]["path"].lstrip("/"))
        elif "emptyDir" in v:
            dirs[v["name"]] = os.path.join(LOGS, pod["metadata"]["uid"], v["name"])
            os.makedirs(dirs[v["name"]], mode=0o1777, exist_ok=True)
    return dirs


def expand(s, env):
    """The kubelet's $(VAR) expansion of command, args and env values ($$ is a $)."""
    return re.sub(r"\$\$|\$\(([\w.-]+)\)", lambda m: "$" if m[0] == "$$" else env.get(m[1], m[0]), s)


def quantity(q):
    """A resource quantity ("500m", "256Mi", "2") as a number."""
    n, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(q)).groups()
    return float(n) * {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                       "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}[unit]


def local_command(pod, c, mounts, env):
    """argv, cwd and env of the container as a local process, mountPaths rewritten."""
    mounts = sorted(mounts, key=lambda m: -len(m[1]))  # the longest mountPath wins

    def rewrite(s):
        for host, mp, _ in mounts:
            s = re.sub(r"(?<![\w.-])" + re.escape(mp.rstrip("/") or "/") + r"(?=/|$|[^\w.-])",
                       lambda _: host, s)
        return s

    cwd = rewrite(c["workingDir"]) if c.get("workingDir") else (mounts[-1][0] if mounts else LOGS)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": cwd,
           **{k: rewrite(v) for k, v in env.items()}}
    argv = [rewrite(expand(a, env)) for a in c.get("command", []) + c.get("args", [])]
    if not argv:
        raise OSError("the container has no command (the local runtime runs no image)")
    return argv, cwd, env


def podman_command(pod, c, mounts, env):
    """argv of `podman run` for the container: its image, user, limits, mounts, network."""
    sc = {**pod["spec"].get("securityContext", {}), **c.get("securityContext", {})}
    argv = ["podman", "run", "--rm", "--name", "kube-node-" + pod["metadata"]["uid"],
            "--label", f"io.querygoal.kube-node={A.name}", "--pull", "never",
            "--hostname", pod["metadata"]["name"]]
    if "runAsUser" in sc:
        argv += ["--user", ":".join(str(sc[k]) for k in ("runAsUser", "runAsGroup") if k in sc)]
    if "fsGroup" in sc:
        argv += ["--group-add", str(sc["fsGroup"])]
    if sc.get("readOnlyRootFilesystem"):
        argv.append("--read-only")
    if sc.get("allowPrivilegeEscalation") is False:
        argv += ["--security-opt", "no-new-privileges"]
    for cap in sc.get("capabilities", {}).get("drop", []):
        argv += ["--cap-drop", cap]
    limits = c.get("resources", {}).get("limits", {})
    if "memory" in limits:
        argv += ["--memory", str(int(quantity(limits["memory"])))]
    if "cpu" in limits:
        argv += ["--cpus", f"{quantity(limits['cpu']):g}"]
    key, _, value = A.no_network_label.partition("=")
    if key and pod["metadata"].get("labels", {}).get(key) == value:
        argv += ["--network", "none"]
    for host, mp, ro in mounts:
        argv += ["-v", f"{host}:{mp}" + (":ro" if ro else "")]
    for k, v in env.items():
        argv += ["-e", f"{k}={v}"]
    if c.get("workingDir"):
        argv += ["--workdir", c["workingDir"]]
    if c.get("command"):
        argv += ["--entrypoint", json.dumps([expand(a, env) for a in c["command"]])]
    return argv + [c["image"]] + [expand(a, env) for a in c.get("args", [])], LOGS, None


def pull_error(image):
    """None when the image is there or could be pulled, else why not."""
    if subprocess.run(["podman", "image", "exists", image]).returncode == 0:
        return None
    r = subprocess.run(["podman", "pull", "-q", image], capture_output=True, text=True, timeout=300)
    return None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["pull failed"])[-1]


def start(pod):
    meta, spec = pod["metadata"], pod["spec"]
    if not spec.get("nodeName"):
        code, body = api("POST", pod_path(pod, "/binding"), {
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": meta["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": A.name}})
        if code >= 300:
            return say(f"binding {meta['name']}: {code} {body.get('message')}")
    c = spec["containers"][0]
    entry = {"proc": None, "deleted": False, "name": "kube-node-" + meta["uid"],
             "log": os.path.join(LOGS, f"{meta['namespace']}_{meta['name']}_{c['name']}.log")}
    with lock:
        procs[meta["uid"]] = entry
    threading.Thread(target=run, args=(pod, c, entry), daemon=True).start()


def run(pod, c, entry):
    """Run the pod's container; report Running, then Succeeded or Failed (or ErrImagePull)."""
    name, dirs, mounts, env = pod["metadata"]["name"], host_dirs(pod), [], {}
    for m in c.get("volumeMounts", []):
        if m["name"] in dirs:
            host = os.path.abspath(os.path.join(dirs[m["name"]], m.get("subPath", "")))
            os.makedirs(host, exist_ok=True)
            mounts.append((host, m["mountPath"], m.get("readOnly", False)))
    for e in c.get("env", []):  # valueFrom is not supported: an empty value
        env[e["name"]] = expand(e.get("value", ""), env)
    started = now()
    try:
        if A.runtime == "podman":
            err = pull_error(c["image"])
            if err:
                say(f"pod {name}: image {c['image']}: {err}")
                return set_status(pod, "Pending", {"waiting": {
                    "reason": "ErrImagePull", "message": f"image {c['image']}: {err}"}}, False)
        argv, cwd, penv = (podman_command if A.runtime == "podman" else local_command)(pod, c, mounts, env)
        with lock, open(entry["log"], "wb") as out:
            if entry["deleted"]:
                return
            entry["proc"] = subprocess.Popen(argv, env=penv, cwd=cwd, stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    except (OSError, subprocess.SubprocessError) as e:
        with open(entry["log"], "a") as out:
            out.write(f"kube-node: cannot start the container: {e}\n")
        return set_status(pod, "Failed", {"terminated": {
            "exitCode": 128, "reason": "StartError", "message": str(e),
            "startedAt": started, "finishedAt": now()}}, False)
    say(f"pod {name}: running {argv} (pid {entry['proc'].pid})")
    set_status(pod, "Running", {"running": {"startedAt": started}}, True)
    rc = entry["proc"].wait()
    if entry["deleted"]:
        return
    code = rc if rc >= 0 else 128 - rc  # killed by a signal: 128 + signal, like a runtime
    say(f"pod {name}: exit {code}")
    set_status(pod, "Succeeded" if code == 0 else "Failed", {"terminated": {
        "exitCode": code, "reason": "Completed" if code == 0 else "Error",
        "startedAt": started, "finishedAt": now()}}, False)


def kill(entry, grace):
    """Stop a pod's process (SIGTERM, SIGKILL after GRACE s) or podman container."""
    with lock:
        entry["deleted"] = True
        proc = entry["proc"]
    if proc is None or proc.poll() is not None:
        return
    if A.runtime == "podman":
        subprocess.run(["podman", "stop", "-t", str(grace), entry["name"]], capture_output=True)
        try:
            return proc.wait(15)  # `podman run --rm` removes the container and exits
        except subprocess.TimeoutExpired:
            subprocess.run(["podman", "rm", "-f", entry["name"]], capture_output=True)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            pass


def remove(pod, entry):
    """A pod being deleted: stop its process, then remove it, as the kubelet does."""
    if entry:
        kill(entry, min(pod["metadata"].get("deletionGracePeriodSeconds") or 0, 10))
    api("DELETE", pod_path(pod), {"gracePeriodSeconds": 0,
                                  "preconditions": {"uid": pod["metadata"]["uid"]}})


def on_event(kind, pod):
    uid, meta = pod["metadata"]["uid"], pod["metadata"]
    with lock:
        entry = procs.pop(uid, None) if kind == "DELETED" else procs.get(uid)
    if kind == "DELETED":
        if entry:
            kill(entry, 0)
    elif meta.get("deletionTimestamp") and pod["spec"].get("nodeName") == A.name:
        threading.Thread(target=remove, args=(pod, entry), daemon=True).start()
    elif entry is None and pod["status"].get("phase") == "Pending" and \
            pod["spec"].get("nodeName") in (None, A.name):
        start(pod)


class Logs(http.server.BaseHTTPRequestHandler):
    """GET /containerLogs/NS/POD/CONTAINER[?follow=true]: what the API server asks for pods/log."""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts, q = url.path.strip("/").split("/"), urllib.parse.parse_qs(url.query)
        log = os.path.join(LOGS, "_".join(parts[1:4]) + ".log") if len(parts) == 4 else ""
        if parts[0] != "containerLogs" or not os.path.exists(log):
            return self.send_error(404)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        with open(log, "rb") as f:
            while True:
                chunk = f.read(65536)
                if chunk:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    continue
                with lock:
                    live = [e for e in procs.values() if e["log"] == log and
                            (e["proc"] is None or e["proc"].poll() is None)]
                if q.get("follow") != ["true"] or not live:
                    return
                time.sleep(0.2)

    def log_message(self, *args):
        pass


def register(port):
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": A.name, "labels": {"kubernetes.io/hostname": A.name, "kubernetes.io/os": "linux"}}}
    code, body = api("POST", "/api/v1/nodes", node)
    if code not in (201, 409):
        sys.exit(f"kube-node: registering node {A.name}: {code} {body.get('message')}")
    res = {"cpu": str(os.cpu_count()), "memory": "8Gi", "pods": "110"}
    api("PATCH", f"/api/v1/nodes/{A.name}/status", {"status": {
        "capacity": res, "allocatable": res, "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "lastHeartbeatTime": now(), "lastTransitionTime": now()}]}},
        "application/merge-patch+json")


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.makedirs(LOGS, exist_ok=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", A.port), Logs)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(A.tls_cert, A.tls_key)
    srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    register(srv.server_address[1])
    base = f"/api/v1/namespaces/{A.namespace}/pods?labelSelector={urllib.parse.quote(A.selector)}"
    say(f"node {A.name} watching pods in {A.namespace} (selector '{A.selector}'), logs in {LOGS}")
    try:
        while True:  # list, then watch from the list's resourceVersion; again after 410 Gone
            code, lst = api("GET", base)
            if code != 200:
                sys.exit(f"kube-node: listing pods: {code} {lst.get('message')}")
            for pod in lst["items"]:
                on_event("ADDED", pod)
            rv = lst["metadata"]["resourceVersion"]
            while rv:
                req = urllib.request.Request(
                    f"{A.server}{base}&watch=true&allowWatchBookmarks=true&timeoutSeconds=300"
                    f"&resourceVersion={rv}", headers={"Authorization": f"Bearer {A.token}"})
                try:
                    with urllib.request.urlopen(req, context=TLS, timeout=330) as stream:
                        for line in stream:
                            ev = json.loads(line)
                            obj = ev["object"]
                            if ev["type"] == "ERROR":
                                rv = None  # 410 Gone: list again
                                break
                            rv = obj["metadata"]["resourceVersion"]
                            if ev["type"] != "BOOKMARK":
                                on_event(ev["type"], obj)
                except (OSError, ValueError) as e:  # a broken watch: list again
                    say(f"watch: {e}")
                    rv = None
                    time.sleep(1)
    finally:
        with lock:
            entries = list(procs.values())
        for entry in entries:
            kill(entry, 2)


if __name__ == "__main__":
    main()

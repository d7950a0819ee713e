#!/usr/bin/env python3
"""Checks rendered ShadowGate manifests against the project's deployment conventions.

usage: conventions.py --binary PATH --source-root DIR RENDERED.yaml...

Each file is one rendering (base or an overlay). Fails (exit 1, one line per problem) when:
  - the Deployment has fewer than 3 replicas, or a rolling update may take a replica away (maxUnavailable != 0)
  - a gateway container lacks a startup, readiness or liveness probe, or readiness is not /readyz
  - a probe's path is not answered 200 by the real binary (started here with the ConfigMap's YAML)
  - terminationGracePeriodSeconds <= preStop sleep + the gateway's drain timeout (read from the source),
    or the liveness probe gives up within a drain
  - a container has no cpu/memory requests
  - a PodDisruptionBudget allows no disruption (minAvailable >= replicas) or the HPA may go below it
  - anything looks like an inline secret: a Secret object, an env value for *URL/*TOKEN/*PASSWORD,
    a database URL or token in the ConfigMap's YAML, or a URL with a password anywhere
  - the ServiceMonitor (a CRD, not schema-checked) scrapes a port no Service has
"""
import argparse, os, re, signal, socket, subprocess, sys, tempfile, time, urllib.request
import yaml

problems = []

def fail(where, text):
    problems.append(f"{where}: {text}")

def drain_seconds(root):
    src = open(os.path.join(root, "Sources/ShadowGateProxy/GatewayServer.swift")).read()
    m = re.search(r"drainTimeout: TimeAmount = \.seconds\((\d+)\)", src)
    if not m:
        sys.exit("conventions: cannot find the gateway's default drainTimeout in GatewayServer.swift")
    return int(m.group(1))

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def probe_binary(binary, config_text, paths, where):
    """Starts the real gateway with the ConfigMap's YAML (listening on loopback, no pair log) and
    requests each probe path; each must answer 200."""
    if not os.access(binary, os.X_OK):
        fail(where, f"binary {binary} not found: build it first (swift build) or pass --binary")
        return
    config = yaml.safe_load(config_text)
    port = free_port()
    config["listen"] = f"127.0.0.1:{port}"
    config.pop("admin", None)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "shadowgate.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        log = open(os.path.join(tmp, "log"), "w+")
        proc = subprocess.Popen([binary, "serve", "--config", path, "--no-pair-log"], stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            deadline = time.time() + 30
            answered = {}
            while time.time() < deadline and len(answered) < len(paths) and proc.poll() is None:
                for p in paths:
                    if p in answered:
                        continue
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}{p}", timeout=2) as r:
                            answered[p] = r.status
                    except urllib.error.HTTPError as e:
                        answered[p] = e.code
                    except OSError:
                        time.sleep(0.2)
                        break
            for p in paths:
                if answered.get(p) != 200:
                    log.seek(0)
                    fail(where, f"probe path {p} answered {answered.get(p, 'nothing')} from the real binary, expected 200; its log: {log.read()[-500:]!r}")
            print(f"conventions: the binary answers {', '.join(f'{p} {answered.get(p)}' for p in sorted(paths))}")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

SECRETISH = re.compile(r"(URL|TOKEN|PASSWORD|SECRET|KEY)$", re.I)
URL_WITH_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)

def check(path, binary, root, probed):
    where = os.path.basename(path)
    text = open(path).read()
    docs = [d for d in yaml.safe_load_all(text) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    if URL_WITH_PASSWORD.search(text):
        fail(where, "a URL with a password is written into the manifests; take it from a Secret")
    for s in by_kind.get("Secret", []):
        fail(where, f"Secret {s['metadata']['name']} is part of the manifests; reference an existing Secret instead")
    deps = by_kind.get("Deployment", [])
    if len(deps) != 1:
        fail(where, f"expected one Deployment, found {len(deps)}")
        return
    dep = deps[0]
    spec = dep["spec"]
    replicas = spec.get("replicas", 1)
    if replicas < 3:
        fail(where, f"Deployment has {replicas} replicas, expected at least 3")
    ru = spec.get("strategy", {}).get("rollingUpdate", {})
    if str(ru.get("maxUnavailable")) not in ("0", "0%"):
        fail(where, f"rollingUpdate.maxUnavailable is {ru.get('maxUnavailable')!r}, expected 0")
    pod = spec["template"]["spec"]
    grace = pod.get("terminationGracePeriodSeconds", 30)
    drain = drain_seconds(root)
    workloads = [("Deployment", c) for c in pod["containers"]]
    for job in by_kind.get("Job", []):
        workloads += [("Job", c) for c in job["spec"]["template"]["spec"]["containers"]]
    for owner, c in workloads:
        req = c.get("resources", {}).get("requests", {})
        if "cpu" not in req or "memory" not in req:
            fail(where, f"{owner} container {c['name']} has no cpu and memory requests")
        for e in c.get("env", []):
            if SECRETISH.search(e["name"]) and "value" in e:
                fail(where, f"{owner} container {c['name']} sets {e['name']} inline; take it from a Secret (valueFrom.secretKeyRef)")
    gateway = pod["containers"][0]
    probe_paths = set()
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = gateway.get(kind)
        if not probe or "httpGet" not in probe:
            fail(where, f"gateway container has no HTTP {kind}")
            continue
        probe_paths.add(probe["httpGet"]["path"])
        port = probe["httpGet"]["port"]
        names = {p.get("name"): p["containerPort"] for p in gateway.get("ports", [])}
        if port not in names and port not in names.values():
            fail(where, f"{kind} uses port {port!r}, which the container does not declare")
    if gateway.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        fail(where, "readinessProbe must use /readyz (it turns 503 as soon as a drain starts)")
    if gateway.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/readyz":
        fail(where, "livenessProbe must not use /readyz: a draining pod would be killed")
    live = gateway.get("livenessProbe", {})
    if live and live.get("periodSeconds", 10) * live.get("failureThreshold", 3) <= drain:
        fail(where, f"livenessProbe gives up after {live.get('periodSeconds', 10) * live.get('failureThreshold', 3)} s, within a drain of {drain} s")
    pre = gateway.get("lifecycle", {}).get("preStop", {})
    sleep = None
    if "sleep" in pre:
        sleep = int(pre["sleep"]["seconds"])
    elif "exec" in pre and pre["exec"]["command"][:1] == ["sleep"]:
        sleep = int(pre["exec"]["command"][1])
    if sleep is None:
        fail(where, "gateway container has no preStop sleep (endpoints must be removed before SIGTERM)")
        sleep = 0
    if grace <= sleep + drain:
        fail(where, f"terminationGracePeriodSeconds {grace} <= preStop sleep {sleep} + drain {drain}")
    print(f"conventions: {where}: {replicas} replicas, grace {grace}s > preStop {sleep}s + drain {drain}s, probes {sorted(probe_paths)}")

    pdbs = by_kind.get("PodDisruptionBudget", [])
    if not pdbs:
        fail(where, "no PodDisruptionBudget")
    for pdb in pdbs:
        ma = pdb["spec"].get("minAvailable")
        if isinstance(ma, int) and ma >= replicas:
            fail(where, f"PodDisruptionBudget minAvailable {ma} >= replicas {replicas}: no node could ever be drained")
        for hpa in by_kind.get("HorizontalPodAutoscaler", []):
            if isinstance(ma, int) and hpa["spec"]["minReplicas"] <= ma:
                fail(where, f"HPA minReplicas {hpa['spec']['minReplicas']} <= PDB minAvailable {ma}")
    if not by_kind.get("HorizontalPodAutoscaler"):
        fail(where, "no HorizontalPodAutoscaler")
    if not by_kind.get("Job"):
        fail(where, "no migration Job")
    for job in by_kind.get("Job", []):
        args = job["spec"]["template"]["spec"]["containers"][0].get("args", [])
        if args[:1] != ["migrate"]:
            fail(where, f"Job {job['metadata']['name']} does not run `shadowgate migrate`")

    cms = [cm for cm in by_kind.get("ConfigMap", []) if "shadowgate.yaml" in cm.get("data", {})]
    if not cms:
        fail(where, "no ConfigMap with shadowgate.yaml")
        return
    config_text = cms[0]["data"]["shadowgate.yaml"]
    config = yaml.safe_load(config_text)
    if (config.get("database") or {}).get("url") or (config.get("database") or {}).get("control_url"):
        fail(where, "the ConfigMap's YAML names a database URL; it belongs in the Secret")
    listen_port = int(str(config["listen"]).rsplit(":", 1)[1])
    if listen_port not in [p["containerPort"] for p in gateway.get("ports", [])]:
        fail(where, f"the config listens on {listen_port}, which the container does not declare")
    env = os.environ.copy()
    env.update({"SHADOWGATE_ADMIN_TOKEN": "check"})
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(config_text)
        f.flush()
        r = subprocess.run([binary, "config", "check", "--config", f.name], capture_output=True, text=True, env=env) if os.access(binary, os.X_OK) else None
        if r is not None and r.returncode != 0:
            fail(where, f"the binary rejects the ConfigMap's YAML: {r.stderr.strip()}")
    key = (config_text, tuple(sorted(probe_paths)))
    if key not in probed:
        probed.add(key)
        probe_binary(binary, config_text, probe_paths, where)

    service_ports = {p.get("name") for s in by_kind.get("Service", []) for p in s["spec"]["ports"]}
    for sm in by_kind.get("ServiceMonitor", []):
        for ep in sm["spec"].get("endpoints", []):
            if ep.get("port") not in service_ports:
                fail(where, f"ServiceMonitor scrapes port {ep.get('port')!r}, which no Service names")
            if ep.get("path", "/metrics") != "/metrics":
                fail(where, f"ServiceMonitor scrapes {ep.get('path')}, the gateway serves /metrics")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--source-root", default=".")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    probed = set()
    a.binary = os.path.abspath(a.binary)
    for path in a.files:
        check(path, a.binary, a.source_root, probed)
    if problems:
        for p in problems:
            print(f"conventions: FAIL {p}", file=sys.stderr)
        sys.exit(1)
    print(f"conventions: {len(a.files)} rendering(s) follow the conventions")

if __name__ == "__main__":
    main()

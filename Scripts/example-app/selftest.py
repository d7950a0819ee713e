#!/usr/bin/env python3
"""Self-test of the demo's Python pieces, without the gateway (run it through selftest.sh).

Trains the legacy model into a scratch repository, starts MLServer with it and the River learner
on free 127.0.0.1 ports, checks their OIP v2 answers, then replays the stream from the drift on:
each post-drift example is scored by both models and its label is sent to the learner's
/feedback the way ShadowGate delivers it (a batch of items). Asserts the learner beats the legacy model after the
drift and prints the figures: start-up times, accuracies per 100 examples, where the learner
overtakes, held-out accuracy, the learner's keep-alive throughput.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from drive import Connection, first_score  # noqa: E402
from stream import Stream  # noqa: E402

FAILURES = []


def check(condition, message):
    print(f"  {'ok  ' if condition else 'FAIL'} {message}")
    if not condition:
        FAILURES.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, path: str, timeout: float, started: float) -> float:
    """Seconds from `started` (when the process was launched) until GET path answers 200."""
    conn = Connection(urllib.parse.urlsplit(url), 1)
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"selftest: {url} exited with {proc.returncode} before it was ready")
        try:
            if conn.request("GET", path)[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"selftest: {url}{path} not ready after {timeout} s")


def infer(conn: Connection, model: str, features):
    body = json.dumps({"inputs": [{"name": "x", "shape": [1, len(features)], "datatype": "FP64", "data": features}]}).encode()
    status, _, data = conn.request("POST", f"/v2/models/{model}/infer", body, {"content-type": "application/json"})
    return status, data


def throughput(url: str, model: str, seconds: float, threads: int) -> float:
    counts = [0] * threads
    deadline = time.monotonic() + seconds
    body = [0.1, -0.2, 0.3, 0.4, -0.5]

    def run(i):
        conn = Connection(urllib.parse.urlsplit(url), 5)
        while time.monotonic() < deadline:
            if infer(conn, model, body)[0] == 200:
                counts[i] += 1
        conn.close()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feedback", type=int, default=2000, help="post-drift examples fed to the learner (default 2000)")
    parser.add_argument("--holdout", type=int, default=1000, help="later post-drift examples both models are scored on (default 1000)")
    parser.add_argument("--work", default=os.path.join(ROOT, ".shadowgate", "selftest"))
    args = parser.parse_args()
    model, drift_at = "churn", 1500
    stream = Stream(drift_at=drift_at)
    py = sys.executable
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    repo = os.path.join(args.work, "legacy")
    figures = {}

    print("== training the legacy model")
    subprocess.run([py, os.path.join(HERE, "train_legacy.py"), "--out", repo, "--drift-at", str(drift_at)], check=True)

    legacy_port, learner_port = free_port(), free_port()
    legacy_url, learner_url = f"http://127.0.0.1:{legacy_port}", f"http://127.0.0.1:{learner_port}"
    print(f"== starting MLServer on {legacy_url} and the learner on {learner_url}")
    logs = {name: open(os.path.join(args.work, f"{name}.log"), "w") for name in ("legacy", "learner")}
    started = time.monotonic()
    legacy = subprocess.Popen([os.path.join(HERE, "serve_legacy.sh"), str(legacy_port), repo],
                              stdout=logs["legacy"], stderr=subprocess.STDOUT, start_new_session=True)
    learner = subprocess.Popen([py, os.path.join(HERE, "learner_server.py"), "--port", str(learner_port),
                                "--name", model, "--drift-at", str(drift_at)],
                               stdout=logs["learner"], stderr=subprocess.STDOUT, start_new_session=True)
    try:
        figures["learner_startup_s"] = round(wait_ready(learner_url, learner, f"/v2/models/{model}/ready", 60, started), 2)
        figures["mlserver_startup_s"] = round(wait_ready(legacy_url, legacy, f"/v2/models/{model}/ready", 120, started), 2)
        print(f"  MLServer ready after {figures['mlserver_startup_s']} s, learner after {figures['learner_startup_s']} s "
              f"(started together)")

        print("== OIP v2 answers")
        lc, rc = Connection(urllib.parse.urlsplit(legacy_url), 10), Connection(urllib.parse.urlsplit(learner_url), 10)
        ex = stream.example(0)
        for name, conn in (("legacy", lc), ("learner", rc)):
            status, data = infer(conn, model, ex.features)
            answer = json.loads(data) if status == 200 else {}
            score = first_score(data)
            check(status == 200, f"{name}: POST /v2/models/{model}/infer answers 200 ({status})")
            check(score is not None and 0 <= score <= 1, f"{name}: first number of the first output is a probability ({score})")
            check(answer.get("outputs", [{}])[0].get("shape") == [1, 1], f"{name}: one output of shape [1, 1] ({answer.get('outputs', [{}])[0].get('shape')})")
            check(bool(answer.get("model_version")), f"{name}: model_version is reported ({answer.get('model_version')})")
            check(conn.request("GET", "/v2/health/ready")[0] == 200, f"{name}: GET /v2/health/ready answers 200")
            check(infer(conn, "nosuchmodel", ex.features)[0] in (400, 404), f"{name}: an unknown model is refused")
        status, _ = infer(rc, model, ex.features[:3])
        check(status == 400, f"learner: a row with 3 features instead of 5 is refused with 400 ({status})")
        start_version = json.loads(infer(rc, model, ex.features)[1])["model_version"]

        print("== misbehave switch")
        for mode, want in (("errors", "500"), ("garbage", "not JSON"), ("off", "200 JSON")):
            rc.request("POST", "/admin/misbehave", json.dumps({"mode": mode}).encode())
            status, data = infer(rc, model, ex.features)
            got = "500" if status == 500 else ("200 JSON" if first_score(data) is not None else "not JSON")
            check(got == want, f"learner: misbehave {mode} -> {want} ({got})")

        print(f"== {args.feedback} post-drift examples: both models score each, then the learner learns it")
        legacy_hits, learner_hits = [], []
        spent = {"legacy infer": 0.0, "learner infer": 0.0, "learner feedback": 0.0}

        def timed(key, call, *a):
            t = time.monotonic()
            result = call(*a)
            spent[key] += time.monotonic() - t
            return result
        t0 = time.monotonic()
        for ex in stream.examples(drift_at, args.feedback):
            ls = first_score(timed("legacy infer", infer, lc, model, ex.features)[1])
            rs = first_score(timed("learner infer", infer, rc, model, ex.features)[1])
            legacy_hits.append(int((ls >= 0.5) == bool(ex.label)))
            learner_hits.append(int((rs >= 0.5) == bool(ex.label)))
            # What ShadowGate delivers: a batch of items, each with the row's captured OIP inputs.
            body = {"items": [{"idempotency_key": f"selftest-{ex.index}/0/{ex.index}", "request_id": f"selftest-{ex.index}",
                               "index": 0, "route": model, "label": ex.label,
                               "features": [{"name": "x", "shape": [1, len(ex.features)], "datatype": "FP64", "data": ex.features}]}]}
            status, _, data = timed("learner feedback", rc.request, "POST", "/feedback", json.dumps(body).encode(),
                                    {"content-type": "application/json"})
            if status != 200:
                check(False, f"learner: /feedback answered {status}: {data[:200]!r}")
                break
        feed_s = time.monotonic() - t0
        print(f"  {args.feedback} x (2 infers + 1 feedback) in {feed_s:.1f} s; mean latency "
              + ", ".join(f"{k} {v / args.feedback * 1000:.1f} ms" for k, v in spent.items()))
        print("  accuracy per 100 examples after the drift (legacy / learner):")
        for i in range(0, len(legacy_hits), 100):
            lw, rw = legacy_hits[i:i + 100], learner_hits[i:i + 100]
            print(f"    {drift_at + i:>5}-{drift_at + i + len(lw) - 1:<5} {sum(lw) / len(lw):.2f} / {sum(rw) / len(rw):.2f}")
        # Where the learner overtakes: from which example on its cumulative accuracy since the
        # drift stays above the legacy model's, and the first 25-example window it wins.
        n = len(legacy_hits)
        lead, overtakes = [], None
        cl = cr = 0
        for k in range(n):
            cl += legacy_hits[k]
            cr += learner_hits[k]
            lead.append(cr > cl)
        for k in range(n - 1, -1, -1):
            if not lead[k]:
                break
            overtakes = k + 1
        first = next((k + 25 for k in range(0, n - 24, 25) if sum(learner_hits[k:k + 25]) > sum(legacy_hits[k:k + 25])), None)
        print("  first 200 examples after the drift, per 25 (legacy / learner): " + "  ".join(
            f"{sum(legacy_hits[k:k + 25]) / 25:.2f}/{sum(learner_hits[k:k + 25]) / 25:.2f}" for k in range(0, min(200, n - 24), 25)))
        figures.update({
            "legacy_accuracy_after_drift": round(sum(legacy_hits) / len(legacy_hits), 4),
            "learner_accuracy_after_drift_prequential": round(sum(learner_hits) / len(learner_hits), 4),
            "learner_first_50_after_drift": round(sum(learner_hits[:50]) / 50, 2),
            "legacy_first_50_after_drift": round(sum(legacy_hits[:50]) / 50, 2),
            "overtake_cumulative_for_good_after": overtakes,
            "first_25_window_won_ends_at": first,
        })
        status, _, data = rc.request("GET", "/admin/stats")
        stats = json.loads(data)
        end_version = stats["model_version"]
        check(stats["feedback"].get("learned") == args.feedback, f"learner learned every label ({stats['feedback']})")
        check(end_version != start_version, f"learner: model_version moved as it learned ({start_version} -> {end_version})")

        print(f"== held out: the next {args.holdout} post-drift examples, no learning")
        lh = rh = 0
        for ex in stream.examples(drift_at + args.feedback, args.holdout):
            lh += int((first_score(infer(lc, model, ex.features)[1]) >= 0.5) == bool(ex.label))
            rh += int((first_score(infer(rc, model, ex.features)[1]) >= 0.5) == bool(ex.label))
        figures["legacy_accuracy_holdout"] = round(lh / args.holdout, 4)
        figures["learner_accuracy_holdout"] = round(rh / args.holdout, 4)
        check(rh > lh, f"learner beats legacy after the drift: {rh / args.holdout:.3f} vs {lh / args.holdout:.3f}")
        check(figures["learner_accuracy_after_drift_prequential"] > figures["legacy_accuracy_after_drift"],
              f"learner beats legacy while learning: {figures['learner_accuracy_after_drift_prequential']} vs {figures['legacy_accuracy_after_drift']}")

        print("== keep-alive throughput, 8 client threads for 3 s (the Python client is part of the cost)")
        figures["learner_req_per_s"] = round(throughput(learner_url, model, 3, 8))
        figures["mlserver_req_per_s"] = round(throughput(legacy_url, model, 3, 8))
        print(f"  learner {figures['learner_req_per_s']} req/s, MLServer {figures['mlserver_req_per_s']} req/s")
        lc.close()
        rc.close()
    finally:
        for proc in (legacy, learner):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (legacy, learner):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in logs.values():
            f.close()
    print("== figures")
    print(json.dumps(figures, indent=2))
    with open(os.path.join(args.work, "figures.json"), "w") as f:
        json.dump(figures, f, indent=2)
    if FAILURES:
        print(f"selftest: {len(FAILURES)} check(s) failed (logs in {args.work})")
        return 1
    print(f"selftest: all checks passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

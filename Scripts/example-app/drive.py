#!/usr/bin/env python3
"""Drives the drifting stream through ShadowGate and sends the ground truth back as feedback.

usage: drive.py [--gateway http://127.0.0.1:18480] [--model churn] [--count 3000] [--start 0]
                [--rate 150] [--concurrency 8] [--feedback-delay 1-2] [--feedback-share 1.0]
                [--at K=COMMAND ...] [--summary-json FILE] [stream options, see stream.py]

For each example i in [start, start + count) of the stream, at `rate` requests/s over
`concurrency` keep-alive connections: POST {gateway}/v2/models/{model}/infer with the example
as an OIP v2 request and header `x-user-id: u-<i % users>`. It reads `x-request-id` and
`x-shadowgate-served-by` from the answer and scores what the client got (first number of the
first output >= 0.5 means class 1). After a random delay in `feedback-delay` seconds it sends
the true label to POST {gateway}/v1/feedback (batched: every label due at that moment in one
array).

Every second it prints one progress line (updated in place on a terminal, a new line every
5 s otherwise): requests sent and their rate, feedback sent/stored/unknown, errors, which model
served the last `window` requests and the accuracy of those answers, overall and per model.

`--at K=COMMAND` runs COMMAND (a shell command, not waited for) when example K is sent, e.g.
`--at 2500='Scripts/example-app/learnerctl.py --learner http://127.0.0.1:18482 misbehave errors'`.

Standard library only. Exit status: 0 when done; 2 when the gateway cannot be reached at the
start; 1 when more than `--max-error-rate` of the requests failed or it was interrupted.
"""
from __future__ import annotations

import argparse
import collections
import heapq
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stream import add_stream_arguments, stream_from_args  # noqa: E402


class Connection:
    """One keep-alive HTTP/1.1 connection that reconnects after a failure."""

    def __init__(self, base: urllib.parse.SplitResult, timeout: float):
        self.host, self.port, self.timeout = base.hostname, base.port or 80, timeout
        self.prefix = base.path.rstrip("/")
        self.conn = None

    def request(self, method, path, body: bytes | None = None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, self.prefix + path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            if response.will_close:
                self.close()
            return response.status, response.headers, data
        except Exception:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def first_score(body: bytes):
    """The gateway's reading of an OIP v2 answer: the first number of the first output's data."""
    try:
        outputs = json.loads(body)["outputs"]
        data = outputs[0]["data"]
        while isinstance(data, list):
            data = data[0]
        return float(data) if isinstance(data, (int, float)) and not isinstance(data, bool) else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None


class Stats:
    def __init__(self, window: int):
        self.lock = threading.Lock()
        self.sent = self.ok = self.errors = 0
        self.error_kinds = collections.Counter()
        self.feedback_sent = self.feedback_stored = self.feedback_unknown = self.feedback_errors = 0
        self.recent = collections.deque(maxlen=window)   # (served_by, correct or None)
        self.served_total = collections.Counter()
        self.correct_total = collections.Counter()
        self.scored_total = collections.Counter()
        self.last_index = None

    def answer(self, served_by: str, correct):
        with self.lock:
            self.ok += 1
            self.recent.append((served_by, correct))
            self.served_total[served_by] += 1
            if correct is not None:
                self.scored_total[served_by] += 1
                self.correct_total[served_by] += int(correct)

    def error(self, kind: str):
        with self.lock:
            self.errors += 1
            self.error_kinds[kind] += 1

    def snapshot(self) -> dict:
        with self.lock:
            served = collections.Counter(s for s, _ in self.recent)
            scored = [(s, c) for s, c in self.recent if c is not None]
            by_model = {}
            for model in sorted(served):
                hits = [c for s, c in scored if s == model]
                by_model[model] = round(sum(hits) / len(hits), 3) if hits else None
            return {
                "sent": self.sent, "ok": self.ok, "errors": self.errors, "error_kinds": dict(self.error_kinds),
                "feedback": {"sent": self.feedback_sent, "stored": self.feedback_stored,
                             "unknown": self.feedback_unknown, "errors": self.feedback_errors},
                "window": {"size": len(self.recent), "served_by": dict(served),
                           "accuracy": round(sum(c for _, c in scored) / len(scored), 3) if scored else None,
                           "accuracy_by_model": by_model},
                "total": {"served_by": dict(self.served_total),
                          "accuracy_by_model": {m: round(self.correct_total[m] / n, 4) for m, n in self.scored_total.items() if n}},
                "last_index": self.last_index,
            }


class Feedback:
    """Labels due later, sent in batches by a few threads over keep-alive connections."""

    def __init__(self, base, stats: Stats, delay: tuple[float, float], threads: int, timeout: float):
        self.base, self.stats, self.delay, self.timeout = base, stats, delay, timeout
        self.heap = []
        self.cond = threading.Condition()
        self.closed = False
        self.rng = random.Random(1)
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def add(self, request_id: str, label: int):
        due = time.monotonic() + self.rng.uniform(*self.delay)
        with self.cond:
            heapq.heappush(self.heap, (due, request_id, label))
            self.cond.notify()

    def pending(self) -> int:
        with self.cond:
            return len(self.heap)

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        for t in self.threads:
            t.join()

    def run(self):
        conn = Connection(self.base, self.timeout)
        while True:
            with self.cond:
                while True:
                    now = time.monotonic()
                    if self.heap and self.heap[0][0] <= now:
                        break
                    if self.closed and not self.heap:
                        conn.close()
                        return
                    self.cond.wait(timeout=(self.heap[0][0] - now) if self.heap else 0.5)
                batch = []
                while self.heap and self.heap[0][0] <= now and len(batch) < 100:
                    _, rid, label = heapq.heappop(self.heap)
                    batch.append({"request_id": rid, "label": label})
            body = json.dumps(batch).encode()
            stored, unknown, failed = 0, 0, False
            try:
                status, _, data = conn.request("POST", "/v1/feedback", body, {"content-type": "application/json"})
                if status == 200:
                    answer = json.loads(data)
                    stored, unknown = answer.get("stored", 0), len(answer.get("unknown", []))
                elif status == 404:
                    unknown = len(batch)
                else:
                    failed = True
            except (OSError, http.client.HTTPException, ValueError):
                failed = True
            with self.stats.lock:
                self.stats.feedback_sent += len(batch)
                self.stats.feedback_stored += stored
                self.stats.feedback_unknown += unknown
                self.stats.feedback_errors += len(batch) if failed else 0


def progress_line(s: dict, total: int, elapsed: float, drift_at: int, feedback_pending: int) -> str:
    elapsed = max(elapsed, 1e-6)
    w = s["window"]
    served = " ".join(f"{k} {v}" for k, v in sorted(w["served_by"].items())) or "-"
    acc = "-" if w["accuracy"] is None else f"{w['accuracy']:.2f}"
    per = ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in w["accuracy_by_model"].items())
    fb = s["feedback"]
    drift = ""
    if s["last_index"] is not None:
        drift = "  [before drift]" if s["last_index"] < drift_at else "  [drifted]"
    return (f"{s['sent']:>6}/{total} sent {s['sent'] / elapsed:5.0f}/s  errors {s['errors']}  "
            f"feedback {fb['stored']}/{fb['sent']} stored (+{feedback_pending} due, {fb['unknown']} unknown, {fb['errors']} failed)  "
            f"last {w['size']}: served by {served}; accuracy {acc}" + (f" ({per})" if per else "") + drift)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Drive the drifting stream through ShadowGate, with feedback.")
    parser.add_argument("--gateway", default="http://127.0.0.1:18480")
    parser.add_argument("--model", default="churn")
    parser.add_argument("--count", type=int, default=3000, help="requests to send (default 3000)")
    parser.add_argument("--start", type=int, default=0, help="first stream index (default 0)")
    parser.add_argument("--rate", type=float, default=150, help="requests per second; 0: as fast as possible (default 150)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--feedback-delay", default="1-2", help="seconds before the label is sent: S or MIN-MAX (default 1-2)")
    parser.add_argument("--feedback-share", type=float, default=1.0, help="share of answered requests that get a label (default 1)")
    parser.add_argument("--window", type=int, default=200, help="requests the rolling figures cover (default 200)")
    parser.add_argument("--timeout", type=float, default=10, help="per-request timeout in seconds (default 10)")
    parser.add_argument("--at", action="append", default=[], metavar="K=COMMAND", help="run COMMAND when example K is sent")
    parser.add_argument("--max-error-rate", type=float, default=0.5, help="exit 1 when more requests failed (default 0.5)")
    parser.add_argument("--summary-json", help="write the final figures to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    add_stream_arguments(parser)
    args = parser.parse_args(argv)

    base = urllib.parse.urlsplit(args.gateway)
    if base.scheme != "http" or not base.hostname:
        parser.error(f"--gateway must be http://host:port, got {args.gateway}")
    try:
        lo, _, hi = args.feedback_delay.partition("-")
        delay = (float(lo), float(hi or lo))
    except ValueError:
        parser.error(f"--feedback-delay must be S or MIN-MAX, got {args.feedback_delay}")
    hooks = {}
    for spec in args.at:
        k, sep, command = spec.partition("=")
        if not sep or not k.strip().lstrip("-").isdigit():
            parser.error(f"--at expects K=COMMAND, got {spec}")
        hooks.setdefault(int(k), []).append(command)

    # Fail fast and clearly when nothing listens.
    try:
        Connection(base, 3).request("GET", "/v2/health/ready")
    except (OSError, http.client.HTTPException) as error:
        print(f"drive: cannot reach the gateway at {args.gateway}: {error}", file=sys.stderr)
        return 2

    stream = stream_from_args(args)
    stats = Stats(args.window)
    feedback = Feedback(base, stats, delay, threads=2, timeout=args.timeout)
    jobs: "collections.deque[int]" = collections.deque()
    jobs_cond = threading.Condition()
    done_sending = threading.Event()
    stop = threading.Event()
    path = f"/v2/models/{args.model}/infer"
    share_rng = random.Random(args.seed)

    def worker():
        conn = Connection(base, args.timeout)
        while True:
            with jobs_cond:
                while not jobs and not done_sending.is_set():
                    jobs_cond.wait(0.5)
                if not jobs:
                    conn.close()
                    return
                index = jobs.popleft()
            ex = stream.example(index)
            body = json.dumps(ex.oip_request()).encode()
            try:
                status, headers, data = conn.request("POST", path, body, {"content-type": "application/json", "x-user-id": ex.user_id})
            except (OSError, http.client.HTTPException) as error:
                stats.error(type(error).__name__)
                continue
            if status != 200:
                stats.error(f"http {status}")
                continue
            score = first_score(data)
            served_by = headers.get("x-shadowgate-served-by", "unknown")
            stats.answer(served_by, None if score is None else (score >= 0.5) == bool(ex.label))
            request_id = headers.get("x-request-id")
            if request_id and share_rng.random() < args.feedback_share:
                feedback.add(request_id, ex.label)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(args.concurrency)]
    for t in workers:
        t.start()

    started = time.monotonic()
    tty = sys.stdout.isatty()

    def reporter():
        n = 0
        while not stop.wait(1.0):
            n += 1
            if args.quiet or (not tty and n % 5):
                continue
            line = progress_line(stats.snapshot(), args.count, time.monotonic() - started, args.drift_at, feedback.pending())
            sys.stdout.write(("\r\033[K" + line) if tty else (line + "\n"))
            sys.stdout.flush()
    threading.Thread(target=reporter, daemon=True).start()

    interrupted = False
    sending = None
    try:
        for n, index in enumerate(range(args.start, args.start + args.count)):
            if args.rate > 0:
                wait = started + n / args.rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            # Back-pressure: never queue more than a few requests per connection.
            with jobs_cond:
                while len(jobs) >= 2 * args.concurrency:
                    jobs_cond.wait(0.01)
                jobs.append(index)
                jobs_cond.notify()
            with stats.lock:
                stats.sent += 1
                stats.last_index = index
            for command in hooks.get(index, []):
                print(f"\ndrive: example {index}: {command}", file=sys.stderr, flush=True)
                subprocess.Popen(command, shell=True)
        done_sending.set()
        with jobs_cond:
            jobs_cond.notify_all()
        for t in workers:
            t.join()
        sending = time.monotonic() - started
        feedback.close()
    except KeyboardInterrupt:
        interrupted = True
        done_sending.set()
    stop.set()
    elapsed = time.monotonic() - started
    sending = sending or elapsed
    s = stats.snapshot()
    if not args.quiet:
        line = progress_line(s, args.count, sending, args.drift_at, feedback.pending())
        sys.stdout.write(("\r\033[K" + line + "\n") if tty else (line + "\n"))
    summary = {**s, "elapsed_s": round(elapsed, 2), "rate": round(s["sent"] / sending, 1),
               "stream": {"start": args.start, "count": args.count, "drift_at": args.drift_at}}
    print("drive: " + json.dumps({k: summary[k] for k in ("sent", "ok", "errors", "elapsed_s", "rate", "feedback", "total")}))
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump(summary, f, indent=2)
    if interrupted:
        print("drive: interrupted", file=sys.stderr)
        return 1
    if s["sent"] and s["errors"] / s["sent"] > args.max_error_rate:
        print(f"drive: {s['errors']} of {s['sent']} requests failed ({dict(s['error_kinds'])})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Load generator and counting learner for `Scripts/bench.sh feedback` (standard library only).

  feedback_load.py learner PORT            a learner that counts delivered items (GET /count -> N)
  feedback_load.py burst URL PREFIX N [--batch 100] [--clients 4]
        posts labels PREFIX0..PREFIX{N-1} as fast as they are answered; prints JSON
        {"labels", "seconds", "labels_per_s", "errors"}
  feedback_load.py rate URL PREFIX --rate 10000 --seconds 10 [--batch 10] [--clients 16]
        open loop: batches due at a fixed rate (labels/s), spread over the clients; latency is
        measured from when a batch was due (so a stalled gateway is not hidden); prints JSON
        {"labels", "target_rate", "achieved_rate", "p50_ms", "p99_ms", "max_ms", "errors"}
"""
import argparse
import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


def learner(port: int) -> None:
    lock = threading.Lock()
    state = {"items": 0, "posts": 0, "keys": set(), "dups": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Buffered: headers and body leave in one write (flushed once), so Nagle plus the
        # client's delayed ACK cannot stall each answer by ~40 ms.
        wbufsize = 1 << 16

        def log_message(self, *args):
            pass

        def reply(self, body: bytes, status: int = 200):
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_GET(self):
            with lock:
                body = json.dumps({"items": state["items"], "distinct": len(state["keys"]),
                                   "duplicates": state["dups"], "posts": state["posts"]}).encode()
            self.reply(body)

        def do_POST(self):
            data = self.rfile.read(int(self.headers.get("content-length", "0")))
            if not self.path.endswith("/feedback"):
                self.reply(b'{"predictions":[0.5]}')
                return
            body = json.loads(data)
            items = body["items"] if isinstance(body, dict) and "items" in body else [body]
            with lock:
                state["posts"] += 1
                for item in items:
                    key = item.get("idempotency_key") or item.get("id")
                    if key in state["keys"]:
                        state["dups"] += 1
                    state["keys"].add(key)
                    state["items"] += 1
            self.reply(b'{"ok":true}')

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def connection(url: str) -> http.client.HTTPConnection:
    u = urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def body_for(prefix: str, start: int, count: int) -> bytes:
    return ("[" + ",".join(f'{{"request_id":"{prefix}{i}","label":{i % 2}}}' for i in range(start, start + count)) + "]").encode()


def burst(url: str, prefix: str, n: int, batch: int, clients: int) -> dict:
    bodies = [body_for(prefix, s, min(batch, n - s)) for s in range(0, n, batch)]
    next_index = [0]
    errors = [0]
    lock = threading.Lock()

    def run():
        conn = connection(url)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(bodies):
                break
            conn.request("POST", "/v1/feedback", bodies[i], {"content-type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                with lock:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    return {"labels": n, "seconds": round(seconds, 3), "labels_per_s": round(n / seconds), "errors": errors[0]}


def rate(url: str, prefix: str, labels_per_s: int, seconds: float, batch: int, clients: int) -> dict:
    per_client_interval = batch * clients / labels_per_s
    total_batches = int(labels_per_s * seconds / batch)
    latencies = []
    errors = [0]
    lock = threading.Lock()
    t0 = time.monotonic() + 0.2

    def run(c: int):
        conn = connection(url)
        mine = []
        k = c
        while k < total_batches:
            due = t0 + (k // clients) * per_client_interval + (c / clients) * per_client_interval
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            conn.request("POST", "/v1/feedback", body_for(prefix, k * batch, batch), {"content-type": "application/json"})
            r = conn.getresponse()
            r.read()
            mine.append(time.monotonic() - due)
            if r.status != 200:
                with lock:
                    errors[0] += 1
            k += clients
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    latencies.sort()

    def q(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"labels": total_batches * batch, "target_rate": labels_per_s, "achieved_rate": round(total_batches * batch / elapsed),
            "batch": batch, "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": round(latencies[-1] * 1000, 2), "errors": errors[0]}


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    lp = sub.add_parser("learner")
    lp.add_argument("port", type=int)
    bp = sub.add_parser("burst")
    bp.add_argument("url")
    bp.add_argument("prefix")
    bp.add_argument("n", type=int)
    bp.add_argument("--batch", type=int, default=100)
    bp.add_argument("--clients", type=int, default=4)
    rp = sub.add_parser("rate")
    rp.add_argument("url")
    rp.add_argument("prefix")
    rp.add_argument("--rate", type=int, default=10000)
    rp.add_argument("--seconds", type=float, default=10)
    rp.add_argument("--batch", type=int, default=10)
    rp.add_argument("--clients", type=int, default=16)
    a = p.parse_args()
    if a.mode == "learner":
        learner(a.port)
    elif a.mode == "burst":
        print(json.dumps(burst(a.url, a.prefix, a.n, a.batch, a.clients)))
    else:
        print(json.dumps(rate(a.url, a.prefix, a.rate, a.seconds, a.batch, a.clients)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Bounded-rate HTTP traffic for Scripts/scale-test.sh: POSTs inference requests at RATE per second
for SECONDS (never more, never longer), from WORKERS threads with keep-alive connections, and
writes one JSON line per request: t, status (0 = no answer), error, backend (x-backend),
served_by, request_id, key.

usage: client.py URL RATE SECONDS OUT [--workers N] [--keys N]
"""
import http.client, json, sys, threading, time, urllib.parse

url, rate, seconds, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 8
keys = int(sys.argv[sys.argv.index("--keys") + 1]) if "--keys" in sys.argv else 50
u = urllib.parse.urlsplit(url)
body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [0.1, 0.2, 0.3]}]})
lock = threading.Lock()
records = []
start = time.monotonic()
total = int(rate * seconds)


def worker(w):
    conn = None
    for n in range(w, total, workers):
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        key = f"user-{n % keys}"
        rec = {"t": round(time.monotonic() - start, 3), "key": key, "status": 0}
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            conn.request("POST", u.path, body=body, headers={"content-type": "application/json", "x-user-id": key})
            r = conn.getresponse()
            r.read()
            rec.update(status=r.status, backend=r.getheader("x-backend"), served_by=r.getheader("x-shadowgate-served-by"),
                       request_id=r.getheader("x-request-id"))
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:  # counted as a client error: no retry here
            if conn:
                conn.close()
            conn = None
            rec["error"] = f"{type(e).__name__}: {e}"
        if rec["status"]:
            rec.pop("error", None)
        with lock:
            records.append(rec)


threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
for t in threads: t.start()
for t in threads: t.join()
with open(out, "w") as f:
    for r in sorted(records, key=lambda r: r["t"]):
        f.write(json.dumps(r) + "\n")
bad = sum(1 for r in records if r["status"] != 200)
print(f"client: {len(records)} requests in {time.monotonic() - start:.1f} s, {bad} not 200")

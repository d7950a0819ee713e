#!/usr/bin/env python3
"""Sends a fixed number of keep-alive POSTs (Scripts/benchmarks/proxy/body.json) over a few connections, for
instruction counting (Scripts/benchmarks/proxy/callgrind.sh), where a fixed count matters and speed does not.
usage: load.py PORT REQUESTS [CONNECTIONS]
Exits non-zero if any answer is not 200.
"""
import http.client
import os
import sys
import threading

port, total = int(sys.argv[1]), int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 4
body = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "body.json"), "rb").read()
failures = []


def worker(count: int) -> None:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(count):
        c.request("POST", "/v1/models/m:predict", body=body,
                  headers={"Content-Type": "application/json", "Accept": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            failures.append(r.status)
    c.close()


threads = [threading.Thread(target=worker, args=(total // conns + (1 if i < total % conns else 0),)) for i in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    print(f"{len(failures)} non-200 answers, e.g. {failures[:5]}", file=sys.stderr)
    sys.exit(1)

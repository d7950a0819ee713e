#!/usr/bin/env python3
"""Controls the demo learner (learner_server.py) from the demo script. Standard library only.

usage: learnerctl.py [--learner http://127.0.0.1:18482] misbehave off|errors|garbage|slow|drop [--rate 1.0] [--slow-ms 1000]
       learnerctl.py [--learner URL] stats
       learnerctl.py [--learner URL] wait [--timeout 30]     (until /v2/health/ready answers 200)

misbehave makes that share of the learner's infer calls answer HTTP 500 (errors), 200 with a
non-JSON body (garbage), after slow-ms (slow) or not at all (drop); off restores it.
Prints the learner's answer as JSON; exits 1 when the learner is unreachable or refuses.
"""
import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def call(url: str, body=None, timeout: float = 5):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"}, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learner", default="http://127.0.0.1:18482")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("misbehave")
    m.add_argument("mode", choices=["off", "errors", "garbage", "slow", "drop"])
    m.add_argument("--rate", type=float, default=1.0, help="share of infer calls affected (default 1)")
    m.add_argument("--slow-ms", type=float, default=1000, help="delay in slow mode (default 1000)")
    sub.add_parser("stats")
    w = sub.add_parser("wait")
    w.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    base = args.learner.rstrip("/")
    try:
        if args.command == "misbehave":
            answer = call(f"{base}/admin/misbehave", {"mode": args.mode, "rate": args.rate, "slow_ms": args.slow_ms})
        elif args.command == "stats":
            answer = call(f"{base}/admin/stats")
        else:
            deadline = time.monotonic() + args.timeout
            while True:
                try:
                    answer = call(f"{base}/v2/health/ready", timeout=1)
                    break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
    except urllib.error.HTTPError as error:
        print(f"learnerctl: {base} answered {error.code}: {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"learnerctl: cannot reach the learner at {base}: {getattr(error, 'reason', error)}", file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""HTTP-level fuzz campaign against a running ShadowGate gateway (see Fuzz/http-campaign.sh).

usage: http_campaign.py --port PORT --count N --seed S [--host H] [--route m] [--concurrency C]
                        [--summary FILE] [--failures FILE] [--verbose]

Input i is made by random.Random(f"{seed}:{i}") alone, so a run reproduces, and one failing input
can be replayed with `--only i`. Each input is one client connection: malformed request lines,
truncated or oversized heads, oversized bodies, bad or duplicate Content-Length, chunked edge cases,
pipelined requests, garbage bytes, slow partial sends, and random mutations of valid inference
(`POST /v1/models/<route>:predict`) and feedback (`POST /v1/feedback`) requests.

The oracle, per input: every byte the gateway sends parses as HTTP/1.x responses (a `100 Continue`
may come first), each with a JSON body and 4xx/5xx status, or 2xx with a JSON body; or the gateway
closes the connection (possibly after answering). No body holds internal text (SQL, libpq, file
paths, Swift/NIO error names, stack frames) unless the input itself held that text. No connection is
left open with nothing answered past the gateway's own timeouts (a hang). After the campaign the
gateway must answer a valid inference request with 200.

It prints a summary (JSON with --summary): counts per input class, per outcome and per status, the
number of inference requests answered with a served model (`x-shadowgate-served-by: legacy|learner`),
and the gateway's own count of them from /metrics. The caller compares those with the rows in
shadowgate.pairs (it knows the database); this script only speaks HTTP.
Exit status: 0 when no input failed the oracle, 1 otherwise.
"""
import argparse
import asyncio
import json
import random
import re
import sys
import time
from collections import Counter

# Text that must never reach a client unless the client sent it first.
LEAK_PATTERNS = [
    "SELECT ", "INSERT ", "UPDATE ", "COPY ", "shadowgate.", "postgres", "libpq", "PGRES", "SQLSTATE",
    "ERROR:", "FATAL:", "DETAIL:", "relation ", ".swift", "/work/", "/tmp/", "/usr/", "/home/",
    "Fatal error", "Stack dump", "backtrace", "NIOCore", "NIOHTTP1", "HTTPParserError", "ChannelError",
    "IOError", "Error Domain", "NSCocoaErrorDomain", "Swift.", "ShadowGate", "0x0000",
]

# How long the gateway under test may take to give up on a slow client (the script that starts it
# sets header/body/idle timeouts of 1 s; this adds generous slack for a loaded machine).
HANG_SECONDS = 12.0
QUIET_SECONDS = 0.25

FEATURE_VALUES = ["1", "0", "-3", "2.5", "1e3", '"a"', '"b\\tc"', "true", "null", '"\\u00e9"']


class Input:
    def __init__(self, kind, sends, expected, close_after=None):
        self.kind = kind
        self.sends = sends            # [(bytes, delay seconds before sending)]
        self.expected = expected      # complete requests the generator meant to send
        self.close_after = close_after  # client closes this long after its last send (None: wait for the gateway)

    @property
    def data(self):
        return b"".join(chunk for chunk, _ in self.sends)


def inference_body(rng):
    rows = [[rng.choice(FEATURE_VALUES) for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(1, 3))]
    return ('{"instances":[' + ",".join("[" + ",".join(r) + "]" for r in rows) + "]}").encode()


def feedback_body(rng):
    def item():
        label = rng.choice(["1", "0", "0.5", '"churned"', "true", "false"])
        extra = f',"index":{rng.randint(0, 3)}' if rng.random() < 0.3 else ""
        return f'{{"request_id":"fz-{rng.randrange(10**9)}","label":{label}{extra}}}'
    if rng.random() < 0.5:
        return item().encode()
    return ("[" + ",".join(item() for _ in range(rng.randint(1, 5))) + "]").encode()


def request(method, path, body=b"", headers=None, version="HTTP/1.1", content_length=True):
    lines = [f"{method} {path} {version}", "Host: gateway"]
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    if content_length and (body or method == "POST"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Generator:
    def __init__(self, route):
        self.predict = f"/v1/models/{route}:predict"

    def valid(self, rng, kind=None):
        """A valid request and whether it is an inference request."""
        kind = kind or rng.choice(["inference", "inference", "feedback", "health"])
        headers = []
        if rng.random() < 0.5:
            headers.append(("Content-Type", "application/json"))
        if kind == "inference" or rng.random() < 0.3:
            # Unique per request (input number, then a count), so a row in shadowgate.pairs names its input.
            self.serial += 1
            headers.append(("x-request-id", f"fz-{self.index}-{self.serial}"))
        if kind == "inference":
            return request("POST", self.predict, inference_body(rng), headers)
        if kind == "feedback":
            return request("POST", "/v1/feedback", feedback_body(rng), headers)
        return request("GET", rng.choice(["/healthz", "/readyz", "/v2/health/live"]), b"", headers)

    def make(self, rng, index):
        self.index, self.serial = index, 0
        kinds = [
            ("valid", 6), ("mutated", 22), ("request_line", 8), ("truncated", 8), ("oversized_head", 4),
            ("oversized_body", 4), ("content_length", 8), ("chunked", 10), ("pipelined", 10),
            ("garbage", 10), ("slow", 4), ("feedback_body", 6),
        ]
        kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        return getattr(self, "make_" + kind)(rng)

    def make_valid(self, rng):
        data = self.valid(rng)
        if rng.random() < 0.3:
            data = data.replace(b"Host: gateway\r\n", b"Host: gateway\r\nConnection: close\r\n", 1)
        return Input("valid", [(data, 0)], 1)

    def make_mutated(self, rng):
        data = bytearray(self.valid(rng, rng.choice(["inference", "feedback"])))
        body_only = rng.random() < 0.4   # mutate the body alone and keep Content-Length right
        if body_only:
            split = data.index(b"\r\n\r\n") + 4
            head, data = bytes(data[:split]), bytearray(data[split:])
        tokens = [b"\r\n", b"\n", b"\r", b":", b" ", b"\x00", b"\xff", b"\t", b"-1", b"999999999999999999999",
                  b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n", b"{", b"[", b'"',
                  b"Expect: 100-continue\r\n", b"HTTP/1.0", b"\xc3\x28", b"%00", b"../"]
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(6)
            at = rng.randrange(len(data) + 1)
            if op == 0 and data:
                at = min(at, len(data) - 1)
                data[at] ^= 1 << rng.randrange(8)
            elif op == 1:
                data[at:at] = bytes([rng.randrange(256)])
            elif op == 2 and data:
                del data[at:at + rng.randint(1, 8)]
            elif op == 3:
                data[at:at] = rng.choice(tokens)
            elif op == 4 and data:
                end = min(len(data), at + rng.randint(1, 32))
                data[at:at] = data[at:end] * rng.randint(1, 3)
            else:
                data[at:at + 1] = rng.choice(tokens)
        if body_only:
            head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(data), head)
            return Input("mutated_body", [(head + bytes(data), 0)], 1)
        return Input("mutated", [(bytes(data), 0)], 1)

    def make_request_line(self, rng):
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "get", "P0ST",
                             "", "G\x00ET", "POST POST", "X" * rng.randint(1, 300)])
        target = rng.choice([self.predict, "/", "*", "", "http://evil/v1/feedback", "/v1/feedback?x=1",
                             "/%00", "/..%2f..%2fetc/passwd", "/" + "a" * rng.randint(100, 20000),
                             self.predict + "?" + "q=" * 50, "/v1/models/" + "\u00e9" + ":predict",
                             "/v1/models//:predict", "example.com:443", "/\t/", "/ /"])
        version = rng.choice(["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/1.1x", "HTTP/9.9", "http/1.1",
                              "HTTP/1", "", "HTTP/1.1 extra", "HTTP/01.01"])
        sep = rng.choice(["\r\n", "\n", "\r", "\r\r\n"])
        line = f"{method} {target} {version}" if rng.random() < 0.8 else f"{method}{target}{version}"
        body = inference_body(rng) if rng.random() < 0.5 else b""
        head = line + sep + "Host: g" + sep + (f"Content-Length: {len(body)}" + sep if body else "") + sep
        return Input("request_line", [(head.encode("utf-8", "surrogateescape") + body, 0)], 1)

    def make_truncated(self, rng):
        data = self.valid(rng, rng.choice(["inference", "feedback"]))
        head_end = data.index(b"\r\n\r\n") + 4
        cut = rng.randint(1, len(data) - 1) if rng.random() < 0.3 else rng.randint(1, head_end - 1)
        close_after = rng.uniform(0, 0.05) if rng.random() < 0.5 else None
        return Input("truncated", [(data[:cut], 0)], 0, close_after=close_after)

    def make_oversized_head(self, rng):
        choice = rng.randrange(3)
        if choice == 0:
            headers = [("X-Big", "v" * rng.randint(70_000, 200_000))]
        elif choice == 1:
            headers = [(f"X-H{i}", "x" * 40) for i in range(rng.randint(2000, 5000))]
        else:
            headers = [("Cookie", "c=" + "z" * 60_000), ("Cookie", "d=" + "z" * 60_000)]
        return Input("oversized_head", [(request("POST", self.predict, inference_body(rng), headers), 0)], 1)

    def make_oversized_body(self, rng):
        limit = 64 * 1024   # limits.max_body_bytes in the campaign's configuration
        path = rng.choice([self.predict, "/v1/feedback"])
        if rng.random() < 0.5:   # declared only: the gateway must refuse before reading it
            head = f"POST {path} HTTP/1.1\r\nHost: g\r\nContent-Length: {rng.randint(limit + 1, 10**12)}\r\n\r\n"
            return Input("oversized_body", [(head.encode() + b"{" * rng.randint(0, 100), 0)], 1)
        body = b'{"instances":[' + b"[1]," * ((limit + rng.randint(1, 40_000)) // 4) + b"[1]]}"
        if rng.random() < 0.5:
            return Input("oversized_body", [(request("POST", path, body), 0)], 1)
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192]) for i in range(0, len(body), 8192))
        head = f"POST {path} HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        return Input("oversized_body", [(head + chunks + b"0\r\n\r\n", 0)], 1)

    def make_content_length(self, rng):
        body = inference_body(rng) if rng.random() < 0.6 else feedback_body(rng)
        path = self.predict if body.startswith(b'{"inst') else "/v1/feedback"
        n = len(body)
        variants = [
            [f"Content-Length: {n}", f"Content-Length: {n}"],
            [f"Content-Length: {n}", f"Content-Length: {n + 1}"],
            [f"Content-Length: {n}, {n}"],
            [f"Content-Length: {n}, {n + 3}"],
            ["Content-Length: -1"], ["Content-Length: +%d" % n], ["Content-Length: 0x%x" % n],
            ["Content-Length: %s" % ("9" * rng.randint(19, 40))], ["Content-Length: "], ["Content-Length: abc"],
            [f"Content-Length: {n} "], [f"Content-Length:{n}"], [f"Content-Length : {n}"],
            [f"Content-Length: {max(0, n - rng.randint(1, n))}"], [f"Content-Length: {n + rng.randint(1, 50)}"],
            [f"Content-Length: {n}", "Transfer-Encoding: chunked"],
            ["Transfer-Encoding: chunked", f"Content-Length: {n}"],
            [f"Content-Length: {n}", "Transfer-Encoding: identity"],
            [f"Content-Length:\t{n}"], [f"Content-Length: {n}\x00"], [f"content-length: 0{n}"],
        ]
        lines = rng.choice(variants)
        head = f"POST {path} HTTP/1.1\r\nHost: g\r\n" + "".join(line + "\r\n" for line in lines) + "\r\n"
        close_after = None
        return Input("content_length", [(head.encode("latin-1") + body, 0)], 1, close_after)

    def make_chunked(self, rng):
        body = inference_body(rng) if rng.random() < 0.6 else feedback_body(rng)
        path = self.predict if body.startswith(b'{"inst') else "/v1/feedback"
        te = rng.choice(["chunked", "chunked", "Chunked", "gzip, chunked", "chunked, gzip", "chunked, chunked",
                         "identity", "xchunked", " chunked"])
        pieces, i = [], 0
        while i < len(body):
            k = rng.randint(1, max(1, len(body) - i))
            pieces.append(body[i:i + k])
            i += k
        variant = rng.randrange(12)
        out = b""
        for p in pieces:
            size = b"%x" % len(p)
            if variant == 1:
                size = b"%X" % len(p)
            elif variant == 2:
                size = size + b";ext=1;y=\"q\""
            elif variant == 3:
                size = b"0" * rng.randint(1, 20) + size
            elif variant == 4 and rng.random() < 0.5:
                size = b"%x" % (len(p) + rng.choice([-1, 1, 100]))
            elif variant == 5:
                size = b"-" + size
            elif variant == 6:
                size = b"ffffffffffffffffff"
            out += size + rng.choice([b"\r\n", b"\r\n", b"\n"] if variant == 7 else [b"\r\n"]) + p + b"\r\n"
        end = [b"0\r\n\r\n", b"0\r\nX-Trailer: 1\r\n\r\n", b"0\r\n", b"", b"0;x\r\n\r\n", b"00000\r\n\r\n",
               b"0\r\nContent-Length: 5\r\n\r\n"][rng.randrange(7) if variant >= 8 else 0]
        head = f"POST {path} HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: {te}\r\n\r\n".encode()
        return Input("chunked", [(head + out + end, 0)], 1)

    def make_pipelined(self, rng):
        requests = [self.valid(rng) for _ in range(rng.randint(2, 8))]
        if rng.random() < 0.3:
            requests[-1] = self.make_mutated(rng).data
        if rng.random() < 0.2:
            requests.insert(rng.randrange(len(requests)), self.make_garbage(rng).data)
        data = b"".join(requests)
        if rng.random() < 0.3:   # the same bytes, split at random points
            cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 5))))
            parts = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
            return Input("pipelined", [(p, 0.002 if j else 0) for j, p in enumerate(parts)], len(requests))
        return Input("pipelined", [(data, 0)], len(requests))

    def make_garbage(self, rng):
        choice = rng.randrange(6)
        if choice == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 2048)))
        elif choice == 1:
            data = "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randint(1, 2048))).encode()
        elif choice == 2:
            data = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        elif choice == 3:   # a TLS ClientHello's first bytes
            data = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(rng.randrange(256) for _ in range(64))
        elif choice == 4:
            data = b"\r\n" * rng.randint(1, 50) + self.valid(rng)
            return Input("garbage", [(data, 0)], 1)
        else:
            data = b"\x00" * rng.randint(1, 4096)
        return Input("garbage", [(data, 0)], 0)

    def make_slow(self, rng):
        data = self.valid(rng, rng.choice(["inference", "feedback"]))
        pieces, i = [], 0
        while i < len(data):
            k = rng.randint(1, 24)
            pieces.append(data[i:i + k])
            i += k
        budget = rng.uniform(0.2, 1.5)   # bounded: the whole send takes at most ~1.5 s
        delay = budget / max(1, len(pieces))
        stop = len(pieces) if rng.random() < 0.6 else rng.randint(1, len(pieces) - 1) if len(pieces) > 1 else 1
        sends = [(p, delay if j else 0) for j, p in enumerate(pieces[:stop])]
        return Input("slow", sends, 1 if stop == len(pieces) else 0)

    def make_feedback_body(self, rng):
        bodies = [b"", b"null", b"[]", b"{}", b"[[[[[[[[[[", b"[" * rng.randint(100, 20000) + b"]" * rng.randint(0, 20000),
                  b'{"request_id":"' + b"x" * 200 + b'","label":1}', b'{"request_id":"a","label":1e999}',
                  b'{"request_id":"a","label":{"x":1}}', b'{"request_id":"a","label":1,"index":-2}',
                  b'{"request_id":"\xff\xfe","label":1}', b'{"request_id":"a","label":"\\ud800"}',
                  b"[" + b",".join([b'{"request_id":"a","label":1}'] * rng.randint(1, 2000)) + b"]",
                  b'{"request_id":"a","label":1' , b'\xef\xbb\xbf{"request_id":"a","label":1}',
                  b'{"request_id":"a","label":123456789012345678901234567890}',
                  b'{"request_id":"a","label":"' + b"\\u0000" * 50 + b'"}']
        body = rng.choice(bodies)
        return Input("feedback_body", [(request("POST", "/v1/feedback", body), 0)], 1)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None


def parse_responses(buf, bodyless_allowed=False):
    """Complete responses at the front of buf, the bytes left over, and an error text (or None).

    With bodyless_allowed (the input held a HEAD or CONNECT request), a response with neither length
    nor chunking has no body (RFC 9112 §6.3: NIO frames answers to those methods without one)."""
    out, pos = [], 0
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            rest = buf[pos:]
            if rest and not b"HTTP/1.".startswith(rest[:7]) and not rest.startswith(b"HTTP/1."):
                return out, rest, "bytes that are not an HTTP response: %r" % rest[:80]
            return out, rest, None
        lines = buf[pos:end].split(b"\r\n")
        m = re.match(rb"^HTTP/1\.[01] (\d{3}) ?(.*)$", lines[0])
        if not m:
            return out, buf[pos:], "bad status line %r" % lines[0][:80]
        status = int(m.group(1))
        headers = []
        for line in lines[1:]:
            if b":" not in line:
                return out, buf[pos:], "bad header line %r" % line[:80]
            k, v = line.split(b":", 1)
            headers.append((k.strip().lower().decode("latin-1"), v.strip().decode("latin-1")))
        start = end + 4
        if 100 <= status < 200:
            pos = start
            continue
        te = next((v for k, v in headers if k == "transfer-encoding"), None)
        cl = [v for k, v in headers if k == "content-length"]
        if te is not None:
            body, i = b"", start
            while True:
                e = buf.find(b"\r\n", i)
                if e < 0:
                    return out, buf[pos:], None
                size = int(buf[i:e].split(b";")[0], 16)
                if len(buf) < e + 2 + size + 2:
                    return out, buf[pos:], None
                body += buf[e + 2:e + 2 + size]
                i = e + 2 + size + 2
                if size == 0:
                    break
            out.append(Response(status, headers, body))
            pos = i
        elif cl:
            if len(set(cl)) != 1 or not cl[0].isdigit():
                return out, buf[pos:], "bad content-length in a response: %r" % cl
            n = int(cl[0])
            if len(buf) < start + n:
                return out, buf[pos:], None
            out.append(Response(status, headers, buf[start:start + n]))
            pos = start + n
        elif bodyless_allowed:
            out.append(Response(status, headers, None))
            pos = start
        else:
            return out, buf[pos:], "response with neither content-length nor chunked (status %d)" % status


async def run_input(host, port, inp):
    """Sends one input and returns (outcome class, responses, failure text or None)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except (OSError, asyncio.TimeoutError) as e:
        return "connect_failed", [], "could not connect: %s" % e, False
    buf, responses, closed, reset, failure = b"", [], False, False, None
    deadline = time.monotonic() + HANG_SECONDS

    async def read_some(timeout):
        nonlocal buf, closed, reset
        try:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
        except asyncio.TimeoutError:
            return False
        except (ConnectionResetError, BrokenPipeError, OSError):
            closed = reset = True
            return True
        if not chunk:
            closed = True
        buf += chunk
        return True

    try:
        for chunk, delay in inp.sends:
            if delay:
                await asyncio.sleep(delay)
            try:
                writer.write(chunk)
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError, OSError):
                reset = True
                break
            # Read what is already there, so a large send is not blocked by an unread answer.
            while not closed and await read_some(0):
                pass
        if inp.close_after is not None:
            end = time.monotonic() + inp.close_after
            while not closed and time.monotonic() < end:
                await read_some(max(0.001, end - time.monotonic()))
        else:
            while not closed:
                done, rest, err = parse_responses(buf, b"CONNECT " in inp.data or b"HEAD " in inp.data)
                if err:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # Once every request meant was answered, a short quiet spell ends the input.
                if len(done) >= max(1, inp.expected) and not rest:
                    if not await read_some(QUIET_SECONDS):
                        break
                else:
                    await read_some(min(remaining, 1.0))
        # Drain what the gateway wrote before a reset or close.
        while not closed and await read_some(0):
            pass
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except Exception:
            pass

    data = inp.data
    responses, rest, err = parse_responses(buf, b"CONNECT " in data or b"HEAD " in data)
    if err:
        failure = err
    for r in responses:
        if failure:
            break
        if r.body is None:
            if not 400 <= r.status < 600:
                failure = "body-less status %d to a HEAD or CONNECT input" % r.status
            continue
        try:
            json.loads(r.body)
        except ValueError:
            failure = "status %d with a body that is not JSON: %r" % (r.status, r.body[:120])
            break
        if not (200 <= r.status < 300 or 400 <= r.status < 600):
            failure = "status %d" % r.status
            break
        text = r.body.decode("utf-8", "replace")
        for pattern in LEAK_PATTERNS:
            if pattern in text and pattern.encode() not in data:
                failure = "internal text %r in a %d body: %s" % (pattern, r.status, text[:200])
                break
    if failure is None and rest and closed and not reset:
        failure = "connection closed inside a response: %r" % rest[:80]
    if failure is None and not closed and not responses and inp.close_after is None and time.monotonic() >= deadline:
        failure = "hang: no answer and no close within %.0f s" % HANG_SECONDS

    if failure:
        outcome = "FAIL"
    elif responses:
        last = responses[-1].status
        outcome = ("answered_2xx" if all(200 <= r.status < 300 for r in responses) else
                   "answered_%dxx" % (last // 100)) + ("_then_close" if closed else "")
    elif inp.close_after is not None and not closed:
        outcome = "client_closed_early"
    elif reset:
        outcome = "reset_without_answer"
    elif closed:
        outcome = "closed_without_answer"
    else:
        outcome = "open_without_answer"
    return outcome, responses, failure, reset


async def probe(host, port, route):
    """A valid inference request on a fresh connection: the status, or None."""
    body = b'{"instances":[[1,2]]}'
    inp = Input("probe", [(request("POST", f"/v1/models/{route}:predict", body, [("Connection", "close")]), 0)], 1)
    outcome, responses, failure, _ = await run_input(host, port, inp)
    return (responses[0].status if responses else None), responses


async def fetch_metrics(host, port):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data.split(b"\r\n\r\n", 1)[1].decode()


def served_from_metrics(text, route):
    total = 0
    for line in text.splitlines():
        m = re.match(r'^shadowgate_requests_total\{(.*)\} (\d+)', line)
        if m and f'route="{route}"' in m.group(1) and re.search(r'served_by="(legacy|learner)"', m.group(1)):
            total += int(m.group(2))
    return total


def count_served(responses):
    return sum(1 for r in responses if r.header("x-shadowgate-served-by") in ("legacy", "learner"))


async def campaign(args):
    gen = Generator(args.route)
    by_kind, by_outcome, by_status = Counter(), Counter(), Counter()
    kind_outcome, resets = Counter(), Counter()
    served_ids, reset_inputs = [], []
    served = 0
    failures = []
    semaphore = asyncio.Semaphore(args.concurrency)
    started = time.monotonic()
    indices = [args.only] if args.only is not None else range(args.count)

    async def one(i):
        nonlocal served
        rng = random.Random(f"{args.seed}:{i}")
        inp = gen.make(rng, i)
        async with semaphore:
            outcome, responses, failure, reset = await run_input(args.host, args.port, inp)
        by_kind[inp.kind] += 1
        by_outcome[outcome] += 1
        kind_outcome[f"{inp.kind}/{outcome}"] += 1
        for r in responses:
            by_status[str(r.status)] += 1
        served += count_served(responses)
        if reset:
            resets[inp.kind] += 1
            reset_inputs.append(i)
        served_ids.extend(r.header("x-request-id") for r in responses if r.header("x-shadowgate-served-by") in ("legacy", "learner"))
        if failure:
            failures.append({"index": i, "kind": inp.kind, "failure": failure, "input": inp.data[:2000].decode("latin-1")})
            if args.verbose:
                print(f"FAIL input {i} ({inp.kind}): {failure}", file=sys.stderr)

    batch = 500
    indices = list(indices)
    for b in range(0, len(indices), batch):
        await asyncio.gather(*(one(i) for i in indices[b:b + batch]))
        if args.verbose:
            print(f"{min(b + batch, len(indices))}/{len(indices)} inputs, {len(failures)} failures, "
                  f"{time.monotonic() - started:.1f} s", file=sys.stderr)
        status, responses = await probe(args.host, args.port, args.route)
        served += count_served(responses)
        if status != 200:
            failures.append({"index": -1, "kind": "probe", "failure": f"valid request after input {b + batch} answered {status}", "input": ""})
            break
    elapsed = time.monotonic() - started
    status, responses = await probe(args.host, args.port, args.route)
    served += count_served(responses)
    alive = status == 200
    if not alive:
        failures.append({"index": -1, "kind": "probe", "failure": f"valid request after the campaign answered {status}", "input": ""})
    metrics_served = served_from_metrics(await fetch_metrics(args.host, args.port), args.route) if alive else None
    summary = {
        "seed": args.seed, "inputs": len(indices), "seconds": round(elapsed, 1),
        "failures": len(failures), "by_kind": dict(sorted(by_kind.items())),
        "by_outcome": dict(sorted(by_outcome.items())), "by_kind_outcome": dict(sorted(kind_outcome.items())),
        "responses_by_status": dict(sorted(by_status.items())),
        "connection_resets_by_kind": dict(sorted(resets.items())),
        "reset_inputs": sorted(reset_inputs),
        "served_inference": served,
        "metrics_served_inference": metrics_served,
        "alive_after": alive,
    }
    return summary, failures, served_ids


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--route", default="m")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", type=int, help="run only input number ONLY (replay)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--summary", help="write the summary JSON here")
    p.add_argument("--failures", help="write failing inputs (JSON lines) here")
    p.add_argument("--served-ids", help="write the x-request-id of each answer with a served model here")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    summary, failures, served_ids = asyncio.run(campaign(args))
    if args.served_ids:
        with open(args.served_ids, "w") as f:
            f.write("".join(f"{i}\n" for i in served_ids))
    text = json.dumps(summary, indent=1)
    print(text)
    if args.summary:
        with open(args.summary, "w") as f:
            f.write(text + "\n")
    if args.failures:
        with open(args.failures, "w") as f:
            for failure in failures:
                f.write(json.dumps(failure) + "\n")
    for failure in failures[:20]:
        print(f"FAIL input {failure['index']} ({failure['kind']}): {failure['failure']}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

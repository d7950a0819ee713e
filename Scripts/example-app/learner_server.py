#!/usr/bin/env python3
"""The demo's continuous learner: a River online model served over the Open Inference Protocol v2.

usage: learner_server.py --port PORT [--host 127.0.0.1] [--name churn] [--warm-start 500]
                         [--learning-rate 0.1] [--feedback-path /feedback] [stream options, see stream.py]

Model: river StandardScaler | LogisticRegression(SGD). It learns one example at a time from
ground truth and reports `model_version` "river-<examples learned, in hundreds>", so the pair
log shows it evolving. Warm start: before serving it learns the stream's examples
-N..-1 (pre-drift history), so it starts close to the legacy model.

Endpoints (HTTP/1.1, keep-alive, thread per connection):
  POST /v2/models/NAME[/versions/V]/infer   {"inputs": [{"name", "shape": [n, F], "datatype", "data"}], "outputs"?}
        -> {"model_name", "model_version", "id", "outputs": [{"name": "predict_proba", "shape": [n, 1],
            "datatype": "FP64", "data": [P(class 1), ...]}]}; requested outputs may also name "predict" (0/1).
        Several inputs are read as columns side by side (e.g. one [n, 1] input per feature).
  GET  /v2/health/live, /v2/health/ready, /v2/models/NAME[/versions/V]/ready, /v2/models/NAME, /v2
  POST /feedback   {"items": [{"idempotency_key", "request_id", "index", "features": F, "label": L, ...}]}
        as ShadowGate delivers labels (in batches, at least once), or one such item as the whole
        body (feedback.batch_size: 1, or a hand-made call). F is the labelled row's OIP `inputs`
        (what the gateway captures, sliced to the row), a whole OIP request, one row [x1, ...] or
        rows [[...], ...]; L is 0/1, true/false, "0"/"1" or a list with one per row. Each row is
        first scored (prequential accuracy, see /admin/stats), then learned. An item whose
        idempotency_key was seen recently is skipped (a redelivery). In a batch, an item that
        cannot be used (no features captured, a bad label) is skipped and counted, so one bad
        label does not make the gateway drop the whole batch.
        -> 200 {"learned": n, "skipped": k, "duplicates": d, "model_version"}; for a single item
        400 with {"error"}, or 422 for "features": null (the gateway captured none).
  POST /admin/misbehave {"mode": "off"|"errors"|"garbage"|"slow"|"drop", "rate"?: 1.0, "slow_ms"?: 1000}
        makes that share of infer calls answer HTTP 500 / 200 with a non-JSON body / late /
        not at all (connection closed). Health and feedback keep working. GET shows the mode.
  GET  /admin/stats  examples learned, predictions, feedback counts, rolling and total prequential accuracy.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from river import linear_model, optim, preprocessing  # noqa: E402

from stream import add_stream_arguments, stream_from_args  # noqa: E402

NUMERIC = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"}
MODES = ("off", "errors", "garbage", "slow", "drop")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- parsing

def _flatten(value, out):
    if isinstance(value, list):
        for v in value:
            _flatten(v, out)
    else:
        out.append(value)
    return out


def _number(v, where):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    raise BadRequest(f"{where}: expected numbers, got {json.dumps(v)[:40]}")


def rows_from_inputs(inputs, width: int) -> list[list[float]]:
    """OIP v2 `inputs` -> rows of `width` floats. One input [n, F] (or [F] for one row), or several
    inputs read as columns side by side, each [n] or [n, k]."""
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("'inputs' must be a non-empty array")
    columns = []
    n_rows = None
    for i, tensor in enumerate(inputs):
        where = f"inputs[{i}]"
        if not isinstance(tensor, dict) or "data" not in tensor:
            raise BadRequest(f"{where}: expected an object with 'data'")
        datatype = tensor.get("datatype", "FP64")
        if datatype not in NUMERIC:
            raise BadRequest(f"{where}: datatype {datatype} is not numeric")
        flat = [_number(v, where) for v in _flatten(tensor["data"], [])]
        shape = tensor.get("shape")
        if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise BadRequest(f"{where}: 'shape' must be a list of sizes")
        rows = 1 if (len(shape) == 1 and len(inputs) == 1) else shape[0]
        if rows == 0 or len(flat) % rows:
            raise BadRequest(f"{where}: {len(flat)} values do not fill shape {shape}")
        if n_rows is not None and rows != n_rows:
            raise BadRequest(f"{where}: {rows} rows, but inputs[0] has {n_rows}")
        n_rows = rows
        k = len(flat) // rows
        columns.append([flat[r * k:(r + 1) * k] for r in range(rows)])
    result = [sum((col[r] for col in columns), []) for r in range(n_rows)]
    if len(result[0]) != width:
        raise BadRequest(f"expected {width} features per row, got {len(result[0])}")
    return result


def rows_from_features(features, width: int) -> list[list[float]]:
    """What ShadowGate forwards as `features` -> rows."""
    if features is None:
        raise BadRequest("'features' is null: the gateway captured no features for this request "
                         "(limits.capture_features off, or larger than limits.features_max_bytes)", 422)
    if isinstance(features, dict):
        if "inputs" in features:
            return rows_from_inputs(features["inputs"], width)
        raise BadRequest("'features' object has no 'inputs'")
    if isinstance(features, list) and features:
        if all(isinstance(t, dict) for t in features):
            return rows_from_inputs(features, width)
        if all(isinstance(r, list) for r in features):
            rows = [[_number(v, "features") for v in _flatten(r, [])] for r in features]
        else:
            rows = [[_number(v, "features") for v in features]]
        for r in rows:
            if len(r) != width:
                raise BadRequest(f"expected {width} features per row, got {len(r)}")
        return rows
    raise BadRequest("'features' must be OIP inputs, a request, a row or rows")


def parse_label(v, where="label") -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)) and v in (0, 1):
        return int(v)
    if isinstance(v, str) and v.strip().lower() in ("0", "1", "true", "false"):
        return int(v.strip().lower() in ("1", "true"))
    raise BadRequest(f"{where}: expected 0 or 1 (or true/false), got {json.dumps(v)[:40]}")


# ---------------------------------------------------------------- the model

class Learner:
    def __init__(self, n_features: int, learning_rate: float, version_step: int, window: int):
        self.n_features = n_features
        self.version_step = version_step
        self.model = preprocessing.StandardScaler() | linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate))
        self.lock = threading.Lock()
        self.n_learned = 0
        self.n_predicted = 0
        self.hits = collections.deque(maxlen=window)
        self.hits_total = 0
        self.scored_total = 0
        self.feedback = collections.Counter()
        self.recent_keys = collections.OrderedDict()  # idempotency keys of recent feedback items

    def seen(self, key) -> bool:
        """Whether this idempotency key was learned recently (a redelivery); remembers it if not."""
        if not isinstance(key, str):
            return False
        with self.lock:
            if key in self.recent_keys:
                return True
            self.recent_keys[key] = None
            if len(self.recent_keys) > 200_000:
                self.recent_keys.popitem(last=False)
            return False

    @property
    def version(self) -> str:
        return f"river-{self.n_learned // self.version_step * self.version_step}"

    def predict(self, rows):
        with self.lock:
            self.n_predicted += len(rows)
            return [self.model.predict_proba_one(dict(enumerate(r))).get(1, 0.0) for r in rows], self.version

    def learn(self, rows, labels, score=True):
        with self.lock:
            for r, y in zip(rows, labels):
                x = dict(enumerate(r))
                if score:
                    hit = int((self.model.predict_proba_one(x).get(1, 0.0) >= 0.5) == bool(y))
                    self.hits.append(hit)
                    self.hits_total += hit
                    self.scored_total += 1
                self.model.learn_one(x, y)
                self.n_learned += 1
            return self.version

    def stats(self) -> dict:
        with self.lock:
            return {
                "model_version": self.version, "learned": self.n_learned, "predicted": self.n_predicted,
                "feedback": dict(self.feedback),
                "accuracy": {"window": self.hits.maxlen, "rolling": round(sum(self.hits) / len(self.hits), 4) if self.hits else None,
                             "total": round(self.hits_total / self.scored_total, 4) if self.scored_total else None,
                             "scored": self.scored_total},
            }


class Misbehaviour:
    def __init__(self):
        self.mode, self.rate, self.slow_ms = "off", 1.0, 1000
        self.lock = threading.Lock()

    def set(self, body: dict) -> dict:
        mode = body.get("mode")
        if mode not in MODES:
            raise BadRequest(f"'mode' must be one of {', '.join(MODES)}")
        rate = body.get("rate", 1.0)
        slow_ms = body.get("slow_ms", 1000)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise BadRequest("'rate' must be a number from 0 to 1")
        if not isinstance(slow_ms, (int, float)) or slow_ms < 0:
            raise BadRequest("'slow_ms' must be a number of milliseconds")
        with self.lock:
            self.mode, self.rate, self.slow_ms = mode, float(rate), float(slow_ms)
        return self.get()

    def get(self) -> dict:
        return {"mode": self.mode, "rate": self.rate, "slow_ms": self.slow_ms}

    def draw(self) -> str:
        mode, rate = self.mode, self.rate
        return mode if mode != "off" and (rate >= 1 or random.random() < rate) else "off"


# ---------------------------------------------------------------- HTTP

def make_handler(name: str, learner: Learner, misbehaviour: Misbehaviour, feedback_path: str):
    model_path = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?(/infer|/ready)?$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        wbufsize = 1 << 16   # headers and body leave in one write
        timeout = 120        # idle keep-alive connections are closed after this (the gateway's idle timeout is lower)
        def version_string(self):
            return "shadowgate-demo-learner"

        def log_message(self, *args):
            pass

        def send(self, status: int, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def read_body(self) -> bytes:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def json_body(self):
            try:
                return json.loads(self.read_body() or b"null")
            except ValueError as error:
                raise BadRequest(f"body is not JSON: {error}")

        def dispatch(self, method: str):
            path = self.path.split("?", 1)[0]
            try:
                if method == "POST":
                    body = self.json_body()   # read it whatever the path, so keep-alive stays in sync
                m = model_path.match(path)
                if m:
                    if m.group(1) != name:
                        return self.send(404, {"error": f"model '{m.group(1)}' not found (this server has '{name}')"})
                    if m.group(3) == "/infer" and method == "POST":
                        return self.infer(body)
                    if m.group(3) == "/ready" and method == "GET":
                        return self.send(200, {"name": name, "ready": True})
                    if m.group(3) is None and method == "GET":
                        return self.send(200, {"name": name, "versions": [learner.version], "platform": "river",
                                               "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, learner.n_features]}],
                                               "outputs": [{"name": "predict_proba", "datatype": "FP64", "shape": [-1, 1]}]})
                elif method == "GET" and path == "/v2/health/live":
                    return self.send(200, {"live": True})
                elif method == "GET" and path == "/v2/health/ready":
                    return self.send(200, {"ready": True})
                elif method == "GET" and path == "/v2":
                    return self.send(200, {"name": "shadowgate-demo-learner", "version": learner.version, "extensions": []})
                elif method == "POST" and path == feedback_path:
                    return self.learn(body)
                elif path == "/admin/misbehave":
                    if method == "POST":
                        if not isinstance(body, dict):
                            raise BadRequest('expected {"mode": ...}')
                        state = misbehaviour.set(body)
                        print(f"learner: misbehave {json.dumps(state)}", file=sys.stderr, flush=True)
                        return self.send(200, state)
                    return self.send(200, misbehaviour.get())
                elif method == "GET" and path == "/admin/stats":
                    return self.send(200, {**learner.stats(), "misbehave": misbehaviour.get()})
                return self.send(404, {"error": f"no such path: {method} {path}"})
            except BadRequest as error:
                if method == "POST" and path == feedback_path:
                    with learner.lock:
                        learner.feedback["rejected"] += 1
                return self.send(error.status, {"error": str(error)})
            except Exception as error:  # never let a handler thread die without an answer
                return self.send(500, {"error": f"{type(error).__name__}: {error}"})

        def infer(self, request):
            mode = misbehaviour.draw()
            if mode == "errors":
                return self.send(500, {"error": "injected failure (misbehave mode 'errors')"})
            if mode == "garbage":
                return self.send(200, b"<html>\x00not json {\"outputs\": [", "application/json")
            if mode == "drop":
                self.close_connection = True
                return
            if mode == "slow":
                time.sleep(misbehaviour.slow_ms / 1000)
            if not isinstance(request, dict):
                raise BadRequest("expected an OIP v2 request object")
            rows = rows_from_inputs(request.get("inputs"), learner.n_features)
            wanted = [o.get("name") if isinstance(o, dict) else o for o in (request.get("outputs") or [{"name": "predict_proba"}])]
            for w in wanted:
                if w not in ("predict_proba", "predict"):
                    raise BadRequest(f"unknown output '{w}' (this model has predict_proba and predict)")
            probabilities, version = learner.predict(rows)
            outputs = []
            for w in wanted:
                if w == "predict_proba":
                    outputs.append({"name": "predict_proba", "shape": [len(rows), 1], "datatype": "FP64", "data": probabilities})
                else:
                    outputs.append({"name": "predict", "shape": [len(rows)], "datatype": "INT64", "data": [int(p >= 0.5) for p in probabilities]})
            response = {"model_name": name, "model_version": version, "outputs": outputs}
            if "id" in request:
                response["id"] = request["id"]
            self.send(200, response)

        def learn(self, body):
            if isinstance(body, dict) and isinstance(body.get("items"), list):
                return self.learn_batch(body["items"])
            if isinstance(body, dict) and learner.seen(body.get("idempotency_key")):
                return self.send(200, {"learned": 0, "skipped": 0, "duplicates": 1, "model_version": learner.version})
            rows, labels = self.example(body)
            version = learner.learn(rows, labels)
            with learner.lock:
                learner.feedback["learned"] += len(rows)
            self.send(200, {"learned": len(rows), "model_version": version})

        def learn_batch(self, items):
            learned = skipped = duplicates = 0
            version = learner.version
            for item in items:
                if isinstance(item, dict) and learner.seen(item.get("idempotency_key")):
                    duplicates += 1
                    continue
                try:
                    rows, labels = self.example(item)
                except BadRequest:
                    skipped += 1
                    continue
                version = learner.learn(rows, labels)
                learned += len(rows)
            with learner.lock:
                learner.feedback["learned"] += learned
                learner.feedback["skipped"] += skipped
                learner.feedback["duplicates"] += duplicates
            self.send(200, {"learned": learned, "skipped": skipped, "duplicates": duplicates, "model_version": version})

        def example(self, body):
            """(rows, labels) of one feedback item."""
            if not isinstance(body, dict) or "features" not in body or "label" not in body:
                raise BadRequest('expected {"features": ..., "label": ...}')
            rows = rows_from_features(body["features"], learner.n_features)
            label = body["label"]
            if isinstance(label, list):
                if len(label) != len(rows):
                    raise BadRequest(f"{len(label)} labels for {len(rows)} rows")
                labels = [parse_label(v, f"label[{i}]") for i, v in enumerate(label)]
            elif len(rows) == 1:
                labels = [parse_label(label)]
            else:
                raise BadRequest(f"the features hold {len(rows)} rows but there is one label "
                                 "(send a list of labels, or the row's 'index' to the gateway)")
            return rows, labels

        def do_GET(self):
            self.dispatch("GET")

        def do_POST(self):
            self.dispatch("POST")

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="River online learner over OIP v2, learning from ShadowGate's feedback.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--name", default="churn", help="model name: /v2/models/NAME/infer")
    parser.add_argument("--warm-start", type=int, default=500, help="pre-drift history examples learned before serving (default 500)")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--version-step", type=int, default=100, help="model_version moves every this many examples (default 100)")
    parser.add_argument("--accuracy-window", type=int, default=500, help="rolling prequential accuracy window (default 500)")
    parser.add_argument("--feedback-path", default="/feedback")
    add_stream_arguments(parser)
    args = parser.parse_args(argv)

    learner = Learner(args.features, args.learning_rate, args.version_step, args.accuracy_window)
    if args.warm_start > 0:
        examples = list(stream_from_args(args).examples(-args.warm_start, args.warm_start))
        learner.learn([e.features for e in examples], [e.label for e in examples], score=False)
    server = Server((args.host, args.port), make_handler(args.name, learner, Misbehaviour(), args.feedback_path))

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"learner: {args.name} {learner.version} on http://{args.host}:{args.port} "
          f"(warm start {args.warm_start} examples, {args.features} features, feedback at {args.feedback_path})",
          file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    print(f"learner: stopped; {json.dumps(learner.stats())}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

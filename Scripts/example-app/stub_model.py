#!/usr/bin/env python3
"""A small Open Inference Protocol v2 model server for the quick demo (standard library only).

usage: stub_model.py PORT NAME VERSION WEIGHT [--error-rate R]
Answers POST /v2/models/NAME/infer with a churn probability: sigmoid(WEIGHT * sum(features) - 1).
Two instances with different weights play the legacy model and the learner.
"""
import json
import math
import random
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, NAME, VERSION, WEIGHT = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
ERROR_RATE = float(sys.argv[sys.argv.index("--error-rate") + 1]) if "--error-rate" in sys.argv else 0.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without these, Nagle + delayed ACK add ~40 ms per answer.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{NAME}/ready"):
            self.reply(200, {"ready": True})
        elif self.path == f"/v2/models/{NAME}":
            self.reply(200, {"name": NAME, "versions": [VERSION], "platform": "demo-stub"})
        else:
            self.reply(404, {"error": f"no such path {self.path}"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/feedback":
            self.reply(200, {"ok": True})
            return
        if self.path != f"/v2/models/{NAME}/infer":
            self.reply(404, {"error": f"no such path {self.path}"})
            return
        if random.random() < ERROR_RATE:
            self.reply(500, {"error": "injected failure"})
            return
        try:
            request = json.loads(body)
            features = request["inputs"][0]["data"]
            score = 1 / (1 + math.exp(-(WEIGHT * sum(features) - 1)))
        except (ValueError, KeyError, IndexError, TypeError) as error:
            self.reply(400, {"error": f"bad request: {error}"})
            return
        self.reply(200, {
            "model_name": NAME, "model_version": VERSION, "id": request.get("id", ""),
            "outputs": [{"name": "churn_probability", "shape": [1, 1], "datatype": "FP64", "data": [round(score, 6)]}],
        })


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

#!/usr/bin/env python3
"""An Open Inference Protocol v2 model for Scripts/scale-test.sh (standard library only).

usage: model_stub.py HOST PORT VERSION
Answers POST /v2/models/NAME/infer with {"model_version": VERSION, "outputs": [{"data": [score]}]}.
"""
import json, sys, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST, PORT, VERSION = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        score = (zlib.crc32(body) % 1000) / 1000.0
        data = json.dumps({"model_name": "churn", "model_version": VERSION,
                           "outputs": [{"name": "p", "datatype": "FP32", "shape": [1], "data": [score]}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((HOST, PORT), Handler).serve_forever()

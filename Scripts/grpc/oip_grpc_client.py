#!/usr/bin/env python3
"""A real gRPC client of the Open Inference Protocol (MLServer's generated stubs), for tests and
benchmarks. Prints one JSON line per call:
  {"code": "OK", "details": "", "initial": [[k, v]...], "trailing": [[k, v]...],
   "response_hex": "..", "model_version": "..", "outputs": [...], "millis": 1.2}

usage: oip_grpc_client.py TARGET infer [--model iris] [--count N] [--meta k=v ...] [--timeout S] [--rows R] [--tls-ca CA.pem]
       oip_grpc_client.py TARGET call RPC   (ServerLive, ServerReady, ModelReady, ModelMetadata)
       oip_grpc_client.py TARGET bench [--model iris] [--seconds S] [--concurrency C]
                                  → {"calls": N, "rps": .., "p50_ms": .., "p99_ms": ..}
With --tls-ca the channel is TLS (h2 by ALPN), trusting that CA file; otherwise plaintext (h2c).
"""
import argparse
import json
import sys
import threading
import time

import grpc
from mlserver.grpc import dataplane_pb2 as pb
from mlserver.grpc import dataplane_pb2_grpc as pb_grpc

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def infer_request(model, rows):
    data = [v for i in range(rows) for v in ROWS[i % len(ROWS)]]
    return pb.ModelInferRequest(model_name=model, inputs=[pb.ModelInferRequest.InferInputTensor(
        name="input-0", datatype="FP64", shape=[rows, 4], contents=pb.InferTensorContents(fp64_contents=data))])


def describe(call_result, started):
    response, call = call_result
    out = {
        "code": call.code().name, "details": call.details() or "",
        "initial": [list(kv) for kv in call.initial_metadata()],
        "trailing": [list(kv) for kv in call.trailing_metadata()],
        "millis": (time.perf_counter() - started) * 1000,
    }
    if response is not None:
        out["response_hex"] = response.SerializeToString().hex()
    if isinstance(response, pb.ModelInferResponse):
        out["model_version"] = response.model_version
        out["outputs"] = [{"name": o.name, "datatype": o.datatype, "shape": list(o.shape),
                           "int64": list(o.contents.int64_contents), "fp64": list(o.contents.fp64_contents)} for o in response.outputs]
    return out


def one(stub_method, request, metadata, timeout):
    started = time.perf_counter()
    try:
        result = stub_method.with_call(request, metadata=metadata, timeout=timeout)
    except grpc.RpcError as error:
        return {"code": error.code().name, "details": error.details() or "",
                "initial": [list(kv) for kv in (error.initial_metadata() or [])],
                "trailing": [list(kv) for kv in (error.trailing_metadata() or [])],
                "millis": (time.perf_counter() - started) * 1000}
    return describe(result, started)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("target")
    p.add_argument("action", choices=["infer", "call", "bench"])
    p.add_argument("rpc", nargs="?")
    p.add_argument("--model", default="iris")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--rows", type=int, default=1)
    p.add_argument("--meta", action="append", default=[])
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--tls-ca")
    a = p.parse_args()
    if a.tls_ca:
        with open(a.tls_ca, "rb") as f:
            channel = grpc.secure_channel(a.target, grpc.ssl_channel_credentials(root_certificates=f.read()))
    else:
        channel = grpc.insecure_channel(a.target)
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    metadata = [tuple(m.split("=", 1)) for m in a.meta]
    if a.action == "infer":
        request = infer_request(a.model, a.rows)
        for i in range(a.count):
            print(json.dumps(one(stub.ModelInfer, request, metadata + [("x-call", str(i))], a.timeout)), flush=True)
    elif a.action == "call":
        requests = {"ServerLive": pb.ServerLiveRequest(), "ServerReady": pb.ServerReadyRequest(),
                    "ModelReady": pb.ModelReadyRequest(name=a.model), "ModelMetadata": pb.ModelMetadataRequest(name=a.model)}
        print(json.dumps(one(getattr(stub, a.rpc), requests[a.rpc], metadata, a.timeout)), flush=True)
    else:
        request = infer_request(a.model, a.rows)
        latencies, errors, lock = [], [0], threading.Lock()
        deadline = time.perf_counter() + a.seconds

        def worker():
            local = []
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    stub.ModelInfer(request, timeout=a.timeout)
                    local.append((time.perf_counter() - t) * 1000)
                except grpc.RpcError:
                    with lock:
                        errors[0] += 1
            with lock:
                latencies.extend(local)

        threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")
        print(json.dumps({"calls": len(latencies), "errors": errors[0], "rps": len(latencies) / elapsed,
                          "p50_ms": pick(0.5), "p99_ms": pick(0.99)}))


if __name__ == "__main__":
    sys.exit(main())

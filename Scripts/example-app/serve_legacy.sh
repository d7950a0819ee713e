#!/usr/bin/env bash
# Serves the demo's legacy model with MLServer (Open Inference Protocol v2 over HTTP) on 127.0.0.1.
#
# usage: Scripts/example-app/serve_legacy.sh PORT [REPOSITORY]
#   PORT        HTTP port: POST /v2/models/churn/infer, GET /v2/models/churn/ready, /v2/health/ready
#   REPOSITORY  MLServer model repository (default .shadowgate/demo-models/legacy); trained with
#               Scripts/example-app/train_legacy.py's defaults first if it holds no model
#   GRPC_PORT   MLServer cannot turn gRPC off: it listens on 127.0.0.1:GRPC_PORT (default: a free port)
#
# The script becomes the MLServer process (exec), so its PID is the server's and SIGTERM stops it.
# There is no metrics server (settings.json sets metrics_endpoint null). Ready when
# GET /v2/models/NAME/ready answers 200; that takes 4-9 s on a busy 2-core machine, mostly Python imports.
# Keep-alive: MLServer's uvicorn closes idle connections after 5 s, so a gateway in front of it
# needs limits.upstream_idle_ms below 5000.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${1:?usage: serve_legacy.sh PORT [REPOSITORY]}
REPO=${2:-$ROOT/.shadowgate/demo-models/legacy}
PY=$("$ROOT/Scripts/example-app/setup-venv.sh")
[[ $PY == /* ]] || PY=$ROOT/$PY
VENV_BIN=$(dirname "$PY")

if ! compgen -G "$REPO/*/model-settings.json" >/dev/null; then
    "$PY" "$ROOT/Scripts/example-app/train_legacy.py" --out "$REPO" >&2
fi
if [[ -z ${GRPC_PORT:-} ]]; then
    GRPC_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
cd "$REPO"
export MLSERVER_HOST=127.0.0.1 MLSERVER_HTTP_PORT=$PORT MLSERVER_GRPC_PORT=$GRPC_PORT
exec "$VENV_BIN/mlserver" start .

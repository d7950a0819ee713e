#!/usr/bin/env bash
# gRPC ModelInfer through the gateway (route in `shadow` mode: served by the legacy MLServer,
# mirrored to the learner MLServer, pair log off) vs calling the legacy MLServer directly, with the
# same Python gRPC client (MLServer's generated stubs, Scripts/grpc/oip_grpc_client.py `bench`:
# closed loop, CONCURRENCY threads). Called by `Scripts/bench.sh grpc`.
#
# env: DURATION seconds per run (default 10), REPS (default 3), CONCURRENCY (default 4), MODE (default shadow; legacy: no mirror),
#      GATEWAY_BIN (default: release build), SKIP_BUILD=1
# The client and MLServer are Python: on a small machine they, not the gateway, bound req/s, so
# read the added p50/p99 (gateway minus direct) as the gateway's cost.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
source "$REPO/Scripts/benchmarks/proxy/lib.sh"
DURATION=${DURATION:-10} REPS=${REPS:-3} CONCURRENCY=${CONCURRENCY:-4}
WORK=$(mktemp -d /tmp/shadowgate-bench-grpc.XXXXXX)
PIDS=()
cleanup() {
    local rc=$? p
    set +e
    for p in "${PIDS[@]}"; do stop_pid "$p" TERM 10; done
    [[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PY=$("$REPO/Scripts/example-app/setup-venv.sh")
[[ $PY == /* ]] || PY=$REPO/$PY
if [[ -n ${GATEWAY_BIN:-} ]]; then
    GATEWAY=$GATEWAY_BIN
else
    [[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$REPO" && swift build -c release --product shadowgate >&2) || die "swift build failed"
    GATEWAY=$(cd "$REPO" && swift build -c release --show-bin-path)/shadowgate
fi
"$PY" "$REPO/Scripts/grpc/mlserver_models.py" "$WORK/models" >/dev/null
mls() {  # <repo> <http port> <grpc port>
    (cd "$1" && MLSERVER_HOST=127.0.0.1 MLSERVER_HTTP_PORT=$2 MLSERVER_GRPC_PORT=$3 exec "$(dirname "$PY")/mlserver" start . >"$1.log" 2>&1) &
    PIDS+=("$!")
}
mls "$WORK/models/legacy" 18301 18302
mls "$WORK/models/learner" 18303 18304
cat >"$WORK/gate.yaml" <<YAML
listen: 127.0.0.1:18310
event_loops: 1
routes:
  - name: iris
    match: ["/v2/models/iris/infer"]
    mode: ${MODE:-shadow}
    legacy:  { url: "http://127.0.0.1:18301" }
    learner: { url: "http://127.0.0.1:18303" }
grpc:
  listen: 127.0.0.1:18311
  routes:
    - route: iris
      models: [iris]
      legacy:  { url: "http://127.0.0.1:18302", timeout_ms: 2000, pool: 64 }
      learner: { url: "http://127.0.0.1:18304", timeout_ms: 2000, pool: 64 }
YAML
for p in 18301 18303; do
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$p/v2/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
done
"$GATEWAY" serve --config "$WORK/gate.yaml" --no-pair-log </dev/null >"$WORK/gate.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do
    "$PY" "$REPO/Scripts/grpc/oip_grpc_client.py" 127.0.0.1:18311 infer 2>/dev/null | grep -q '"code": "OK"' && break
    sleep 0.3
done
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); ${DURATION}s x $REPS, $CONCURRENCY client threads"
printf '%-8s %4s %8s %8s %8s %7s\n' target rep calls/s p50_ms p99_ms errors
for rep in $(seq "$REPS"); do
    for t in direct gateway; do
        port=$([[ $t == direct ]] && echo 18302 || echo 18311)
        "$PY" "$REPO/Scripts/grpc/oip_grpc_client.py" "127.0.0.1:$port" bench --seconds 1 --concurrency "$CONCURRENCY" >/dev/null
        out=$("$PY" "$REPO/Scripts/grpc/oip_grpc_client.py" "127.0.0.1:$port" bench --seconds "$DURATION" --concurrency "$CONCURRENCY")
        "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("%-8s %4s %8.0f %8.2f %8.2f %7d" % (sys.argv[2], sys.argv[3], r["rps"], r["p50_ms"], r["p99_ms"], r["errors"]))' "$out" "$t" "$rep"
    done
done

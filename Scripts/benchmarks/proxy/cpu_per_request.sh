#!/usr/bin/env bash
# Gateway CPU time per request over a fixed number of requests (utime+stime of the gateway process,
# /proc/PID/stat), for A/B comparisons of two builds on a shared machine where req/s means little.
# Two nginx stubs, the gateway, a warm-up, then REQUESTS keep-alive POSTs (Scripts/benchmarks/proxy/load.py).
#
# usage: Scripts/benchmarks/proxy/cpu_per_request.sh <legacy|shadow> [REQUESTS]
# env:  GATEWAY_BIN (required), CONNS (default 8), WARMUP (requests, default 2000), REPS (default 1),
#       DATABASE_URL (pair log on, writing there; default --no-pair-log), PORT_BASE (default 28080:
#       ports PORT_BASE+1..+9; never bench.sh's fixed 18080-18093).
# prints one line per rep: "<mode> pairlog=<on|off> requests=N cpu_us_per_request=X"
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
B=$REPO/Scripts/benchmarks/proxy
# shellcheck source=Scripts/benchmarks/proxy/lib.sh
source "$B/lib.sh"
mode=${1:?usage: cpu_per_request.sh <legacy|shadow> [REQUESTS]}
requests=${2:-20000}
[[ -x ${GATEWAY_BIN:-} ]] || die "set GATEWAY_BIN"
base=${PORT_BASE:-28080}
LEGACY_PORT=$((base + 1)) LEARNER_PORT=$((base + 2)) GATE_PORT=$((base + 3))
WORK=$(mktemp -d /tmp/shadowgate-cpu.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p" TERM 20; done
    rm -rf "$WORK"
}
trap cleanup EXIT
single_route_gateway "$mode"
"$GATEWAY_BIN" "${args[@]}" </dev/null >"$WORK/gate.log" 2>&1 &
gpid=$!; PIDS=("$gpid" "${PIDS[@]}")
for _ in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$GATE_PORT/healthz" 2>/dev/null && break
    kill -0 "$gpid" 2>/dev/null || { tail -n 20 "$WORK/gate.log" >&2; die "gateway exited at start"; }
    sleep 0.1
done
python3 "$B/load.py" "$GATE_PORT" "${WARMUP:-2000}" "${CONNS:-8}"
for _ in $(seq "${REPS:-1}"); do
    t0=$(cpu_ticks "$gpid")
    python3 "$B/load.py" "$GATE_PORT" "$requests" "${CONNS:-8}"
    t1=$(cpu_ticks "$gpid")
    awk -v m="$mode" -v p="$pairlog" -v n="$requests" -v t=$((t1 - t0)) -v hz="$CLK_TCK" \
        'BEGIN { printf "%s pairlog=%s requests=%d cpu_us_per_request=%.2f\n", m, p, n, t / hz * 1e6 / n }'
done

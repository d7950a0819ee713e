#!/usr/bin/env bash
# Instructions per request of the gateway, counted by callgrind (steady on a noisy, shared machine,
# unlike req/s). Two nginx stubs, the gateway under valgrind, a warm-up, then the counters are zeroed,
# REQUESTS keep-alive POSTs are sent (Scripts/benchmarks/proxy/load.py), and the counters dumped.
#
# usage: Scripts/benchmarks/proxy/callgrind.sh <legacy|shadow> [REQUESTS]
# env:  GATEWAY_BIN (required: a release build with -Xswiftc -g -Xswiftc -dwarf-version=4 so callgrind
#       can read its symbols), CONNS (default 4), WARMUP (requests, default 300),
#       DATABASE_URL (pair log on, writing there; default: --no-pair-log), OUT_DIR (callgrind files;
#       default a temporary directory, printed), PORT_BASE (default 28080: ports PORT_BASE+1..+10;
#       never bench.sh's fixed 18080-18093).
# prints: "<mode> pairlog=<on|off> requests=N instructions=I per_request=I/N"
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
B=$REPO/Scripts/benchmarks/proxy
# shellcheck source=Scripts/benchmarks/proxy/lib.sh
source "$B/lib.sh"
mode=${1:?usage: callgrind.sh <legacy|shadow> [REQUESTS]}
requests=${2:-2000}
[[ -x ${GATEWAY_BIN:-} ]] || die "set GATEWAY_BIN to a release gateway built with -g -dwarf-version=4"
base=${PORT_BASE:-28080}
LEGACY_PORT=$((base + 1)) LEARNER_PORT=$((base + 2)) GATE_PORT=$((base + 3))
WORK=$(mktemp -d /tmp/shadowgate-callgrind.XXXXXX)
OUT_DIR=${OUT_DIR:-$WORK}
mkdir -p "$OUT_DIR"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p" TERM 20; done
    [[ $OUT_DIR == "$WORK" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

single_route_gateway "$mode"
valgrind --tool=callgrind --callgrind-out-file="$OUT_DIR/callgrind.out.%p" "$GATEWAY_BIN" "${args[@]}" \
    </dev/null >"$WORK/gate.log" 2>&1 &
gpid=$!; PIDS=("$gpid" "${PIDS[@]}")
for _ in $(seq 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$GATE_PORT/healthz" 2>/dev/null && break
    kill -0 "$gpid" 2>/dev/null || { tail -n 40 "$WORK/gate.log" >&2; die "gateway exited at start"; }
    sleep 0.2
done
python3 "$B/load.py" "$GATE_PORT" "${WARMUP:-300}" "${CONNS:-4}"
callgrind_control --zero "$gpid" >/dev/null
python3 "$B/load.py" "$GATE_PORT" "$requests" "${CONNS:-4}"
callgrind_control --dump="measured" "$gpid" >/dev/null
sleep 1
dump=$(ls -t "$OUT_DIR"/callgrind.out."$gpid".* 2>/dev/null | head -n 1)
[[ -n $dump ]] || die "no callgrind dump in $OUT_DIR"
total=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
echo "$mode pairlog=$pairlog requests=$requests instructions=$total per_request=$((total / requests)) dump=$dump"

#!/usr/bin/env bash
# `Scripts/bench.sh feedback`: the feedback loop at volume, on a throwaway PostgreSQL cluster.
#
#  1. accepted: LABELS labels (default 200000) posted to /v1/feedback as fast as they are
#     answered (batches of 100, 4 clients) -> labels/s accepted over HTTP;
#     delivered: time from the first post until the counting learner has every label -> labels/s
#     delivered (the deliverer runs alongside, so this is "keeping up" when close to accepted);
#     side by side with `psql \copy` of the same labels into an empty shadowgate.labels.
#  2. latency: RATE labels/s (default 10000) for RATE_SECONDS (default 10) in batches of RATE_BATCH
#     (default 10), open loop -> p50 / p99 / max of the feedback answer; and delivery at that
#     offered rate: how long after the last post the learner has every one of those labels
#     (keeping up = a tail of about feedback.max_wait plus one delivery round, not growing).
#  3. import: `shadowgate labels import` of IMPORT labels (default 1000000) from a CSV file.
# Pairs for the labels are written with SQL first (labels, not predictions, are measured).
# env: GATEWAY_BIN (skips the build), SCRATCH_PATH, LABELS, RATE, RATE_BATCH, RATE_SECONDS, IMPORT,
#      BATCH_SIZE (feedback.batch_size, default 1000), KEEP_WORK=1
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
LABELS=${LABELS:-200000}
RATE=${RATE:-10000}
RATE_BATCH=${RATE_BATCH:-10}
SECONDS_AT_RATE=${RATE_SECONDS:-10}
IMPORT=${IMPORT:-1000000}
BATCH_SIZE=${BATCH_SIZE:-1000}
LOAD="python3 $REPO/Scripts/benchmarks/feedback/feedback_load.py"

if [[ -z ${GATEWAY_BIN:-} ]]; then
    (cd "$REPO" && swift build -c release --product shadowgate ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} >&2)
    GATEWAY_BIN=$(cd "$REPO" && swift build -c release ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} --show-bin-path)/shadowgate
fi
WORK=$(mktemp -d /tmp/shadowgate-bench-feedback.XXXXXX)
PG_DIR=$(mktemp -d /tmp/shadowgate-bench-feedback-pg.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$REPO/Scripts/postgres/stop.sh" --rm "$PG_DIR" >/dev/null 2>&1 || true
    [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

SERVER=$("$REPO/Scripts/postgres/start.sh" "$PG_DIR")
psql -X -q "$SERVER" -c "CREATE DATABASE fb_gateway" -c "CREATE DATABASE fb_copy" >/dev/null
DB=${SERVER%/*}/fb_gateway
COPYDB=${SERVER%/*}/fb_copy
"$GATEWAY_BIN" migrate --database-url "$COPYDB" --migrations "$REPO/migrations" >/dev/null 2>&1 \
  || SHADOWGATE_DATABASE_URL=$COPYDB "$GATEWAY_BIN" migrate --migrations "$REPO/migrations" >/dev/null

LEARNER_PORT=18182; GATE_PORT=18190
$LOAD learner $LEARNER_PORT & PIDS+=($!)
cat > "$WORK/gateway.yaml" <<YAML
listen: 127.0.0.1:$GATE_PORT
event_loops: 1
database:
  url: "$DB"
  spool_dir: $WORK/spool
feedback:
  batch_size: $BATCH_SIZE
  max_wait: 100ms
routes:
  - name: m
    match: ["/v1/models/m:predict"]
    protocol: kserve-v1
    legacy: { url: "http://127.0.0.1:$LEARNER_PORT" }
    learner: { url: "http://127.0.0.1:$LEARNER_PORT" }
YAML
"$GATEWAY_BIN" serve --config "$WORK/gateway.yaml" --migrations "$REPO/migrations" 2>"$WORK/gateway.log" & PIDS+=($!)
GATE_PID=$!
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$GATE_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

pairs() {  # db prefix n
    psql -X -q "$1" -c "INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome, features)
        SELECT '$2' || i, 'm', now() - interval '1 second', 'legacy', 'shadow', 'ok', 'ok', jsonb_build_array(jsonb_build_array(i, 1))
        FROM generate_series(0, $3 - 1) i" >/dev/null
}
learner_count() { curl -fs "http://127.0.0.1:$LEARNER_PORT/count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["distinct"])'; }
# cpu_ticks: the same count as the proxy benches (utime+stime of the gateway and its direct children)
# shellcheck source=Scripts/benchmarks/proxy/lib.sh
source "$REPO/Scripts/benchmarks/proxy/lib.sh"

echo "== 1. $LABELS labels: accepted over HTTP, delivered to the learner, psql \\copy" >&2
pairs "$DB" b "$LABELS"
T0=$(date +%s.%N); C0=$(cpu_ticks "$GATE_PID")
ACCEPT=$($LOAD burst "http://127.0.0.1:$GATE_PORT" b "$LABELS" --batch 100 --clients 4)
while (( $(learner_count) < LABELS )); do
    sleep 0.05
    if (( $(echo "$(date +%s.%N) - $T0 > 300" | bc) )); then echo "delivery did not finish in 300 s" >&2; break; fi
done
T1=$(date +%s.%N); C1=$(cpu_ticks "$GATE_PID")
DELIVERED_S=$(echo "$T1 - $T0" | bc -l)
DELIVER_RATE=$(echo "$(learner_count) / $DELIVERED_S" | bc)
python3 -c "
import sys
for i in range($LABELS): sys.stdout.write(f'b{i}\t0\t{i % 2}\n')" > "$WORK/labels.tsv"
COPY_OUT=$( { /usr/bin/time -f %e psql -X -q "$COPYDB" -c "\\copy shadowgate.labels (request_id, row_index, label) FROM '$WORK/labels.tsv'" ; } 2>&1 | tail -1)
COPY_RATE=$(echo "$LABELS / $COPY_OUT" | bc)
STATUS=$(curl -fs "http://127.0.0.1:$LEARNER_PORT/count")

echo "== 2. feedback latency at $RATE labels/s for $SECONDS_AT_RATE s (batches of $RATE_BATCH)" >&2
pairs "$DB" r $(( RATE * SECONDS_AT_RATE ))
LATENCY=$($LOAD rate "http://127.0.0.1:$GATE_PORT" r --rate "$RATE" --seconds "$SECONDS_AT_RATE" --batch "$RATE_BATCH")
# Keeping up at that offered rate: how long after the last post the learner has every label.
T2=$(date +%s.%N)
AT_RATE_TOTAL=$(( LABELS + RATE * SECONDS_AT_RATE ))
while (( $(learner_count) < AT_RATE_TOTAL )); do
    sleep 0.05
    if (( $(echo "$(date +%s.%N) - $T2 > 120" | bc) )); then echo "delivery at rate did not finish in 120 s" >&2; break; fi
done
AT_RATE_TAIL=$(echo "$(date +%s.%N) - $T2" | bc -l)
AT_RATE_COUNT=$(( $(learner_count) - LABELS ))

echo "== 3. shadowgate labels import of $IMPORT labels" >&2
python3 -c "
import sys
w = sys.stdout.write
w('request_id,index,label\n')
for i in range($IMPORT): w(f'imp{i},0,{i % 2}\n')" > "$WORK/import.csv"
psql -X -q "$COPYDB" -c "TRUNCATE shadowgate.labels" >/dev/null
IMPORT_OUT=$("$GATEWAY_BIN" labels import "$WORK/import.csv" --database-url "$COPYDB" 2>"$WORK/import.err")
tail -3 "$WORK/import.err" >&2 || true

echo
echo "feedback bench ($(nproc) cores; gateway event_loops 1, feedback.batch_size $BATCH_SIZE)"
echo "accepted over HTTP     : $ACCEPT"
echo "delivered to learner   : $LABELS labels in $(printf %.2f "$DELIVERED_S") s from the first post = $DELIVER_RATE labels/s ($STATUS)"
echo "gateway CPU (1.)       : $(( (C1 - C0) )) ticks of $(getconf CLK_TCK)/s"
echo "psql \\copy (same rows) : $LABELS labels in $COPY_OUT s = $COPY_RATE labels/s"
echo "latency at fixed rate  : $LATENCY"
echo "delivered at that rate : $AT_RATE_COUNT of $(( RATE * SECONDS_AT_RATE )) labels at the learner $(printf %.2f "$AT_RATE_TAIL") s after the last post"
echo "labels import          : $IMPORT_OUT"

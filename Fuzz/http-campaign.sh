#!/usr/bin/env bash
# HTTP-level fuzz campaign against the real gateway: a release `shadowgate` on a throwaway
# PostgreSQL cluster, two Python model stubs (Fuzz/upstream_stub.py) as legacy and learner, and
# Fuzz/http_campaign.py sending COUNT seeded inputs. Then it checks that the rows in
# shadowgate.pairs equal the inference requests the gateway answered with a served model (as the
# client saw them and as /metrics counts them), once the pair writer has flushed.
#
# usage: Fuzz/http-campaign.sh [COUNT] [SEED]          (default 10000 1)
# env:   GATEWAY_BIN (default: build .build/release/shadowgate), CONCURRENCY (default 32),
#        OUT (directory for config, logs, summary.json, failures.jsonl; default /tmp/shadowgate-http-campaign)
# Exit status 0 when every input passed the oracle, the gateway is alive and the pair count matches.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${1:-10000}
SEED=${2:-1}
OUT=${OUT:-/tmp/shadowgate-http-campaign}
cd "$REPO"
rm -rf "$OUT"; mkdir -p "$OUT"

if [[ -z ${GATEWAY_BIN:-} ]]; then
    swift build -c release --product shadowgate >&2
    GATEWAY_BIN=$(swift build -c release --show-bin-path)/shadowgate
fi
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    bash Scripts/postgres/stop.sh --rm "$OUT/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

DB=$(bash Scripts/postgres/start.sh --fast "$OUT/pg")
python3 Fuzz/upstream_stub.py "$OUT/legacy.port" '{"model_version":"v1","predictions":[0.25]}' & pids+=($!)
python3 Fuzz/upstream_stub.py "$OUT/learner.port" '{"predictions":[0.75]}' & pids+=($!)
for f in legacy learner; do for _ in $(seq 100); do [[ -s $OUT/$f.port ]] && break; sleep 0.05; done; done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$OUT/gateway.yaml" <<YAML
listen: 127.0.0.1:$PORT
event_loops: 1
limits:
  max_body_bytes: 65536
  client_header_timeout_ms: 1000
  client_body_timeout_ms: 1000
  client_idle_timeout_ms: 1000
database:
  url: "$DB"
  flush_ms: 20
  spool_dir: $OUT/spool
routes:
  - name: m
    match: ["/v1/models/m:predict"]
    protocol: kserve-v1
    legacy: { url: "http://127.0.0.1:$(cat "$OUT/legacy.port")" }
    learner: { url: "http://127.0.0.1:$(cat "$OUT/learner.port")" }
YAML
"$GATEWAY_BIN" serve --config "$OUT/gateway.yaml" --migrations "$REPO/migrations" >"$OUT/gateway.log" 2>&1 & gateway=$!; pids+=($gateway)
for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
    kill -0 "$gateway" 2>/dev/null || { echo "gateway exited:" >&2; tail -20 "$OUT/gateway.log" >&2; exit 1; }
    sleep 0.1
done

status=0
python3 Fuzz/http_campaign.py --port "$PORT" --count "$COUNT" --seed "$SEED" --concurrency "${CONCURRENCY:-32}" \
    --summary "$OUT/summary.json" --failures "$OUT/failures.jsonl" \
    --served-ids "$OUT/served-ids.txt" --verbose || status=1
kill -0 "$gateway" 2>/dev/null || { echo "FAIL: the gateway is not running after the campaign" >&2; exit 1; }

served=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["served_inference"])' "$OUT/summary.json")
metrics=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_served_inference"])' "$OUT/summary.json")
pairs=-1
for _ in $(seq 300); do   # the writer flushes every 20 ms; allow a loaded machine 30 s
    pairs=$(psql "$DB" -Atc "SELECT count(*) FROM shadowgate.pairs")
    [[ $pairs == "$metrics" ]] && break
    sleep 0.1
done
echo "pairs in shadowgate.pairs: $pairs; inference answered with a served model: $metrics (/metrics), $served seen by the client"
if [[ $pairs != "$metrics" ]]; then echo "FAIL: pairs differ from the inference requests the gateway answered" >&2; status=1; fi
if [[ $served != "$metrics" ]]; then
    # An answer the gateway wrote can be lost to the client when the gateway closes a connection with
    # unread input (a TCP reset discards what the client has not read yet). Every such row must belong
    # to an input whose connection was reset.
    psql "$DB" -Atc "SELECT request_id FROM shadowgate.pairs" | sort | comm -23 - <(sort "$OUT/served-ids.txt") > "$OUT/unseen-ids.txt"
    python3 - "$OUT/summary.json" "$OUT/unseen-ids.txt" <<'PY' || status=1
import json, re, sys
summary = json.load(open(sys.argv[1]))
resets = set(summary["reset_inputs"])
unseen = open(sys.argv[2]).read().split()
named = [int(m.group(1)) for m in (re.match(r"fz-(\d+)-\d+$", u) for u in unseen) if m]
stray = [i for i in named if i not in resets]
print(f"{len(unseen)} answers not seen by the client ({len(named)} named, on inputs {sorted(set(named))}); "
      f"{len(resets)} inputs ended in a reset")
if stray or len(unseen) - len(named) > len(resets):
    print(f"FAIL: answers lost on connections that were not reset: inputs {stray}", file=sys.stderr)
    sys.exit(1)
PY
fi
if grep -qiE 'fatal error|stack dump|segmentation' "$OUT/gateway.log"; then echo "FAIL: gateway log shows a crash" >&2; status=1; fi
exit $status

#!/usr/bin/env bash
# The quick demo (no PyPI needed): two local stub models behind the gateway in shadow mode, pairs logged to the
# gateway's own embedded PostgreSQL, then compared in SQL. Installs what it needs, builds, runs,
# and stops everything it started (also on Ctrl-C).
#
# usage: Scripts/example-app/demo-quick.sh [REQUESTS]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/../.."
REQUESTS=${1:-300}
GATE=http://127.0.0.1:18480
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing system packages (if missing)"
Scripts/dev/install-deps.sh python3

step "Building the gateway (first build takes a few minutes)"
swift build --product shadowgate 2>&1 | tail -1
BIN=$(swift build --show-bin-path)/shadowgate

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

step "Starting the legacy model (:18481) and the learner (:18482)"
python3 Scripts/example-app/stub_model.py 18481 churn legacy-2024.1 0.8 & PIDS+=($!)
python3 Scripts/example-app/stub_model.py 18482 churn learner-live 1.1 --error-rate 0.02 & PIDS+=($!)

step "Starting ShadowGate on :18480 (embedded PostgreSQL under .shadowgate/demo-quick)"
rm -rf .shadowgate/demo-quick/spool; mkdir -p .shadowgate/demo-quick
"$BIN" serve --config Scripts/example-app/quick.yaml --log-level notice 2> .shadowgate/demo-quick/gateway.log & GATE_PID=$!
PIDS=("$GATE_PID" "${PIDS[@]}")
for _ in $(seq 1 150); do curl -sf "$GATE/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "$GATE/readyz" >/dev/null || { echo "gateway did not start; see .shadowgate/demo-quick/gateway.log"; exit 1; }

step "One request, as a client sees it (the legacy model answers; the learner runs in shadow)"
curl -s -i -X POST "$GATE/v2/models/churn/infer" -H 'content-type: application/json' -H 'x-user-id: u-1' \
    -d '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP64","data":[0.2,0.5,0.9]}]}'
echo

step "Sending $REQUESTS requests"
for i in $(seq 1 "$REQUESTS"); do
    a=$(awk -v s="$i" 'BEGIN{srand(s); printf "%.3f,%.3f,%.3f", rand(), rand(), rand()}')
    curl -s -o /dev/null -X POST "$GATE/v2/models/churn/infer" -H "x-user-id: u-$((i % 50))" \
        -d "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP64\",\"data\":[$a]}]}"
    if (( i % 50 == 0 )); then printf '\r  %d / %d requests' "$i" "$REQUESTS"; fi
done
echo

step "Stopping the gateway (SIGTERM: drain, flush the pair log, stop PostgreSQL)"
kill -TERM "$GATE_PID"; wait "$GATE_PID" || true
PIDS=("${PIDS[@]:1}")
grep -E "pair log flushed" .shadowgate/demo-quick/gateway.log | sed 's/.*statistics=/  /' || true

step "Comparing the two models in SQL"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$PGBIN/pg_ctl" -D .shadowgate/demo-quick/postgres -w -l "$PWD/.shadowgate/demo-quick/postgres/demo-psql.log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$PWD/.shadowgate/demo-quick/postgres'" start >/dev/null
PSQL=(psql "host=$PWD/.shadowgate/demo-quick/postgres user=postgres dbname=postgres" -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "
SELECT count(*)                                                     AS pairs,
       round(avg((abs(legacy_score - learner_score) < 0.1)::int), 3) AS agreement_within_0_1,
       round(avg(abs(legacy_score - learner_score))::numeric, 4)     AS mean_abs_diff,
       round(avg((learner_outcome <> 'ok')::int), 3)                 AS learner_error_rate,
       percentile_cont(0.5)  WITHIN GROUP (ORDER BY legacy_latency_us)  AS legacy_p50_us,
       percentile_cont(0.5)  WITHIN GROUP (ORDER BY learner_latency_us) AS learner_p50_us
FROM shadowgate.pairs WHERE route = 'churn';"
"${PSQL[@]}" -c "SELECT request_id, served_by, legacy_score, learner_score, learner_outcome, learner_version
                 FROM shadowgate.pairs ORDER BY received_at DESC LIMIT 5;"
as_pg "$PGBIN/pg_ctl" -D .shadowgate/demo-quick/postgres -w stop >/dev/null
echo "Done. The pairs stay in .shadowgate/demo-quick/postgres; 'shadowgate serve --config Scripts/example-app/quick.yaml' starts it again."

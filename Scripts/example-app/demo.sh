#!/usr/bin/env bash
# The whole migration, with real parts: a scikit-learn model served by MLServer (the legacy model),
# a River continuous learner, ShadowGate on its embedded PostgreSQL with the promotion controller on.
#
#   1. installs what it needs (apt packages, a Python environment under .shadowgate/venv) and builds;
#   2. streams a drifting labelled stream through the gateway, labels sent back 1-2 s late;
#   3. shows the learner overtaking the legacy model after the drift and the controller walking
#      the canary steps to `promoted`;
#   4. makes the learner answer garbage and shows the automatic rollback;
#   5. prints `shadowgate report` and writes the HTML report; stops everything it started
#      (also on Ctrl-C).
#
# usage: Scripts/demo.sh            (RATE=150 requests/s; DRIFT_AT=1500, the example where the concept turns)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RATE=${RATE:-150}
DRIFT_AT=${DRIFT_AT:-1500}
GATE=http://127.0.0.1:18480
LEGACY_PORT=18481
LEARNER=http://127.0.0.1:18482
WORK=.shadowgate/demo
STARTED=$(date +%s)

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
step() { printf '\n'; bold "== $*"; }
elapsed() { echo "$(( $(date +%s) - STARTED )) s"; }

PIDS=()
GATE_PID=
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n ${DRIVE_PID:-} ]] && kill -TERM "$DRIVE_PID" 2>/dev/null || true
    [[ -n ${WATCH_PID:-} ]] && kill -TERM "$WATCH_PID" 2>/dev/null || true
    # The gateway first: it drains, flushes the pair log and stops its PostgreSQL.
    if [[ -n $GATE_PID ]] && kill -0 "$GATE_PID" 2>/dev/null; then
        kill -TERM "$GATE_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$GATE_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    [[ -n ${PG_PARENT:-} ]] && rm -rf "$PG_PARENT"
    exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, stopping everything"; exit 130' INT TERM

step "Installing what the demo needs (apt packages, Python environment)"
Scripts/dev/install-deps.sh python3 python3-venv
PY=$(Scripts/example-app/setup-venv.sh | tail -1)
[[ $PY == /* ]] || PY=$ROOT/$PY
echo "Python environment: $PY"

step "Building the gateway (the first build takes a few minutes)"
swift build --product shadowgate 2>&1 | tail -1
BIN=$(swift build --show-bin-path)/shadowgate
SG() { "$BIN" "$@" --config "$CONFIG"; }

rm -rf "$WORK"; mkdir -p "$WORK"
# The embedded PostgreSQL lives in .shadowgate/demo/postgres. Run as root, the server runs as the
# postgres user, which must be able to reach that directory; a checkout in a private directory
# (mktemp -d makes them 0700) is not reachable, so the cluster then goes to a directory of its own.
PGDATA_DIR=$ROOT/$WORK/postgres
if [[ $(id -u) == 0 ]] && ! runuser -u postgres -- test -x "$ROOT/$WORK" 2>/dev/null; then
    PG_PARENT=$(mktemp -d /tmp/shadowgate-demo-pg.XXXXXX); chmod 755 "$PG_PARENT"
    PGDATA_DIR=$PG_PARENT/postgres
    echo "note: the postgres user cannot reach $ROOT, so the demo's PostgreSQL lives in $PGDATA_DIR (removed at the end)"
fi
sed "s#^  embedded_data_dir: .*#  embedded_data_dir: $PGDATA_DIR#" Scripts/example-app/gateway.yaml > "$WORK/gateway.yaml"
CONFIG=$WORK/gateway.yaml
step "Training the legacy model once (scikit-learn, on data from before the drift) and serving it with MLServer on :$LEGACY_PORT"
"$PY" Scripts/example-app/train_legacy.py --out "$WORK/legacy-model" 2>&1 | tail -2
Scripts/example-app/serve_legacy.sh "$LEGACY_PORT" "$ROOT/$WORK/legacy-model" > "$WORK/mlserver.log" 2>&1 & PIDS+=($!)
step "Starting the continuous learner (River, learns one example at a time from feedback) on ${LEARNER#http://}"
"$PY" Scripts/example-app/learner_server.py --port 18482 --drift-at "$DRIFT_AT" > "$WORK/learner.log" 2>&1 & PIDS+=($!)
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$LEGACY_PORT/v2/models/churn/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$LEGACY_PORT/v2/models/churn/ready" >/dev/null \
    || { echo "MLServer did not become ready; see $WORK/mlserver.log"; tail -5 "$WORK/mlserver.log"; exit 1; }
python3 Scripts/example-app/learnerctl.py --learner "$LEARNER" wait --timeout 60 >/dev/null \
    || { echo "the learner did not become ready; see $WORK/learner.log"; exit 1; }
echo "both models ready ($(elapsed))"

step "Starting ShadowGate on :18480 in shadow mode (embedded PostgreSQL, admin API on :18483, promotion controller on)"
export SHADOWGATE_ADMIN_TOKEN=${SHADOWGATE_ADMIN_TOKEN:-demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
"$BIN" serve --config "$CONFIG" --log-level notice > "$WORK/gateway.log" 2>&1 & GATE_PID=$!
for _ in $(seq 1 300); do curl -sf "$GATE/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "$GATE/readyz" >/dev/null || { echo "the gateway did not start; see $WORK/gateway.log"; tail -5 "$WORK/gateway.log"; exit 1; }
sed -n 's/^.*promotion: /promotion: /p' < <("$BIN" config check --config "$CONFIG")
echo "A request as a client sends it; the legacy model answers, the learner runs in shadow:"
curl -s -D - -o "$WORK/one.json" -X POST "$GATE/v2/models/churn/infer" -H 'content-type: application/json' -H 'x-user-id: u-1' \
    -d '{"inputs":[{"name":"x","shape":[1,5],"datatype":"FP64","data":[0.1,-0.4,0.8,0.3,-0.2]}]}' \
    | grep -iE '^(HTTP|x-request-id|x-shadowgate)' | tr -d '\r' | sed 's/^/  /'
echo "  $(cat "$WORK/one.json")"

# Rollout decisions and changes of the controller's verdict, printed as they happen.
DB="host=$PGDATA_DIR port=5432 user=postgres dbname=postgres"
sql() { psql "$DB" -XAtq -F $'\t' -c "$1" 2>/dev/null || true; }
watch_rollout() {
    local last_event=0 last_verdict=""
    while sleep 1; do
        while IFS=$'\t' read -r id at actor action from to reason; do
            [[ -z $id ]] && continue
            last_event=$id
            printf '\n\033[1;33m▶ %s  %s → %s  (%s by %s)\033[0m\n    %s\n' "$at" "$from" "$to" "$action" "$actor" "$reason"
        done < <(sql "SELECT id, to_char(at, 'HH24:MI:SS'), actor, action,
                             coalesce(CASE from_mode WHEN 'canary' THEN 'canary ' || from_percent || ' %' ELSE from_mode END, '—'),
                             CASE to_mode WHEN 'canary' THEN 'canary ' || to_percent || ' %' ELSE to_mode END, reason
                      FROM shadowgate.rollout_events WHERE id > $last_event ORDER BY id")
        local verdict
        verdict=$(sql "SELECT outcome || ' → ' || decision || ': ' || reason FROM shadowgate.rollout_state WHERE route = 'churn'")
        # Only a change of outcome or decision is news; the numbers in the reason move every second.
        local key=${verdict%%:*}
        if [[ -n $verdict && $key != "${last_verdict%%:*}" ]]; then
            printf '\n\033[36m  controller: %s\033[0m\n' "$verdict"
            last_verdict=$verdict
        fi
    done
}
mode() { sql "SELECT mode FROM shadowgate.flags WHERE route = 'churn'"; }

step "Streaming the drifting stream at $RATE requests/s; the concept turns at example $DRIFT_AT; labels come back 1-2 s late"
echo "Before the drift both models are about as good, so the controller holds (the learner must be 3 points better)."
echo "After it the legacy model falls behind; the learner keeps learning from the feedback and overtakes it."
STREAM_START=$(date +%s)
watch_rollout & WATCH_PID=$!
python3 Scripts/example-app/drive.py --gateway "$GATE" --count 100000 --rate "$RATE" --drift-at "$DRIFT_AT" \
    --max-error-rate 1 & DRIVE_PID=$!
PROMOTE_DEADLINE=$(( $(date +%s) + 180 ))
until [[ $(mode) == promoted ]]; do
    kill -0 "$DRIVE_PID" 2>/dev/null || { echo "the traffic driver stopped early"; exit 1; }
    if (( $(date +%s) > PROMOTE_DEADLINE )); then
        echo; echo "demo: no promotion after 3 minutes; where the rollout stands:"; SG rollout status churn; exit 1
    fi
    sleep 1
done
sleep 5
printf '\n'; bold "The learner now answers every client (x-shadowgate-served-by: learner); the legacy model runs in shadow."
bold "Now the learner breaks: it starts answering garbage ($(elapsed))."
python3 Scripts/example-app/learnerctl.py --learner "$LEARNER" misbehave garbage >/dev/null
BROKE=$(date +%s.%N)
ROLLBACK_DEADLINE=$(( $(date +%s) + 60 ))
until [[ $(mode) == shadow ]]; do
    (( $(date +%s) > ROLLBACK_DEADLINE )) && { echo; echo "demo: no rollback after 60 s"; SG rollout status churn; exit 1; }
    sleep 0.2
done
ROLLED=$(date +%s.%N)
sleep 1.5
printf '\n'; bold "Rolled back to shadow automatically $(awk -v a="$BROKE" -v b="$ROLLED" 'BEGIN { printf "%.1f", b - a }') s after the learner broke; clients are answered by the legacy model again."
python3 Scripts/example-app/learnerctl.py --learner "$LEARNER" misbehave off >/dev/null
sleep 3
kill -TERM "$DRIVE_PID" 2>/dev/null || true; wait "$DRIVE_PID" 2>/dev/null || true; DRIVE_PID=
kill -TERM "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=
echo

step "Where the rollout stands"
SG rollout status churn --events 10

SINCE="$(( $(date +%s) - STREAM_START + 5 )) seconds"
step "The comparison over the whole run (shadowgate report --since '$SINCE')"
SG report --route churn --since "$SINCE"
REPORT=$WORK/report.html
SG report --route churn --since "$SINCE" --format html --output "$REPORT" >/dev/null
step "Done in $(elapsed)"
echo "HTML report (charts of both models' accuracy, agreement, KS/PSI, latency and the canary share with every decision):"
echo "  $ROOT/$REPORT"
echo "Logs: $WORK/gateway.log, $WORK/mlserver.log, $WORK/learner.log. Stopping everything."

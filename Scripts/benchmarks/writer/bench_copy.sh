#!/usr/bin/env bash
# The peer figure for the pair writer: `psql \copy` of the benchmark rows into shadowgate.pairs,
# optionally side by side with `shadowgate bench-writer` on the same server and rows.
#
# usage: Scripts/benchmarks/writer/bench_copy.sh [ROWS=500000]
#   env SHADOWGATE_BENCH_DATABASE_URL  server to use (default: a throwaway cluster started by
#                                      Scripts/postgres/start.sh in /tmp/shadowgate-bench-pg, default durability)
#   env REPS=3                         repetitions (median reported)
#   env SHADOWGATE_BIN                 if set, each repetition also runs
#                                      "$SHADOWGATE_BIN bench-writer --database-url URL --rows ROWS"
# Works in a database of its own, `shadowgate_bench` (dropped and recreated, migrations applied
# with psql). Rows: Scripts/benchmarks/writer/bench_rows.sql (= PairLogBenchmark.record in Swift).
# stdout: one line per run, `method=psql_copy rep=1 rows=… seconds=… rows_per_s=…`, then
#         `method=psql_copy median_rows_per_s=…`. Progress goes to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
ROWS=${1:-500000}
REPS=${REPS:-3}
URL=${SHADOWGATE_BENCH_DATABASE_URL:-$("$ROOT/Scripts/postgres/start.sh" /tmp/shadowgate-bench-pg)}
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
if [[ $URL =~ ^(postgres(ql)?://[^/?]+)(/[^?]*)?(\?.*)?$ ]]; then
    BENCH_URL="${BASH_REMATCH[1]}/shadowgate_bench${BASH_REMATCH[4]}"
else
    BENCH_URL="$URL dbname=shadowgate_bench"
fi

"${PSQL[@]}" "$URL" -c "DROP DATABASE IF EXISTS shadowgate_bench" -c "CREATE DATABASE shadowgate_bench"
# In the order shadowgate migrate applies them: the numbered files, then migrations/functions/.
"$ROOT/Scripts/postgres/apply-migrations.sh" "$BENCH_URL"

WORK=$(mktemp -d /tmp/shadowgate-bench-copy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
BASE=$(( $(date +%s) / 3600 * 3600 * 1000000 ))
echo "bench_copy: generating $ROWS rows" >&2
{ echo "SET TimeZone = 'UTC';"; echo "COPY ("; cat "$HERE/bench_rows.sql"; echo ") TO STDOUT;"; } > "$WORK/gen.sql"
"${PSQL[@]}" "$BENCH_URL" -v rows="$ROWS" -v base="$BASE" -f "$WORK/gen.sql" > "$WORK/rows.tsv"
echo "bench_copy: $(wc -l < "$WORK/rows.tsv") rows, $(( $(stat -c %s "$WORK/rows.tsv") / ROWS )) bytes/row" >&2
COLS="(request_id, route, received_at, served_by, mode, canary_percent, legacy_status, learner_status, legacy_latency_us, learner_latency_us, legacy_outcome, learner_outcome, legacy_error, learner_error, legacy_output, learner_output, legacy_score, learner_score, legacy_label, learner_label, legacy_version, learner_version, shadow_skip, features, features_truncated)"

# pairs and the tables its trigger fills (pair_stats, and 0006's counts and watermarks): each run
# starts from an empty database, as bench-writer's runs do (the migrations above created them all)
EMPTY="TRUNCATE shadowgate.pairs, shadowgate.pair_stats, shadowgate.pair_value_counts, shadowgate.rollup_watermarks"
rates=()
for rep in $(seq "$REPS"); do
    "${PSQL[@]}" "$BENCH_URL" -c "$EMPTY" -c "CHECKPOINT"
    t0=$(date +%s.%N)
    "${PSQL[@]}" "$BENCH_URL" -c "\\copy shadowgate.pairs $COLS FROM '$WORK/rows.tsv'"
    t1=$(date +%s.%N)
    n=$("${PSQL[@]}" "$BENCH_URL" -Atc "SELECT count(*) FROM shadowgate.pairs")
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    rate=$(awk -v n="$n" -v s="$secs" 'BEGIN {printf "%d", n / s}')
    rates+=("$rate")
    printf 'method=psql_copy rep=%d rows=%d seconds=%.3f rows_per_s=%d\n' "$rep" "$n" "$secs" "$rate"
    if [[ -n ${SHADOWGATE_BIN:-} ]]; then
        "${PSQL[@]}" "$BENCH_URL" -c "$EMPTY" -c "CHECKPOINT"
        "$SHADOWGATE_BIN" bench-writer --database-url "$BENCH_URL" --rows "$ROWS"
    fi
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "method=psql_copy median_rows_per_s=$median"

#!/usr/bin/env bash
# compare() over a window of PAIRS pairs (default 1,000,000, a fifth of them labelled), on a throwaway
# PostgreSQL cluster with the project's migrations. Prints each timing and the median of REPS (default 5).
#
# The pairs are INSERTed into shadowgate.pairs, so shadowgate.pair_stats (what compare() reads) is
# filled by the same trigger that fills it for the gateway's COPY batches and spool replays (0005).
# Then shadowgate.roll_up_counts() rolls the complete minutes before now − 2 minutes into
# pair_value_counts (0006), as the running pair writer does every 30 s: compare() reads those
# minutes' counts and the last minutes of the window from pair_stats.
# usage: Scripts/bench.sh compare (or this script)     env: PAIRS, REPS, KEEP_PG=1 (leave the cluster running),
#   BASELINE=1 (also time 0003's and 0005's compare_window, the earlier versions, after each run, same data)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
PAIRS=${PAIRS:-1000000}
REPS=${REPS:-5}
PG_DIR=$(mktemp -d /tmp/shadowgate-bench-compare-pg.XXXXXX)
[[ ${KEEP_PG:-0} == 1 ]] || trap '"$REPO/Scripts/postgres/stop.sh" --rm "$PG_DIR"' EXIT
URL=$("$REPO/Scripts/postgres/start.sh" "$PG_DIR")
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$URL")
# in the runner's order: the numbered files, then migrations/functions/
"$REPO/Scripts/postgres/apply-migrations.sh" "$URL"

echo "compare: generating $PAIRS pairs over the last 50 minutes (20 % labelled)" >&2
LOAD_START=$(date +%s%N)
"${PSQL[@]}" <<SQL
SELECT shadowgate.ensure_partitions(1);
INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, canary_percent,
    legacy_status, learner_status, legacy_latency_us, learner_latency_us, legacy_outcome, learner_outcome,
    legacy_output, learner_output, legacy_score, learner_score, features, features_truncated)
SELECT 'b' || g, 'churn', now() - (g % 3000) * interval '1 second', 'legacy', 'shadow', 0,
       200, CASE WHEN g % 100 = 0 THEN 500 ELSE 200 END,
       800 + (g % 997), 1200 + (g % 1499),
       'ok', CASE WHEN g % 100 = 0 THEN 'http_error' WHEN g % 250 = 0 THEN 'timeout' ELSE 'ok' END,
       jsonb_build_array(s1), jsonb_build_array(s2), s1, s2,
       jsonb_build_array(jsonb_build_array(g % 17, (g % 101) / 10.0)), false
FROM (SELECT g, (hashint4(g) & 1023) / 1023.0 AS s1, (hashint4(g + 7) & 1023) / 1023.0 AS s2
      FROM generate_series(1, $PAIRS) g) t;
INSERT INTO shadowgate.labels (request_id, route, label)
SELECT 'b' || g, 'churn', (hashint4(g + 3) & 1)::text FROM generate_series(1, $PAIRS, 5) g;
VACUUM ANALYZE shadowgate.pairs;
VACUUM ANALYZE shadowgate.pair_stats;
VACUUM ANALYZE shadowgate.labels;
SQL
echo "compare: loaded (INSERT through the pairs trigger, labels, VACUUM ANALYZE) in $(( ($(date +%s%N) - LOAD_START) / 1000000 )) ms" >&2
ROLL_START=$(date +%s%N)
"${PSQL[@]}" -Atc "SELECT 'compare: roll_up_counts() (as the running pair writer would have called it, every 30 s) rolled up ' || shadowgate.roll_up_counts() || ' minutes'" >&2
"${PSQL[@]}" -c "VACUUM ANALYZE shadowgate.pair_value_counts"
echo "compare: roll-up (and VACUUM ANALYZE of the counts) took $(( ($(date +%s%N) - ROLL_START) / 1000000 )) ms; counts up to $("${PSQL[@]}" -Atc "SELECT rolled_until FROM shadowgate.rollup_watermarks WHERE route = 'churn'"), the rest of the window read from pair_stats" >&2
"${PSQL[@]}" -Atc "SELECT 'pairs in window: ' || pairs || ', labelled: ' || labelled_pairs FROM shadowgate.compare('churn', interval '1 hour')" >&2
echo "compare: load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)" >&2

timed_ms() {  # <query>: wall time of one run in ms, from psql's \timing
    local ms
    ms=$(printf '\\timing on\n%s;\n' "$1" | "${PSQL[@]}" -At | tail -1)
    ms=${ms#Time: }; echo "${ms%% ms*}"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# <query>: CPU ms the server process spent on one run without parallel workers (utime + stime of
# /proc/PID/stat around the query). Steadier than wall time on a shared machine: it is what the
# query costs, not how long it waited for a core; with its parallel workers on an idle 2-core
# machine the wall time is at most about this.
cpu_ms() {
    {
        echo "SET max_parallel_workers_per_gather = 0;"
        echo 'SELECT pg_backend_pid() AS pid \gset'
        echo '\setenv PGPID :pid'
        echo "\\! awk '{ print \"cpu\", \$14 + \$15 }' /proc/\$PGPID/stat"
        echo "$1 \\g /dev/null"
        echo "\\! awk '{ print \"cpu\", \$14 + \$15 }' /proc/\$PGPID/stat"
    } | "${PSQL[@]}" -At | awk -v tck="$(getconf CLK_TCK)" '/^cpu/ { v[n++] = $2 } END { printf "%d", (v[1] - v[0]) * 1000 / tck }'
}

QUERY="SELECT count(*) FROM shadowgate.compare('churn', interval '1 hour')"
# BASELINE=1: the earlier versions of compare_window, as compare_window_0003 (reads pairs, sorts
# arrays) and compare_window_0005 (reads pair_stats only, two passes), timed after each run of the
# current one on the same data: the before/after figures on the same machine state. Their texts
# are frozen next to this script (compare_window_0003.sql, compare_window_0005.sql).
BASES=()
if [[ ${BASELINE:-0} == 1 ]]; then
    for v in 0003 0005; do
        "${PSQL[@]}" -f "$(dirname "$0")/compare_window_$v.sql" >/dev/null
        BASES+=("$v")
    done
fi
declare -A base base_cpus
times=() cpus=()
for rep in $(seq "$REPS"); do
    times+=("$(timed_ms "$QUERY")") cpus+=("$(cpu_ms "$QUERY")")
    echo "compare rep=$rep ms=${times[-1]} serial_cpu_ms=${cpus[-1]} load=$(cut -d' ' -f1 /proc/loadavg)"
    for v in "${BASES[@]}"; do
        q="SELECT count(*) FROM shadowgate.compare_window_$v('churn', now() - interval '1 hour', 'infinity')"
        t=$(timed_ms "$q") c=$(cpu_ms "$q")
        base[$v]+=" $t" base_cpus[$v]+=" $c"
        echo "compare_$v rep=$rep ms=$t serial_cpu_ms=$c load=$(cut -d' ' -f1 /proc/loadavg)"
    done
done
for v in "${BASES[@]}"; do
    # shellcheck disable=SC2086
    echo "compare_$v median_ms=$(median ${base[$v]}) median_serial_cpu_ms=$(median ${base_cpus[$v]}) reps=$REPS pairs=$PAIRS"
done
echo "compare median_ms=$(median "${times[@]}") median_serial_cpu_ms=$(median "${cpus[@]}") reps=$REPS pairs=$PAIRS (goal: under 2000 ms; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"

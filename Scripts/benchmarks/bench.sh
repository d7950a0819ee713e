#!/usr/bin/env bash
# ShadowGate proxy benchmark: wrk against nginx (plain proxy, proxy + mirror) and the ShadowGate
# gateway (route in `legacy` mode, route in `shadow` mode), and bare SwiftNIO proxies (what the stack
# itself costs; see TARGETS), side by side in ONE run on the SAME nginx stub upstreams, targets
# interleaved round-robin per repetition so drift hits all equally.
#
# usage: Scripts/bench.sh [proxy|hung|pairlog|writer|compare|gates|feedback|tls|grpc]
#   proxy    (default) the four fronts below and the three SwiftNIO floors (FLOOR=0: without them), pair log off
#   hung     the gateway in shadow mode with a healthy learner (gate-shadow) vs the same with a learner
#            that accepts and never answers (gate-hung, Scripts/benchmarks/proxy/hung_stub.py on 18084;
#            front 18085, admin 18086), alternated, wrk -c16 by default: the client's p99 should not move
#            (issue 14, defect 5). Combine with BENCH_PAIR_LOG=1 / BENCH_DATABASE_URL for the pair log on.
#            CPU per request without wrk: Scripts/benchmarks/proxy/cpu_per_request.sh <legacy|shadow>;
#            instruction counts: Scripts/benchmarks/proxy/callgrind.sh <legacy|shadow> (valgrind)
#   latency  the latency the gateway adds at a moderate rate: wrk -c40 with a 20 ms pause after each answer
#            per connection (Scripts/benchmarks/proxy/post_paced.lua; just under 2,000 req/s), against the legacy
#            stub directly (stub-direct), the gateway in legacy and shadow mode, and nginx mirror (PACE_MS, CONNS)
#   pairlog  the gateway in shadow mode with its pair log on, writing to a throwaway PostgreSQL
#            cluster (Scripts/postgres/start.sh), next to nginx mirror, then requests completed vs rows stored
#   writer   the pair writer alone vs `psql \copy` of the same rows on the same server
#            (Scripts/benchmarks/writer/bench_copy.sh; ROWS, default 500000, REPS)
#   compare  shadowgate.compare() over a window of 1,000,000 pairs: wall time and serial CPU per run, medians
#            (Scripts/benchmarks/compare/compare.sh; PAIRS, REPS, BASELINE=1 to time 0003's and 0005's versions on the same data too)
#   gates    the promotion controller's decision code vs the old point-estimate rule on simulated paired
#            streams (Sources/shadowgate-gates-bench; RUNS, default 200, HOURS, default 6); no servers;
#            then the regression route's line (REGRESSION_RUNS, default RUNS; SCENARIOS=regression for it alone)
#   feedback labels/s accepted and delivered vs psql \copy, p99 at a fixed rate, `labels import` of 1M
#            (Scripts/benchmarks/feedback/feedback.sh; LABELS, RATE, RATE_SECONDS, IMPORT)
#   tls      REST through the gateway with an HTTPS client listener vs a plain one, and with https://
#            upstreams (Scripts/benchmarks/tls/bench_tls.sh; CONNS, DURATION, REPS, WARMUP)
#   grpc     gRPC ModelInfer through the gateway in shadow mode vs MLServer directly, Python gRPC client
#            (Scripts/benchmarks/grpc/bench_grpc.sh; DURATION, REPS, CONCURRENCY)
# env:
#   TARGETS      targets to measure (default "nginx-proxy nginx-mirror gate-legacy gate-shadow", then
#                "nio-floor-mirror nio-bytes-proxy nio-bytes-mirror" unless FLOOR=0). The nio-* fronts are
#                Sources/shadowgate-nio-floor, measuring sticks for what SwiftNIO itself costs here:
#                nio-floor-proxy / nio-floor-mirror the least an HTTP/1 proxy with NIOHTTP1 does;
#                nio-bytes-proxy / nio-bytes-mirror the same with no HTTP code at all (content-length
#                framing on bytes, forwarded verbatim). They split the gateway's cost into the stack's and its own.
#                nio-bytes-mirror-work (only when named in TARGETS) is nio-bytes-mirror spinning FLOOR_WORK_US
#                (default 20) µs of user-space CPU per request: whether a front's kernel time per request
#                grows with its user time alone (compare the summary's "of which kernel" column).
#   FLOOR_BIN    shadowgate-nio-floor binary to use (skips its build)
#   CONNS        wrk connections (default 32)          DURATION  seconds per wrk run (default 10)
#   REPS         runs per target (default 3)           WARMUP    seconds of warm-up per target (default 2)
#   WRK_THREADS  wrk threads (default 1)
#   OUT          CSV of raw results (default bench-results/bench_<timestamp>.csv; wrk output next to it)
#   GATEWAY_BIN  gateway binary to use (skips the build)
#   SKIP_BUILD=1 use the existing release binary instead of running `swift build`
#   SCRATCH_PATH passed to swift build as --scratch-path (e.g. .build-bench)
#   GATE_LOOPS   gateway event_loops (default 1)       GATE_POOL upstream pool size (default 64)
#   GATE_SERVE   the gateway's serve subcommand (default "serve")
#   NGINX_WORKERS nginx worker_processes for stubs and fronts (default 1)
#   BENCH_PAIR_LOG=1     run the gateway with its pair log on (default: `--no-pair-log`);
#   BENCH_DATABASE_URL   with BENCH_PAIR_LOG=1: the gateway writes there, and the script compares
#                        requests sent to the gateways with new rows in shadowgate.pairs
#   KEEP_WORK=1  keep the temporary directory (configs, logs)
#
# Ports (all 127.0.0.1): legacy stub 18081 (stub_status 18088), learner stub 18082 (stub_status 18089),
# nginx-proxy 18080, nginx-mirror 18083, gate-legacy 18090 (admin 18092), gate-shadow 18091 (admin 18093),
# nio-floor-proxy 18094, nio-floor-mirror 18095, nio-bytes-proxy 18096, nio-bytes-mirror 18097,
# nio-bytes-mirror-work 18098.
# Every process the script starts is stopped on exit (EXIT/INT/TERM).
# Proxy CPU µs/req = utime+stime (/proc/PID/stat) of the front over one wrk run / requests completed:
# nginx master + workers, or the gateway process (all threads, plus direct children). Steadier than
# req/s on a small shared machine. Stub counters (stub_status) give upstream requests and new
# connections per front; the summary prints medians, the issue's ratios and the keep-alive check.
# The rest of the machine is measured the same way, per request: the two stubs, wrk itself, and with
# BENCH_DATABASE_URL on this machine the PostgreSQL server (postmaster and backends). The summary's
# "CPU budget" turns them into the most CPU per request a front may use at a goal's rate here.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$REPO/Scripts/benchmarks/proxy

case ${1:-proxy} in
proxy) ;;
writer)
    "$REPO/Scripts/dev/install-deps.sh"
    if [[ -z ${GATEWAY_BIN:-} ]]; then
        (cd "$REPO" && swift build -c release --product shadowgate ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} >&2)
        GATEWAY_BIN=$(cd "$REPO" && swift build -c release ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} --show-bin-path)/shadowgate
    fi
    PG_DIR=$(mktemp -d /tmp/shadowgate-bench-writer-pg.XXXXXX)
    trap '"$REPO/Scripts/postgres/stop.sh" --rm "$PG_DIR"' EXIT
    SHADOWGATE_BENCH_DATABASE_URL=$("$REPO/Scripts/postgres/start.sh" "$PG_DIR") \
        SHADOWGATE_BIN=$GATEWAY_BIN "$REPO/Scripts/benchmarks/writer/bench_copy.sh" "${ROWS:-500000}"
    exit 0 ;;
pairlog)
    "$REPO/Scripts/dev/install-deps.sh"
    PG_DIR=$(mktemp -d /tmp/shadowgate-bench-pairlog-pg.XXXXXX)
    trap '"$REPO/Scripts/postgres/stop.sh" --rm "$PG_DIR"' EXIT
    BENCH_DATABASE_URL=$("$REPO/Scripts/postgres/start.sh" "$PG_DIR")
    psql -X -q "$BENCH_DATABASE_URL" -c "CREATE DATABASE shadowgate_pairlog_bench" >/dev/null
    BENCH_DATABASE_URL=${BENCH_DATABASE_URL%/*}/shadowgate_pairlog_bench
    BENCH_PAIR_LOG=1 BENCH_DATABASE_URL=$BENCH_DATABASE_URL TARGETS=${TARGETS:-"nginx-mirror gate-shadow"} "$0" proxy
    exit $? ;;
compare)
    "$REPO/Scripts/dev/install-deps.sh"
    exec "$REPO/Scripts/benchmarks/compare/compare.sh" ;;
gates)
    (cd "$REPO" && swift build -c release --product shadowgate-gates-bench ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} >&2)
    exec "$(cd "$REPO" && swift build -c release ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} --show-bin-path)/shadowgate-gates-bench" ;;
feedback)
    "$REPO/Scripts/dev/install-deps.sh"
    exec "$REPO/Scripts/benchmarks/feedback/feedback.sh" ;;
tls)
    "$REPO/Scripts/dev/install-deps.sh"
    exec "$REPO/Scripts/benchmarks/tls/bench_tls.sh" ;;
grpc)
    exec "$REPO/Scripts/benchmarks/grpc/bench_grpc.sh" ;;
hung) TARGETS=${TARGETS:-"gate-shadow gate-hung"}; CONNS=${CONNS:-16} ;;
latency) TARGETS=${TARGETS:-"stub-direct gate-legacy gate-shadow nginx-mirror"}; CONNS=${CONNS:-40}; PACE_MS=${PACE_MS:-20} ;;
*) echo "usage: Scripts/bench.sh [proxy|hung|latency|pairlog|writer|compare|gates|feedback|tls|grpc]" >&2; exit 2 ;;
esac
# shellcheck source=Scripts/benchmarks/proxy/lib.sh
source "$B/lib.sh"

if [[ -z ${TARGETS:-} ]]; then
    TARGETS="nginx-proxy nginx-mirror gate-legacy gate-shadow"
    [[ ${FLOOR:-1} == 1 ]] && TARGETS="$TARGETS nio-floor-mirror nio-bytes-proxy nio-bytes-mirror"
fi
CONNS=${CONNS:-32}
DURATION=${DURATION:-10}; DURATION=${DURATION%s}
REPS=${REPS:-3}
WARMUP=${WARMUP:-2}; WARMUP=${WARMUP%s}
WRK_THREADS=${WRK_THREADS:-1}
GATE_LOOPS=${GATE_LOOPS:-1}
GATE_POOL=${GATE_POOL:-64}
GATE_SERVE=${GATE_SERVE:-serve}
PAIR_LOG=${BENCH_PAIR_LOG:-0}
DB_URL=${BENCH_DATABASE_URL:-}
TS=$(date +%Y%m%d_%H%M%S)
OUT=${OUT:-$REPO/bench-results/bench_$TS.csv}
RAW=${OUT%.csv}_raw

LEGACY_PORT=18081 LEARNER_PORT=18082 LEGACY_STATUS_PORT=18088 LEARNER_STATUS_PORT=18089
export LEGACY_PORT LEARNER_PORT
HUNG_PORT=18084
declare -A PORT=([nginx-proxy]=18080 [nginx-mirror]=18083 [gate-legacy]=18090 [gate-shadow]=18091 [gate-hung]=18085 [stub-direct]=18081
              [nio-floor-proxy]=18094 [nio-floor-mirror]=18095 [nio-bytes-proxy]=18096 [nio-bytes-mirror]=18097 [nio-bytes-mirror-work]=18098)
declare -A ADMIN_PORT=([gate-legacy]=18092 [gate-shadow]=18093 [gate-hung]=18086)
declare -A MODE=([gate-legacy]=legacy [gate-shadow]=shadow [gate-hung]=shadow)
PREDICT=/v1/models/m:predict
LEGACY_BODY='{"predictions":[0.73]}'

for v in CONNS DURATION REPS WARMUP WRK_THREADS GATE_LOOPS GATE_POOL; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
((DURATION <= 600 && WARMUP <= 60)) || die "DURATION is capped at 600 s and WARMUP at 60 s"
need_gate=0 need_floor=0
for t in $TARGETS; do
    [[ -n ${PORT[$t]:-} ]] || die "unknown target '$t' (known: ${!PORT[*]})"
    [[ $t == gate-* ]] && need_gate=1
    [[ $t == nio-* ]] && need_floor=1
done

# ---------------------------------------------------------------- processes and cleanup
WORK=$(mktemp -d /tmp/shadowgate-bench.XXXXXX)
declare -A PID=()           # target -> PID whose CPU is counted (nginx master: workers are its children)
NGINX_PIDS=() GATE_PIDS=() WRK_PID="" LEG_PID="" LRN_PID=""

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$? p workers=()
    set +e
    trap - EXIT INT TERM
    [[ -n $WRK_PID ]] && stop_pid "$WRK_PID" TERM 3
    for p in "${GATE_PIDS[@]}"; do stop_pid "$p" TERM 15; done
    for p in "${NGINX_PIDS[@]}"; do
        mapfile -t -O "${#workers[@]}" workers < <(ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' ')
        stop_pid "$p" TERM 10
    done
    for p in "${workers[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    if [[ -d $RAW ]]; then
        cp "$WORK"/*.log "$RAW"/ 2>/dev/null
        for p in "$WORK"/ngx-*/logs/error.log; do [[ -s $p ]] && cp "$p" "$RAW/$(basename "$(dirname "$(dirname "$p")")").error.log"; done
    fi
    if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v ss >/dev/null || missing+=(iproute2)
command -v ps >/dev/null || missing+=(procps)
if [[ $PAIR_LOG == 1 && -n $DB_URL ]] && ! command -v psql >/dev/null; then missing+=(postgresql-client); fi
if ((${#missing[@]})); then
    sudo=(); ((EUID == 0)) || sudo=(sudo)
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y "${missing[@]}" >&2 ||
        { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y "${missing[@]}" >&2; } ||
        die "could not install ${missing[*]}"
fi

release_binary() {  # <product>: builds it in release (unless SKIP_BUILD=1) and prints its path
    local scratch=()
    [[ -n ${SCRATCH_PATH:-} ]] && scratch=(--scratch-path "$SCRATCH_PATH")
    if [[ ${SKIP_BUILD:-0} != 1 ]]; then
        log "building: swift build -c release ${scratch[*]} --product $1"
        (cd "$REPO" && swift build -c release "${scratch[@]}" --product "$1" >&2) || die "swift build failed"
    fi
    echo "$(cd "$REPO" && swift build -c release "${scratch[@]}" --show-bin-path)/$1"
}
GATEWAY=""
if ((need_gate)); then
    GATEWAY=${GATEWAY_BIN:-$(release_binary shadowgate)}
    [[ -x $GATEWAY ]] || die "no gateway binary at $GATEWAY (build it, or set GATEWAY_BIN)"
fi
if ((need_floor)); then
    FLOOR_BIN=${FLOOR_BIN:-$(release_binary shadowgate-nio-floor)}
    [[ -x $FLOOR_BIN ]] || die "no shadowgate-nio-floor binary at $FLOOR_BIN (build it, or set FLOOR_BIN)"
fi

all_ports=("$LEGACY_PORT" "$LEARNER_PORT" "$LEGACY_STATUS_PORT" "$LEARNER_STATUS_PORT")
[[ " $TARGETS " == *" gate-hung "* ]] && all_ports+=("$HUNG_PORT")
for t in $TARGETS; do
    [[ $t == stub-direct ]] || all_ports+=("${PORT[$t]}")
    [[ -n ${ADMIN_PORT[$t]:-} ]] && all_ports+=("${ADMIN_PORT[$t]}")
done
for p in "${all_ports[@]}"; do port_in_use "$p" && die "port $p is already in use (ss -tlnp 'sport = :$p')"; done

mkdir -p "$RAW"
{
    echo "# ShadowGate bench $TS"
    echo "- targets: $TARGETS; wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency, $REPS rep(s) round-robin, ${WARMUP}s warm-up each"
    echo "- machine: $(nproc) cores, $(uname -sr); $(nginx -v 2>&1); $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    echo "- repo: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'); gateway: ${GATEWAY:-none} (event_loops $GATE_LOOPS, pool $GATE_POOL, pair log $([[ $PAIR_LOG == 1 ]] && echo on || echo off))"
} | tee "$RAW/README.md"

# ---------------------------------------------------------------- stub upstreams
"$B/gen_nginx_conf.sh" stub "$WORK/ngx-legacy" "$LEGACY_PORT" "$LEGACY_STATUS_PORT" 0.73 >/dev/null
"$B/gen_nginx_conf.sh" stub "$WORK/ngx-learner" "$LEARNER_PORT" "$LEARNER_STATUS_PORT" 0.71 >/dev/null
LEG_PID=$(start_nginx "$WORK/ngx-legacy"); NGINX_PIDS+=("$LEG_PID")
LRN_PID=$(start_nginx "$WORK/ngx-learner"); NGINX_PIDS+=("$LRN_PID")
if [[ " $TARGETS " == *" gate-hung "* ]]; then
    python3 "$B/hung_stub.py" "$HUNG_PORT" >"$WORK/hung-stub.log" 2>&1 &
    NGINX_PIDS+=("$!")   # stopped on exit with the stubs
fi
for p in "$LEGACY_PORT" "$LEARNER_PORT"; do
    post_ok "http://127.0.0.1:$p$PREDICT" "$B/body.json" 10 >/dev/null || die "stub on :$p does not answer"
done

# ---------------------------------------------------------------- fronts
write_gate_config() {  # <target> <file>
    local t=$1 f=$2 learner_port=$LEARNER_PORT
    [[ $t == gate-hung ]] && learner_port=$HUNG_PORT
    cat >"$f" <<YAML
listen: 127.0.0.1:${PORT[$t]}
admin: { listen: "127.0.0.1:${ADMIN_PORT[$t]}" }
event_loops: $GATE_LOOPS
routes:
  - name: m_${t#gate-}
    match: ["$PREDICT"]
    protocol: kserve-v1
    mode: ${MODE[$t]}
    legacy:  { url: "http://127.0.0.1:$LEGACY_PORT", timeout_ms: 1000, pool: $GATE_POOL }
    learner: { url: "http://127.0.0.1:$learner_port", timeout_ms: 300, pool: $GATE_POOL }
YAML
    if [[ $PAIR_LOG == 1 ]]; then
        if [[ -n $DB_URL ]]; then
            printf 'database:\n  url: "%s"\n  spool_dir: "%s"\n' "$DB_URL" "$WORK/spool-$t" >>"$f"
        else
            printf 'database:\n  embedded_data_dir: "%s"\n  spool_dir: "%s"\n' "$WORK/pg-$t" "$WORK/spool-$t" >>"$f"
        fi
    fi
}

pairs_count() {  # rows in shadowgate.pairs, or "" if it cannot be read
    psql "$DB_URL" -XAtqc 'select count(*) from shadowgate.pairs' 2>/dev/null || true
}
pairs0=""
if [[ $PAIR_LOG == 1 && -n $DB_URL ]]; then pairs0=$(pairs_count); fi

declare -A SENT=()   # requests wrk completed against each target (+ the probe), for the pair-log check
declare -A RUNS=()   # wrk runs against each target: each may leave up to CONNS requests in flight at its end
start_wait=30
[[ $PAIR_LOG == 1 && -z $DB_URL ]] && start_wait=180   # the embedded PostgreSQL has to start first
for t in $TARGETS; do
    url="http://127.0.0.1:${PORT[$t]}$PREDICT"
    case $t in
    stub-direct)
        PID[$t]=$LEG_PID
        wait_s=10 ;;
    nginx-proxy | nginx-mirror)
        "$B/gen_nginx_conf.sh" "${t#nginx-}" "$WORK/ngx-$t" "${PORT[$t]}" >/dev/null
        PID[$t]=$(start_nginx "$WORK/ngx-$t"); NGINX_PIDS+=("${PID[$t]}")
        wait_s=10 ;;
    nio-*)
        floor_args=("${PORT[$t]}" "$LEGACY_PORT")
        [[ $t == *-mirror* ]] && floor_args+=("$LEARNER_PORT")
        [[ $t == *-work ]] && floor_args=(--work-us "${FLOOR_WORK_US:-20}" "${floor_args[@]}")
        [[ $t == nio-bytes-* ]] && floor_args=(--bytes "${floor_args[@]}")
        "$FLOOR_BIN" "${floor_args[@]}" </dev/null >"$WORK/$t.log" 2>&1 &
        PID[$t]=$!; GATE_PIDS+=("${PID[$t]}")
        wait_s=10 ;;
    gate-*)
        write_gate_config "$t" "$WORK/$t.yaml"
        args=("$GATE_SERVE" --config "$WORK/$t.yaml")
        if [[ $PAIR_LOG == 1 ]]; then args+=(--migrations "$REPO/migrations"); else args+=(--no-pair-log); fi
        log "starting $t: $GATEWAY ${args[*]}"
        # The admin listener wants a token (serve refuses to start without one).
        SHADOWGATE_ADMIN_TOKEN=${SHADOWGATE_ADMIN_TOKEN:-bench-token} "$GATEWAY" "${args[@]}" </dev/null >"$WORK/$t.log" 2>&1 &
        PID[$t]=$!; GATE_PIDS+=("${PID[$t]}")
        wait_s=$start_wait ;;
    esac
    if ! body=$(post_ok "$url" "$B/body.json" "$wait_s" "${PID[$t]}"); then
        [[ -f $WORK/$t.log ]] && tail -n 20 "$WORK/$t.log" >&2
        if ! kill -0 "${PID[$t]}" 2>/dev/null; then
            st=0; wait "${PID[$t]}" || st=$?
            die "$t exited at start (status $st; log above)"
        fi
        die "$t does not answer 200 on $url within ${wait_s}s"
    fi
    SENT[$t]=1
    [[ $body == "$LEGACY_BODY" ]] || log "WARNING: $t answered '$body', the legacy stub answers '$LEGACY_BODY'"
    log "$t up on :${PORT[$t]} (pid ${PID[$t]})"
done

# ---------------------------------------------------------------- load
run_wrk() {  # <url> <seconds> <output file>: wrk in the background so signals reach our traps
    local rc=0
    local script=$B/post.lua
    [[ -n ${PACE_MS:-} ]] && script=$B/post_paced.lua
    PACE_MS=${PACE_MS:-} timeout $(($2 + 30)) wrk -t"$WRK_THREADS" -c"$CONNS" -d"${2}s" --latency -s "$script" "$1" >"$3" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return "$rc"
}
wrk_requests() { awk '/requests in/ { print $1 }' "$1"; }
pct() { to_ms "$(awk -v p="$1" '$1 == p { print $2 }' "$2")"; }   # <50%|99%|...> <wrk output>

for t in $TARGETS; do
    log "warm-up $t (${WARMUP}s)"
    run_wrk "http://127.0.0.1:${PORT[$t]}$PREDICT" "$WARMUP" "$RAW/warmup_$t.txt" || die "wrk warm-up of $t failed: $(tail -n 3 "$RAW/warmup_$t.txt")"
    SENT[$t]=$((SENT[$t] + $(wrk_requests "$RAW/warmup_$t.txt"))); RUNS[$t]=1
done

# The PostgreSQL server the pair log writes to, when it runs on this machine: its CPU per request is
# part of the machine's budget (summarize.sh's "CPU budget"). Its backends are its direct children.
DB_PID=""
if [[ $PAIR_LOG == 1 && -n $DB_URL ]]; then DB_PID=$(postgres_pid "$DB_URL"); fi
echo "ts,target,rep,conns,duration_s,requests,rps,p50_ms,p75_ms,p90_ms,p99_ms,non2xx,sock_errors,proxy_cpu_s,proxy_cpu_us_per_req,stubs_cpu_us_per_req,machine_busy_cores,legacy_reqs,legacy_new_conns,learner_reqs,learner_new_conns,legacy_open,learner_open,proxy_sys_us_per_req,wrk_cpu_us_per_req,db_cpu_us_per_req,cores" >"$OUT"
failed=0
declare -A DEAD=()
for rep in $(seq "$REPS"); do
    for t in $TARGETS; do
        [[ -z ${DEAD[$t]:-} ]] || continue
        f=$RAW/${t}_r$rep.txt
        # Read through command substitutions (waited for at once), here and after the run, not
        # process substitutions: a helper reaped during a wrk run would count as wrk's CPU.
        read -r la0 lr0 <<<"$(stub_counters "$LEGACY_STATUS_PORT")" && [[ -n $lr0 ]] || die "legacy stub_status unreadable"
        read -r sa0 sr0 <<<"$(stub_counters "$LEARNER_STATUS_PORT")" && [[ -n $sr0 ]] || die "learner stub_status unreadable"
        read -r pt0 pk0 <<<"$(cpu_split_ticks "${PID[$t]}")"; st0=$(cpu_ticks "$LEG_PID" "$LRN_PID"); read -r mb0 mt0 <<<"$(machine_ticks)"
        db0=0; [[ -n $DB_PID ]] && db0=$(server_ticks "$DB_PID")
        waited_child_ticks; wk0=$WAITED_CHILD_TICKS
        rc=0; run_wrk "http://127.0.0.1:${PORT[$t]}$PREDICT" "$DURATION" "$f" || rc=$?
        waited_child_ticks; wk1=$WAITED_CHILD_TICKS
        read -r pt1 pk1 <<<"$(cpu_split_ticks "${PID[$t]}")"; st1=$(cpu_ticks "$LEG_PID" "$LRN_PID"); read -r mb1 mt1 <<<"$(machine_ticks)"
        db1=0; [[ -n $DB_PID ]] && db1=$(server_ticks "$DB_PID")
        read -r la1 lr1 <<<"$(stub_counters "$LEGACY_STATUS_PORT")" && [[ -n $lr1 ]] || die "legacy stub_status unreadable"
        read -r sa1 sr1 <<<"$(stub_counters "$LEARNER_STATUS_PORT")" && [[ -n $sr1 ]] || die "learner stub_status unreadable"
        lo=$(estab_conns "$LEGACY_PORT" "${PID[$t]}"); so=$(estab_conns "$LEARNER_PORT" "${PID[$t]}")
        if ! kill -0 "${PID[$t]}" 2>/dev/null; then
            log "ERROR: $t (pid ${PID[$t]}) died during rep $rep"; [[ -f $WORK/$t.log ]] && tail -n 20 "$WORK/$t.log" >&2
            DEAD[$t]=1; failed=1
            wk1=-1   # a dead front was reaped by this shell: its CPU is in the count, so no wrk figure
        fi
        n=$(wrk_requests "$f")
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
        if ((rc != 0)) || [[ -z $n || -z $rps ]]; then
            log "ERROR: wrk against $t failed (rc $rc): $(tail -n 3 "$f" | tr '\n' ' ')"; failed=1; continue
        fi
        SENT[$t]=$((SENT[$t] + n)); RUNS[$t]=$((RUNS[$t] + 1))
        non2xx=$(awk -F': ' '/Non-2xx/ { print $2 }' "$f"); non2xx=${non2xx:-0}
        sockerr=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$f"); sockerr=${sockerr:-0}
        # stub_status counters: the closing curl itself is one accepted connection and one request
        line=$(awk -v OFS=, -v ts="$(date +%H:%M:%S)" -v t="$t" -v rep="$rep" -v c="$CONNS" -v d="$DURATION" \
            -v n="$n" -v rps="$rps" -v p50="$(pct 50% "$f")" -v p75="$(pct 75% "$f")" -v p90="$(pct 90% "$f")" -v p99="$(pct 99% "$f")" \
            -v e2="$non2xx" -v es="$sockerr" -v tck="$CLK_TCK" -v pt=$((pt1 - pt0)) -v pk=$((pk1 - pk0)) -v st=$((st1 - st0)) \
            -v mb=$((mb1 - mb0)) -v mt=$((mt1 - mt0)) -v ncpu="$(nproc)" \
            -v lr=$((lr1 - lr0 - 1)) -v lc=$((la1 - la0 - 1)) -v sr=$((sr1 - sr0 - 1)) -v sc=$((sa1 - sa0 - 1)) \
            -v lo="$lo" -v so="$so" -v wk=$((wk1 < 0 ? -1 : wk1 - wk0)) -v db=$((db1 - db0)) -v dbon="${DB_PID:+1}" 'BEGIN {
                print ts, t, rep, c, d, n, rps, p50, p75, p90, p99, e2, es,
                      sprintf("%.2f", pt / tck), sprintf("%.2f", pt / tck * 1e6 / n), sprintf("%.2f", st / tck * 1e6 / n),
                      sprintf("%.2f", (mt > 0 ? mb / mt * ncpu : 0)), lr, lc, sr, sc, lo, so, sprintf("%.2f", pk / tck * 1e6 / n),
                      (wk >= 0 ? sprintf("%.2f", wk / tck * 1e6 / n) : "nan"), (dbon ? sprintf("%.2f", db / tck * 1e6 / n) : "nan"), ncpu }')
        echo "$line" >>"$OUT"
        log "$line"
    done
done
[[ $(wc -l <"$OUT") -gt 1 ]] || die "no successful runs"

# ---------------------------------------------------------------- report
echo
"$B/summarize.sh" "$OUT" | tee -a "$RAW/README.md"

echo | tee -a "$RAW/README.md"
{
    echo "Upstream keep-alive (connections the stubs accepted during the measured runs; each wrk run ends with"
    echo "up to $CONNS requests in flight, and a proxy that drops the upstream connection of an aborted request"
    echo "reopens it in the next run, so up to $CONNS new connections per run are expected even with keep-alive):"
    for t in $TARGETS; do
        awk -F, -v t="$t" '$2 == t { n += $6; lc += $19; sc += $21; lr += $18; sr += $20 }
            END {
                if (n == 0) exit
                printf "- %s: legacy stub saw %d new connections for %d requests (%.0f requests per connection): %s", t, lc, n,
                       n / (lc > 0 ? lc : 1), (n >= 100 * lc ? "kept alive" : "NOT kept alive")
                if (sr >= 0.5 * n)
                    printf "; learner stub saw %d new connections for %d mirrored requests (%.0f per connection): %s", sc, sr,
                           sr / (sc > 0 ? sc : 1), (sr >= 100 * sc ? "kept alive" : "NOT kept alive")
                printf "\n"
            }' "$OUT"
    done
} | tee -a "$RAW/README.md"

if [[ $PAIR_LOG == 1 ]]; then
    echo
    if [[ -z $DB_URL ]]; then
        echo "Pair log: on (embedded PostgreSQL); set BENCH_DATABASE_URL to compare requests with rows. The embedded"
        echo "server's CPU is not in the PostgreSQL column or the budget (its postmaster counts as the gateway's)."
    else
        for t in $TARGETS; do
            [[ $t == gate-* ]] || continue
            stop_pid "${PID[$t]}" TERM 30   # graceful shutdown flushes the pair writer
        done
        sent=0 tol=0
        for t in $TARGETS; do [[ $t == gate-* ]] && sent=$((sent + SENT[$t])) && tol=$((tol + CONNS * RUNS[$t])); done
        pairs1=$(pairs_count); prev=""
        for _ in $(seq 20); do   # wait for the count to settle (writers may still be flushing)
            [[ $pairs1 == "$prev" ]] && break
            prev=$pairs1; sleep 0.5; pairs1=$(pairs_count)
        done
        if [[ -z $pairs1 ]]; then
            echo "Pair log: could not read shadowgate.pairs at BENCH_DATABASE_URL"
        else
            rows=$((pairs1 - ${pairs0:-0}))
            for t in $TARGETS; do [[ $t == gate-* ]] && echo "- completed by $t (route m_${t#gate-}, mode ${MODE[$t]}): ${SENT[$t]}"; done
            awk -v s="$sent" -v r="$rows" -v tol="$tol" 'BEGIN {
                printf "Pair log: %d requests completed by the gateways (probes + warm-up + measured; up to %d more were in flight\n", s, tol
                if (r >= s && r <= s + tol) verdict = "every request recorded"
                else verdict = sprintf("%+d rows vs completed requests (%.3f%%): MISMATCH", r - s, 100 * (r - s) / (s > 0 ? s : 1))
                printf "when wrk stopped), %d new rows in shadowgate.pairs: %s\n", r, verdict }'
        fi
    fi | tee -a "$RAW/README.md"
    if grep -q 'MISMATCH' "$RAW/README.md"; then failed=1; fi
fi

echo
echo "CSV: $OUT"
echo "raw wrk output and logs: $RAW/"
exit "$failed"

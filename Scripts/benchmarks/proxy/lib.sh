#!/usr/bin/env bash
# Helpers for Scripts/bench.sh: process start/stop by PID, CPU accounting, stub counters, wrk parsing.
# Sourced, not run.
# shellcheck shell=bash

# shellcheck disable=SC2034  # used by the scripts that source this file
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# port_in_use <port>: true if something listens on 127.0.0.1:<port> (or on any address)
port_in_use() {
    [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]
}

# start_nginx <prefix>: start nginx in the foreground (daemon off) as our background child;
# echoes the master PID once its worker(s) are up.
start_nginx() {
    local prefix=$1 pid
    nginx -t -q -p "$prefix" -e "$prefix/logs/error.log" -c "$prefix/conf/nginx.conf" >&2 ||
        die "nginx config $prefix/conf/nginx.conf is invalid"
    nginx -p "$prefix" -e "$prefix/logs/error.log" -c "$prefix/conf/nginx.conf" \
        </dev/null >"$prefix/logs/stdout.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        [[ -n $(ps -o pid= --ppid "$pid" 2>/dev/null) ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null || { tail -n 5 "$prefix/logs/error.log" >&2 || true; die "nginx ($prefix) exited at start"; }
    echo "$pid"
}

# stop_pid <pid> <signal> <seconds>: send <signal>, wait up to <seconds>, then SIGKILL.
# Only ever called with PIDs this script started.
stop_pid() {
    local pid=$1 sig=$2 secs=$3 i
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not exit after SIG$sig in ${secs}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# proc_pids <pid>: the PID and its direct children (nginx master + workers)
proc_pids() {
    echo "$1"
    ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true
}

# cpu_ticks <pid>...: utime+stime (clock ticks) of each PID and its direct children, summed.
# /proc/PID/stat of a process covers all of its threads.
cpu_ticks() {
    local total sys
    read -r total sys < <(cpu_split_ticks "$@")
    echo "$total"
}

# cpu_split_ticks <pid>...: "utime+stime stime" (clock ticks), summed like cpu_ticks. The kernel
# share is printed apart because on this kind of machine it grows with the front's own user time
# (waking the stubs and wrk costs more when they have had time to fall asleep).
cpu_split_ticks() {
    local t=0 s=0 p top u k
    for top in "$@"; do
        for p in $(proc_pids "$top"); do
            [[ -r /proc/$p/stat ]] || continue
            # strip "pid (comm) " so the fields count from state: utime = $12, stime = $13
            read -r u k < <(awk '{sub(/^.*\) /, ""); print $12, $13}' "/proc/$p/stat" 2>/dev/null || echo 0 0)
            t=$((t + ${u:-0} + ${k:-0})); s=$((s + ${k:-0}))
        done
    done
    echo "$t $s"
}

# reaped_ticks <pid>: sets REAPED_TICKS to cutime+cstime of a process: the CPU of the children it
# has reaped (and of theirs). Read with builtins only, so it forks nothing.
reaped_ticks() {
    local stat
    read -r stat </proc/"$1"/stat || { REAPED_TICKS=0; return; }
    local -a f
    read -r -a f <<<"${stat##*) }"   # fields from state on: cutime = f[13], cstime = f[14]
    REAPED_TICKS=$((f[13] + f[14]))
}

# waited_child_ticks: sets WAITED_CHILD_TICKS to the reaped_ticks of the current shell, without a
# fork: the difference across `run_wrk` is wrk's own CPU (plus `timeout`'s, a few ticks at most).
waited_child_ticks() {
    reaped_ticks "$BASHPID"
    WAITED_CHILD_TICKS=$REAPED_TICKS
}

# postgres_pid <url>: PID of the PostgreSQL server listening on the URL's TCP port (5432 when it
# names none) on this machine, or nothing (said on stderr).
postgres_pid() {
    local hostport=${1#*://}
    hostport=${hostport%%/*}; hostport=${hostport%%\?*}; hostport=${hostport##*@}
    local port=5432
    [[ $hostport == *:* ]] && port=${hostport##*:}
    local pid=""
    [[ $port =~ ^[0-9]+$ ]] && pid=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
    [[ -n $pid ]] || log "no PostgreSQL server found listening on port $port here: its CPU is left out"
    echo "$pid"
}

# server_ticks <pid>: CPU (clock ticks) of a server and all of its children over its lifetime so far:
# the children it has reaped (reaped_ticks), then itself and those alive (cpu_ticks). A child that
# ends between two readings moves from the second sum to the first: the difference of two readings
# counts it whole (PostgreSQL backends and autovacuum workers come and go).
server_ticks() {
    reaped_ticks "$1"
    echo $((REAPED_TICKS + $(cpu_ticks "$1")))
}

# machine_ticks: "busy total" jiffies of the whole machine (from /proc/stat)
machine_ticks() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# stub_counters <stub_status port>: "accepted_connections requests" of one stub nginx instance
stub_counters() {
    curl -s --max-time 2 "http://127.0.0.1:$1/stub_status" | awk 'NR == 3 { print $1, $3 }'
}

# estab_conns <dst port> <pid>...: ESTABLISHED TCP connections to 127.0.0.1:<dst port> owned by
# the given processes (or their direct children)
estab_conns() {
    local port=$1 pids p re=""
    shift
    pids=$(for p in "$@"; do proc_pids "$p"; done)
    for p in $pids; do re+="${re:+|}pid=$p,"; done
    [[ -n $re ]] || { echo 0; return; }
    ss -Htnp state established "dport = :$port" 2>/dev/null | grep -cE "$re" || true
}

# to_ms <wrk latency token like 850.00us / 1.23ms / 1.02s / 1.00m>
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/)      { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/)  { sub(/m$/, "", v);  printf "%.3f", v * 60000 }
        else if (v ~ /s$/)  { sub(/s$/, "", v);  printf "%.3f", v * 1000 }
        else print "NaN" }'
}

# median: of the numbers on stdin (one per line)
median() {
    sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) print "NaN"
        else if (NR % 2) print a[(NR + 1) / 2]
        else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# post_ok <url> <body file> <seconds>: POST until it answers 200 or time runs out.
# Echoes the response body of the first 200. Fails (returns 1) on timeout or when
# the optional 4th argument (a PID) dies.
post_ok() {
    local url=$1 body=$2 secs=$3 pid=${4:-} deadline code out
    out=$(mktemp)
    deadline=$((SECONDS + secs))
    while ((SECONDS < deadline)); do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then rm -f "$out"; return 1; fi
        code=$(curl -s -o "$out" -w '%{http_code}' --max-time 2 -X POST \
            -H 'Content-Type: application/json' --data-binary "@$body" "$url" 2>/dev/null) || code=000
        if [[ $code == 200 ]]; then cat "$out"; rm -f "$out"; return 0; fi
        sleep 0.2
    done
    rm -f "$out"
    return 1
}

# The setup of cpu_per_request.sh and callgrind.sh: two nginx stubs on LEGACY_PORT and LEARNER_PORT
# (stub_status on base+8 and base+9; their pids appended to PIDS) and $WORK/gate.yaml for one
# kserve-v1 route in mode $1 on GATE_PORT, with the pair log on when DATABASE_URL is set. Sets
# `args` (the gateway's arguments) and `pairlog` (on|off). Needs B, REPO, WORK, base.
single_route_gateway() {
    local mode=$1
    "$B/gen_nginx_conf.sh" stub "$WORK/ngx-legacy" "$LEGACY_PORT" $((base + 8)) 0.73 >/dev/null
    "$B/gen_nginx_conf.sh" stub "$WORK/ngx-learner" "$LEARNER_PORT" $((base + 9)) 0.71 >/dev/null
    PIDS+=("$(start_nginx "$WORK/ngx-legacy")") PIDS+=("$(start_nginx "$WORK/ngx-learner")")
    cat >"$WORK/gate.yaml" <<YAML
listen: 127.0.0.1:$GATE_PORT
event_loops: 1
routes:
  - name: m
    match: ["/v1/models/m:predict"]
    protocol: kserve-v1
    mode: $mode
    legacy:  { url: "http://127.0.0.1:$LEGACY_PORT", timeout_ms: 10000, pool: 64 }
    learner: { url: "http://127.0.0.1:$LEARNER_PORT", timeout_ms: 10000, pool: 64 }
YAML
    args=(serve --config "$WORK/gate.yaml")
    if [[ -n ${DATABASE_URL:-} ]]; then
        printf 'database:\n  url: "%s"\n  spool_dir: "%s"\n' "$DATABASE_URL" "$WORK/spool" >>"$WORK/gate.yaml"
        args+=(--migrations "$REPO/migrations"); pairlog=on
    else
        args+=(--no-pair-log); pairlog=off
    fi
}

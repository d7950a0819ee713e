#!/usr/bin/env bash
# REST through the gateway over TLS vs plain: the same gateway binary twice (route in `shadow`
# mode, pair log off) in front of the same nginx stubs, one with a plain client listener, one with
# an HTTPS listener (certificates made here with openssl), wrk alternating between them per rep.
# Also a third front whose upstreams are https:// (nginx stubs with TLS) to show the pooled
# upstream TLS cost. Called by `Scripts/bench.sh tls`; settings as in bench.sh (CONNS, DURATION,
# REPS, WARMUP, WRK_THREADS, GATEWAY_BIN, SKIP_BUILD).
#
# Ports (127.0.0.1): stubs 18281/18282 (TLS 18283/18284), gate-plain 18290, gate-tls 18291,
# gate-https-upstreams 18292. wrk keeps its connections open, so the listener's TLS cost is the
# record layer, not handshakes.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
B=$REPO/Scripts/benchmarks/proxy
# shellcheck source=Scripts/benchmarks/proxy/lib.sh
source "$B/lib.sh"
CONNS=${CONNS:-32} DURATION=${DURATION:-10} REPS=${REPS:-3} WARMUP=${WARMUP:-2} WRK_THREADS=${WRK_THREADS:-1}
PREDICT=/v1/models/m:predict
WORK=$(mktemp -d /tmp/shadowgate-bench-tls.XXXXXX)
PIDS=()
cleanup() {
    local rc=$? p
    set +e
    for p in "${PIDS[@]}"; do stop_pid "$p" TERM 10; done
    [[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for tool in nginx wrk curl openssl; do command -v $tool >/dev/null || die "$tool is missing (Scripts/dev/install-deps.sh)"; done

if [[ -n ${GATEWAY_BIN:-} ]]; then
    GATEWAY=$GATEWAY_BIN
else
    [[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$REPO" && swift build -c release --product shadowgate >&2) || die "swift build failed"
    GATEWAY=$(cd "$REPO" && swift build -c release --show-bin-path)/shadowgate
fi
[[ -x $GATEWAY ]] || die "no gateway binary at $GATEWAY"

# ---- certificates: a CA and a server certificate for 127.0.0.1 / localhost
(
    cd "$WORK"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out server.key 2>/dev/null
    openssl req -new -key server.key -out server.csr -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
)

# ---- stubs: nginx answering the predict call, plain and TLS
stub() {  # <dir> <port> <tls port> <score>
    mkdir -p "$1/logs" "$1/conf"
    cat >"$1/conf/nginx.conf" <<NGX
worker_processes 1;
pid $1/logs/nginx.pid;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$2;
        listen 127.0.0.1:$3 ssl;
        ssl_certificate $WORK/server.pem;
        ssl_certificate_key $WORK/server.key;
        location / { default_type application/json; return 200 '{"predictions":[$4]}'; }
    }
}
NGX
    start_nginx "$1"
}
PIDS+=("$(stub "$WORK/legacy" 18281 18283 0.73)")
PIDS+=("$(stub "$WORK/learner" 18282 18284 0.71)")

gate() {  # <name> <port> <tls yaml> <scheme> <legacy port> <learner port>
    cat >"$WORK/$1.yaml" <<YAML
listen: 127.0.0.1:$2
event_loops: 1
$3
routes:
  - name: m
    match: ["$PREDICT"]
    protocol: kserve-v1
    mode: shadow
    legacy:  { url: "$4://127.0.0.1:$5", timeout_ms: 1000, pool: 64$([[ $4 == https ]] && echo ", tls: { ca_file: $WORK/ca.pem }") }
    learner: { url: "$4://127.0.0.1:$6", timeout_ms: 300, pool: 64$([[ $4 == https ]] && echo ", tls: { ca_file: $WORK/ca.pem }") }
YAML
    "$GATEWAY" serve --config "$WORK/$1.yaml" --no-pair-log </dev/null >"$WORK/$1.log" 2>&1 &
    PIDS+=("$!")
}
gate gate-plain 18290 "" http 18281 18282
gate gate-tls 18291 "tls: { cert_file: $WORK/server.pem, key_file: $WORK/server.key }" http 18281 18282
gate gate-https-up 18292 "" https 18283 18284
declare -A URL=([gate-plain]=http://127.0.0.1:18290$PREDICT [gate-tls]=https://127.0.0.1:18291$PREDICT [gate-https-up]=http://127.0.0.1:18292$PREDICT)
for t in gate-plain gate-tls gate-https-up; do
    for _ in $(seq 100); do
        curl -sf --cacert "$WORK/ca.pem" -d @"$B/body.json" "${URL[$t]}" >/dev/null 2>&1 && break
        sleep 0.2
    done
    curl -sf --cacert "$WORK/ca.pem" -d @"$B/body.json" "${URL[$t]}" >/dev/null || { tail "$WORK/$t.log" >&2; die "$t does not answer"; }
done

log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s x $REPS"
printf '%-15s %5s %10s %8s %8s\n' target rep req/s p50_ms p99_ms
for rep in $(seq "$REPS"); do
    for t in gate-plain gate-tls gate-https-up; do
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$B/post.lua" "${URL[$t]}" >/dev/null 2>&1 || true
        out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$B/post.lua" "${URL[$t]}" 2>&1)
        rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
        p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
        p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
        printf '%-15s %5s %10s %8s %8s\n' "$t" "$rep" "$rps" "$p50" "$p99"
    done
done

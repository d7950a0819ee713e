#!/usr/bin/env bash
# A multi-host test on one machine: three gateway replicas, each in its own network namespace,
# PostgreSQL in another, HAProxy (health checks on /readyz) in front, and a client namespace
# sending bounded traffic. Asserts and prints timings:
#   1. requests spread over the three replicas; a sticky key gets the same model from every replica
#   2. rolling restart (SIGTERM one replica at a time, started again) under load: 0 client errors,
#      every answered inference request is exactly one pair
#   3. the leader cut off from PostgreSQL (iptables DROP in its namespace): another replica leads
#      within 10 s, and no decision of the old leader reaches the database after the cut
#   4. a flag changed while that replica is cut off reaches it within 5 s after the link is back
#   5. PostgreSQL restarted under traffic: every replica keeps serving and re-listens (a flag change
#      reaches all three within 5 s), pairs spooled meanwhile are replayed, none lost
# Everything it creates (namespaces, processes, iptables rules inside its namespaces, files) is
# removed by a trap. Addresses: 10.231.0.0/24 inside its own namespaces only (the bridge lives in a
# namespace of its own too); nothing is bound outside them.
#
# usage: Scripts/scale-test.sh [--binary PATH] [--rate N]   (root; Linux with network namespaces)
#   --rate  client requests per second (default 40); SCALE_MEASURE=1 prints pairs/s figures too.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BINARY=${SHADOWGATE_BIN:-}
RATE=40
while (($#)); do
    case $1 in
        --binary) BINARY=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        *) echo "scale-test: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -n $BINARY ]] || BINARY="$(swift build --show-bin-path)/shadowgate"
BINARY=$(realpath "$BINARY")
for tool in ip iptables haproxy curl python3 psql runuser; do
    command -v "$tool" >/dev/null || { echo "scale-test: $tool not found (Scripts/dev/install-deps.sh installs it)" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "scale-test: needs root (network namespaces)" >&2; exit 1; }
[[ -x $BINARY ]] || { echo "scale-test: binary $BINARY not found: swift build first" >&2; exit 1; }
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

P=sg$(( $$ % 10000 ))            # namespace prefix: unique per run
NET=10.231.0
PG_IP=$NET.10 LB_IP=$NET.20 CLI_IP=$NET.30
GW_IP=("" $NET.11 $NET.12 $NET.13)
WORK=$(mktemp -d /tmp/shadowgate-scale.XXXXXX)
chmod 755 "$WORK"
PIDS=()
GW_PID=("" "" "" "")
T_START=$(date +%s.%N)

log() { printf '[scale %6.1fs] %s\n' "$(elapsed "$T_START")" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
ns() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
sql() { ns pg psql -h "$PG_IP" -U postgres -d scale -XqAt -v ON_ERROR_STOP=1 -c "$1"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
below() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x + 0 <= y + 0) }'; }   # X <= Y

cleanup() {
    local status=$?
    set +e
    for pid in "${GW_PID[@]}" "${PIDS[@]}"; do
        [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${GW_PID[@]}" "${PIDS[@]}"; do [[ -n $pid ]] && wait "$pid" 2>/dev/null; done
    [[ -f $WORK/pg/postmaster.pid ]] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
    # Anything still running inside our namespaces is ours: deleting a namespace does not end its processes.
    for n in sw pg lb cli gw1 gw2 gw3; do
        for pid in $(ip netns pids "$P$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    done
    sleep 0.2
    for n in sw pg lb cli gw1 gw2 gw3; do ip netns del "$P$n" 2>/dev/null; done
    if [[ $status != 0 ]]; then
        for f in "$WORK"/gw*.log "$WORK"/pg.log "$WORK"/haproxy.log; do
            [[ -f $f ]] && { echo "--- tail of $f" >&2; tail -15 "$f" >&2; }
        done
    fi
    if [[ $status != 0 ]]; then
        # A replica that crashed says why before its backtrace; the rest of its log is kept too.
        grep -h -B2 -A25 -E 'Fatal error|Crash at|💣' "$WORK"/gw*.log 2>/dev/null | head -80 >&2
        FAILED_LOGS=/tmp/shadowgate-scale-failed.$$
        mkdir -p "$FAILED_LOGS" && cp "$WORK"/*.log "$FAILED_LOGS"/ 2>/dev/null && echo "scale-test: logs kept in $FAILED_LOGS" >&2
    fi
    rm -rf "$WORK"
    left=$(ip netns list | grep -c "^$P" || true)
    [[ $left == 0 ]] || echo "scale-test: WARNING: $left namespace(s) left behind" >&2
    stray=$(pgrep -f "$WORK|Scripts/scale-out/model_stub.py 127.0.0.1 900" 2>/dev/null | grep -vx "$$" | wc -l)
    [[ $stray == 0 ]] || echo "scale-test: WARNING: $stray process(es) left behind" >&2
    exit $status
}
trap cleanup EXIT
# A signal ends the run as a failure (128 + its number); the EXIT trap then cleans up, once.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --- network: a switch namespace with a bridge, one veth per node -----------------------------------
log "network namespaces $P*: switch, pg, lb, cli, gw1..3 on $NET.0/24"
ip netns add "${P}sw"
ip -n "${P}sw" link add br0 type bridge
ip -n "${P}sw" link set br0 up
ip -n "${P}sw" link set lo up
addr_of() { case $1 in pg) echo $PG_IP ;; lb) echo $LB_IP ;; cli) echo $CLI_IP ;; gw*) echo "${GW_IP[${1#gw}]}" ;; esac; }
for n in pg lb cli gw1 gw2 gw3; do
    ip netns add "$P$n"
    ip -n "${P}sw" link add "v$n" type veth peer name eth0 netns "$P$n"
    ip -n "${P}sw" link set "v$n" master br0 up
    ip -n "$P$n" addr add "$(addr_of $n)/24" dev eth0
    ip -n "$P$n" link set eth0 up
    ip -n "$P$n" link set lo up
done
ns cli ping -c1 -W2 "$PG_IP" >/dev/null 2>&1 || ns cli bash -c "exec 3<>/dev/tcp/$PG_IP/9" 2>/dev/null || true

# --- PostgreSQL in its namespace ------------------------------------------------------------------
log "PostgreSQL in ${P}pg at $PG_IP:5432"
mkdir -p "$WORK/pg" && chown postgres:postgres "$WORK/pg" && chmod 700 "$WORK/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
cat >> "$WORK/pg/postgresql.conf" <<EOF
listen_addresses = '$PG_IP'
port = 5432
unix_socket_directories = '$WORK/pg'
max_connections = 200
fsync = ${SCALE_PG_FSYNC:-off}
synchronous_commit = ${SCALE_PG_SYNC:-off}
EOF
echo "host all all $NET.0/24 trust" >> "$WORK/pg/pg_hba.conf"
pg_start() { touch "$WORK/pg.log"; chown postgres "$WORK/pg.log"; ns pg runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start >/dev/null; }
pg_start
ns pg psql -h "$PG_IP" -U postgres -XqAt -c "CREATE DATABASE scale" >/dev/null
URL="postgresql://postgres@$PG_IP:5432/scale"
ns pg "$BINARY" migrate --database-url "$URL" >/dev/null
# Test-only: every write of the controller's evaluation, with its author, to check fencing.
sql "CREATE TABLE public.controller_writes (controller text, at timestamptz NOT NULL DEFAULT clock_timestamp());
     CREATE FUNCTION public.log_controller_write() RETURNS trigger LANGUAGE plpgsql AS
       \$\$ BEGIN INSERT INTO public.controller_writes (controller) VALUES (NEW.controller); RETURN NEW; END \$\$;
     CREATE TRIGGER zz_log AFTER INSERT OR UPDATE ON shadowgate.rollout_state
       FOR EACH ROW EXECUTE FUNCTION public.log_controller_write();" >/dev/null

# --- gateways: each with its legacy model and learner on its own loopback --------------------------
cat > "$WORK/gateway.yaml" <<EOF
listen: 0.0.0.0:8080
database:
  url: $URL
  control_url: $URL
  flush_ms: 20
  embedded_data_dir: $WORK/unused
routes:
  - name: churn
    match: ["/v2/models/churn/infer"]
    protocol: oip-v2
    mode: canary
    canary_percent: 50
    shadow_percent: 100
    sticky_key: header:x-user-id
    legacy:  { url: "http://127.0.0.1:9001", timeout_ms: 2000, pool: 32 }
    learner: { url: "http://127.0.0.1:9002", timeout_ms: 2000, pool: 32 }
    promotion:
      steps: [50, 100]
      window: 1m
      dwell: 1m
      evaluate_every: 500ms
      min_pairs: 100000000
      min_labels: 100000000
      gates:
        learner_error_rate_max: 0.5
EOF
for i in 1 2 3; do
    # Started with `ip netns exec` directly (not through a shell function): $! is the process itself.
    ip netns exec "${P}gw$i" python3 Scripts/scale-out/model_stub.py 127.0.0.1 9001 legacy-1 & PIDS+=($!)
    ip netns exec "${P}gw$i" python3 Scripts/scale-out/model_stub.py 127.0.0.1 9002 learner-1 & PIDS+=($!)
done
start_gateway() {
    local i=$1
    mkdir -p "$WORK/gw$i"
    # `ip netns exec` execs the binary: $! is the gateway's own pid (part of its controller identity).
    ( cd "$WORK/gw$i" && SHADOWGATE_DATABASE__SPOOL_DIR="$WORK/gw$i/spool" exec ip netns exec "${P}gw$i" "$BINARY" serve --config "$WORK/gateway.yaml" >>"$WORK/gw$i.log" 2>&1 ) &
    GW_PID[$i]=$!
}
ready() { ns cli curl -fs -o /dev/null --max-time 1 "http://${GW_IP[$1]}:8080/readyz"; }
wait_ready() {
    local i=$1 deadline=$(( $(date +%s) + 30 ))
    until ready "$i"; do
        (( $(date +%s) < deadline )) || fail "gateway $i not ready within 30 s"
        kill -0 "${GW_PID[$i]}" 2>/dev/null || fail "gateway $i exited at start-up"
        sleep 0.1
    done
}
for i in 1 2 3; do start_gateway $i; done
for i in 1 2 3; do wait_ready $i; done
log "3 gateways ready (pids ${GW_PID[*]:1})"

# --- HAProxy ------------------------------------------------------------------------------------
cat > "$WORK/haproxy.cfg" <<EOF
global
    maxconn 4000
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 10s
    timeout http-keep-alive 30s
    retries 3
    option redispatch 1
    option http-buffer-request
    retry-on conn-failure empty-response
frontend gateways
    bind $LB_IP:8080
    default_backend gateways
frontend stats
    bind $LB_IP:8404
    stats enable
    stats uri /stats
backend gateways
    balance roundrobin
    http-reuse never
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header x-backend %[srv_name]
    server gw1 ${GW_IP[1]}:8080 check inter 500ms fall 2 rise 2
    server gw2 ${GW_IP[2]}:8080 check inter 500ms fall 2 rise 2
    server gw3 ${GW_IP[3]}:8080 check inter 500ms fall 2 rise 2
EOF
haproxy -c -q -f "$WORK/haproxy.cfg"
ip netns exec "${P}lb" haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 & PIDS+=($!)
up_servers() { ns cli curl -fsS --max-time 1 "http://$LB_IP:8404/stats;csv" 2>/dev/null | awk -F, '$1=="gateways" && $2 ~ /^gw/ && $18=="UP" {n++} END {print n+0}'; }
wait_up() {
    local want=$1 deadline=$(( $(date +%s) + 20 ))
    until [[ $(up_servers) == "$want" ]]; do
        (( $(date +%s) < deadline )) || fail "HAProxy does not see $want replicas up"
        sleep 0.1
    done
}
wait_up 3
log "HAProxy at $LB_IP:8080 sees 3 replicas up"

client() { ip netns exec "${P}cli" python3 Scripts/scale-out/client.py "http://$LB_IP:8080/v2/models/churn/infer" "$@"; }
client_bg() { ip netns exec "${P}cli" python3 Scripts/scale-out/client.py "http://$LB_IP:8080/v2/models/churn/infer" "$@" & CLIENT=$!; PIDS+=($CLIENT); }
pairs_of() {  # FILE: prints "answered pairs distinct" for the 200-answered inference requests in FILE
    python3 -c 'import json,sys; [print(r["request_id"]) for r in map(json.loads, open(sys.argv[1])) if r["status"] == 200]' "$1" > "$WORK/ids.txt"
    chmod 644 "$WORK/ids.txt"
    sql "CREATE TEMP TABLE ids (request_id text);
         COPY ids FROM '$WORK/ids.txt';
         SELECT (SELECT count(*) FROM ids), count(p.request_id), count(DISTINCT p.request_id)
         FROM ids JOIN shadowgate.pairs p USING (request_id);" | tail -1
}
wait_pairs() {  # FILE TIMEOUT: waits until every answered request has its pair; prints the final figures
    local deadline=$(( $(date +%s) + $2 )) r
    while :; do
        r=$(pairs_of "$1")
        read -r answered pairs distinct <<<"${r//|/ }"
        if [[ $pairs -ge $answered ]] || (( $(date +%s) >= deadline )); then echo "$answered $pairs $distinct"; return; fi
        sleep 0.5
    done
}
canary_of() { ns cli curl -fsS --max-time 1 "http://${GW_IP[$1]}:8080/metrics" 2>/dev/null | awk '/^shadowgate_route_canary_percent\{route="churn"\}/ {print $2+0}'; }
set_canary() { sql "SELECT revision FROM shadowgate.set_flags('churn', 'canary', $1, 'cli:scale-test', 'set', 'scale test')" >/dev/null; }
wait_canary() {  # REPLICA PERCENT TIMEOUT: seconds until the replica applies the percent, or fails
    local t0; t0=$(now)
    while [[ $(canary_of "$1") != "$2" ]]; do
        below "$(elapsed "$t0")" "$3" || { echo "timeout"; return; }
        sleep 0.05
    done
    printf '%.2f' "$(elapsed "$t0")"
}

# --- 1. spread and stickiness -----------------------------------------------------------------------
log "1. spread: $RATE req/s for 6 s through HAProxy"
client "$RATE" 6 "$WORK/spread.jsonl" --keys 40
read -r total bad g1 g2 g3 <<<"$(python3 - "$WORK/spread.jsonl" <<'EOF'
import json, sys, collections
rs = [json.loads(l) for l in open(sys.argv[1])]
c = collections.Counter(r.get("backend") for r in rs if r["status"] == 200)
print(len(rs), sum(r["status"] != 200 for r in rs), c["gw1"], c["gw2"], c["gw3"])
EOF
)"
log "   $total requests, $bad not 200; per replica: gw1 $g1, gw2 $g2, gw3 $g3"
[[ $bad == 0 ]] || fail "$bad requests failed in the spread phase"
for g in $g1 $g2 $g3; do (( g * 5 >= total )) || fail "requests not spread over the three replicas ($g1/$g2/$g3)"; done
STICKY_DIFF=0 STICKY_SEEN="" RELISTEN=""
for k in $(seq 0 19); do
    seen=""
    for i in 1 2 3; do
        s=$(ns cli curl -fsS -o /dev/null -D - -X POST -H 'content-type: application/json' -H "x-user-id: sticky-$k" \
            --data '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,1],"data":[1]}]}' \
            "http://${GW_IP[$i]}:8080/v2/models/churn/infer" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-shadowgate-served-by" {print $2}')
        seen="$seen $s"
    done
    [[ $(echo $seen | tr ' ' '\n' | sort -u | wc -l) == 1 ]] || STICKY_DIFF=$((STICKY_DIFF + 1))
    STICKY_SEEN="$STICKY_SEEN $(echo $seen | awk '{print $1}')"
done
learners=$(echo $STICKY_SEEN | tr ' ' '\n' | grep -c learner || true)
log "   sticky: 20 keys x 3 replicas, $STICKY_DIFF key(s) with different models; $learners of 20 keys on the learner at 50 %"
[[ $STICKY_DIFF == 0 ]] || fail "a sticky key got different models from different replicas"
(( learners > 0 && learners < 20 )) || fail "canary 50 % put all 20 keys on one model"

# --- 2. rolling restart under load --------------------------------------------------------------
log "2. rolling restart under $RATE req/s: SIGTERM one replica at a time, start it again"
client_bg "$RATE" 16 "$WORK/rolling.jsonl"
sleep 2
T_ROLL=$(now)
for i in 1 2 3; do
    t=$(now)
    kill -TERM "${GW_PID[$i]}"
    wait "${GW_PID[$i]}" || fail "gateway $i did not exit 0 after SIGTERM"
    stopped=$(elapsed "$t")
    start_gateway $i
    wait_ready $i
    sleep 1.5   # two HAProxy health checks: the replica is surely back in rotation
    wait_up 3
    log "   gw$i: drained and exited in $(printf %.2f "$stopped") s, back in rotation after $(printf %.2f "$(elapsed "$t")") s"
done
ROLL_SECONDS=$(printf %.1f "$(elapsed "$T_ROLL")")
wait "$CLIENT"
read -r rtotal rbad <<<"$(python3 -c 'import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; print(len(rs), sum(r["status"]!=200 for r in rs))' "$WORK/rolling.jsonl")"
[[ $rbad == 0 ]] || { grep -v '"status": 200' "$WORK/rolling.jsonl" | head -5; fail "$rbad client errors during the rolling restart"; }
read -r answered pairs distinct <<<"$(wait_pairs "$WORK/rolling.jsonl" 15)"
log "   rolling restart ($ROLL_SECONDS s): $rtotal requests, $rbad errors; $answered answered, $pairs pairs ($distinct distinct)"
[[ $pairs == "$answered" && $distinct == "$answered" ]] || fail "answered $answered inference requests but found $pairs pairs ($distinct distinct)"

# --- 3. leader cut off from PostgreSQL ------------------------------------------------------------
leader_holder() { sql "SELECT holder FROM shadowgate.leader_epochs WHERE role = 'promotion'"; }
replica_of() { local pid=${1##*:} i; for i in 1 2 3; do if [[ ${GW_PID[$i]} == "$pid" ]]; then echo $i; fi; done; }
deadline=$(( $(date +%s) + 15 ))
until [[ -n $(replica_of "$(leader_holder)") ]]; do (( $(date +%s) < deadline )) || fail "no replica leads"; sleep 0.2; done
OLD=$(leader_holder); L=$(replica_of "$OLD")
log "3. leader is gw$L ($OLD); cutting it off from PostgreSQL (iptables DROP both ways in its namespace)"
ns gw$L iptables -A OUTPUT -d "$PG_IP" -j DROP
ns gw$L iptables -A INPUT -s "$PG_IP" -j DROP
CUT_AT=$(sql "SELECT clock_timestamp()")
T_CUT=$(now)
NEW=$OLD
while [[ $NEW == "$OLD" ]]; do
    below "$(elapsed "$T_CUT")" 20 || fail "no other replica took over within 20 s"
    sleep 0.1
    NEW=$(leader_holder)
done
FAILOVER=$(printf %.2f "$(elapsed "$T_CUT")")
log "   gw$(replica_of "$NEW") ($NEW) leads after $FAILOVER s"
below "$FAILOVER" 10 || fail "failover took $FAILOVER s (> 10 s)"

# --- 4. a flag changed while the old leader is cut off ---------------------------------------------
set_canary 20
for i in 1 2 3; do [[ $i == "$L" ]] && continue; w=$(wait_canary $i 20 5); [[ $w != timeout ]] || fail "gw$i did not apply the flag"; done
sleep 1
[[ $(canary_of "$L") == 50 ]] || fail "the cut-off replica gw$L applied a flag it cannot have read"
ns gw$L iptables -D INPUT -s "$PG_IP" -j DROP
ns gw$L iptables -D OUTPUT -d "$PG_IP" -j DROP
CUT_SECONDS=$(printf %.1f "$(elapsed "$T_CUT")")
CONVERGE=$(wait_canary "$L" 20 10)
log "   link back after $CUT_SECONDS s; gw$L applied the flag changed meanwhile after $CONVERGE s"
[[ $CONVERGE != timeout ]] && below "$CONVERGE" 5 || fail "the flag reached gw$L $CONVERGE s after the link came back (> 5 s)"
sleep 3
STALE=$(sql "SELECT count(*) FROM public.controller_writes WHERE controller = '$OLD' AND at > '$CUT_AT'")
NEWW=$(sql "SELECT count(*) FROM public.controller_writes WHERE controller = '$NEW' AND at > '$CUT_AT'")
log "   controller writes after the cut: $STALE from the old leader, $NEWW from the new one"
[[ $STALE == 0 ]] || fail "the old leader's decisions reached the database after the cut ($STALE writes)"
(( NEWW > 0 )) || fail "the new leader wrote no evaluation"
[[ $(leader_holder) == "$NEW" ]] || fail "leadership moved back to the old leader after the link came back"
grep -q 'stepping down\|leadership lost' "$WORK/gw$L.log" || fail "gw$L never logged that it stepped down"

# --- 5. PostgreSQL restarted under traffic ----------------------------------------------------------
log "5. PostgreSQL restarted (fast shutdown, 3 s down) under $RATE req/s"
client_bg "$RATE" 16 "$WORK/pgrestart.jsonl"
sleep 3
ns pg runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null
sleep 3
pg_start
T_PG=$(now)
set_canary 35
for i in 1 2 3; do
    w=$(wait_canary $i 35 10)
    [[ $w != timeout ]] || fail "gw$i did not re-listen after the PostgreSQL restart"
    RELISTEN="$RELISTEN gw$i:${w}s"
done
RELISTEN_ALL=$(printf %.2f "$(elapsed "$T_PG")")
wait "$CLIENT"
read -r ptotal pbad <<<"$(python3 -c 'import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; print(len(rs), sum(r["status"]!=200 for r in rs))' "$WORK/pgrestart.jsonl")"
read -r answered2 pairs2 distinct2 <<<"$(wait_pairs "$WORK/pgrestart.jsonl" 30)"
metric_sum() { local i t=0 v; for i in 1 2 3; do
    v=$(ns cli curl -fsS --max-time 1 "http://${GW_IP[$i]}:8080/metrics" | awk -v m="$1" '$1 == m {print int($2)}')
    t=$((t + ${v:-0})); done; echo $t; }
deadline=$(( $(date +%s) + 30 ))
while spooled=$(metric_sum shadowgate_pairs_spooled_total); replayed=$(metric_sum shadowgate_pairs_replayed_total); (( replayed < spooled )); do
    (( $(date +%s) < deadline )) || break
    sleep 0.5
done
log "   $ptotal requests, $pbad errors; flag after restart reached every replica within $RELISTEN_ALL s ($RELISTEN )"
log "   $answered2 answered, $pairs2 pairs ($distinct2 distinct); $spooled pairs spooled while it was down, $replayed replayed"
[[ $pbad == 0 ]] || fail "$pbad client errors while PostgreSQL restarted"
[[ $pairs2 == "$answered2" && $distinct2 == "$answered2" ]] || fail "pairs lost or doubled across the PostgreSQL restart ($pairs2 of $answered2)"
(( spooled > 0 )) || fail "no pair was spooled while PostgreSQL was down (the outage did not exercise the spool)"
(( replayed == spooled )) || fail "$spooled pairs spooled but $replayed replayed"

MEASURE=""
if [[ ${SCALE_MEASURE:-0} == 1 ]]; then
    # 6a. the pair writer alone, three at once (one per replica namespace, over the bridge): what one
    #     PostgreSQL takes. 6b. end to end through HAProxy and the gateways (bounded by the stubs/CPU).
    rows=${SCALE_MEASURE_ROWS:-200000}
    log "6a. capacity: three pair writers at once, $rows pairs each, into one PostgreSQL (fsync=${SCALE_PG_FSYNC:-off}, synchronous_commit=${SCALE_PG_SYNC:-off})"
    before=$(sql "SELECT count(*) FROM shadowgate.pairs")
    t=$(now)
    for i in 1 2 3; do
        ip netns exec "${P}gw$i" "$BINARY" bench-writer --database-url "$URL" --rows "$rows" --first-row $(( i * 10000000 )) --keep-tables >"$WORK/bench$i.txt" 2>&1 &
        BENCH[$i]=$!
        PIDS+=($!)
    done
    for i in 1 2 3; do wait "${BENCH[$i]}" || { cat "$WORK/bench$i.txt"; fail "bench-writer $i failed"; }; done
    secs=$(elapsed "$t")
    got=$(( $(sql "SELECT count(*) FROM shadowgate.pairs") - before ))
    rate=$(awk -v n="$got" -v s="$secs" 'BEGIN { printf "%d", n / s }')
    for i in 1 2 3; do log "   writer $i: $(head -1 "$WORK/bench$i.txt")"; done
    log "   $got pairs in $(printf %.1f "$secs") s: $rate pairs/s into one PostgreSQL from three writers"
    (( got == 3 * rows )) || fail "expected $((3 * rows)) pairs, found $got"
    r=${SCALE_MEASURE_RATE:-400}
    log "6b. end to end: client at $r req/s for 15 s through HAProxy"
    before=$(sql "SELECT count(*) FROM shadowgate.pairs")
    t=$(now)
    client "$r" 15 "$WORK/measure.jsonl" --workers 64 --keys 1000
    read -r answered3 pairs3 distinct3 <<<"$(wait_pairs "$WORK/measure.jsonl" 30)"
    e2e=$(awk -v n="$answered3" 'BEGIN { printf "%d", n / 15 }')
    log "   $answered3 answered (= $pairs3 pairs): $e2e pairs/s end to end"
    MEASURE="  capacity          $rate pairs/s from three writers into one PostgreSQL; $e2e pairs/s end to end at a $r req/s offer"
fi

echo
echo "scale-test: PASS in $(printf %.0f "$(elapsed "$T_START")") s"
echo "  spread            gw1 $g1, gw2 $g2, gw3 $g3 of $total requests; sticky keys: 20/20 same model on every replica"
echo "  rolling restart   $ROLL_SECONDS s, $rtotal requests, $rbad client errors, $answered answered = $pairs pairs"
echo "  failover          $FAILOVER s from cutting the leader off to another replica leading; 0 writes from the old leader after the cut"
echo "  convergence       $CONVERGE s from the link coming back to the cut replica applying a flag changed meanwhile"
echo "  postgres restart  $ptotal requests, $pbad client errors, $answered2 answered = $pairs2 pairs ($spooled spooled and replayed); flags re-listened within $RELISTEN_ALL s"
[[ -z $MEASURE ]] || echo "$MEASURE"

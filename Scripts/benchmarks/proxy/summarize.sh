#!/usr/bin/env bash
# Summarize a Scripts/bench.sh CSV: medians per target (markdown), upstream connection reuse,
# and the issue's ratios (gateway shadow vs nginx mirror, gateway legacy vs nginx proxy).
# usage: Scripts/benchmarks/proxy/summarize.sh bench-results/bench_<ts>.csv
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=Scripts/benchmarks/proxy/lib.sh
source "$HERE/lib.sh"
csv=$1
[[ -s $csv ]] || die "no CSV at $csv"

# column numbers by header name
declare -A C
IFS=, read -r -a header < "$csv"
for i in "${!header[@]}"; do C[${header[$i]}]=$((i + 1)); done

targets=$(tail -n +2 "$csv" | cut -d, -f"${C[target]}" | awk '!seen[$0]++')
rows_of() { tail -n +2 "$csv" | awk -F, -v c="${C[target]}" -v t="$1" '$c == t'; }
col_median() { rows_of "$1" | cut -d, -f"${C[$2]}" | median; }
col_sum() { rows_of "$1" | cut -d, -f"${C[$2]}" | awk '{ s += $1 } END { print s + 0 }'; }

declare -A RPS P50 P99 CPU STUBS WRK DB
# Columns added later (proxy_sys_us_per_req, wrk_cpu_us_per_req, db_cpu_us_per_req) are absent from
# older CSVs: they read as nan, and the CPU budget below is left out.
opt_median() {  # nan when the column is absent or any run has none (a median of nan and numbers is not one)
    if [[ -z ${C[$2]:-} ]] || rows_of "$1" | cut -d, -f"${C[$2]}" | grep -qx nan; then echo nan; else col_median "$1" "$2"; fi
}
fmt() { awk -v x="$1" 'BEGIN { if (x == "nan" || x == "") print "-"; else printf "%.1f", x }'; }
echo "| target | req/s | p50 ms | p99 ms | proxy CPU µs/req | of which kernel | stubs CPU µs/req | wrk CPU µs/req | PostgreSQL CPU µs/req | machine busy cores | errors | runs |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for t in $targets; do
    RPS[$t]=$(col_median "$t" rps); P50[$t]=$(col_median "$t" p50_ms); P99[$t]=$(col_median "$t" p99_ms)
    CPU[$t]=$(col_median "$t" proxy_cpu_us_per_req); STUBS[$t]=$(col_median "$t" stubs_cpu_us_per_req)
    WRK[$t]=$(opt_median "$t" wrk_cpu_us_per_req); DB[$t]=$(opt_median "$t" db_cpu_us_per_req)
    errs=$(($(col_sum "$t" non2xx) + $(col_sum "$t" sock_errors)))
    n=$(rows_of "$t" | wc -l)
    printf "| %s | %.0f | %.3f | %.3f | %.1f | %s | %.1f | %s | %s | %.2f | %s | %s |\n" "$t" "${RPS[$t]}" "${P50[$t]}" \
        "${P99[$t]}" "${CPU[$t]}" "$(fmt "$(opt_median "$t" proxy_sys_us_per_req)")" "${STUBS[$t]}" "$(fmt "${WRK[$t]}")" \
        "$(fmt "${DB[$t]}")" "$(col_median "$t" machine_busy_cores)" "$errs" "$n"
done
echo "(medians over runs; errors = wrk non-2xx responses + socket errors, summed; PostgreSQL = the pair log's"
echo " server on this machine, postmaster and backends, '-' when there is none)"
CORES=$(opt_median "$(head -n 1 <<<"$targets")" cores); [[ $CORES == nan ]] && CORES=$(nproc)

echo
echo "Upstream connection reuse, summed over the measured runs (stub_status counters of each stub;"
echo "'open' = ESTABLISHED sockets from the front's processes to the stub at the end of the last run, from ss):"
echo
echo "| target | requests | legacy stub reqs/req | legacy new conns | learner stub reqs/req | learner new conns | open to legacy | open to learner |"
echo "|---|---|---|---|---|---|---|---|"
for t in $targets; do
    req=$(col_sum "$t" requests)
    last=$(rows_of "$t" | tail -n 1)
    awk -v t="$t" -v n="$req" -v lr="$(col_sum "$t" legacy_reqs)" -v lc="$(col_sum "$t" legacy_new_conns)" \
        -v sr="$(col_sum "$t" learner_reqs)" -v sc="$(col_sum "$t" learner_new_conns)" \
        -v le="$(cut -d, -f"${C[legacy_open]}" <<<"$last")" -v se="$(cut -d, -f"${C[learner_open]}" <<<"$last")" \
        'BEGIN { d = (n > 0 ? n : 1)
                 printf "| %s | %d | %.3f | %d (%.4f/req) | %.3f | %d (%.4f/req) | %s | %s |\n",
                        t, n, lr / d, lc, lc / d, sr / d, sc, sc / d, le, se }'
done

ratio() {  # <num target> <den target> <goal> <label>
    local a=$1 b=$2 goal=$3 label=$4
    [[ -n ${RPS[$a]:-} && -n ${RPS[$b]:-} ]] || return 0
    awk -v a="$a" -v b="$b" -v ra="${RPS[$a]}" -v rb="${RPS[$b]}" -v pa="${P99[$a]}" -v pb="${P99[$b]}" \
        -v ca="${CPU[$a]}" -v cb="${CPU[$b]}" -v goal="$goal" -v label="$label" -v chk_p99="$5" 'BEGIN {
        r = (rb > 0 ? ra / rb : 0)
        printf "- %s: %s req/s / %s req/s = %.2fx (goal >= %.1fx: %s)", label, a, b, r, goal, (r >= goal ? "met" : "MISSED")
        if (chk_p99) printf "; p99 %.3f ms vs %.3f ms (goal no worse: %s)", pa, pb, (pa <= pb ? "met" : "MISSED")
        if (cb > 0) printf "; CPU/req %.2fx", ca / cb
        if (cb > 0 && chk_p99) printf " (goal <= 0.5x: %s)", (ca / cb <= 0.5 ? "met" : "MISSED")
        printf "\n" }'
}
echo
echo "Ratios (medians):"
ratio gate-shadow nginx-mirror 2.5 "shadow vs nginx mirror" 1
ratio gate-legacy nginx-proxy 0.8 "legacy vs nginx proxy" 0
side_by_side() {  # <num target> <den target> <label>: no goal, for the nio-floor and nio-bytes fronts
    [[ -n ${RPS[$1]:-} && -n ${RPS[$2]:-} ]] || return 0
    awk -v a="$1" -v b="$2" -v label="$3" -v ra="${RPS[$1]}" -v rb="${RPS[$2]}" -v ca="${CPU[$1]}" -v cb="${CPU[$2]}" \
        -v pa="${P99[$1]}" -v pb="${P99[$2]}" 'BEGIN {
        printf "- %s: %s / %s: req/s %.2fx, p99 %.3f vs %.3f ms, CPU/req %.1f vs %.1f us = %.2fx\n",
               label, a, b, (rb > 0 ? ra / rb : 0), pa, pb, ca, cb, (cb > 0 ? ca / cb : 0) }'
}
side_by_side nio-floor-mirror nginx-mirror "bare NIO mirror vs nginx mirror"
side_by_side gate-shadow nio-floor-mirror "gateway shadow vs bare NIO mirror"
side_by_side nio-floor-proxy nginx-proxy "bare NIO proxy vs nginx proxy"
side_by_side gate-legacy nio-floor-proxy "gateway legacy vs bare NIO proxy"
side_by_side nio-bytes-mirror nginx-mirror "NIO byte forwarder, mirror, vs nginx mirror"
side_by_side gate-shadow nio-bytes-mirror "gateway shadow vs NIO byte forwarder, mirror"
side_by_side nio-bytes-proxy nginx-proxy "NIO byte forwarder vs nginx proxy"
side_by_side gate-legacy nio-bytes-proxy "gateway legacy vs NIO byte forwarder"
side_by_side nio-bytes-mirror-work nio-bytes-mirror "NIO byte forwarder, mirror, with added user work vs without"
# CPU budget: at a goal's rate, what the rest of the machine (stubs, wrk, PostgreSQL) needs per request
# leaves the front at most (cores - rate * rest) / rate. Stubs and wrk cost a little less per request
# at higher rates (bigger batches per wake-up), so the lowest figure of any front of the same kind in
# this run is taken (nginx mirror is not one: its learner stub opens a connection per request); the
# PostgreSQL figure is the gateway's own. A bound, not a forecast: no run here kept every core busy.
budget() {  # <front> <peer> <goal> <label> <fronts of the same kind...>
    local front=$1 peer=$2 goal=$3 label=$4 t rest="" r db
    shift 4
    [[ -n ${RPS[$front]:-} && -n ${RPS[$peer]:-} && ${WRK[$front]:-nan} != nan ]] || return 0
    for t in "$@"; do
        [[ -n ${RPS[$t]:-} && ${WRK[$t]} != nan ]] || continue
        r=$(awk -v s="${STUBS[$t]}" -v w="${WRK[$t]}" 'BEGIN { print s + w }')
        if [[ -z $rest ]] || awk -v a="$r" -v b="$rest" 'BEGIN { exit !(a < b) }'; then rest=$r; fi
    done
    db=${DB[$front]}; [[ $db == nan ]] && db=0
    local forwarder=""
    case $front in gate-shadow) forwarder=nio-bytes-mirror ;; gate-legacy) forwarder=nio-bytes-proxy ;; esac
    awk -v label="$label" -v goal="$goal" -v peer="$peer" -v rp="${RPS[$peer]}" -v rest="$rest" -v db="$db" \
        -v cores="$CORES" -v f="$front" -v fc="${CPU[$front]}" -v fw="$forwarder" -v fwc="${CPU[$forwarder]:-}" 'BEGIN {
        rate = goal * rp; need = rate * (rest + db) / 1e6; left = (cores - need) * 1e6 / rate
        printf "- %s: the goal is %.0f req/s (%.1fx %s); stubs and wrk need %.1f us per request", label, rate, goal, peer, rest
        if (db > 0) printf " and PostgreSQL %.1f", db
        printf ", %.2f of the %d cores at that rate, which leaves the front at most %.1f us per request", need, cores, left
        printf " (%s used %.1f", f, fc
        if (fwc != "") printf "; the byte forwarder %s, which parses nothing and logs nothing, %.1f", fw, fwc
        printf "; a single event loop at that rate has %.1f us of one core per request)", 1e6 / rate
        if (left <= 0 || (fwc != "" && left < fwc)) printf ": out of reach on this machine, even for a front as cheap as the byte forwarder"
        printf "\n" }'
}
if [[ ${WRK[gate-shadow]:-nan} != nan || ${WRK[gate-legacy]:-nan} != nan ]]; then
    echo
    echo "CPU budget of the goals on this machine (${CORES} cores; medians of the runs above):"
    budget gate-shadow nginx-mirror 2.5 "shadow" gate-shadow nio-bytes-mirror nio-floor-mirror
    budget gate-legacy nginx-proxy 0.8 "legacy" gate-legacy nio-bytes-proxy nio-floor-proxy nginx-proxy
fi
if [[ -n ${P99[gate-hung]:-} && -n ${P99[gate-shadow]:-} ]]; then
    awk -v h="${P99[gate-hung]}" -v s="${P99[gate-shadow]}" -v rh="${RPS[gate-hung]}" -v rs="${RPS[gate-shadow]}" 'BEGIN {
        r = (s > 0 ? h / s : 0)
        printf "- hung learner vs healthy: client p99 %.3f ms vs %.3f ms = %.2fx (goal <= 1.10x: %s); req/s %.2fx\n",
               h, s, r, (r <= 1.10 ? "met" : "MISSED"), (rs > 0 ? rh / rs : 0) }'
fi
if [[ -n ${P50[stub-direct]:-} ]]; then
    echo
    echo "Latency added at the paced rate (target minus stub-direct, medians of runs):"
    for t in $targets; do
        [[ $t == stub-direct ]] && continue
        awk -v t="$t" -v a50="${P50[$t]}" -v a99="${P99[$t]}" -v d50="${P50[stub-direct]}" -v d99="${P99[stub-direct]}" \
            -v r="${RPS[$t]}" 'BEGIN { printf "- %s: p50 %.3f ms (+%.3f), p99 %.3f ms (+%.3f) at %.0f req/s\n", t, a50, a50 - d50, a99, a99 - d99, r }'
    done
fi
[[ -n ${RPS[gate-shadow]:-} && -n ${RPS[nginx-mirror]:-} ]] || [[ -n ${RPS[gate-legacy]:-} && -n ${RPS[nginx-proxy]:-} ]] ||
    echo "- (none: they need gate-shadow with nginx-mirror, or gate-legacy with nginx-proxy, in TARGETS)"

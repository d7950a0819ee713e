#!/usr/bin/env bash
# Benchmarks (entry point): `Scripts/bench.sh [proxy|pairlog|writer|compare|gates|feedback]`.
#   proxy    (default) wrk against nginx and the gateway on the same nginx stub upstreams
#   pairlog  the gateway in shadow mode with its pair log on a throwaway PostgreSQL
#   writer   the pair writer alone vs `psql \copy` of the same rows
#   compare  shadowgate.compare() over a window of 1,000,000 pairs
#   gates    the promotion controller's decision code vs the old point-estimate rule on simulated streams
#   feedback labels/s accepted and delivered vs psql \copy, p99 at a fixed rate, `labels import` of 1M
# Every mode, its environment variables and its output are described in
# Scripts/benchmarks/bench.sh, which does the work; the pieces each mode uses are in
# Scripts/benchmarks/{proxy,writer,compare,feedback}/ (see Scripts/README.md).
set -euo pipefail
exec bash "$(dirname "$0")/benchmarks/bench.sh" "$@"

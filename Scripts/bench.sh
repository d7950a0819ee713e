#!/usr/bin/env bash
# Benchmarks (entry point): `Scripts/bench.sh [proxy|hung|pairlog|writer|compare|gates|feedback|tls|grpc]`.
#   proxy    (default) wrk against nginx, the gateway and bare SwiftNIO proxies on the same nginx stub upstreams
#   hung     the gateway in shadow mode with a healthy learner vs a learner that never answers (client p99)
#   pairlog  the gateway in shadow mode with its pair log on a throwaway PostgreSQL
#   writer   the pair writer alone vs `psql \copy` of the same rows
#   compare  shadowgate.compare() over a window of 1,000,000 pairs
#   gates    the promotion controller's decision code vs the old point-estimate rule on simulated streams
#   feedback labels/s accepted and delivered vs psql \copy, p99 at a fixed rate, `labels import` of 1M
#   tls      REST through the gateway with an HTTPS listener vs a plain one, and with https:// upstreams
#   grpc     gRPC ModelInfer through the gateway in shadow mode vs MLServer directly
# Every mode, its environment variables and its output are described in
# Scripts/benchmarks/bench.sh, which does the work; the pieces each mode uses are in
# Scripts/benchmarks/{proxy,writer,compare,feedback,tls,grpc}/ (see Scripts/README.md).
set -euo pipefail
exec bash "$(dirname "$0")/benchmarks/bench.sh" "$@"

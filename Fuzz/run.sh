#!/usr/bin/env bash
# Builds shadowgate-fuzz with libFuzzer (+ AddressSanitizer) and runs each target over its corpus.
#
# usage: Fuzz/run.sh [TARGET...]      (default: json adapter yaml copy feedback request)
# env:   RUNS (inputs per target, default 1000000), MAX_LEN (default 4096), JOBS (default 1),
#        SCRATCH_PATH (default .build-fuzz), SKIP_BUILD=1
# Inputs that grow coverage are written to Fuzz/Corpus/<target>/ (commit a merged corpus:
# `-merge=1`); a crash leaves crash-* next to where it ran and a non-zero exit. Replay a file with a
# plain build: `swift run shadowgate-fuzz <target> FILE`.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRATCH=${SCRATCH_PATH:-.build-fuzz}
cd "$REPO"
flags=(-c release --scratch-path "$SCRATCH" --product shadowgate-fuzz
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING)
if [[ ${SKIP_BUILD:-0} != 1 ]]; then swift build "${flags[@]}"; fi
bin=$(swift build "${flags[@]}" --show-bin-path)/shadowgate-fuzz
targets=("$@"); ((${#targets[@]})) || targets=(json adapter yaml copy feedback request)
mkdir -p "$REPO/Fuzz/artifacts"
for t in "${targets[@]}"; do
    echo "== $t: ${RUNS:-1000000} inputs"
    SHADOWGATE_FUZZ_TARGET=$t "$bin" -runs="${RUNS:-1000000}" -max_len="${MAX_LEN:-4096}" -jobs="${JOBS:-1}" \
        -artifact_prefix="$REPO/Fuzz/artifacts/$t-" -print_final_stats=1 "$REPO/Fuzz/Corpus/$t"
done

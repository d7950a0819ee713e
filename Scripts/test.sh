#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, starts a throwaway
# PostgreSQL cluster, builds, checks deploy/k8s/ (Scripts/deploy/check.sh), runs `swift test`, on a
# full run (no arguments) also Scripts/scale-test.sh, and stops the cluster again.
#
# usage: Scripts/test.sh [extra swift test arguments, e.g. --filter ShadowGateProxyTests]
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/dev/install-deps.sh

PG_DIR=${SHADOWGATE_TEST_PG_DIR:-$(mktemp -d /tmp/shadowgate-test-pg.XXXXXX)}
export SHADOWGATE_TEST_PG_DIR=$PG_DIR
cleanup() { Scripts/postgres/stop.sh --rm "$PG_DIR" || true; }
trap cleanup EXIT
SHADOWGATE_TEST_DATABASE_URL=$(Scripts/postgres/start.sh --fast "$PG_DIR")
export SHADOWGATE_TEST_DATABASE_URL
echo "test.sh: PostgreSQL for tests at $SHADOWGATE_TEST_DATABASE_URL" >&2

swift build --build-tests
# Deployment checks with the binary just built (manifests, conventions; Scripts/deploy/check.sh).
bash Scripts/deploy/check.sh --binary "$(swift build --show-bin-path)/shadowgate"
swift test --skip-build "$@"
# Three replicas, HAProxy and PostgreSQL in network namespaces (root only; ~1.5 min): only on a full run.
if (($# == 0)); then
    if [[ $(id -u) == 0 ]]; then
        bash Scripts/scale-test.sh --binary "$(swift build --show-bin-path)/shadowgate"
    else
        echo "test.sh: SKIP Scripts/scale-test.sh: network namespaces need root" >&2
    fi
fi

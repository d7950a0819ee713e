#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, starts a throwaway
# PostgreSQL cluster, builds, runs `swift test`, and stops the cluster again.
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
swift test --skip-build "$@"

#!/usr/bin/env bash
# The multi-host test on one machine (entry point): three gateway replicas, PostgreSQL, HAProxy
# and a client, each in its own network namespace; rolling restart, the leader cut off,
# PostgreSQL restarted — every assertion and timing is described in Scripts/scale-out/scale-test.sh,
# which does the work (its model stub and traffic client sit next to it).
# usage: Scripts/scale-test.sh [--binary PATH] [--rate N]   (root; run by Scripts/test.sh on a full run)
set -euo pipefail
exec bash "$(dirname "$0")/scale-out/scale-test.sh" "$@"

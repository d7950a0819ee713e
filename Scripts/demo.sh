#!/usr/bin/env bash
# The demo (entry point): the whole migration with real parts — a scikit-learn model served by
# MLServer as the legacy model, a River continuous learner, ShadowGate on its embedded PostgreSQL
# with the promotion controller on; installs what it needs, builds, runs, cleans up.
# usage: Scripts/demo.sh   (env RATE, DRIFT_AT)
# The example app it runs lives in Scripts/example-app/ (demo.sh there does the work; see its
# README.md, and Scripts/example-app/demo-quick.sh for a smaller demo without PyPI).
set -euo pipefail
exec bash "$(dirname "$0")/example-app/demo.sh" "$@"
